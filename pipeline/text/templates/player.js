// coursepipe player bootstrap. Lesson pages mark each player with data-hls-src (the HLS master playlist)
// and a <source type="application/vnd.apple.mpegurl"> child, so browsers with native HLS (Safari, iOS,
// recent Chromium) play with no script at all. Elsewhere this file loads hls.js and attaches it.
//
// THE HOOK: hls.js is not committed. It is expected as "hls.min.js" next to this file (the course's
// assets/ folder); the CDN work publishes it there from the npm registry at build time. Without it,
// browsers lacking native HLS show the player's fallback link.
//
// Native HLS is preferred where the browser has it. "?player=hls.js" on the page URL (or data-cp-player="hls.js"
// on the <video>) requires hls.js instead, where Hls.isSupported() (tests, debugging). Each media element
// records what plays it in data-cp-attached ("native" or "hls.js") and, on a fatal hls.js error, its
// details in data-cp-error.
(function () {
  "use strict";
  var script = document.currentScript;
  var HLS_JS_URL = new URL("hls.min.js", script ? script.src : document.baseURI).href;
  var HLS_TYPE = "application/vnd.apple.mpegurl";
  var FORCE_HLS_JS = new URLSearchParams(window.location.search).get("player") === "hls.js";

  function players() {
    return Array.prototype.slice.call(document.querySelectorAll(".cp-player [data-hls-src]"));
  }

  function wantsHlsJs(media) {
    return FORCE_HLS_JS || media.dataset.cpPlayer === "hls.js" || !media.canPlayType(HLS_TYPE);
  }

  function attachAll(Hls) {
    players().forEach(function (media) {
      if (!wantsHlsJs(media) || media.dataset.cpAttached) return;
      media.dataset.cpAttached = "hls.js";
      // Signed cookies (CloudFront) must travel with every playlist and segment request.
      var hls = new Hls({ xhrSetup: function (xhr) { xhr.withCredentials = true; } });
      hls.on(Hls.Events.ERROR, function (event, data) {
        if (data.fatal) media.dataset.cpError = data.type + ":" + data.details;
      });
      hls.loadSource(media.getAttribute("data-hls-src"));
      hls.attachMedia(media);
    });
  }

  function start() {
    var needHlsJs = players().some(wantsHlsJs);
    players().forEach(function (media) {
      if (!wantsHlsJs(media)) media.dataset.cpAttached = "native";
    });
    if (!needHlsJs) return;
    if (window.Hls) { if (window.Hls.isSupported()) attachAll(window.Hls); return; }
    var tag = document.createElement("script");
    tag.src = HLS_JS_URL;
    tag.onload = function () { if (window.Hls && window.Hls.isSupported()) attachAll(window.Hls); };
    document.head.appendChild(tag);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
