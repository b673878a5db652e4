/* The diagram frame: the one document that runs mermaid. mermaid measures and styles a diagram with inline
   <style> and style="" inside its SVG, which the lesson pages' CSP (style-src 'self') refuses; this page,
   published under assets/ with no course content, is served with a CSP of its own that allows inline
   styles and nothing else more (template.yaml, DiagramFrameResponseHeadersPolicy). A lesson page sends a
   diagram's source by postMessage, same origin only; the answer is the finished SVG, or the error. */
(function () {
  "use strict";
  var origin = window.location.origin;
  function reply(message) {
    window.parent.postMessage(message, origin);
  }
  if (typeof window.mermaid === "undefined") {
    reply({ cpDiagram: "fatal", error: "Diagrams cannot be drawn here: mermaid is not installed on this site." });
    return;
  }
  var count = 0;
  var queue = Promise.resolve();
  function render(data) {
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: data.theme === "dark" ? "dark" : "default",
    });
    count += 1;
    return window.mermaid
      .render("cp-diagram-" + count, String(data.source || ""))
      .then(function (result) {
        // As an image the SVG needs its own size: mermaid gives it width="100%" and a max-width style.
        var doc = new DOMParser().parseFromString(result.svg, "image/svg+xml");
        var svg = doc.documentElement;
        var box = (svg.getAttribute("viewBox") || "").split(/[\s,]+/).map(Number);
        if (box.length === 4 && box[2] > 0 && box[3] > 0) {
          svg.setAttribute("width", String(Math.ceil(box[2])));
          svg.setAttribute("height", String(Math.ceil(box[3])));
        }
        svg.removeAttribute("style");
        reply({
          cpDiagram: "drawn",
          id: data.id,
          svg: new XMLSerializer().serializeToString(svg),
          width: box[2] || 0,
          height: box[3] || 0,
        });
      })
      .catch(function (error) {
        var message = (error && (error.message || error.str)) || String(error);
        reply({ cpDiagram: "error", id: data.id, error: String(message).slice(0, 2000) });
      })
      .finally(function () {
        // mermaid leaves its scratch element behind after an error
        var scratch = document.getElementById("dcp-diagram-" + count);
        if (scratch) scratch.remove();
      });
  }
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== window.parent) return;
    var data = event.data || {};
    if (data.cpDiagram !== "render") return;
    queue = queue.then(function () {
      return render(data);
    });
  });
  reply({ cpDiagram: "ready" });
})();
