// ortprofile.js runs one model in ONNX Runtime (onnxruntime-node, CPU) with
// its profiler on and prints each node's kernel time as a JSON line:
// {"nodes": [{"name", "op", "median_us", "min_us", "runs"}], "ort_version"}.
// The first WARMUP runs are left out of the statistics.
//
// usage: node ortprofile.js MODEL THREADS SHAPE_JSON WARMUP RUNS PREFIX
// PREFIX is the profile file's path prefix (ORT appends a date and .json);
// the file is removed afterwards.
'use strict';
const fs = require('fs');
const path = require('path');
const { ort, open, randomFeeds } = require('./ortsession');

async function main() {
  const [model, threads, shapeJSON, warmup, runs, prefix] = process.argv.slice(2);
  if (!prefix) {
    throw new Error('usage: node ortprofile.js MODEL THREADS SHAPE_JSON WARMUP RUNS PREFIX');
  }
  const shape = JSON.parse(shapeJSON);
  const session = await open(model, threads, { enableProfiling: true, profileFilePrefix: prefix });
  const feeds = randomFeeds(session, shape);
  const total = Number(warmup) + Number(runs);
  for (let i = 0; i < total; i++) await session.run(feeds);
  session.endProfiling();
  const dir = path.dirname(prefix);
  const base = path.basename(prefix);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'));
  if (files.length === 0) throw new Error('no profile file with prefix ' + prefix);
  const file = path.join(dir, files.sort().pop());
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.unlinkSync(file);
  // Per node, the kernel time of every run in order.
  const byNode = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!byNode.has(name)) byNode.set(name, { op: (e.args && e.args.op_name) || '', times: [] });
    byNode.get(name).times.push(e.dur);
  }
  const nodes = [];
  for (const [name, v] of byNode) {
    const t = v.times.slice(Number(warmup));
    if (t.length === 0) continue;
    t.sort((a, b) => a - b);
    const mid = t.length >> 1;
    const median = t.length % 2 ? t[mid] : (t[mid - 1] + t[mid]) / 2;
    nodes.push({ name, op: v.op, median_us: median, min_us: t[0], runs: t.length });
  }
  const version = (ort.env && ort.env.versions && ort.env.versions.common) || '';
  process.stdout.write(JSON.stringify({ nodes, ort_version: version }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
