// RetroVue TV guide: the details panel, a moving "now" line and a clock. The page works without it.
(function () {
  "use strict";

  const grid = document.getElementById("grid");
  const panel = document.getElementById("details");
  if (!grid || !panel) return;

  const zone = document.getElementById("clock").dataset.tz;
  const windowStart = Number(grid.dataset.start);
  const windowSeconds = Number(grid.dataset.seconds);
  const live = grid.dataset.live === "1";

  function fill(id, text) {
    document.getElementById(id).textContent = text || "";
  }

  let selected = null;

  function show(cell) {
    const data = cell.dataset;
    if (selected) selected.classList.remove("selected");
    selected = cell;
    cell.classList.add("selected");
    fill("d-title", data.title);
    const episode = [data.episode, data.subtitle ? "“" + data.subtitle + "”" : ""].filter(Boolean).join(" · ");
    fill("d-episode", episode);
    fill("d-times", data.times + " · " + data.channel);
    fill("d-rating", data.rating);
    fill("d-category", data.category);
    fill("d-rerun", data.rerun === "1" ? "" : "NEW");
    fill("d-desc", data.desc);
    document.getElementById("d-watch").href = data.watch;
    const poster = document.getElementById("d-poster");
    poster.hidden = !data.poster;
    if (data.poster) poster.src = data.poster;
    else poster.removeAttribute("src");
    panel.hidden = false;
  }

  grid.addEventListener("click", function (event) {
    const cell = event.target.closest("button.prog");
    if (cell) show(cell);
  });
  function hide() {
    panel.hidden = true;
    if (selected) selected.classList.remove("selected");
    selected = null;
  }
  document.getElementById("details-close").addEventListener("click", hide);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") hide();
  });

  let clockFormat;
  try {
    clockFormat = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, weekday: "short", hour: "numeric", minute: "2-digit", second: "2-digit",
    });
  } catch (error) {
    clockFormat = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", second: "2-digit" });
  }
  const clock = document.getElementById("clock");
  const nowline = document.getElementById("nowline");
  const cells = grid.querySelectorAll("button.prog");

  function tick() {
    const now = Date.now() / 1000;
    clock.textContent = clockFormat.format(new Date());
    const share = (now - windowStart) / windowSeconds;
    if (share >= 0 && share < 1) {
      nowline.hidden = false;
      nowline.style.setProperty("--now", (share * 100).toFixed(3));
    } else {
      nowline.hidden = true;
      // The live view follows the clock: past its end, load the next window.
      if (live && share >= 1) window.location.reload();
    }
    cells.forEach(function (cell) {
      cell.classList.toggle("now", Number(cell.dataset.start) <= now && now < Number(cell.dataset.stop));
    });
  }
  tick();
  setInterval(tick, 1000);

  const select = document.getElementById("tz");
  select.addEventListener("change", function () {
    select.form.submit();
  });

  // Offer the browser's own zone when the page shows another one.
  try {
    const mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (mine && mine !== zone) {
      const link = document.getElementById("my-zone");
      const url = new URL(window.location.href);
      url.searchParams.set("tz", mine);
      link.href = url.pathname + url.search;
      link.textContent = "Use my time zone (" + mine + ")";
      link.hidden = false;
    }
  } catch (error) {
    // Old browsers without Intl time zones keep the server's choice.
  }
})();
