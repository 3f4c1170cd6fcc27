/* A table wider than the screen scrolls inside the theme's .pst-scrollable-table-container.
 * Say on that box which of its edges hide columns (data-hidden="right", "left" or "both";
 * none when the table fits), so that explorer.css fades that edge: a reader sees that the
 * table goes on. Kept up to date as the reader scrolls it and as its width changes (a phone
 * turned, fonts and formulas typeset after the page loaded). */
(function () {
  "use strict";
  function mark(box) {
    var more = box.scrollWidth - box.clientWidth;
    var left = box.scrollLeft > 1;
    var right = box.scrollLeft < more - 1;
    var hidden = more <= 1 ? "" : left && right ? "both" : left ? "left" : "right";
    if (hidden) box.dataset.hidden = hidden;
    else delete box.dataset.hidden;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll(".bd-article .pst-scrollable-table-container");
    var resized = new ResizeObserver(function (entries) {
      entries.forEach(function (entry) {
        mark(entry.target.closest(".pst-scrollable-table-container"));
      });
    });
    boxes.forEach(function (box) {
      box.addEventListener("scroll", function () { mark(box); }, { passive: true });
      resized.observe(box);
      if (box.firstElementChild) resized.observe(box.firstElementChild);
      mark(box);
    });
  });
})();
