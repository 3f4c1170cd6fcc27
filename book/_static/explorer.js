/* The chapter's η/γ explorer: look up a path computed at build time and draw it.
 *
 * Every number comes from the JSON that rmsprop_lib.explorer embeds beside the figure
 * (train_2d over a grid of η and γ); this script only picks the path for the sliders'
 * setting and puts its coordinates into the SVG. It computes no update of its own.
 */
(function () {
  "use strict";

  function setup(root) {
    var source = root.querySelector("script.rmsprop-explorer-data");
    var form = root.querySelector("form.rmsprop-explorer-controls");
    if (!source || !form) return;
    var data = JSON.parse(source.textContent);
    var eta = form.elements.namedItem("eta");
    var gamma = form.elements.namedItem("gamma");
    var methods = form.querySelectorAll('input[name="method"]');
    var etaOut = root.querySelector('output[for="' + eta.id + '"]');
    var gammaOut = root.querySelector('output[for="' + gamma.id + '"]');
    var note = root.querySelector(".rmsprop-explorer-note");
    var readout = root.querySelector(".rmsprop-explorer-readout");
    var outside = root.querySelector(".rmsprop-explorer-out");
    var svg = root.querySelector("svg");
    var title = svg.querySelector("title");
    var line = svg.querySelector("polyline.path");
    var end = svg.querySelector("circle.end");

    function method() {
      for (var k = 0; k < methods.length; k++) if (methods[k].checked) return methods[k].value;
      return "rmsprop";
    }

    function draw() {
      var i = Number(eta.value), j = Number(gamma.value), m = method();
      var path = m === "adagrad" ? data.adagrad[i] : data.rmsprop[i][j];
      var p = path.p, pairs = [];
      for (var k = 0; k < p.length; k += 2) pairs.push(p[k] + "," + p[k + 1]);
      line.setAttribute("points", pairs.join(" "));
      end.setAttribute("cx", p[p.length - 2]);
      end.setAttribute("cy", p[p.length - 1]);

      etaOut.textContent = data.etaLabels[i];
      gammaOut.textContent = data.gammaLabels[j];
      eta.setAttribute("aria-valuetext", data.etaLabels[i]);
      gamma.setAttribute("aria-valuetext", data.gammaLabels[j]);
      gamma.disabled = m === "adagrad";
      note.hidden = m !== "adagrad";
      root.dataset.method = m;

      var name = m === "adagrad" ? "AdaGrad" : "RMSProp";
      var setting = "η = " + data.etaLabels[i] + (m === "adagrad" ? "" : "，γ = " + data.gammaLabels[j]);
      var text = name + "（" + setting + "）走 " + data.steps + " 步后到达 (x1, x2) = (" +
        path.x1 + ", " + path.x2 + ")，此处 f(x) = " + path.f + "。";
      readout.textContent = text;
      title.textContent = text;
      outside.hidden = !path.out;
    }

    form.addEventListener("input", draw);
    form.addEventListener("change", draw);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.hidden = false;
    root.classList.add("is-interactive");
    draw();
  }

  function init() {
    var roots = document.querySelectorAll(".rmsprop-explorer");
    for (var k = 0; k < roots.length; k++) setup(roots[k]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
