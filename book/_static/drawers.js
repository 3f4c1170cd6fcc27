/* On a narrow screen the theme shows the book's navigation and the page's contents in a
 * <dialog> drawer. Following a link to a place on the same page scrolls the page behind
 * the drawer and leaves it open over the text: close it, as a reader expects. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("dialog[open] a[href]") : null;
    if (link && link.pathname === window.location.pathname) link.closest("dialog").close();
  });
})();
