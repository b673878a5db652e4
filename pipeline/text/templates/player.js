// coursepipe player bootstrap. Lesson pages mark each player with data-hls-src (the HLS master playlist)
// and a <source type="application/vnd.apple.mpegurl"> child, so browsers with native HLS (Safari, iOS,
// recent Chromium) play with no script at all. Elsewhere this file loads hls.js and attaches it.
//
// THE HOOK: hls.js is not committed. It is expected as "hls.min.js" next to this file (the course's
// assets/ folder); the CDN work publishes it there from the npm registry at build time. Without it,
// browsers lacking native HLS show the player's fallback link.
(function () {
  "use strict";
  var script = document.currentScript;
  var HLS_JS_URL = new URL("hls.min.js", script ? script.src : document.baseURI).href;
  var HLS_TYPE = "application/vnd.apple.mpegurl";

  function players() {
    return Array.prototype.slice.call(document.querySelectorAll(".cp-player [data-hls-src]"));
  }

  function attachAll(Hls) {
    players().forEach(function (media) {
      if (media.canPlayType(HLS_TYPE) || media.dataset.cpAttached) return;
      media.dataset.cpAttached = "hls.js";
      // Signed cookies (CloudFront) must travel with every playlist and segment request.
      var hls = new Hls({ xhrSetup: function (xhr) { xhr.withCredentials = true; } });
      hls.loadSource(media.getAttribute("data-hls-src"));
      hls.attachMedia(media);
    });
  }

  function start() {
    var needHlsJs = players().some(function (media) { return !media.canPlayType(HLS_TYPE); });
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
