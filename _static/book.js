// Hidden Factors: two small layout helpers for the rendered book (checked by
// tests/browser). Both run once MathJax has typeset the page, and on resize.
(function () {
  "use strict";

  // A display equation wider than the column is scaled down to fit (to at most
  // half its size); beyond that it scrolls (book.css).
  function fitEquations() {
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (el) {
      if (el.dataset.hfSize === undefined) {
        el.dataset.hfSize = parseFloat(el.style.fontSize) || 100;
      }
      var size = Number(el.dataset.hfSize);
      el.style.fontSize = size + "%";
      var room = el.clientWidth, need = el.scrollWidth, scale = 1;
      if (need > room + 1) {
        scale = Math.max(0.5, (room - 2) / need);
        el.style.fontSize = size * scale + "%";
      }
      el.dataset.hfScale = scale.toFixed(3);
    });
  }

  // A table that scrolls sideways says so (its first column stays fixed).
  function hintTables() {
    document.querySelectorAll(".pst-scrollable-table-container").forEach(function (box) {
      var hint = box.previousElementSibling;
      var shown = hint !== null && hint.classList.contains("hf-scroll-hint");
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !shown) {
        hint = document.createElement("div");
        hint.className = "hf-scroll-hint";
        hint.textContent = "scroll sideways for more columns \u2192";
        box.parentNode.insertBefore(hint, box);
      } else if (!scrolls && shown) {
        hint.remove();
      }
    });
  }

  function layout() {
    fitEquations();
    hintTables();
  }

  window.addEventListener("load", function () {
    var typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;
    Promise.resolve(typeset).then(layout);
  });
  window.addEventListener("resize", layout);
})();
