/* RvTimeline: the programming desk's timeline, channels as rows and time across, drawn as one HTML
   string of absolutely placed blocks.

   Why not EventCalendar any more: it measured and laid out every block it drew (~1 ms of CPU each,
   so 50 channels × a day, ~1,650 blocks, took 1.7–2.5 s to draw and 20 rows ~1.1–1.6 s; the same
   blocks as one innerHTML take ~0.1 s). What we needed from it is small and is here: rows, a time
   axis, blocks placed by time, drag to move (also to another row), drag the end to resize, snap to
   the grid, a point → (row, time) lookup for drops from outside, a now line, background marks.

   Access: the timeline is one Tab stop (a roving tabindex: the block last focused, else the first
   one on the air from now); ←/→ go to the previous/next block of the channel, ↑/↓ to the block at
   that time on the channel above/below, Enter/Space selects it; Alt+←/→ moves the focused block one
   grid step, Alt+↑/↓ to the channel above/below (the desk's side form does the rest). Touch: a long press (350 ms) picks a block up, so a plain swipe still scrolls the page.
   Pointer events cover mouse, pen and touch alike. */
(function () {
  "use strict";
  const LONG_PRESS_MS = 350;
  const DRAG_THRESHOLD_PX = 4;
  const RESIZE_EDGE_PX = 6;  // a pointer this close to an editable block's end resizes it

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }
  function percent(value) { return (value * 100).toFixed(4) + "%"; }

  /* options: blockHtml(block) → inner HTML; blockLabel(block) → aria-label and tooltip; editable(block);
     snapMinutes() → grid step; onSelect(block); onMove(block, rowId, Date) and onResize(block, Date)
     → a promise (a rejected one puts the block back). A block is {id, rowId, start, stop (ms),
     classes: [], program}; a background is {rowId, start, stop, classes: [], title}. */
  function create(element, options) {
    const view = { start: 0, stop: 1, rows: [], blocks: [], backgrounds: [], labelEvery: 120, slotMinutes: 30 };
    let byId = new Map();
    let drag = null;
    let swallowClick = false;
    let tabStop = null;  // the id of the block that takes the Tab stop
    element.classList.add("rv-tl");

    function span() { return view.stop - view.start; }
    function x(time) { return (Math.min(Math.max(time, view.start), view.stop) - view.start) / span(); }
    function snap(time) {
      const step = options.snapMinutes() * 60000;
      return view.start + Math.round((time - view.start) / step) * step;
    }
    function clock(time) {
      const d = new Date(time);
      return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
    }

    function blockMarkup(block, overlapped, tabbable) {
      const left = x(block.start), right = x(block.stop);
      const classes = ["rv-tl-block", ...block.classes];
      if (block.start < view.start) classes.push("rv-tl-from-before");
      if (block.stop > view.stop) classes.push("rv-tl-to-after");
      if (overlapped) classes.push("rv-tl-overlapped");
      const editable = options.editable(block);
      if (editable) classes.push("rv-tl-editable");
      const label = escapeHtml(options.blockLabel(block));
      // One element per block at the day zoom (the desk's blockHtml is then plain text): the
      // resize handle is drawn by CSS and found by position, not an element of its own.
      return `<div class="${classes.join(" ")}" data-program-id="${block.id}" tabindex="${tabbable ? 0 : -1}" role="button"`
        + ` aria-label="${label}" title="${label}" style="left:${percent(left)};width:${percent(right - left)}">`
        + options.blockHtml(block) + "</div>";
    }

    function draw(next) {
      Object.assign(view, next);
      byId = new Map(view.blocks.map((block) => [String(block.id), block]));
      const lanes = new Map(view.rows.map((row) => [String(row.id), []]));
      for (const mark of view.backgrounds) {
        const lane = lanes.get(String(mark.rowId));
        if (!lane || mark.stop <= view.start || mark.start >= view.stop) continue;
        const left = x(mark.start), right = x(mark.stop);
        lane.push(`<div class="rv-tl-mark ${mark.classes.join(" ")}" title="${escapeHtml(mark.title)}" style="left:${percent(left)};width:${percent(Math.max(right - left, 0.002))}"></div>`);
      }
      const now = Date.now();
      if (!byId.has(String(tabStop))) {
        const first = view.blocks.find((block) => block.stop > now && lanes.has(String(block.rowId)));
        tabStop = first ? String(first.id) : view.blocks.length ? String(view.blocks[0].id) : null;
      }
      const reached = new Map();
      for (const block of view.blocks) {  // sorted by row, then start (the API's order)
        const key = String(block.rowId), lane = lanes.get(key);
        if (!lane) continue;
        lane.push(blockMarkup(block, block.start < (reached.get(key) ?? -Infinity), String(block.id) === tabStop));
        reached.set(key, Math.max(reached.get(key) ?? -Infinity, block.stop));
      }
      const labels = [];
      for (let t = view.start; t < view.stop; t += view.labelEvery * 60000) {
        labels.push(`<span class="rv-tl-tick" style="left:${percent(x(t))}">${clock(t)}</span>`);
      }
      const slots = span() / (view.slotMinutes * 60000);
      element.style.setProperty("--rv-tl-slot", percent(1 / slots));
      element.innerHTML = `<div class="rv-tl-head" aria-hidden="true"><div class="rv-tl-corner">Channel</div><div class="rv-tl-axis">${labels.join("")}</div></div>`
        + `<div class="rv-tl-body">${view.rows.map((row) => `<div class="rv-tl-row" data-row-id="${escapeHtml(row.id)}" role="group" aria-label="${escapeHtml(row.title)}">`
          + `<div class="rv-tl-label" title="${escapeHtml(row.title)}">${escapeHtml(row.title)}</div>`
          + `<div class="rv-tl-lane">${lanes.get(String(row.id)).join("")}</div></div>`).join("")}`
        + '<div class="rv-tl-now" aria-hidden="true"></div></div>';
      placeNowLine();
    }

    function placeNowLine() {
      const line = element.querySelector(".rv-tl-now");
      if (!line) return;
      const now = Date.now();
      line.hidden = !(now >= view.start && now < view.stop);
      line.style.setProperty("--rv-tl-at", x(now).toFixed(5));
    }
    setInterval(placeNowLine, 30000);

    /* The row and time under a viewport point, or null outside the lanes. */
    function dateFromPoint(clientX, clientY) {
      for (const row of element.querySelectorAll(".rv-tl-row")) {
        const box = row.getBoundingClientRect();
        if (clientY < box.top || clientY >= box.bottom) continue;
        const lane = row.querySelector(".rv-tl-lane").getBoundingClientRect();
        if (clientX < lane.left || clientX > lane.right) return null;
        return { rowId: row.dataset.rowId, date: new Date(view.start + ((clientX - lane.left) / lane.width) * span()) };
      }
      return null;
    }

    // --- pointer drag: move (also across rows) and resize --------------------------------------------

    function begin() {
      drag.started = true;
      drag.el.classList.add("rv-tl-dragging");
      drag.laneWidth = drag.el.parentElement.getBoundingClientRect().width;
      drag.rows = Array.from(element.querySelectorAll(".rv-tl-row"), (row) => {
        const box = row.getBoundingClientRect();
        return { id: row.dataset.rowId, top: box.top, bottom: box.bottom, lane: row.querySelector(".rv-tl-lane") };
      });
    }

    function follow(event) {
      const block = drag.block;
      const delta = ((event.clientX - drag.x0) / drag.laneWidth) * span();
      const step = options.snapMinutes() * 60000;
      if (drag.resizing) {
        drag.stop = Math.max(block.start + step, snap(block.stop + delta));
        drag.el.style.width = percent(x(drag.stop) - x(block.start));
        return;
      }
      drag.start = snap(block.start + delta);
      const row = drag.rows.find((r) => event.clientY >= r.top && event.clientY < r.bottom);
      if (row && row.id !== drag.rowId) { drag.rowId = row.id; row.lane.appendChild(drag.el); }
      drag.el.style.left = percent((drag.start - view.start) / span());
    }

    function finish(event) {
      window.removeEventListener("pointermove", onPointerMove);
      window.removeEventListener("pointerup", finish);
      window.removeEventListener("pointercancel", finish);
      const current = drag;
      drag = null;
      clearTimeout(current.timer);
      if (!current.started) return;
      swallowClick = true;  // the click that ends a drag is not a selection
      setTimeout(() => { swallowClick = false; }, 0);
      current.el.classList.remove("rv-tl-dragging");
      const block = current.block;
      const restore = () => draw({});
      if (event.type === "pointercancel") { restore(); return; }
      let done;
      if (current.resizing) {
        done = current.stop !== block.stop ? options.onResize(block, new Date(current.stop)) : null;
      } else if (current.start !== block.start || current.rowId !== String(block.rowId)) {
        done = options.onMove(block, current.rowId, new Date(current.start));
      }
      if (done) done.catch(restore); else restore();
    }

    function onPointerMove(event) {
      const moved = Math.hypot(event.clientX - drag.x0, event.clientY - drag.y0);
      if (!drag.started) {
        if (drag.touch) { if (moved > 8) { clearTimeout(drag.timer); finishQuietly(); } return; }  // a swipe: let it scroll
        if (moved < DRAG_THRESHOLD_PX) return;
        begin();
      }
      event.preventDefault();
      follow(event);
    }

    function finishQuietly() {
      window.removeEventListener("pointermove", onPointerMove);
      window.removeEventListener("pointerup", finish);
      window.removeEventListener("pointercancel", finish);
      drag = null;
    }

    element.addEventListener("pointerdown", (event) => {
      const el = event.target.closest(".rv-tl-block");
      if (!el || event.button > 0 || drag) return;
      const block = byId.get(el.dataset.programId);
      if (!block || !options.editable(block)) return;
      drag = {
        block, el, started: false, touch: event.pointerType === "touch", x0: event.clientX, y0: event.clientY,
        resizing: event.clientX >= el.getBoundingClientRect().right - RESIZE_EDGE_PX && block.stop <= view.stop,
        rowId: String(block.rowId),
        start: block.start, stop: block.stop, timer: null,
      };
      if (drag.touch) drag.timer = setTimeout(() => { if (drag && !drag.started) begin(); }, LONG_PRESS_MS);
      else event.preventDefault();  // no text selection while dragging with a mouse
      window.addEventListener("pointermove", onPointerMove);
      window.addEventListener("pointerup", finish);
      window.addEventListener("pointercancel", finish);
    });
    // Once a touch drag has begun, the finger moves the block, not the page.
    document.addEventListener("touchmove", (event) => { if (drag && drag.started) event.preventDefault(); }, { passive: false });
    element.addEventListener("contextmenu", (event) => { if (drag && drag.touch) event.preventDefault(); });

    // --- selection and keyboard --------------------------------------------------------------------

    element.addEventListener("click", (event) => {
      const el = event.target.closest(".rv-tl-block");
      if (!el || swallowClick) return;
      options.onSelect(byId.get(el.dataset.programId));
    });
    element.addEventListener("focusin", (event) => {
      const el = event.target.closest(".rv-tl-block");
      if (!el || el.dataset.programId === tabStop) return;
      const previous = tabStop && element.querySelector(`[data-program-id="${tabStop}"]`);
      if (previous) previous.tabIndex = -1;
      el.tabIndex = 0;
      tabStop = el.dataset.programId;
    });

    /* Arrow keys between blocks: along the channel, or to the channel above/below at the same time. */
    function walk(event, block) {
      const key = String(block.rowId);
      let next = null;
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        const row = view.blocks.filter((b) => String(b.rowId) === key);
        next = row[row.indexOf(block) + (event.key === "ArrowRight" ? 1 : -1)];
      } else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
        const rows = view.rows.map((row) => String(row.id));
        const other = rows[rows.indexOf(key) + (event.key === "ArrowDown" ? 1 : -1)];
        const at = Math.max(block.start, view.start);
        next = view.blocks.find((b) => String(b.rowId) === other && b.start <= at && at < b.stop)
          || view.blocks.find((b) => String(b.rowId) === other && b.start >= at);
      } else {
        return;
      }
      event.preventDefault();
      const el = next && element.querySelector(`[data-program-id="${next.id}"]`);
      if (el) { el.focus(); el.scrollIntoView({ block: "nearest" }); }
    }

    element.addEventListener("keydown", (event) => {
      const el = event.target.closest(".rv-tl-block");
      if (!el) return;
      const block = byId.get(el.dataset.programId);
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        options.onSelect(block);
        return;
      }
      if (!event.altKey) { walk(event, block); return; }
      if (!options.editable(block)) return;
      const step = options.snapMinutes() * 60000;
      const rows = view.rows.map((row) => String(row.id));
      const here = rows.indexOf(String(block.rowId));
      const moves = {
        ArrowLeft: [rows[here], block.start - step], ArrowRight: [rows[here], block.start + step],
        ArrowUp: [rows[here - 1], block.start], ArrowDown: [rows[here + 1], block.start],
      };
      const target = moves[event.key];
      if (!target || target[0] === undefined) return;
      event.preventDefault();
      // Keep the keyboard where it was: on the block at its new place once the timeline is redrawn.
      const refocus = () => {
        const moved = view.blocks.find((b) => String(b.rowId) === target[0] && b.start === target[1]);
        const found = moved && element.querySelector(`[data-program-id="${moved.id}"]`);
        (found || element.querySelector(`[data-program-id="${block.id}"]`))?.focus();
      };
      options.onMove(block, target[0], new Date(target[1])).then(refocus, refocus);
    });

    return { draw, dateFromPoint, element };
  }

  window.RvTimeline = { create };
})();
