// MNIST test accuracy of an ONNX model in ONNX Runtime (CPU), for checking
// that splitinfer's exported QDQ models run in ONNX Runtime with the accuracy
// splitinfer reports. Not a dependency of the product or of CI; the test
// compress/quantize TestORTRunsExportedQDQ uses it when
// SPLITINFER_ORT_NODE_DIR names a directory holding node_modules/onnxruntime-node:
//
//   mkdir -p /tmp/ort && cd /tmp/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0
//   node scripts/ort-eval.js MODEL.onnx MNIST_IDX_DIR      (with NODE_PATH=/tmp/ort/node_modules)
//
// Preprocessing as dataset/mnist: 28x28 padded with 2 zero pixels to 32x32, /255.
// Prints one line: "accuracy 0.9844".
const ort = require('onnxruntime-node');
const fs = require('fs');
const zlib = require('zlib');

const [model, dir] = process.argv.slice(2);
const read = (name) => {
  const raw = fs.readFileSync(dir + '/' + name);
  return raw[0] === 0x1f ? zlib.gunzipSync(raw) : raw;
};
const img = read('t10k-images-idx3-ubyte.gz').subarray(16);
const lab = read('t10k-labels-idx1-ubyte.gz').subarray(8);

(async () => {
  const s = await ort.InferenceSession.create(model);
  const n = lab.length, bs = 500;
  let correct = 0;
  for (let lo = 0; lo < n; lo += bs) {
    const m = Math.min(bs, n - lo);
    const x = new Float32Array(m * 1024);
    for (let i = 0; i < m; i++)
      for (let r = 0; r < 28; r++)
        for (let c = 0; c < 28; c++)
          x[i * 1024 + (r + 2) * 32 + (c + 2)] = img[(lo + i) * 784 + r * 28 + c] / 255;
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [m, 1, 32, 32]) });
    const y = out[s.outputNames[0]].data;
    for (let i = 0; i < m; i++) {
      let b = 0;
      for (let j = 1; j < 10; j++) if (y[i * 10 + j] > y[i * 10 + b]) b = j;
      if (b === lab[lo + i]) correct++;
    }
  }
  console.log('accuracy', (correct / n).toFixed(4));
})().catch((e) => { console.error(e.message || e); process.exit(1); });
