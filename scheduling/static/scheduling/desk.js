/* The programming desk: the timeline of every channel (timeline.js draws it) over
   /api/scheduling/desk/. Every drag has a keyboard path: select a block (Tab, Enter) and use the
   panel's Move / Set end / Delete / ± grid (or Alt+arrows on the block), or choose "Place…" on a
   search result. Times are the browser's, i.e. the staff member's time zone. */
(function () {
  "use strict";
  const root = document.getElementById("rv-desk");
  const api = root.dataset.api;
  const can = { add: !!root.dataset.canAdd, change: !!root.dataset.canChange, del: !!root.dataset.canDelete };
  const $ = (id) => document.getElementById(id);
  const ZOOMS = { day: { hours: 24, slot: 30, labels: 120 }, "6h": { hours: 6, slot: 10, labels: 30 }, "1h": { hours: 1, slot: 5, labels: 10 } };
  const state = { allChannels: [], day: startOfDay(new Date()), hour: 0, zoom: "day", versions: {}, channels: [], programs: {},
                  entries: {}, selected: null, placing: null, loadedAt: 0, channelsById: new Map() };  // prettier-ignore

  function startOfDay(date) { const d = new Date(date); d.setHours(0, 0, 0, 0); return d; }
  function pad(n) { return String(n).padStart(2, "0"); }
  function localInput(date) {
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
  }
  function fromInput(value) { return value ? new Date(value) : null; }
  function clock(date) { return `${pad(date.getHours())}:${pad(date.getMinutes())}`; }
  function grid() { return parseInt($("rv-grid").value, 10); }
  function snap(date) {
    const step = grid() * 60000;
    return new Date(Math.round(date.getTime() / step) * step);
  }
  function windowStart() { const d = new Date(state.day); d.setHours(state.hour, 0, 0, 0); return d; }
  function windowEnd() { return new Date(windowStart().getTime() + ZOOMS[state.zoom].hours * 3600000); }
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }
  function say(text, kind) {
    const status = $("rv-status");
    status.textContent = text;
    status.className = "rv-status" + (kind ? " rv-" + kind : "");
    root.dataset.said = String(Number(root.dataset.said || 0) + 1);
    root.dataset.error = kind === "error" ? "1" : "";
  }
  function csrf() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function call(method, path, body) {
    const response = await fetch(api + path, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (error) { data = {}; }
    if (!response.ok) {
      const error = new Error(data.detail || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  async function edit(method, path, body, label) {
    try {
      const result = await call(method, path, body === undefined ? undefined : { ...body, versions: state.versions });
      say(`${result.summary || label}: done.`, "ok");
      windows.clear();  // an edit can reach other days (a ripple past midnight)
      await load();
      return result;
    } catch (error) {
      say(`${label} refused: ${error.message}`, "error");
      if (error.status === 409) await load();
      throw error;
    }
  }

  // --- the timeline ------------------------------------------------------------------------------

  function movable(program) {
    return can.change && new Date(program.start).getTime() >= Date.now() + 60000 && ["template", "desk", "live"].includes(program.kind);
  }

  const timeline = RvTimeline.create($("rv-calendar"), {
    snapMinutes: grid,
    editable: (block) => movable(block.program),
    blockHtml: (block) => blockHtml(block.program),
    blockLabel: (block) => {
      const program = block.program;
      return `${program.title} ${program.subtitle || ""}, channel ${channelNumber(program.channel_id)}, ${clock(new Date(program.start))} to ${clock(new Date(program.stop))}`;
    },
    onSelect: (block) => select(block.program),
    onMove: (block, channelId, start) =>
      edit("POST", `/programs/${block.program.id}/move`, { channel_id: Number(channelId), start: start.toISOString() }, "Move"),
    onResize: (block, stop) => edit("POST", `/programs/${block.program.id}/resize`, { stop: stop.toISOString() }, "Resize"),
  });

  function channelNumber(id) {
    const channel = state.channelsById.get(Number(id));
    return channel ? channel.number : "?";
  }

  function blockHtml(program) {
    // The whole day: the title alone, as text (blocks are ~15 px a half hour; one element each keeps
    // 50 channels' ~1,500 blocks quick to draw). Zoomed in: breaks as bands, and the subtitle.
    if (state.zoom === "day") return escapeHtml(program.title);
    const start = new Date(program.start).getTime();
    const length = new Date(program.stop).getTime() - start || 1;
    const bands = program.breaks.map(([a, b]) => {
      const left = ((new Date(a).getTime() - start) / length) * 100;
      const width = ((new Date(b).getTime() - new Date(a).getTime()) / length) * 100;
      return `<i class="rv-break" style="left:${left.toFixed(3)}%;width:${Math.max(width, 0.3).toFixed(3)}%"></i>`;
    }).join("");
    const sub = program.subtitle ? `<span class="rv-block-sub">${escapeHtml(program.subtitle)}</span>` : "";
    return `${bands}<span class="rv-block-title">${escapeHtml(program.title)}</span>${sub}`;
  }

  function toBlocks(data) {
    const now = Date.now();
    const blocks = data.programs.map((program) => {
      const start = new Date(program.start).getTime();
      const classes = ["rv-" + program.kind];
      if (program.special) classes.push("rv-special");
      if (program.joined_from) classes.push("rv-joined");
      if (start < now + 60000) classes.push("rv-past");
      if (state.selected && state.selected.id === program.id) classes.push("rv-selected");
      return { id: program.id, rowId: program.channel_id, start, stop: new Date(program.stop).getTime(), classes, program };
    });
    const mark = (rowId, start, stop, kind, title) => ({ rowId, start: new Date(start).getTime(), stop: new Date(stop).getTime(), classes: [kind], title });
    const backgrounds = [
      ...data.gaps.map((gap) => mark(gap.channel_id, gap.start, gap.stop, "rv-gap", gap.overlap ? "Overlap" : "No program")),
      ...data.warnings.map((warning) => mark(warning.channel_id, warning.at, new Date(warning.at).getTime() + 10 * 60000, "rv-warning", warning.message)),
      ...data.entries.filter((entry) => entry.mode === "ripple" && entry.resume_at)
        .map((entry) => mark(entry.channel_id, entry.stop, entry.resume_at, "rv-ripple", "Pushed later (ripple)")),
    ];
    return { blocks, backgrounds };
  }

  /* Timeline answers by window: the one drawn and its neighbours, fetched ahead once it is drawn, so
     a pan draws at once from here (and is checked against a fresh answer right after). */
  const windows = new Map();  // url → { at (when asked), answer: a promise of { text, data } }
  const FRESH_MS = 120000;  // an answer fetched ahead is drawn if younger than this (then checked)

  function timelineUrl(start, stop) {
    // Breaks are drawn from the 6-hour zoom in; a whole day doesn't need (or show) them.
    const breaks = state.zoom === "day" ? "&breaks=false" : "";
    return `/timeline?start=${encodeURIComponent(start.toISOString())}&stop=${encodeURIComponent(stop.toISOString())}${breaks}`;
  }

  async function ask(url, asked) {
    const response = await (asked || fetch(api + url, { credentials: "same-origin" }));
    const text = await response.text();
    if (!response.ok) {
      let detail = "";
      try { detail = JSON.parse(text).detail; } catch (error) { detail = ""; }
      throw new Error(detail || `${response.status} ${response.statusText}`);
    }
    return { text, data: JSON.parse(text) };
  }

  function fetchWindow(url, { ahead = false, asked = null, at = Date.now() } = {}) {
    const known = { at, ahead, answer: ask(url, asked) };
    windows.set(url, known);
    known.answer.catch(() => { if (windows.get(url) === known) windows.delete(url); });
    return known;
  }

  function prefetchNeighbours() {
    const span = ZOOMS[state.zoom].hours * 3600000;
    const here = windowStart().getTime();
    const kept = new Set([timelineUrl(windowStart(), windowEnd())]);
    for (const direction of [1, -1]) {
      const start = new Date(here + direction * span);
      const url = timelineUrl(start, new Date(start.getTime() + span));
      kept.add(url);
      const known = windows.get(url);
      if (!known || Date.now() - known.at > FRESH_MS) fetchWindow(url, { ahead: true }).answer.catch(() => {});
    }
    for (const url of windows.keys()) if (!kept.has(url)) windows.delete(url);  // ~0.5 MB a day
    const drawnAt = root.dataset.loaded;  // for the bench and tests: neighbours of this draw are in
    Promise.allSettled([...windows.values()].map((known) => known.answer))
      .then(() => { if (root.dataset.loaded === drawnAt) root.dataset.ahead = drawnAt; });
  }

  async function load({ reuse = false } = {}) {
    const began = performance.now();
    const start = windowStart(), stop = windowEnd();
    const url = timelineUrl(start, stop);
    let known = windows.get(url);
    const reused = reuse && known && Date.now() - known.at < FRESH_MS;
    if (!reused) known = fetchWindow(url);
    const answer = await known.answer;
    const fetched = performance.now();
    if (url !== timelineUrl(windowStart(), windowEnd())) return;  // panned on meanwhile: that load draws
    show(answer.data, start, stop);
    await drawn(began, fetched);
    if (reused && known.ahead) {  // drawn from an answer fetched ahead: is it still true?
      const fresh = await fetchWindow(url).answer;
      if (fresh.text !== answer.text && url === timelineUrl(windowStart(), windowEnd())) {
        show(fresh.data, start, stop);
        await drawn(performance.now(), performance.now());
      }
    }
    setTimeout(prefetchNeighbours, 200);  // after the paint, not competing with it
  }

  async function drawn(began, fetched) {
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));  // painted
    state.loadedAt = performance.now() - began;
    root.dataset.fetchMs = (fetched - began).toFixed(0);
    root.dataset.loadMs = state.loadedAt.toFixed(0);
    root.dataset.drawnAt = performance.now().toFixed(0);  // ms since the page's navigation began
    root.dataset.loaded = String(Date.now());
  }

  function show(data, start, stop) {
    state.channels = data.channels;
    state.allChannels = data.all_channels || data.channels;
    state.channelsById = new Map(state.allChannels.map((c) => [c.id, c]));
    state.versions = Object.fromEntries(data.channels.map((c) => [String(c.id), c.version]));
    state.programs = Object.fromEntries(data.programs.map((p) => [p.id, p]));
    state.entries = Object.fromEntries(data.entries.map((e) => [e.id, e]));
    const zoom = ZOOMS[state.zoom];
    timeline.draw({
      start: start.getTime(), stop: stop.getTime(), slotMinutes: zoom.slot, labelEvery: zoom.labels,
      rows: data.channels.map((c) => ({ id: String(c.id), title: `${c.number} ${c.name}` })),
      ...toBlocks(data),
    });
    $("rv-day").value = localInput(state.day).slice(0, 10);
    fillChannelSelects();
    if (state.selected && state.programs[state.selected.id]) select(state.programs[state.selected.id]);
    else if (state.selected) select(null);
  }

  function fillChannelSelects() {
    for (const id of ["rv-move-channel", "rv-place-channels", "rv-live-channel"]) {
      const element = $(id);
      const chosen = new Set(Array.from(element.selectedOptions || []).map((o) => o.value));
      element.innerHTML = state.allChannels.map((c) => `<option value="${c.id}"${chosen.has(String(c.id)) ? " selected" : ""}>${escapeHtml(c.number + " " + c.name)}</option>`).join("");
    }
  }

  // --- the selected program (the keyboard path for every drag) -------------------------------------

  function select(program) {
    state.selected = program;
    document.querySelectorAll(".rv-selected").forEach((el) => el.classList.remove("rv-selected"));
    const form = $("rv-program-form");
    if (!program) {
      $("rv-selected").innerHTML = '<p class="rv-hint">Select a program (click, or Tab to it and press Enter).</p>';
      form.hidden = true;
      return;
    }
    const el = document.querySelector(`[data-program-id="${program.id}"]`);
    if (el) el.classList.add("rv-selected");
    const start = new Date(program.start), stop = new Date(program.stop);
    const entry = program.desk_entry_id ? state.entries[program.desk_entry_id] : null;
    let live = "";
    if (entry && entry.kind === "live" && can.change) {
      live = `<div class="rv-buttons"><button type="button" id="rv-live-end">End now</button><button type="button" id="rv-live-extend">Extend 15 min</button></div>`;
    }
    $("rv-selected").innerHTML = `<dl>
      <dt>${escapeHtml(program.title)}</dt><dd>${escapeHtml(program.subtitle || "")}</dd>
      <dt>Channel</dt><dd>${escapeHtml(channelNumber(program.channel_id))}</dd>
      <dt>Airs</dt><dd>${start.toLocaleString()} – ${clock(stop)}${program.joined_from ? " (joined in progress)" : ""}</dd>
      <dt>Kind</dt><dd>${escapeHtml(program.kind)}${program.special ? ", special" : ""} · ${program.breaks.length} break(s)</dd>
    </dl>${live}`;
    if (live) {
      $("rv-live-end").onclick = () => edit("PATCH", `/entries/${entry.id}`, { stop: new Date(Math.ceil(Date.now() / 60000 + 1) * 60000).toISOString() }, "End live event");
      $("rv-live-extend").onclick = () => edit("PATCH", `/entries/${entry.id}`, { stop: new Date(new Date(entry.stop).getTime() + 15 * 60000).toISOString() }, "Extend live event");
    }
    const editable = ["template", "desk", "live"].includes(program.kind) && start.getTime() > Date.now() + 60000;
    form.hidden = !(editable && (can.change || can.del));
    $("rv-move-channel").value = String(program.channel_id);
    $("rv-move-start").value = localInput(start);
    $("rv-resize-stop").value = localInput(stop);
  }

  function moveSelected(start, channelId) {
    const program = state.selected;
    if (!program) return;
    edit("POST", `/programs/${program.id}/move`, { channel_id: Number(channelId), start: start.toISOString() }, "Move").catch(() => {});
  }

  $("rv-program-form").addEventListener("submit", (event) => {
    event.preventDefault();
    moveSelected(fromInput($("rv-move-start").value), $("rv-move-channel").value);
  });
  $("rv-earlier").onclick = () => moveSelected(new Date(new Date(state.selected.start).getTime() - grid() * 60000), state.selected.channel_id);
  $("rv-later").onclick = () => moveSelected(new Date(new Date(state.selected.start).getTime() + grid() * 60000), state.selected.channel_id);
  $("rv-resize").onclick = () => edit("POST", `/programs/${state.selected.id}/resize`, { stop: fromInput($("rv-resize-stop").value).toISOString() }, "Resize").catch(() => {});
  $("rv-delete").onclick = () => {
    const program = state.selected;
    const versions = Object.entries(state.versions).map(([k, v]) => `${k}:${v}`).join(",");
    edit("DELETE", `/programs/${program.id}?versions=${versions}`, undefined, "Delete").then(() => select(null)).catch(() => {});
  };

  // --- search panel: drag onto the timeline, or Place… ------------------------------------------------

  let searchTimer = null;
  async function search() {
    const q = $("rv-query").value.trim();
    if (q.length < 2) { $("rv-results").innerHTML = ""; return; }
    const results = await call("GET", `/search?q=${encodeURIComponent(q)}&kind=${$("rv-kind").value}`);
    $("rv-results").innerHTML = results.map((r, i) => `<li draggable="true" data-index="${i}" tabindex="0">
        <span class="rv-result-kind">${escapeHtml(r.kind)}</span> ${can.add ? `<button type="button" data-place="${i}">Place…</button>` : ""}
        <div>${escapeHtml(r.title)}</div><span class="rv-hint">${r.minutes} min ${escapeHtml(r.detail)}</span></li>`).join("");
    $("rv-results").querySelectorAll("li").forEach((li) => {
      const result = results[Number(li.dataset.index)];
      li.addEventListener("dragstart", (event) => event.dataTransfer.setData("text/plain", JSON.stringify(result)));
    });
    $("rv-results").querySelectorAll("button[data-place]").forEach((button) => {
      button.onclick = () => openPlace(results[Number(button.dataset.place)]);
    });
  }
  $("rv-query").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 250); });
  $("rv-kind").addEventListener("change", search);

  function placement(result) {
    if (result.kind === "show") return { show_id: result.id };
    if (result.kind === "collection") return { collection_id: result.id };
    return { item_ids: result.item_ids };
  }

  const timelineElement = $("rv-calendar");
  timelineElement.addEventListener("dragover", (event) => { event.preventDefault(); timelineElement.classList.add("rv-dropping"); });
  timelineElement.addEventListener("dragleave", () => timelineElement.classList.remove("rv-dropping"));
  timelineElement.addEventListener("drop", (event) => {
    event.preventDefault();
    timelineElement.classList.remove("rv-dropping");
    let result;
    try { result = JSON.parse(event.dataTransfer.getData("text/plain")); } catch (error) { return; }
    const point = timeline.dateFromPoint(event.clientX, event.clientY);
    if (!point) { say("Drop onto a channel's row.", "error"); return; }
    const start = snap(point.date);
    edit("POST", "/entries", { channel_ids: [Number(point.rowId)], start: start.toISOString(), grid_minutes: grid(), ...placement(result) },
         `Place ${result.title}`).catch(() => {});
  });

  function openPlace(result) {
    state.placing = result;
    $("rv-place-form").hidden = false;
    $("rv-place-title").textContent = `Place ${result.title}`;
    $("rv-place-count-row").hidden = result.kind !== "show";
    const start = snap(new Date(Math.max(windowStart().getTime(), Date.now() + grid() * 60000)));
    $("rv-place-start").value = localInput(start);
    $("rv-place-start").focus();
  }
  $("rv-place-mode").addEventListener("change", () => { $("rv-place-resume-row").hidden = $("rv-place-mode").value !== "ripple"; });
  $("rv-place-resume-row").hidden = true;
  $("rv-place-cancel").onclick = () => { $("rv-place-form").hidden = true; };
  $("rv-place-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const result = state.placing;
    const channels = Array.from($("rv-place-channels").selectedOptions).map((o) => Number(o.value));
    if (!channels.length) { say("Choose one or more channels.", "error"); return; }
    const body = { channel_ids: channels, start: fromInput($("rv-place-start").value).toISOString(), grid_minutes: grid(),
                   mode: $("rv-place-mode").value, title: $("rv-place-name").value, special: $("rv-place-special").checked,
                   ...placement(result) };  // prettier-ignore
    if (result.kind === "show") body.episode_count = Number($("rv-place-count").value || 1);
    if (body.mode === "ripple") body.resume_at = fromInput($("rv-place-resume").value)?.toISOString();
    edit("POST", "/entries", body, `Place ${result.title}`).then(() => { $("rv-place-form").hidden = true; }).catch(() => {});
  });

  $("rv-live-form").hidden = !can.add;
  $("rv-live-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const start = fromInput($("rv-live-start").value);
    if (!start) { say("Give the live event a start.", "error"); return; }
    const stop = new Date(start.getTime() + Number($("rv-live-minutes").value) * 60000);
    edit("POST", "/entries", { channel_ids: [Number($("rv-live-channel").value)], kind: "live", start: start.toISOString(),
                               stop: stop.toISOString(), live_url: $("rv-live-url").value, title: $("rv-live-title").value || "Live",
                               grid_minutes: grid() }, "Schedule live event").catch(() => {});  // prettier-ignore
  });

  // --- navigation, zoom, undo ---------------------------------------------------------------------

  function pan(direction) {
    const hours = ZOOMS[state.zoom].hours;
    const moved = new Date(windowStart().getTime() + direction * hours * 3600000);
    state.day = startOfDay(moved);
    state.hour = state.zoom === "day" ? 0 : moved.getHours();
    load({ reuse: true }).catch((error) => say(`Loading the timeline failed: ${error.message}`, "error"));
  }
  $("rv-prev").onclick = () => pan(-1);
  $("rv-next").onclick = () => pan(1);
  $("rv-today").onclick = () => { state.day = startOfDay(new Date()); state.hour = state.zoom === "day" ? 0 : new Date().getHours(); load(); };
  $("rv-day").addEventListener("change", () => { if ($("rv-day").value) { state.day = startOfDay(new Date($("rv-day").value + "T00:00")); load(); } });
  $("rv-zoom").addEventListener("change", () => {
    state.zoom = $("rv-zoom").value;
    const hours = ZOOMS[state.zoom].hours;
    const now = new Date();
    state.hour = hours === 24 ? 0 : Math.min(24 - hours, (startOfDay(now).getTime() === state.day.getTime() ? now.getHours() : 18));
    load();
  });
  $("rv-undo").onclick = () => edit("POST", "/undo", undefined, "Undo").catch(() => {});
  $("rv-redo").onclick = () => edit("POST", "/redo", undefined, "Redo").catch(() => {});
  $("rv-undo").hidden = $("rv-redo").hidden = !can.change;
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== "z" || event.target.matches("input, textarea")) return;
    event.preventDefault();
    (event.shiftKey ? $("rv-redo") : $("rv-undo")).click();
  });
  $("rv-zone-name").textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;
  $("rv-live-start").value = localInput(snap(new Date(Date.now() + 30 * 60000)));

  window.rvDesk = { timeline, state, load, pan, windows };
  const first = window.rvDeskFirst;  // asked for by the page's head (templates/scheduling/desk.html)
  if (first) fetchWindow(first.url, { asked: first.response, at: first.at }).answer.catch(() => {});
  load({ reuse: true }).catch((error) => say(`Loading the timeline failed: ${error.message}`, "error"));
})();
