/* Chinese labels for the one English string that a script, not a template, writes:
 * sphinx-togglebutton's "Toggle hidden content" (hard-coded in togglebutton.js). */
(function () {
  "use strict";
  function label() {
    var buttons = document.querySelectorAll('button.toggle-button[aria-label="Toggle hidden content"]');
    for (var k = 0; k < buttons.length; k++) buttons[k].setAttribute("aria-label", "显示或隐藏内容");
  }
  function later() { setTimeout(label, 0); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", later);
  else later();
})();
