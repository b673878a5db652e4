/* Light/dark theme: loaded synchronously in <head>, before the stylesheet, so the page is painted in the
   reader's theme from the first frame (no inline script: the CSP is script-src 'self'). A stored choice
   sets data-theme="light"|"dark" on <html>; without one the stylesheet follows prefers-color-scheme. */
(function () {
  "use strict";
  var KEY = "cp-theme";
  var root = document.documentElement;
  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : null;
    } catch (e) {
      return null; // storage disabled: the system's preference rules
    }
  }
  function current() {
    var chosen = root.getAttribute("data-theme");
    if (chosen === "light" || chosen === "dark") return chosen;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  var initial = stored();
  if (initial) root.setAttribute("data-theme", initial);

  function wire() {
    var button = document.querySelector(".cp-theme-toggle");
    if (!button) return;
    var label = button.querySelector(".cp-theme-label") || button;
    function show() {
      var dark = current() === "dark";
      button.setAttribute("aria-pressed", dark ? "true" : "false");
      label.textContent = "Dark theme";
      button.title = dark ? "Switch to the light theme" : "Switch to the dark theme";
    }
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try {
        window.localStorage.setItem(KEY, next);
      } catch (e) {
        /* not remembered, still applied */
      }
      show();
      document.dispatchEvent(new CustomEvent("cp-themechange", { detail: { theme: next } }));
    });
    if (window.matchMedia) {
      var query = window.matchMedia("(prefers-color-scheme: dark)");
      if (query.addEventListener) query.addEventListener("change", show);
    }
    button.hidden = false;
    show();
  }
  // Printing opens every collapsible (and closes again those that were closed): paper has no click.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("details:not([open])"), function (d) {
      d.open = true;
      return true;
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) {
      d.open = false;
    });
    opened = [];
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
  window.cpTheme = current;
})();
