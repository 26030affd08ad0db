// ort.js times one model in ONNX Runtime (onnxruntime-node, CPU execution
// provider) and prints a JSON line: {"median_ms", "min_ms", "cpu_min_ms",
// "runs", "ort_version"} (cpu: the process's CPU time of a run, all threads). Warm-up: at most WARMUP runs or half the budget, at least one.
//
// usage: node ort.js MODEL THREADS SHAPE_JSON WARMUP MAX_RUNS BUDGET_MS
// SHAPE_JSON is the full input shape including the batch, e.g. [1,1,32,32].
'use strict';
const { ort, open, randomFeeds } = require('./ortsession');

async function main() {
  const [model, threads, shapeJSON, warmup, maxRuns, budgetMs] = process.argv.slice(2);
  if (!budgetMs) {
    throw new Error('usage: node ort.js MODEL THREADS SHAPE_JSON WARMUP MAX_RUNS BUDGET_MS');
  }
  const shape = JSON.parse(shapeJSON);
  const session = await open(model, threads);
  const feeds = randomFeeds(session, shape);

  const elapsedMs = (since) => Number(process.hrtime.bigint() - since) / 1e6;
  let start = process.hrtime.bigint();
  for (let i = 0; i < Math.max(1, Number(warmup)); i++) {
    await session.run(feeds);
    if (elapsedMs(start) > Number(budgetMs) / 2) break;
  }
  const times = [];
  const cpu = [];
  start = process.hrtime.bigint();
  for (let i = 0; i < Number(maxRuns); i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
    if (times.length >= 5 && elapsedMs(start) > Number(budgetMs)) break;
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  const version = (ort.env && ort.env.versions && ort.env.versions.common) || '';
  cpu.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ median_ms: median, min_ms: times[0], cpu_min_ms: cpu[0], runs: times.length, ort_version: version }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
