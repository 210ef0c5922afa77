// The console's "Channels now" panel: asks what each channel shows every second and updates the rows.
(function () {
  "use strict";
  const table = document.getElementById("rv-on-air");
  if (!table) return;
  const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "");

  function render(channels) {
    for (const state of channels) {
      const row = table.querySelector(`tr[data-channel="${CSS.escape(state.number)}"]`);
      if (!row) continue;
      row.className = "rv-shows-" + state.showing.replace(/[^a-z]+/g, "-");
      row.querySelector(".rv-showing").textContent =
        state.showing + (state.headline ? ": " + state.headline : "");
      row.querySelector(".rv-since").textContent = time(state.since);
      row.querySelector(".rv-coming").textContent = state.coming
        ? `${state.coming} at ${time(state.coming_at)}`
        : "";
    }
  }

  async function refresh() {
    try {
      const response = await fetch(table.dataset.url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) render((await response.json()).channels);
    } catch (error) {
      // The next tick tries again; the page must keep working while the server is busy.
    }
  }

  setInterval(refresh, 1000);
})();
