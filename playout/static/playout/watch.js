// The watch page: hls.js where Media Source Extensions exist, else the browser's own HLS (Safari,
// iOS). Muted autoplay is what browsers allow without a click; the viewer unmutes with the controls.
(function () {
  "use strict";
  var video = document.getElementById("player");
  var status = document.getElementById("status");
  var source = video.dataset.src;

  function say(message) {
    status.textContent = message;
    status.hidden = !message;
  }

  function play() {
    var attempt = video.play();
    if (attempt && attempt.catch) attempt.catch(function () { say("Press play to watch."); });
  }

  if (window.Hls && window.Hls.isSupported()) {
    var hls = new window.Hls({ liveDurationInfinity: true, backBufferLength: 30 });
    var mediaRetries = 0;
    hls.on(window.Hls.Events.MANIFEST_PARSED, function () { say(""); play(); });
    hls.on(window.Hls.Events.FRAG_BUFFERED, function () { mediaRetries = 0; say(""); });
    hls.on(window.Hls.Events.ERROR, function (_event, data) {
      if (!data.fatal) return;
      if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) {
        // The channel may be starting (no playlist yet) or restarting: keep asking.
        say("Tuning in…");
        setTimeout(function () { hls.loadSource(source); hls.startLoad(); }, 3000);
      } else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR && mediaRetries++ < 3) {
        hls.recoverMediaError();
      } else {
        say("This channel can't be played here (" + data.details + ").");
      }
    });
    hls.loadSource(source);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = source;
    video.addEventListener("loadedmetadata", play);
  } else {
    say("This browser can't play HLS. Use the channel list in an IPTV player instead.");
  }

  function clock(iso) {
    var when = new Date(iso);
    return String(when.getHours()).padStart(2, "0") + ":" + String(when.getMinutes()).padStart(2, "0");
  }

  function describe(program, withStop) {
    if (!program) return null;
    var text = program.title + (program.subtitle ? " — " + program.subtitle : "");
    return text + " " + clock(program.start) + (withStop ? "–" + clock(program.stop) : "");
  }

  // Keep now/next current without touching the video; show times in the viewer's own zone.
  function refresh() {
    fetch(video.dataset.now, { cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        document.getElementById("now").textContent = describe(data.now, true) || "Nothing in the guide";
        document.getElementById("next").textContent = describe(data.next, false) || "—";
      })
      .catch(function () {});
  }
  refresh();
  setInterval(refresh, 30000);
})();
