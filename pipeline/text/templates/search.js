/* Course search. The course publishes search.json (its lessons, in course order) with its index page, and
   each lesson search/<id>.json (its text by heading) with its page; both are same-origin files under the
   course folder, so the signed cookies that open the pages open them too. Loaded on first use, matched
   here: every word of the query must appear (as a word or part of one), headings and titles count most.
   The box is a combobox: arrows move through the results, Enter opens one, Escape closes the list. */
(function () {
  "use strict";
  var box = document.querySelector(".cp-search");
  if (!box) return;
  var input = box.querySelector(".cp-search-input");
  var list = box.querySelector(".cp-search-results");
  var status = box.querySelector(".cp-search-status");
  var indexUrl = new URL(box.getAttribute("data-cp-index") || "search.json", document.baseURI);
  var MAX_RESULTS = 20;
  var entries = null;
  var loading = null;
  var active = -1;
  var timer = 0;

  var ASCII = /^[\x00-\x7f]*$/;
  var MARKS = /[\u0300-\u036f]/g;
  // One character out for every character in, so a match's position is its position in the text.
  function fold(text) {
    if (ASCII.test(text)) return text.toLowerCase();
    var out = "";
    for (var i = 0; i < text.length; i++) {
      var c = text[i].normalize("NFD").replace(MARKS, "").toLowerCase();
      out += c.length === 1 ? c : text[i].toLowerCase().length === 1 ? text[i].toLowerCase() : text[i];
    }
    return out;
  }
  function terms(query) {
    return fold(query)
      .split(/[^\p{L}\p{N}_]+/u)
      .filter(function (t) {
        return t.length > 0;
      });
  }

  function load() {
    if (loading) return loading;
    loading = fetch(indexUrl.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("search list " + response.status);
        return response.json();
      })
      .then(function (doc) {
        var lessons = Array.isArray(doc.lessons) ? doc.lessons : [];
        return Promise.all(
          lessons.map(function (lesson) {
            var url = new URL(String(lesson.fragment), indexUrl);
            return fetch(url.href, { credentials: "same-origin" })
              .then(function (r) {
                return r.ok ? r.json() : null; // not rendered yet, or failed: not searchable
              })
              .catch(function () {
                return null;
              })
              .then(function (fragment) {
                return { lesson: lesson, fragment: fragment };
              });
          })
        );
      })
      .then(function (found) {
        entries = [];
        found.forEach(function (item, order) {
          if (!item.fragment || !Array.isArray(item.fragment.sections)) return;
          var title = String(item.fragment.title || item.lesson.title || "");
          var page = new URL(String(item.lesson.href), indexUrl);
          item.fragment.sections.forEach(function (section) {
            var text = String(section.text || "");
            var heading = String(section.heading || "");
            var href = new URL(page.href);
            href.hash = section.anchor ? "#" + section.anchor : "";
            entries.push({
              order: order,
              title: title,
              heading: section.kind === "transcript" ? (heading ? heading + " · " : "") + "Transcript" : heading,
              href: href.href,
              text: text,
              foldedText: fold(text),
              foldedHeading: fold(heading),
              foldedTitle: fold(title),
            });
          });
        });
        return entries;
      })
      .catch(function (error) {
        loading = null; // try again on the next keystroke
        throw error;
      });
    return loading;
  }

  // Substring match: "mic" finds "microphone" and "microphones"; every word must be found.
  function has(haystack, term) {
    return haystack.indexOf(term) >= 0;
  }
  function search(query) {
    var words = terms(query);
    if (!words.length || !entries) return [];
    var results = [];
    entries.forEach(function (entry) {
      var score = 0;
      for (var i = 0; i < words.length; i++) {
        var w = words[i];
        var inHeading = has(entry.foldedHeading, w);
        var inTitle = has(entry.foldedTitle, w);
        var inText = has(entry.foldedText, w);
        if (!inHeading && !inTitle && !inText) return;
        score += (inHeading ? 6 : 0) + (inTitle ? 3 : 0) + (inText ? 1 : 0);
      }
      results.push({ entry: entry, score: score });
    });
    results.sort(function (a, b) {
      return b.score - a.score || a.entry.order - b.entry.order;
    });
    return results.slice(0, MAX_RESULTS).map(function (r) {
      return r.entry;
    });
  }

  function snippet(entry, words) {
    var text = entry.text;
    var folded = entry.foldedText;
    var first = -1;
    words.forEach(function (w) {
      var at = folded.indexOf(w);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    });
    var start = first < 0 ? 0 : Math.max(0, first - 60);
    var end = Math.min(text.length, start + 180);
    var fragment = document.createDocumentFragment();
    if (start > 0) fragment.appendChild(document.createTextNode("… "));
    var i = start;
    while (i < end) {
      var next = -1;
      var length = 0;
      words.forEach(function (w) {
        var at = folded.indexOf(w, i);
        if (at >= 0 && at < end && (next < 0 || at < next)) {
          next = at;
          length = w.length;
        }
      });
      if (next < 0) {
        fragment.appendChild(document.createTextNode(text.slice(i, end)));
        break;
      }
      if (next > i) fragment.appendChild(document.createTextNode(text.slice(i, next)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(next, next + length);
      fragment.appendChild(mark);
      i = next + length;
    }
    if (end < text.length) fragment.appendChild(document.createTextNode(" …"));
    return fragment;
  }

  function options() {
    return list.querySelectorAll('[role="option"]');
  }
  function setActive(index) {
    var all = options();
    if (!all.length) return;
    active = (index + all.length) % all.length;
    all.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === active ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", all[active].id);
    all[active].scrollIntoView({ block: "nearest" });
  }
  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }
  function show(query) {
    var words = terms(query);
    list.textContent = "";
    active = -1;
    input.removeAttribute("aria-activedescendant");
    if (!words.length) {
      close();
      status.textContent = "";
      return;
    }
    var found = search(query);
    found.forEach(function (entry, i) {
      var li = document.createElement("li");
      li.id = "cp-search-result-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      var link = document.createElement("a");
      link.href = entry.href;
      link.tabIndex = -1;
      var where = document.createElement("span");
      where.className = "cp-result-where";
      var lesson = document.createElement("span");
      lesson.className = "cp-result-lesson";
      lesson.textContent = entry.title;
      where.appendChild(lesson);
      if (entry.heading) {
        var heading = document.createElement("span");
        heading.className = "cp-result-heading";
        heading.textContent = entry.heading;
        where.appendChild(heading);
      }
      var text = document.createElement("span");
      text.className = "cp-result-snippet";
      text.appendChild(snippet(entry, words));
      link.appendChild(where);
      link.appendChild(text);
      li.appendChild(link);
      list.appendChild(li);
    });
    if (!found.length) {
      var none = document.createElement("li");
      none.className = "cp-search-none";
      none.textContent = "No results";
      list.appendChild(none);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    status.textContent = found.length
      ? found.length + (found.length === 1 ? " result" : " results")
      : "No results";
  }
  function update() {
    var query = input.value;
    load().then(
      function () {
        if (input.value === query) show(query);
      },
      function () {
        status.textContent = "Search is not available right now.";
        list.textContent = "";
        var li = document.createElement("li");
        li.className = "cp-search-none";
        li.textContent = "Search is not available right now.";
        list.appendChild(li);
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
    );
  }

  input.addEventListener("focus", function () {
    load().catch(function () {});
  });
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 80);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden) update();
      setActive(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      var all = options();
      var chosen = all[active >= 0 ? active : 0];
      if (chosen) {
        event.preventDefault();
        window.location.href = chosen.querySelector("a").href;
      }
    } else if (event.key === "Escape") {
      if (!list.hidden) {
        event.preventDefault();
        close();
      } else {
        input.value = "";
      }
    }
  });
  document.addEventListener("click", function (event) {
    if (!box.contains(event.target)) close();
  });
  document.addEventListener("keydown", function (event) {
    // "/" jumps to the search box, as on most documentation sites (not while typing elsewhere).
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
    }
  });
  box.hidden = false;
})();
