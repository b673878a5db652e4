/* Mermaid diagrams on a lesson page (only pages with a diagram link this script). The page itself never
   runs mermaid: its SVG needs inline styles, which this page's CSP refuses. A hidden frame of our own
   (data-cp-frame, its own CSP) renders each <div class="cp-mermaid"> source and returns the SVG, shown
   here as an image (img-src blob:). A diagram that does not parse keeps its source and gets the error;
   none is ever a blank box. The theme follows the page's (theme.js). */
(function () {
  "use strict";
  var script = document.currentScript;
  var diagrams = Array.prototype.slice.call(document.querySelectorAll(".cp-mermaid"));
  if (!diagrams.length || !script) return;
  var frameUrl = new URL(script.getAttribute("data-cp-frame") || "", document.baseURI);
  var origin = window.location.origin;
  var frame = document.createElement("iframe");
  var ready = false;
  var urls = [];

  function theme() {
    return typeof window.cpTheme === "function" ? window.cpTheme() : "light";
  }
  function source(diagram) {
    var pre = diagram.querySelector(".cp-mermaid-source");
    return pre ? pre.textContent : "";
  }
  function clear(diagram) {
    diagram.querySelectorAll(".cp-mermaid-image, .cp-mermaid-error").forEach(function (el) {
      el.remove();
    });
  }
  function fail(diagram, message) {
    clear(diagram);
    var pre = diagram.querySelector(".cp-mermaid-source");
    if (pre) pre.hidden = false;
    var note = document.createElement("p");
    note.className = "cp-mermaid-error";
    note.setAttribute("role", "note");
    note.textContent = "This diagram could not be drawn: " + message;
    diagram.appendChild(note);
    diagram.setAttribute("data-cp-diagram", "error");
  }
  function draw(diagram, data) {
    clear(diagram);
    var pre = diagram.querySelector(".cp-mermaid-source");
    var url = URL.createObjectURL(new Blob([data.svg], { type: "image/svg+xml" }));
    urls.push(url);
    var img = document.createElement("img");
    img.className = "cp-mermaid-image";
    img.alt = "Diagram";
    img.decoding = "async";
    if (data.width && data.height) {
      img.width = Math.ceil(data.width);
      img.height = Math.ceil(data.height);
    }
    if (pre) {
      // The source stays in the page, hidden, as the image's description for screen readers.
      if (!pre.id) pre.id = "cp-mermaid-source-" + diagrams.indexOf(diagram);
      img.setAttribute("aria-describedby", pre.id);
      pre.hidden = true;
    }
    img.src = url;
    diagram.insertBefore(img, diagram.firstChild);
    diagram.setAttribute("data-cp-diagram", "drawn");
  }
  function renderAll() {
    urls.forEach(function (url) {
      URL.revokeObjectURL(url);
    });
    urls = [];
    diagrams.forEach(function (diagram, index) {
      diagram.setAttribute("data-cp-diagram", "pending");
      frame.contentWindow.postMessage(
        { cpDiagram: "render", id: index, source: source(diagram), theme: theme() },
        origin
      );
    });
  }
  var timer = window.setTimeout(function () {
    if (ready) return;
    diagrams.forEach(function (diagram) {
      fail(diagram, "the diagram renderer did not start.");
    });
  }, 20000);

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.cpDiagram === "ready") {
      ready = true;
      window.clearTimeout(timer);
      renderAll();
    } else if (data.cpDiagram === "fatal") {
      ready = true;
      window.clearTimeout(timer);
      diagrams.forEach(function (diagram) {
        fail(diagram, String(data.error || "no renderer"));
      });
    } else if (data.cpDiagram === "drawn" && diagrams[data.id]) {
      draw(diagrams[data.id], data);
    } else if (data.cpDiagram === "error" && diagrams[data.id]) {
      fail(diagrams[data.id], String(data.error || "unknown error"));
    }
  });
  document.addEventListener("cp-themechange", function () {
    if (ready) renderAll();
  });
  // Laid out (mermaid measures text) but out of sight and out of the tab order.
  frame.className = "cp-diagram-frame";
  frame.setAttribute("aria-hidden", "true");
  frame.setAttribute("tabindex", "-1");
  frame.title = "Diagram renderer";
  frame.src = frameUrl.href;
  document.body.appendChild(frame);
})();
