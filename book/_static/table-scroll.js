/* A table or a block of code wider than the screen scrolls inside its own box (the theme's
 * .pst-scrollable-table-container, a code block's <pre>). Say on that box which of its edges
 * hide content (data-hidden="right", "left" or "both"; none when it all fits), so that
 * explorer.css fades that edge: a reader sees that the table or the line goes on. Kept up to
 * date as the reader scrolls the box and as widths change (a phone turned, fonts and
 * formulas typeset after the page loaded). */
(function () {
  "use strict";
  var SCROLLERS = ".bd-article .pst-scrollable-table-container, .bd-article div.highlight > pre";
  function mark(box) {
    var more = box.scrollWidth - box.clientWidth;
    var left = box.scrollLeft > 1;
    var right = box.scrollLeft < more - 1;
    var hidden = more <= 1 ? "" : left && right ? "both" : left ? "left" : "right";
    if (hidden) box.dataset.hidden = hidden;
    else delete box.dataset.hidden;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll(SCROLLERS);
    var markAll = function () { boxes.forEach(mark); };
    var resized = new ResizeObserver(function (entries) {
      entries.forEach(function (entry) { mark(entry.target.closest(SCROLLERS)); });
    });
    boxes.forEach(function (box) {
      box.addEventListener("scroll", function () { mark(box); }, { passive: true });
      resized.observe(box);
      if (box.firstElementChild) resized.observe(box.firstElementChild);
    });
    markAll();
    if (document.fonts) document.fonts.ready.then(markAll);
    window.addEventListener("load", markAll);
  });
})();
