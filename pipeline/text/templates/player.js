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
//
// Captions: a <select class="cp-captions"> after each <video> lists its caption and subtitle TextTracks,
// whoever made them (the page's <track> children, hls.js from the master's SUBTITLES renditions, or the
// browser's native HLS), because the browsers' own CC buttons differ or are missing. When the <video> says
// data-cp-hls-subtitles="yes", the master carries the same languages as renditions, so the <track>
// children go: at attach with hls.js, and on native HLS once the browser has listed the renditions (not
// every native HLS exposes them; the <track>s stay where it does not). The viewer's choice is remembered
// (localStorage "cp-captions": a language tag or "off") and applied to the next video.
//
// Transcript: <details class="cp-transcript"> right after a player's figure; its buttons
// (data-cp-seek="seconds") seek that figure's media and play, and the row being spoken gets
// aria-current="true". The page has no inline script or style (strict CSP): everything is wired here.
(function () {
  "use strict";
  var script = document.currentScript;
  var HLS_JS_URL = new URL("hls.min.js", script ? script.src : document.baseURI).href;
  var HLS_TYPE = "application/vnd.apple.mpegurl";
  var FORCE_HLS_JS = new URLSearchParams(window.location.search).get("player") === "hls.js";
  var CAPTION_KINDS = { captions: true, subtitles: true };
  var PREFERENCE_KEY = "cp-captions";
  var states = new WeakMap();

  function slice(list) {
    return Array.prototype.slice.call(list);
  }

  function players() {
    return slice(document.querySelectorAll(".cp-player [data-hls-src]"));
  }

  function wantsHlsJs(media) {
    return FORCE_HLS_JS || media.dataset.cpPlayer === "hls.js" || !media.canPlayType(HLS_TYPE);
  }

  // ---- captions

  function readPreference() {
    try { return window.localStorage.getItem(PREFERENCE_KEY); } catch (e) { return null; }
  }

  function writePreference(value) {
    try { window.localStorage.setItem(PREFERENCE_KEY, value); } catch (e) { /* private mode: not kept */ }
  }

  function stateOf(media) {
    var state = states.get(media);
    if (!state) {
      // The page's own caption <track>s, taken before hls.js adds its <track> nodes next to them.
      var own = slice(media.querySelectorAll("track")).filter(function (el) { return CAPTION_KINDS[el.kind]; });
      state = { pageTracks: own, tracks: [], hls: null, select: null, wanted: readPreference() };
      states.set(media, state);
    }
    return state;
  }

  function captionTracks(media) {
    return slice(media.textTracks).filter(function (track) { return CAPTION_KINDS[track.kind]; });
  }

  function dropPageTracks(media) {
    var state = stateOf(media);
    state.pageTracks.forEach(function (el) { if (el.parentNode) el.parentNode.removeChild(el); });
    state.pageTracks = [];
  }

  function isPageTrack(state, track) {
    return state.pageTracks.some(function (el) { return el.track === track; });
  }

  function matchesLanguage(track, wanted) {
    var language = (track.language || "").toLowerCase();
    wanted = wanted.toLowerCase();
    return language === wanted || language.split("-")[0] === wanted.split("-")[0];
  }

  // Shows tracks[index] (-1: none) and disables the others; with hls.js through its subtitleTrack API,
  // so it loads that rendition's playlist and segments.
  function show(media, index) {
    var state = stateOf(media);
    var chosen = index >= 0 ? state.tracks[index] : null;
    var hls = state.hls;
    if (hls && hls.subtitleTracks.length) {
      var id = -1;
      hls.subtitleTracks.forEach(function (option, i) {
        if (chosen && option.trackNode && option.trackNode.track === chosen) id = i;
      });
      hls.subtitleTrack = id;
    }
    state.tracks.forEach(function (track) {
      if (track !== chosen && track.mode !== "disabled") track.mode = "disabled";
    });
    if (chosen && chosen.mode !== "showing") chosen.mode = "showing";
  }

  function applyPreference(media) {
    var state = stateOf(media);
    if (!state.wanted || !state.tracks.length) return;
    if (state.wanted === "off") { show(media, -1); return; }
    var exact = -1, close = -1;
    state.tracks.forEach(function (track, i) {
      if (exact < 0 && (track.language || "").toLowerCase() === state.wanted.toLowerCase()) exact = i;
      if (close < 0 && matchesLanguage(track, state.wanted)) close = i;
    });
    var index = exact >= 0 ? exact : close;
    if (index >= 0 && state.tracks[index].mode !== "showing") show(media, index);
  }

  function syncMenu(media) {
    var state = stateOf(media);
    var showing = -1;
    state.tracks.forEach(function (track, i) { if (showing < 0 && track.mode === "showing") showing = i; });
    state.select.value = String(showing);
  }

  function refreshMenu(media) {
    var state = stateOf(media);
    var select = state.select;
    state.tracks = captionTracks(media);
    while (select.options.length) select.remove(0);
    select.add(new Option("Off", "-1"));
    state.tracks.forEach(function (track, i) {
      select.add(new Option(track.label || track.language || "Track " + (i + 1), String(i)));
    });
    select.closest(".cp-player-tools").hidden = state.tracks.length === 0;
    applyPreference(media);
    syncMenu(media);
  }

  function buildMenu(media) {
    var state = stateOf(media);
    var bar = document.createElement("div");
    bar.className = "cp-player-tools";
    bar.hidden = true;
    var label = document.createElement("label");
    label.appendChild(document.createTextNode("Captions "));
    var select = document.createElement("select");
    select.className = "cp-captions";
    label.appendChild(select);
    bar.appendChild(label);
    media.insertAdjacentElement("afterend", bar);
    state.select = select;
    select.addEventListener("change", function () {
      var index = parseInt(select.value, 10);
      var track = state.tracks[index];
      state.wanted = track ? track.language || null : "off";
      if (state.wanted) writePreference(state.wanted);
      show(media, index);
    });
    media.textTracks.addEventListener("addtrack", function (event) {
      var track = event.track;
      if (media.dataset.cpHlsSubtitles === "yes" && media.dataset.cpAttached === "native" &&
          CAPTION_KINDS[track.kind] && state.pageTracks.length && !isPageTrack(state, track)) {
        dropPageTracks(media); // native HLS listed the master's renditions: the <track>s are duplicates
      }
      refreshMenu(media);
    });
    media.textTracks.addEventListener("removetrack", function () { refreshMenu(media); });
    media.textTracks.addEventListener("change", function () { syncMenu(media); });
    refreshMenu(media);
  }

  // ---- transcript

  function wireTranscript(details) {
    // The figure is the nearest earlier sibling that is a player (chapters come before the transcript).
    var figure = details.previousElementSibling;
    while (figure && !figure.classList.contains("cp-player") &&
           (figure.classList.contains("cp-chapters") || figure.classList.contains("cp-transcript"))) {
      figure = figure.previousElementSibling;
    }
    var media = figure && figure.classList.contains("cp-player") ? figure.querySelector("video, audio") : null;
    var list = details.querySelector(".cp-cues");
    if (!media || !list) return;
    var rows = slice(list.querySelectorAll("li")).map(function (li) {
      var button = li.querySelector("button[data-cp-seek]");
      return { li: li, start: parseFloat(button ? button.dataset.cpSeek : ""), end: parseFloat(li.dataset.cpEnd) };
    }).filter(function (row) { return isFinite(row.start) && isFinite(row.end); });
    var active = null;

    function highlight() {
      var now = media.currentTime, next = null;
      rows.forEach(function (row) { if (row.start <= now && now < row.end) next = row; });
      if (next === active) return;
      if (active) active.li.removeAttribute("aria-current");
      active = next;
      if (!active) return;
      active.li.setAttribute("aria-current", "true");
      // Keep the spoken row in view inside the list only: never scroll the page under the reader.
      if (details.open) {
        var top = active.li.offsetTop, bottom = top + active.li.offsetHeight;
        if (top < list.scrollTop || bottom > list.scrollTop + list.clientHeight) {
          list.scrollTop = Math.max(0, top - list.clientHeight / 3);
        }
      }
    }

    list.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-cp-seek]");
      if (!button) return;
      media.currentTime = parseFloat(button.dataset.cpSeek);
      highlight();
      var playing = media.play();
      if (playing && playing.catch) playing.catch(function () { /* autoplay refused: seeked only */ });
    });
    media.addEventListener("timeupdate", highlight);
    media.addEventListener("seeked", highlight);
  }

  // ---- playback

  function attachAll(Hls) {
    players().forEach(function (media) {
      if (!wantsHlsJs(media) || media.dataset.cpAttached) return;
      media.dataset.cpAttached = "hls.js";
      // Signed cookies (CloudFront) must travel with every playlist and segment request.
      var hls = new Hls({ xhrSetup: function (xhr) { xhr.withCredentials = true; } });
      hls.on(Hls.Events.ERROR, function (event, data) {
        if (data.fatal) media.dataset.cpError = data.type + ":" + data.details;
      });
      if (media.dataset.cpHlsSubtitles === "yes") dropPageTracks(media);
      stateOf(media).hls = hls;
      hls.loadSource(media.getAttribute("data-hls-src"));
      hls.attachMedia(media);
    });
  }

  function start() {
    var needHlsJs = players().some(wantsHlsJs);
    players().forEach(function (media) {
      stateOf(media);
      if (!wantsHlsJs(media)) media.dataset.cpAttached = "native";
      if (media.tagName === "VIDEO") buildMenu(media);
    });
    slice(document.querySelectorAll(".cp-transcript, .cp-chapters")).forEach(wireTranscript);
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
