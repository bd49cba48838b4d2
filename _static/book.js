// Hidden Factors: small layout helpers for the rendered book (checked by
// tests/browser). The equation and table helpers run once MathJax has typeset the
// page, and on resize; code lines are marked as soon as the page is parsed.
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

  // Each line of a code block (and of printed output) becomes a span that knows its
  // indentation, so that on a phone, where long lines wrap (book.css), a wrapped line
  // continues two characters right of its own indentation instead of at the left
  // edge. The text is unchanged (the copy button copies the same characters).
  function markCodeLines() {
    document.querySelectorAll("div.highlight pre, div.cell_output pre").forEach(function (pre) {
      if (pre.dataset.hfLines !== undefined) {
        return;
      }
      var runs = [];  // [element or null, text]: Pygments writes flat spans
      for (var i = 0; i < pre.childNodes.length; i++) {
        var node = pre.childNodes[i];
        if (node.nodeType === Node.TEXT_NODE) {
          runs.push([null, node.data]);
        } else if (node.nodeType === Node.ELEMENT_NODE && node.children.length === 0) {
          runs.push([node, node.textContent]);
        } else {
          return;  // nested markup: leave this block as it is
        }
      }
      var lines = [[]];
      runs.forEach(function (run) {
        var parts = run[1].split("\n");
        parts.forEach(function (part, k) {
          var piece = k < parts.length - 1 ? part + "\n" : part;
          if (piece) {
            var copy = run[0] ? run[0].cloneNode(false) : document.createTextNode("");
            copy.textContent = piece;
            lines[lines.length - 1].push(copy);
          }
          if (k < parts.length - 1) {
            lines.push([]);
          }
        });
      });
      var whole = document.createDocumentFragment();
      lines.forEach(function (nodes) {
        if (!nodes.length) {
          return;
        }
        var line = document.createElement("span");
        line.className = "hf-line";
        var text = nodes.map(function (n) { return n.textContent; }).join("");
        var indent = /^[ \t]*/.exec(text)[0].length;
        line.style.setProperty("--hf-indent", indent + "ch");
        // the leading spaces in a span of their own, which book.css may narrow
        var lead = document.createElement("span");
        lead.className = "hf-lead";
        var left = text.trim() ? indent : 0;
        nodes.forEach(function (n) {
          var own = n.textContent;
          var k = Math.min(left, own.length);
          left -= k;
          if (k === own.length && k > 0) {
            lead.appendChild(n);
            return;
          }
          if (k > 0) {
            var head = n.cloneNode(false);
            head.textContent = own.slice(0, k);
            lead.appendChild(head);
            n.textContent = own.slice(k);
          }
          if (lead.childNodes.length && !lead.parentNode) {
            line.appendChild(lead);
          }
          line.appendChild(n);
        });
        whole.appendChild(line);
      });
      pre.replaceChildren(whole);
      pre.dataset.hfLines = String(lines.length);
    });
  }

  function layout() {
    fitEquations();
    hintTables();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", markCodeLines);
  } else {
    markCodeLines();
  }
  window.addEventListener("load", function () {
    var typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;
    Promise.resolve(typeset).then(layout);
  });
  window.addEventListener("resize", layout);
})();
