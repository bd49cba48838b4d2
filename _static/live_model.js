// Hidden Factors: a chapter's trained model, run in the reader's browser.
//
// A Markdown cell of a chapter holds <div class="hf-live-model" data-model="01_xcov">;
// this script turns it into an explorer (style sliders, digit buttons, a 2-D pad, a
// drawing pad) whose images are computed here, from the weights that
// `python -m tools.browser_models` exported after the book run into
// _static/live_models/ (format "hidden-factors-live-model/2", documented there).
// Nothing leaves the page's origin. The small description (<chapter>.json) is read
// once the page has loaded; the weights only on the reader's first interaction
// (the decoder first; the encoder when a digit is drawn or a test image asked for).
// On pages without the placeholder the script does nothing.
//
// The forward pass is plain JavaScript: each layer of the description is one entry
// of OPS (dense, with any batch normalisation folded in by the exporter; conv2d;
// upsample; relu, sigmoid, softmax), applied to a flat, channels-last Float32Array.
// A new layer is a new entry there and in the exporter.
// Why not a library (npm, December 2026): onnxruntime-web 1.31.1's smallest
// WebAssembly build is ort.wasm.min.js (54 kB) + ort-wasm-simd-threaded.mjs (25 kB)
// + a 14.8 MB .wasm (3.8 MB gzipped); TensorFlow.js 4.22.0 is tf.min.js, 1.47 MB
// (tf-core + the CPU backend alone, 0.43 MB). This file is about 32 kB, and a
// decode of a 500-500 MLP takes a few milliseconds; its numbers match Keras within
// a fraction of a grey level (tests/browser/test_live_model.py).
//
// Why the live kernel keeps its ipywidgets explorers instead of this script (as an
// anywidget, one ES module in Jupyter, Colab and the page): in a kernel the explorer
// must run the learner's own model, whatever they just changed or trained in an
// exercise, and only Keras runs any model; this script runs one exported snapshot with
// a fixed set of ops. The ipywidgets controls also work with Colab's ipywidgets 7.7.1
// and need no package beyond what Colab ships.
(function () {
  "use strict";

  var FORMAT = "hidden-factors-live-model/2";
  var SIGMAS = 3;  // sliders reach this many standard deviations either side
  var BASE = (function () {
    var src = document.currentScript && document.currentScript.src;
    return new URL("live_models/", src || window.location.href);
  })();

  // ------------------------------------------------------------------ numbers
  var HALF = null;  // float16 bits -> float32, built on first use
  function halfTable() {
    if (HALF) {
      return HALF;
    }
    HALF = new Float32Array(65536);
    for (var h = 0; h < 65536; h++) {
      var s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
      HALF[h] = e === 0 ? s * f * Math.pow(2, -24)
        : e === 31 ? (f ? NaN : s * Infinity)
        : s * (1 + f / 1024) * Math.pow(2, e - 15);
    }
    return HALF;
  }

  function tensor(buffer, t, dtype) {
    var n = t.shape.reduce(function (a, b) { return a * b; }, 1);
    if (dtype === "float32") {
      return new Float32Array(buffer.slice(t.offset, t.offset + 4 * n));
    }
    if (dtype !== "float16") {
      throw new Error("unknown dtype " + dtype);
    }
    var bits = new Uint16Array(buffer, t.offset, n), table = halfTable();
    var out = new Float32Array(n);
    for (var i = 0; i < n; i++) {
      out[i] = table[bits[i]];
    }
    return out;
  }

  // -------------------------------------------------------------------- layers
  // Each op: function (layer, x) -> y, on flat Float32Arrays (images row-major,
  // channels last). Kernels are row-major as Keras stores them: dense (in, out),
  // conv2d (kh, kw, in channels, out channels); sums are kept in float64.
  var OPS = {
    dense: function (layer, x) {
      var n = layer.in, m = layer.out, w = layer.w, acc = new Float64Array(m);
      for (var i = 0; i < n; i++) {
        var xi = x[i];
        if (xi === 0) {
          continue;  // ReLU outputs, one-hot codes and black pixels: many zeros
        }
        for (var j = 0, row = i * m; j < m; j++) {
          acc[j] += xi * w[row + j];
        }
      }
      var y = new Float32Array(m);
      for (var k = 0; k < m; k++) {
        y[k] = acc[k] + layer.b[k];
      }
      return y;
    },
    conv2d: function (layer, x) {
      var ih = layer.in[0], iw = layer.in[1], c = layer.in[2];
      var oh = layer.out[0], ow = layer.out[1], f = layer.out[2];
      var kh = layer.kernel_size[0], kw = layer.kernel_size[1];
      var sh = layer.strides[0], sw = layer.strides[1], top = layer.pad[0], left = layer.pad[1];
      var w = layer.w, y = new Float32Array(oh * ow * f), acc = new Float64Array(f);
      for (var oy = 0; oy < oh; oy++) {
        for (var ox = 0; ox < ow; ox++) {
          acc.fill(0);
          for (var ky = 0; ky < kh; ky++) {
            var iy = oy * sh - top + ky;
            if (iy < 0 || iy >= ih) {
              continue;  // outside the image: a zero
            }
            for (var kx = 0; kx < kw; kx++) {
              var ix = ox * sw - left + kx;
              if (ix < 0 || ix >= iw) {
                continue;
              }
              var xi = (iy * iw + ix) * c, wk = (ky * kw + kx) * c * f;
              for (var ci = 0; ci < c; ci++) {
                var v = x[xi + ci];
                if (v === 0) {
                  continue;
                }
                for (var fo = 0, row = wk + ci * f; fo < f; fo++) {
                  acc[fo] += v * w[row + fo];
                }
              }
            }
          }
          for (var k = 0, o = (oy * ow + ox) * f; k < f; k++) {
            y[o + k] = acc[k] + layer.b[k];
          }
        }
      }
      return y;
    },
    upsample: function (layer, x) {  // nearest neighbour: each pixel repeated
      var ih = layer.in[0], iw = layer.in[1], c = layer.in[2];
      var fh = layer.factor[0], fw = layer.factor[1], ow = iw * fw;
      var y = new Float32Array(ih * fh * ow * c);
      for (var oy = 0; oy < ih * fh; oy++) {
        for (var ox = 0; ox < ow; ox++) {
          var from = (Math.floor(oy / fh) * iw + Math.floor(ox / fw)) * c;
          for (var k = 0; k < c; k++) {
            y[(oy * ow + ox) * c + k] = x[from + k];
          }
        }
      }
      return y;
    },
    slice: function (layer, x) {  // units start .. stop - 1 (a code's content half)
      return x.slice(layer.start, layer.stop);
    },
    relu: function (layer, x) {
      return x.map(function (v) { return v > 0 ? v : 0; });
    },
    sigmoid: function (layer, x) {
      return x.map(function (v) { return 1 / (1 + Math.exp(-v)); });
    },
    softmax: function (layer, x) {
      var top = Math.max.apply(null, x), sum = 0;
      var e = x.map(function (v) { return Math.exp(v - top); });
      e.forEach(function (v) { sum += v; });
      return e.map(function (v) { return v / sum; });
    },
    linear: function (layer, x) {
      return x;
    },
  };

  function run(network, x) {
    return network.layers.reduce(function (h, layer) {
      return OPS[layer.op](layer, h);
    }, x);
  }

  // --------------------------------------------------------------------- model
  // A model: its description and its networks, each fetched when first asked for
  // (one fetch per file).
  function Model(name) {
    this.name = name;
    this.files = {};
    this.networks = {};
    this.described = null;
  }

  Model.prototype.describe = function () {
    var name = this.name;
    if (this.described) {
      return this.described;
    }
    this.described = fetch(new URL(name + ".json", BASE)).then(function (r) {
      if (!r.ok) {
        throw new Error(name + ".json: HTTP " + r.status);
      }
      return r.json();
    }).then(function (d) {
      if (d.format !== FORMAT) {
        throw new Error(name + ".json has format " + d.format + ", not " + FORMAT);
      }
      Object.keys(d.networks).forEach(function (k) {
        d.networks[k].layers.forEach(function (l) {
          if (!OPS[l.op]) {
            throw new Error(name + ": layer " + l.op + " has no browser version");
          }
        });
      });
      return d;
    });
    return this.described;
  };

  Model.prototype.file = function (file) {
    if (!this.files[file]) {
      this.files[file] = fetch(new URL(file, BASE)).then(function (r) {
        if (!r.ok) {
          throw new Error(file + ": HTTP " + r.status);
        }
        return r.arrayBuffer();
      });
    }
    return this.files[file];
  };

  // Resolves to the named networks (weights unpacked), fetching their files once.
  Model.prototype.need = function (names) {
    var self = this;
    return this.describe().then(function (d) {
      return Promise.all(names.map(function (name) {
        if (!self.networks[name]) {
          var net = d.networks[name];
          self.networks[name] = self.file(net.file).then(function (buffer) {
            return {layers: net.layers.map(function (l) {
              var out = {};
              Object.keys(l).forEach(function (k) {
                if (k !== "kernel" && k !== "bias") {
                  out[k] = l[k];
                }
              });
              if (l.kernel) {
                out.w = tensor(buffer, l.kernel, d.dtype);
                out.b = tensor(buffer, l.bias, d.dtype);
              }
              return out;
            })};
          });
        }
        return self.networks[name];
      }));
    }).then(function (nets) {
      var got = {};
      names.forEach(function (name, i) { got[name] = nets[i]; });
      return got;
    });
  };

  Model.prototype.decoder = function () {
    var self = this;
    return this.describe().then(function (d) {
      return self.need([d.decode.network]).then(function (n) {
        var net = n[d.decode.network], codes = d.decode.content;
        // digit: a digit (its content code) or a content code itself -> pixels in [0, 1]
        return function (digit, style) {
          var content = typeof digit === "number" ? codes[digit] : digit;
          var x = new Float32Array(content.length + style.length);
          x.set(content);
          x.set(style, content.length);
          return run(net, x);
        };
      });
    });
  };

  // The other domain's content reader: image -> content code (the decoder's first input).
  Model.prototype.otherContent = function () {
    var self = this;
    return this.describe().then(function (d) {
      var names = d.other.content;
      return self.need(names).then(function (n) {
        return function (pixels) {
          return names.reduce(function (h, name) { return run(n[name], h); }, pixels);
        };
      });
    });
  };

  Model.prototype.encoder = function () {
    var self = this;
    return this.describe().then(function (d) {
      var e = d.encode, names = e.probs.concat(e.style).filter(function (v, i, all) {
        return all.indexOf(v) === i;
      });
      return self.need(names).then(function (n) {
        return function (pixels) {  // -> {probs, style}; shared first networks run once
          var seen = {};
          function chain(list) {
            var h = pixels;
            list.forEach(function (name, i) {
              var key = list.slice(0, i + 1).join(">");
              h = seen[key] || (seen[key] = run(n[name], h));
            });
            return h;
          }
          return {probs: chain(e.probs), style: chain(e.style)};
        };
      });
    });
  };

  // The shipped test images (`which`: "other" for the other domain's), as pixels in [0, 1].
  Model.prototype.testImages = function (which) {
    var self = this;
    return this.describe().then(function (d) {
      var t = which === "other" ? d.other.test_images : d.test_images;
      var size = t.shape.reduce(function (a, b) { return a * b; }, 1);
      return self.file(t.file).then(function (buffer) {
        var bytes = new Uint8Array(buffer, t.offset, t.count * size);
        return t.labels.map(function (label, i) {
          var x = new Float32Array(size);
          for (var k = 0; k < size; k++) {
            x[k] = bytes[i * size + k] / 255;
          }
          return {label: label, pixels: x};
        });
      });
    });
  };

  // ------------------------------------------------------- drawing -> MNIST
  // As MNIST was made: the strokes' bounding box scaled (aspect kept, by area
  // averaging) to fit a 20x20 box, then placed in 28x28 so that the centre of mass
  // lands on the centre.
  function mnistLike(canvas) {
    var w = canvas.width, h = canvas.height;
    var data = canvas.getContext("2d").getImageData(0, 0, w, h).data;
    var ink = new Float32Array(w * h), x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (var y = 0; y < h; y++) {
      for (var x = 0; x < w; x++) {
        var v = data[4 * (y * w + x)] / 255;
        ink[y * w + x] = v;
        if (v > 0.02) {
          x0 = Math.min(x0, x); x1 = Math.max(x1, x);
          y0 = Math.min(y0, y); y1 = Math.max(y1, y);
        }
      }
    }
    if (x1 < 0) {
      return null;
    }
    var bw = x1 - x0 + 1, bh = y1 - y0 + 1, scale = 20 / Math.max(bw, bh);
    var sw = Math.max(1, Math.round(bw * scale)), sh = Math.max(1, Math.round(bh * scale));
    var small = new Float32Array(sw * sh), count = new Float32Array(sw * sh);
    for (y = y0; y <= y1; y++) {
      var sy = Math.min(sh - 1, Math.floor((y - y0 + 0.5) * scale));
      for (x = x0; x <= x1; x++) {
        var sx = Math.min(sw - 1, Math.floor((x - x0 + 0.5) * scale));
        small[sy * sw + sx] += ink[y * w + x];
        count[sy * sw + sx] += 1;
      }
    }
    var mass = 0, cx = 0, cy = 0;
    for (y = 0; y < sh; y++) {
      for (x = 0; x < sw; x++) {
        var k = y * sw + x, m = count[k] ? small[k] / count[k] : 0;
        small[k] = m;
        mass += m; cx += m * (x + 0.5); cy += m * (y + 0.5);
      }
    }
    var dx = Math.round(14 - cx / mass), dy = Math.round(14 - cy / mass);
    var out = new Float32Array(784);
    for (y = 0; y < sh; y++) {
      for (x = 0; x < sw; x++) {
        var tx = x + dx, ty = y + dy;
        if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) {
          out[ty * 28 + tx] = Math.min(1, small[y * sw + x]);
        }
      }
    }
    return out;
  }

  // -------------------------------------------------------------------- page
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  function imageCanvas(label, role, shape) {
    var box = el("figure", "hf-live-image");
    var c = el("canvas");
    c.width = shape ? shape[1] : 28;
    c.height = shape ? shape[0] : 28;
    c.dataset.role = role;
    c.setAttribute("role", "img");
    c.setAttribute("aria-label", label);
    box.appendChild(c);
    box.appendChild(el("figcaption", null, label));
    return {box: box, canvas: c};
  }

  // Pixels in [0, 1], row-major, channels last (1: grey, 3: colour), on a canvas of the
  // image's size.
  function paint(canvas, pixels) {
    var n = canvas.width * canvas.height, c = pixels.length / n;
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(canvas.width, canvas.height);
    for (var i = 0; i < n; i++) {
      for (var k = 0; k < 3; k++) {
        var v = pixels[i * c + (c === 3 ? k : 0)];
        img.data[4 * i + k] = Math.round(Math.min(1, Math.max(0, v)) * 255);
      }
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    canvas.dataset.painted = String(Number(canvas.dataset.painted || 0) + 1);
  }

  // The ten digits' colours (matplotlib's tab10), for the 2-D pad's scatter.
  var TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function Explorer(root) {
    var self = this;
    this.root = root;
    this.model = new Model(root.dataset.model);
    this.digit = 3;
    this.sigmas = [];
    this.started = null;
    root.textContent = "";
    root.classList.add("hf-live-ready");

    var top = el("div", "hf-live-row");
    var digits = el("div", "hf-live-digits");
    digits.setAttribute("role", "group");
    digits.setAttribute("aria-label", "digit (the content code)");
    digits.appendChild(el("span", "hf-live-label", "digit"));
    this.digitButtons = [];
    for (var d = 0; d < 10; d++) {
      var b = el("button", "hf-live-digit", String(d));
      b.type = "button";
      b.dataset.digit = String(d);
      b.addEventListener("click", function (ev) {
        self.digit = Number(ev.currentTarget.dataset.digit);
        self.refresh();
      });
      digits.appendChild(b);
      this.digitButtons.push(b);
    }
    top.appendChild(digits);
    root.appendChild(top);

    var view = el("div", "hf-live-row hf-live-view");
    this.pad = el("canvas", "hf-live-pad");
    this.pad.width = this.pad.height = 150;
    this.pad.tabIndex = 0;
    this.pad.setAttribute("role", "application");
    this.pad.setAttribute("aria-label", "style units 1 and 2: click or drag to set both, " +
                          "or use the arrow keys");
    var padBox = el("figure", "hf-live-image");
    padBox.appendChild(this.pad);
    padBox.appendChild(el("figcaption", null, "style units 1 (→) and 2 (↑)"));
    this.padBox = padBox;
    view.appendChild(padBox);
    var out = imageCanvas("the model's drawing", "decoded");
    var ref = imageCanvas("same digit, average style", "reference");
    this.out = out.canvas;
    this.ref = ref.canvas;
    view.appendChild(out.box);
    view.appendChild(ref.box);
    root.appendChild(view);

    this.sliderBox = el("div", "hf-live-sliders");
    root.appendChild(this.sliderBox);
    this.status = el("p", "hf-live-status", "The model loads when you first touch a control.");
    this.status.setAttribute("aria-live", "polite");
    root.appendChild(this.status);

    // drawing pad
    var drawRow = el("div", "hf-live-row hf-live-drawing");
    var drawBox = el("figure", "hf-live-image");
    this.draw = el("canvas", "hf-live-draw");
    this.draw.width = this.draw.height = 196;
    this.draw.setAttribute("aria-label", "drawing pad: draw one digit");
    drawBox.appendChild(this.draw);
    drawBox.appendChild(el("figcaption", null, "draw a digit here"));
    drawRow.appendChild(drawBox);
    var seen = imageCanvas("what the encoder reads", "input");
    this.input = seen.canvas;
    drawRow.appendChild(seen.box);
    var side = el("div", "hf-live-side");
    this.readout = el("p", "hf-live-readout", "");
    var clear = el("button", "hf-live-button", "clear");
    clear.type = "button";
    clear.dataset.action = "clear";
    clear.addEventListener("click", function () { self.clearDrawing(); });
    var random = el("button", "hf-live-button", "random test image");
    random.type = "button";
    random.dataset.action = "random";
    random.addEventListener("click", function () { self.randomTestImage(); });
    side.appendChild(this.readout);
    side.appendChild(clear);
    side.appendChild(random);
    drawRow.appendChild(side);
    root.appendChild(drawRow);
    root.appendChild(el("p", "hf-live-label", "your style, as every digit:"));
    this.row = el("div", "hf-live-every");
    this.every = [];
    for (d = 0; d < 10; d++) {
      var c = imageCanvas(String(d), "every");
      c.canvas.dataset.digit = String(d);
      this.row.appendChild(c.box);
      this.every.push(c.canvas);
    }
    root.appendChild(this.row);
    this.clearDrawing();
    this.setupDrawing();
    this.setupPad();

    // Weights load on the first interaction with the explorer.
    ["pointerdown", "keydown", "input"].forEach(function (kind) {
      root.addEventListener(kind, function () { self.start(); }, {capture: true});
    });
    // The description (no weights) once the page has loaded, or at the first touch.
    function describe() {
      self.model.describe().then(function (info) { self.build(info); }, function (err) {
        self.fail(err);
      });
    }
    if (document.readyState === "complete") {
      describe();
    } else {
      window.addEventListener("load", describe);
    }
  }

  Explorer.prototype.fail = function (err) {
    this.status.textContent = "The model could not be loaded: " + err.message;
    console.error("live model " + this.root.dataset.model + ": " + err.message);
  };

  Explorer.prototype.build = function (info) {
    var self = this;
    if (this.info) {
      return;
    }
    this.info = info;
    this.sigmas = info.style.mean.map(function () { return 0; });
    // Units that barely change the drawing (the export measured each) are grouped apart.
    var effect = info.style.effect, below = info.style.quiet_below;
    function quiet(u) { return effect && effect[u] < below; }
    this.quietBox = el("details", "hf-live-quiet");
    var quietSummary = el("summary", null, ""), quietGrid = el("div", "hf-live-sliders");
    this.quietBox.appendChild(quietSummary);
    this.quietBox.appendChild(quietGrid);
    this.sliders = info.style.mean.map(function (_, u) {
      var row = el("label", "hf-live-slider");
      row.appendChild(el("span", "hf-live-label", "style unit " + (u + 1)));
      row.appendChild(el("span", "hf-live-end", "\u2212" + SIGMAS + "\u03c3"));
      var s = el("input");
      s.type = "range";
      s.min = String(-SIGMAS);
      s.max = String(SIGMAS);
      s.step = "any";
      s.value = "0";
      s.dataset.unit = String(u);
      s.setAttribute("aria-label", "style unit " + (u + 1) + ", in standard deviations " +
                     "from the average");
      s.addEventListener("input", function () {
        self.sigmas[u] = Number(s.value);
        self.refresh();
      });
      row.appendChild(s);
      row.appendChild(el("span", "hf-live-end", "+" + SIGMAS + "\u03c3"));
      (quiet(u) ? quietGrid : self.sliderBox).appendChild(row);
      return s;
    });
    if (quietGrid.children.length) {
      quietSummary.textContent = quietGrid.children.length +
        " more style units barely change the drawing (under " +
        Math.round(info.style.quiet_below * 255) + " of 255 grey levels at 2\u03c3)";
      this.root.insertBefore(this.quietBox, this.sliderBox.nextSibling);
    }
    if (info.style_dim !== 2) {
      this.padBox.hidden = true;
    }
    if (info.other) {
      this.buildOther(info.other, info.image_shape);
    }
    this.drawPad();
    this.markDigit();
  };

  // A second domain (JADE's): one of its test images, its content drawn by this model.
  Explorer.prototype.buildOther = function (other, shape) {
    var self = this;
    this.root.appendChild(el("p", "hf-live-label", "a " + other.title +
                             " image, its content in the sliders' style:"));
    var row = el("div", "hf-live-row hf-live-other");
    var src = imageCanvas(other.title + " image", "other-input", other.image_shape);
    var dst = imageCanvas("its content, drawn here", "other", shape);
    this.otherIn = src.canvas;
    this.otherOut = dst.canvas;
    this.otherBoxes = [src.box, dst.box];
    this.otherBoxes.forEach(function (box) { box.hidden = true; });  // until one is taken
    var side = el("div", "hf-live-side");
    this.otherReadout = el("p", "hf-live-readout", "Take a " + other.title + " image: its " +
                           "encoder reads the content, this model draws it.");
    var b = el("button", "hf-live-button", "random " + other.title + " image");
    b.type = "button";
    b.dataset.action = "other";
    b.addEventListener("click", function () { self.randomOther(); });
    side.appendChild(this.otherReadout);
    side.appendChild(b);
    row.appendChild(src.box);
    row.appendChild(dst.box);
    row.appendChild(side);
    this.root.appendChild(row);
  };

  Explorer.prototype.randomOther = function () {
    var self = this, title = this.info.other.title;
    Promise.all([this.model.testImages("other"), this.model.otherContent(),
                 this.start()]).then(function (got) {
      var images = got[0], pick = Math.floor(Math.random() * images.length);
      if (self.root.dataset.otherImage !== undefined) {  // set by the tests: no chance
        pick = Number(self.root.dataset.otherImage) % images.length;
      }
      self.otherBoxes.forEach(function (box) { box.hidden = false; });
      paint(self.otherIn, images[pick].pixels);
      self.otherContent = got[1](images[pick].pixels);
      self.otherReadout.textContent = "A " + title + " image of a " + images[pick].label +
        ": its content, drawn in the sliders' style.";
      self.refresh();
      self.root.dataset.otherDrawn = String(Number(self.root.dataset.otherDrawn || 0) + 1);
    }, function (err) { self.fail(err); });
  };

  Explorer.prototype.style = function () {
    var st = this.info.style, s = this.sigmas;
    return new Float32Array(st.mean.map(function (m, u) { return m + s[u] * st.std[u]; }));
  };

  Explorer.prototype.start = function () {
    if (this.started) {
      return this.started;
    }
    var self = this;
    this.root.dataset.firstInteraction = String(performance.now());
    this.status.textContent = "Loading the trained decoder\u2026";
    this.started = this.model.describe().then(function (info) {
      self.build(info);
      return self.model.decoder();
    }).then(function (decode) {
      self.decode = decode;
      self.status.textContent = self.info.title + ": computed in your browser.";
      self.refresh();
    }, function (err) { self.fail(err); });
    return this.started;
  };

  Explorer.prototype.markDigit = function () {
    var self = this;
    this.digitButtons.forEach(function (b, d) {
      b.setAttribute("aria-pressed", String(d === self.digit));
    });
  };

  Explorer.prototype.refresh = function () {
    this.markDigit();
    if (this.info) {
      this.sliders.forEach(function (s, u) { s.value = String(this.sigmas[u]); }, this);
      this.drawPad();
    }
    if (!this.decode) {
      this.start();
      return;
    }
    var style = this.style();
    paint(this.out, this.decode(this.digit, style));
    paint(this.ref, this.decode(this.digit, new Float32Array(this.info.style.mean)));
    if (this.otherContent) {
      paint(this.otherOut, this.decode(this.otherContent, style));
    }
    if (!this.root.dataset.firstImage) {
      this.root.dataset.firstImage = String(performance.now());
    }
  };

  // The 2-D pad: the test codes as dots coloured by digit, a cross at the current style.
  Explorer.prototype.drawPad = function () {
    if (!this.info || this.info.style_dim !== 2) {
      return;
    }
    var ctx = this.pad.getContext("2d"), n = this.pad.width, st = this.info.style;
    var at = function (v, u) { return (v - st.mean[u]) / st.std[u]; };
    var px = function (s) { return (s + SIGMAS) / (2 * SIGMAS) * n; };
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, n, n);
    var pts = this.info.scatter;
    pts.style.forEach(function (z, i) {
      ctx.fillStyle = TAB10[pts.labels[i] % 10];
      ctx.fillRect(px(at(z[0], 0)) - 1, n - px(at(z[1], 1)) - 1, 2, 2);
    });
    var x = px(this.sigmas[0]), y = n - px(this.sigmas[1]);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x - 7, y); ctx.lineTo(x + 7, y);
    ctx.moveTo(x, y - 7); ctx.lineTo(x, y + 7);
    ctx.stroke();
  };

  Explorer.prototype.setupPad = function () {
    var self = this, pad = this.pad, down = false;
    function set(ev) {
      var r = pad.getBoundingClientRect();
      var fx = (ev.clientX - r.left) / r.width, fy = (ev.clientY - r.top) / r.height;
      var clamp = function (v) { return Math.max(-SIGMAS, Math.min(SIGMAS, v)); };
      self.sigmas[0] = clamp((fx * 2 - 1) * SIGMAS);
      self.sigmas[1] = clamp((1 - fy * 2) * SIGMAS);
      self.refresh();
    }
    pad.addEventListener("pointerdown", function (ev) {
      if (!self.info) {
        return;
      }
      down = true;
      pad.setPointerCapture(ev.pointerId);
      set(ev);
      ev.preventDefault();
    });
    pad.addEventListener("pointermove", function (ev) {
      if (down) {
        set(ev);
      }
    });
    pad.addEventListener("pointerup", function () { down = false; });
    pad.addEventListener("pointercancel", function () { down = false; });
    // Keyboard: the arrow keys move the cross by a quarter of a standard deviation.
    var KEYS = {ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowDown: [1, -1], ArrowUp: [1, 1]};
    pad.addEventListener("keydown", function (ev) {
      var move = KEYS[ev.key];
      if (!move || !self.info) {
        return;
      }
      var v = self.sigmas[move[0]] + 0.25 * move[1];
      self.sigmas[move[0]] = Math.max(-SIGMAS, Math.min(SIGMAS, v));
      self.refresh();
      ev.preventDefault();  // the page does not scroll
    });
  };

  // ----------------------------------------------------------- drawing pad
  Explorer.prototype.setupDrawing = function () {
    var self = this, c = this.draw, ctx = c.getContext("2d"), last = null;
    function point(ev) {
      var r = c.getBoundingClientRect();
      return [(ev.clientX - r.left) * c.width / r.width,
              (ev.clientY - r.top) * c.height / r.height];
    }
    c.addEventListener("pointerdown", function (ev) {
      c.setPointerCapture(ev.pointerId);
      c.dataset.pointerType = ev.pointerType;
      last = point(ev);
      ctx.fillStyle = "#fff";
      ctx.beginPath();
      ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      ev.preventDefault();
    });
    c.addEventListener("pointermove", function (ev) {
      if (!last) {
        return;
      }
      var p = point(ev);
      ctx.beginPath();
      ctx.moveTo(last[0], last[1]);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      last = p;
    });
    function end() {
      if (last) {
        last = null;
        self.readDrawing();
      }
    }
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
  };

  Explorer.prototype.clearDrawing = function () {
    var ctx = this.draw.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.draw.width, this.draw.height);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 15;
    ctx.lineCap = ctx.lineJoin = "round";
    this.readout.textContent = "Draw a digit, or take a random test image.";
  };

  Explorer.prototype.readDrawing = function () {
    var pixels = mnistLike(this.draw);
    if (pixels) {
      this.show(pixels, "your drawing");
    }
  };

  Explorer.prototype.randomTestImage = function () {
    var self = this;
    this.model.testImages().then(function (images) {
      var pick = Math.floor(Math.random() * images.length);
      if (self.root.dataset.testImage !== undefined) {  // set by the tests: no chance
        pick = Number(self.root.dataset.testImage) % images.length;
      }
      self.clearDrawing();  // the pad shows only what the reader drew
      self.show(images[pick].pixels, "test image of a " + images[pick].label);
    }, function (err) { self.fail(err); });
  };

  // Encode `pixels`, report its digit and style, and redraw it as every digit.
  Explorer.prototype.show = function (pixels, what) {
    var self = this;
    this.lastInput = pixels;  // what the encoder reads (the tests compare with it)
    paint(this.input, pixels);
    this.readout.textContent = "Reading " + what + "\u2026";
    Promise.all([this.model.encoder(), this.start()]).then(function (got) {
      var code = got[0](pixels);
      var best = 0;
      code.probs.forEach(function (p, d) { if (p > code.probs[best]) { best = d; } });
      var sig = self.info.style.mean.map(function (m, u) {
        return ((code.style[u] - m) / self.info.style.std[u]).toFixed(1)
          .replace("-", "\u2212") + "\u03c3";
      });
      self.readout.textContent = what + ": read as a " + best + " (" +
        Math.round(100 * code.probs[best]) + "% sure); " + (sig.length <= 4 ?
        "style " + sig.join(", ") + "." : "its style is now in the sliders.");
      self.every.forEach(function (c, d) { paint(c, self.decode(d, code.style)); });
      // the sliders take the image's style (beyond their ends, the exact value is kept)
      self.sigmas = self.info.style.mean.map(function (m, u) {
        return (code.style[u] - m) / self.info.style.std[u];
      });
      self.refresh();
      self.root.dataset.encoded = String(Number(self.root.dataset.encoded || 0) + 1);
    }, function (err) { self.fail(err); });
  };

  function init() {
    document.querySelectorAll("div.hf-live-model[data-model]").forEach(function (root) {
      if (!root.hfExplorer) {
        root.hfExplorer = new Explorer(root);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
  // For tests and for readers' own experiments: the pieces, by name.
  window.hfLiveModel = {OPS: OPS, Model: Model, mnistLike: mnistLike, FORMAT: FORMAT};
})();
