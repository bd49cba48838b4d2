// Runs _static/live_model.js outside a browser, for tests/test_live_model_js.py: the
// reference cases of one export (<chapter>.reference.json, what Keras computed),
// computed by the page's own code. Usage: node live_model_harness.js SCRIPT DIR CHAPTER
"use strict";
const fs = require("fs");
const [script, dir, chapter] = process.argv.slice(2);
global.window = global;
global.location = {href: "file:///book/_static/"};
global.document = {currentScript: null, readyState: "complete", querySelectorAll: () => []};
global.fetch = (url) => {  // the page's fetches, answered from DIR
  const data = fs.readFileSync(`${dir}/${String(url).split("/").pop()}`);
  return Promise.resolve({
    ok: true, json: () => Promise.resolve(JSON.parse(data)),
    arrayBuffer: () => Promise.resolve(
      data.buffer.slice(data.byteOffset, data.byteOffset + data.length))});
};
require(script);
const ref = JSON.parse(fs.readFileSync(`${dir}/${chapter}.reference.json`));
const model = new window.hfLiveModel.Model(chapter);
model.describe().then((d) => Promise.all([
  model.decoder(), model.encoder(), model.testImages(),
  d.other ? model.testImages("other") : null, d.other ? model.otherContent() : null,
])).then(([decode, encode, images, others, otherContent]) => {
  const list = (a) => Array.from(a);
  const out = {
    decode: ref.decode.map((c) => list(decode(c.digit, new Float32Array(c.style)))),
    encode: ref.encode.map((c) => {
      const code = encode(images[c.test_image].pixels);
      return {probs: list(code.probs), style: list(code.style),
              redrawn: [...Array(10).keys()].map((k) => list(decode(k, code.style)))};
    }),
    other: (ref.other || []).map((c) => {
      const content = otherContent(others[c.test_image].pixels);
      return {content: list(content), image: list(decode(content, new Float32Array(c.style)))};
    }),
  };
  process.stdout.write(JSON.stringify(out));
}).catch((err) => { console.error(err); process.exit(1); });
