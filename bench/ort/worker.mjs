// ONNX Runtime timing worker: the FP speed baseline beside the engine (scales-latency,
// bench/ort_runner.h). A long-lived process so that a session stays loaded and warm between the
// rounds its parent alternates with the engine; it times only session.run, as the engine's figure
// covers only upscale().
//
// Protocol: one JSON object per line on stdin, one reply per line on stdout.
//   {"model": "fp.onnx", "width": 256, "height": 256, "threads": 2}  ->  {"ms": 123.4}
//   anything that fails                                            ->  {"error": "..."}
// Optional "input_file" (raw float32 NCHW pixels instead of the fixed pseudo-random ones) and
// "output_file" (the output, raw float32) let a test check that ONNX Runtime computes what PyTorch
// does (models/tests/test_onnx_export.py): a baseline that computed something else would time nothing.
// The model takes float32 NCHW RGB in [0, 1] (input 0) as models/scales_train/onnx_export.py writes it.
// Sessions use the CPU provider, every graph optimisation, `threads` intra-op threads and one
// inter-op thread, as a user tuning ONNX Runtime for one request at a time would.
//
// SCALES_ORT_MODULE, if set, names another onnxruntime-node package directory to load instead of
// the one installed beside this script: bench/ort/hold_to_avx2.py writes a copy whose library runs
// its AVX2 code on an AVX-512 CPU, to time the baseline an AVX2-only machine would run.
import {readFileSync, writeFileSync} from "node:fs";
import {createRequire} from "node:module";
import path from "node:path";
import readline from "node:readline";

const ort = createRequire(import.meta.url)(
    process.env.SCALES_ORT_MODULE ? path.resolve(process.env.SCALES_ORT_MODULE) : "onnxruntime-node");

const sessions = new Map();  // "model|threads" -> InferenceSession
const inputs = new Map();    // "WxH" -> Tensor

// One session at a time: a session's memory arena stays at the peak of the largest input it
// has run, and several x4 FP sessions after a 1280x720 input outgrow the machine. Callers time
// one model after another (warm-up first), so a switch costs no timed run.
async function session(model, threads) {
  const key = `${model}|${threads}`;
  if (!sessions.has(key)) {
    for (const [k, old] of sessions) {
      await old.release();
      sessions.delete(k);
    }
    sessions.set(key, await ort.InferenceSession.create(model, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
    }));
  }
  return sessions.get(key);
}

function input(width, height) {
  const key = `${width}x${height}`;
  if (!inputs.has(key)) {
    const data = new Float32Array(3 * width * height);
    let s = 12345;  // a fixed LCG: the same pixels in every run
    for (let i = 0; i < data.length; ++i) {
      s = (s * 1103515245 + 12345) >>> 0;
      data[i] = (s >>> 8) / 16777216;
    }
    inputs.set(key, new ort.Tensor("float32", data, [1, 3, height, width]));
  }
  return inputs.get(key);
}

async function handle(line) {
  const req = JSON.parse(line);
  for (const k of ["model", "width", "height", "threads"])
    if (req[k] === undefined) throw new Error(`request lacks "${k}"`);
  if (!(req.width > 0 && req.height > 0 && req.threads > 0)) throw new Error("width, height and threads must be positive");
  const s = await session(req.model, req.threads);
  let x = input(req.width, req.height);
  if (req.input_file) {
    const buf = readFileSync(req.input_file);
    if (buf.length !== 12 * req.width * req.height) throw new Error(`${req.input_file}: expected 3x${req.height}x${req.width} float32`);
    x = new ort.Tensor("float32", new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4), [1, 3, req.height, req.width]);
  }
  const t0 = process.hrtime.bigint();
  const out = await s.run({[s.inputNames[0]]: x});
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (req.output_file) {
    const y = out[s.outputNames[0]];
    writeFileSync(req.output_file, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    return {ms, dims: y.dims};
  }
  return {ms};
}

const rl = readline.createInterface({input: process.stdin, terminal: false});
let chain = Promise.resolve();  // one request at a time, in order
rl.on("line", (line) => {
  if (!line.trim()) return;
  chain = chain.then(async () => {
    let reply;
    try {
      reply = await handle(line);
    } catch (e) {
      reply = {error: String(e && e.message ? e.message : e)};
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
  });
});
