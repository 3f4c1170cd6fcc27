/* A table, a block of code or a displayed formula wider than the screen scrolls inside its
 * own box (the theme's .pst-scrollable-table-container, a code block's <pre>, MathJax's
 * display container). Say on that box which of its edges
 * hide content (data-hidden="right", "left" or "both"; none when it all fits), so that
 * explorer.css fades that edge: a reader sees that the table or the line goes on. Kept up to
 * date as the reader scrolls the box and as widths change (a phone turned, fonts and
 * formulas typeset after the page loaded). */
(function () {
  "use strict";
  var SCROLLERS =
    ".bd-article .pst-scrollable-table-container, .bd-article div.highlight > pre, " +
    '.bd-article mjx-container[display="true"]';
  function mark(box) {
    var more = box.scrollWidth - box.clientWidth;
    var left = box.scrollLeft > 1;
    var right = box.scrollLeft < more - 1;
    var hidden = more <= 1 ? "" : left && right ? "both" : left ? "left" : "right";
    if (hidden) box.dataset.hidden = hidden;
    else delete box.dataset.hidden;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = [];
    var markAll = function () { boxes.forEach(mark); };
    var resized = new ResizeObserver(function (entries) {
      entries.forEach(function (entry) { mark(entry.target.closest(SCROLLERS)); });
    });
    // Watch the boxes there are: at first the tables and code, once MathJax has typeset
    // the page its formulas too.
    var watch = function () {
      document.querySelectorAll(SCROLLERS).forEach(function (box) {
        if (boxes.indexOf(box) >= 0) return;
        boxes.push(box);
        box.addEventListener("scroll", function () { mark(box); }, { passive: true });
        resized.observe(box);
        if (box.firstElementChild) resized.observe(box.firstElementChild);
      });
      markAll();
    };
    watch();
    if (document.fonts) document.fonts.ready.then(markAll);
    window.addEventListener("load", function () {
      markAll();
      if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        MathJax.startup.promise.then(watch);
      }
    });
  });
})();
