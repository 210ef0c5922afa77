// Refresh the playout monitor's table from its JSON endpoint. Text goes in with textContent only.
(function () {
  "use strict";
  var table = document.getElementById("rv-monitor");
  var url = table.dataset.url;
  var every = parseInt(table.dataset.refresh, 10) || 5000;
  // A segment older than this many target durations means the channel stalled.
  var STALE_SECONDS = 12;

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function render(data) {
    var body = document.createElement("tbody");
    data.channels.forEach(function (channel) {
      var tr = document.createElement("tr");
      cell(tr, channel.number + " " + channel.name);
      var state = document.createElement("span");
      state.className = "rv-state rv-state-" + channel.state;
      state.textContent = channel.state_label;
      cell(tr, "").appendChild(state);
      cell(tr, channel.pid === null ? "—" : String(channel.pid), "num");
      cell(tr, channel.uptime, "num");
      cell(tr, String(channel.restarts), "num");
      cell(tr, String(channel.media_sequence), "num");
      var age = channel.last_segment_age_seconds;
      var ageCell = cell(tr, age === null ? "—" : age.toFixed(1) + " s ago", "num");
      if (age !== null && age > STALE_SECONDS && channel.state === "on_air") ageCell.classList.add("rv-stale");
      cell(tr, channel.coverage, "num");
      cell(tr, String(channel.viewers), "num").title = "HLS " + channel.hls_viewers + " · TS " + channel.ts_viewers;
      cell(tr, channel.cpu_percent === null ? "—" : channel.cpu_percent.toFixed(1) + " %", "num");
      cell(tr, channel.last_error.length > 300 ? channel.last_error.slice(0, 299) + "…" : channel.last_error, "error");
      body.appendChild(tr);
    });
    table.replaceChild(body, table.tBodies[0]);
    document.getElementById("rv-tuners").textContent = data.tuners_in_use + " / " + data.tuner_count;
    document.getElementById("rv-updated").textContent = new Date(data.generated_at).toLocaleTimeString();
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (data) {
        document.getElementById("rv-offline").hidden = true;
        render(data);
      })
      .catch(function () { document.getElementById("rv-offline").hidden = false; })
      .finally(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
