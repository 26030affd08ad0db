// ortsession.js: the ONNX Runtime session and random input that ort.js and
// ortprofile.js both time (CPU execution provider, sequential, every graph
// optimization), so the two measure the same configuration.
'use strict';
const ort = require('onnxruntime-node');

// open creates a session of model on threads intra-op threads; extra adds
// session options (e.g. profiling).
async function open(model, threads, extra = {}) {
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    ...extra,
  });
}

// randomFeeds is a float32 input of shape (uniform in [0, 1)) for the
// session's first input.
function randomFeeds(session, shape) {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = Math.random();
  return { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };
}

module.exports = { ort, open, randomFeeds };
