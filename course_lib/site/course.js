// The site's one script: copy buttons on code, and the search page's results.
(function () {
  "use strict";

  function copyText(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  }

  function fallbackCopy(text) {  // file:// pages have no clipboard API
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  function addCopyButtons() {
    document.querySelectorAll(".input_area pre, .rendered_html pre").forEach(function (pre) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy-button";
      button.textContent = "Copy";
      button.addEventListener("click", function () {
        copyText(pre.innerText, function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        });
      });
      var frame = document.createElement("div");  // the button sits in the code's top right corner
      frame.className = "code-frame";
      pre.parentNode.insertBefore(frame, pre);
      frame.appendChild(button);
      frame.appendChild(pre);
    });
  }

  function showResults() {
    var box = document.getElementById("search-results");
    if (!box || !window.COURSE_SEARCH) return;
    var query = new URLSearchParams(window.location.search).get("q") || "";
    document.querySelector(".site-search input").value = query;
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) { box.textContent = "Type words to look for in the box above."; return; }
    var hits = [];
    window.COURSE_SEARCH.forEach(function (s) {
      var heading = (s.title + " " + s.heading).toLowerCase(), text = s.text.toLowerCase(), score = 0;
      for (var i = 0; i < words.length; i++) {
        var inHeading = heading.indexOf(words[i]) >= 0, inText = text.split(words[i]).length - 1;
        if (!inHeading && !inText) return;  // every word must appear
        score += (inHeading ? 10 : 0) + Math.min(inText, 5);
      }
      hits.push({section: s, score: score});
    });
    hits.sort(function (a, b) { return b.score - a.score; });
    box.textContent = "";
    var summary = document.createElement("p");
    summary.textContent = hits.length + " section" + (hits.length === 1 ? "" : "s") + " match \u201c" + query + "\u201d.";
    box.appendChild(summary);
    var list = document.createElement("ol");
    hits.slice(0, 50).forEach(function (hit) {
      var s = hit.section, item = document.createElement("li"), link = document.createElement("a");
      link.href = s.page + (s.id ? "#" + s.id : "");
      link.textContent = s.title + (s.heading && s.heading !== s.title ? " \u203a " + s.heading : "");
      var at = s.text.toLowerCase().indexOf(words[0]), snippet = document.createElement("p");
      snippet.textContent = (at > 60 ? "\u2026" : "") + s.text.slice(Math.max(0, at - 60), at + 140) + "\u2026";
      item.appendChild(link);
      item.appendChild(snippet);
      list.appendChild(item);
    });
    box.appendChild(list);
    if (window.MathJax && MathJax.startup) {  // headings may hold math: typeset them once MathJax is ready
      MathJax.startup.promise.then(function () { return MathJax.typesetPromise(list.querySelectorAll("a")); });
    }
  }

  function fitWideMath() {  // a formula wider than its paragraph scrolls instead of widening the page
    document.querySelectorAll("mjx-container:not([display=true])").forEach(function (math) {
      if (math.getBoundingClientRect().width > math.parentElement.getBoundingClientRect().width) {
        math.classList.add("wide-math");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    addCopyButtons();
    showResults();
    if (window.MathJax && MathJax.startup) MathJax.startup.promise.then(fitWideMath);
  });
})();
