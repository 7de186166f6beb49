#!/usr/bin/env node
// onnxruntime-node on PyTorch's ONNX export of the seed net, for bench/run.sh.
//
//   node bench/ort_bench.js MODEL.onnx DATA_DIR [--threads N] [--batch B] [--latency N]
//                           [--min-time S]
//
// --batch B: batched inference at batch B over the test set (t10k-*, gzip or raw), the
// median pass of several lasting at least --min-time seconds in all, on intraOpNumThreads
// N (interOpNumThreads 1, sequential execution). --latency N: batch-1 latency, the mean of
// N images after a warm-up. Prints "RESULT key value" lines, as bench/torch_mnist.py does.
// Install: cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install (no download: the CPU
// runtime ships inside the npm package).
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

function usage() {
  console.error('usage: ort_bench.js MODEL.onnx DATA_DIR [--threads N] [--batch B] [--latency N] [--min-time S]');
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.length < 2) usage();
const [model, dataDir] = argv;
const opt = { threads: 1, batch: 0, latency: 0, minTime: 2 };
for (let i = 2; i < argv.length; i += 2) {
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v)) usage();
  if (argv[i] === '--threads') opt.threads = v;
  else if (argv[i] === '--batch') opt.batch = v;
  else if (argv[i] === '--latency') opt.latency = v;
  else if (argv[i] === '--min-time') opt.minTime = v;
  else usage();
}

function readIdx(stem) {
  for (const name of [stem, stem + '.gz']) {
    const p = path.join(dataDir, name);
    if (fs.existsSync(p)) {
      let b = fs.readFileSync(p);
      if (b[0] === 0x1f && b[1] === 0x8b) b = zlib.gunzipSync(b);
      const ndim = b[3];
      const dims = [];
      for (let k = 0; k < ndim; k++) dims.push(b.readUInt32BE(4 + 4 * k));
      return { dims, data: b.subarray(4 + 4 * ndim) };
    }
  }
  console.error(`ort_bench.js: ${dataDir}: no ${stem}[.gz]`);
  process.exit(1);
}

function result(key, value) { console.log(`RESULT ${key} ${value}`); }

const now = () => Number(process.hrtime.bigint()) / 1e9;

async function main() {
  const img = readIdx('t10k-images-idx3-ubyte');
  const lab = readIdx('t10k-labels-idx1-ubyte');
  const n = img.dims[0];
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = img.data[i] / 255;

  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: opt.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];
  const run = async (start, count) => {
    const t = new ort.Tensor('float32', x.subarray(start * 784, (start + count) * 784), [count, 1, 28, 28]);
    const r = await session.run({ [inName]: t });
    return r[outName].data;
  };

  if (opt.batch > 0) {
    const B = opt.batch;
    // one pass for the accuracy (and warm-up)
    let correct = 0;
    for (let s = 0; s < n; s += B) {
      const c = Math.min(B, n - s);
      const out = await run(s, c);
      for (let i = 0; i < c; i++) {
        let best = 0;
        for (let k = 1; k < 10; k++) if (out[i * 10 + k] > out[i * 10 + best]) best = k;
        if (best === lab.data[s + i]) correct++;
      }
    }
    result('test_acc', (correct / n).toFixed(4));
    const rates = [];
    const tEnd = now() + opt.minTime;
    while ((rates.length < 3 || now() < tEnd) && rates.length < 50) {
      const t0 = now();
      for (let s = 0; s < n; s += B) await run(s, Math.min(B, n - s));
      rates.push(n / (now() - t0));
    }
    rates.sort((a, b) => a - b);
    result('batch_img_s', rates[rates.length >> 1].toFixed(1));
    result('batch_passes', rates.length);
  }
  if (opt.latency > 0) {
    const m = Math.min(opt.latency, n);
    for (let i = 0; i < Math.min(100, m); i++) await run(i, 1);
    const t0 = now();
    for (let i = 0; i < m; i++) await run(i, 1);
    result('b1_images', m);
    result('b1_us', ((now() - t0) / m * 1e6).toFixed(1));
  }
}

main().catch((e) => {
  console.error(`ort_bench.js: ${e.message || e}`);
  process.exit(1);
});
