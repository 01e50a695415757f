// Sampling throughput of the ONNX backend (onnxruntime-node, no Python) against the PyTorch worker, on the
// same tiny model (the arithmetic world's base checkpoint, exported by the worker's export_onnx), the same
// requests and the same thread count, measured in the same run. Two workloads from the arithmetic run:
// rollouts (16 problems × n = 16 samples at temperature 1, max 80 tokens, one batch of 64 at a time) and
// greedy evaluation (64 problems × 1 sample, max 80 tokens). Throughput is generated tokens over the wall
// time of the sample() call as the controller sees it (the worker's includes its JSON-RPC round trip), and
// over the CPU time the sampling process spent (the worker's process from /proc; this process for ONNX):
// on a shared, overloaded machine wall time mostly measures the scheduler. Passes alternate between the
// backends; the best pass of each counts.
// Run: node --import tsx bench/onnx.bench.ts [PASSES] [THREADS]   (default 3 passes, 1 thread each)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OnnxBackend } from '../src/engine/backends/onnx';
import { WorkerClient } from '../src/engine/worker';
import type { SamplingBackend } from '../src/engine/backend';
import type { SampleParams } from '../src/protocol/worker';

const PASSES = Number(process.argv[2] ?? 3);
const THREADS = Number(process.argv[3] ?? 1);
const ROOT = resolve(__dirname, '..');
const BASE_MODEL = join(ROOT, 'examples', 'arithmetic', 'base');
const EXPORT_DIR = join(ROOT, 'bench', 'out', 'onnx-model');

const problems = readFileSync(join(ROOT, 'examples', 'arithmetic', 'test.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => (JSON.parse(line) as { problem: string }).problem);

const WORKLOADS: { name: string; params: SampleParams }[] = [
  {
    name: 'rollouts: 16 problems × 16 samples, T=1',
    params: {
      seed: 1,
      requests: problems.slice(0, 16).map((prompt, i) => ({ id: i, prompt, n: 16, temperature: 1, max_tokens: 80 })),
    },
  },
  {
    name: 'greedy: 64 problems × 1',
    params: { requests: problems.slice(16, 80).map((prompt, i) => ({ id: i, prompt, temperature: 0, max_tokens: 80 })) },
  },
];

interface Throughput {
  /** Generated tokens per wall-clock second. */
  wall: number;
  /** Generated tokens per CPU second of the sampling process. */
  cpu: number;
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

async function measure(backend: SamplingBackend, params: SampleParams, cpuSeconds: () => number): Promise<Throughput> {
  const [started, cpuBefore] = [performance.now(), cpuSeconds()];
  const result = await backend.sample(params);
  const [seconds, cpu] = [(performance.now() - started) / 1000, cpuSeconds() - cpuBefore];
  const tokens = result.results.reduce((sum, entry) => sum + entry.samples.reduce((s, sample) => s + sample.tokens, 0), 0);
  return { wall: tokens / seconds, cpu: tokens / cpu };
}

async function main(): Promise<void> {
  const threads = String(THREADS);
  const worker = await WorkerClient.start({
    python: '/usr/bin/python3',
    env: { SERL_WORKER_THREADS: threads, OMP_NUM_THREADS: threads },
  });
  let onnx: OnnxBackend | undefined;
  try {
    const info = await worker.initialize({ model: { kind: 'tiny', path: BASE_MODEL }, device: 'cpu', seed: 1, optimizer: { lr: 1e-3 } });
    mkdirSync(EXPORT_DIR, { recursive: true });
    await worker.exportOnnx({ dir: EXPORT_DIR });
    onnx = await OnnxBackend.open({ modelDir: EXPORT_DIR, threads: THREADS });
    const workerBackend: SamplingBackend = { kind: 'worker', sample: (params) => worker.sample(params), close: async () => {} };
    console.log(`tiny model: ${info.params.toLocaleString('en')} parameters, context ${info.max_context}; ${THREADS} thread(s) each; best of ${PASSES} passes`);

    const greedyMatches = async (params: SampleParams) => {
      const [a, b] = [await worker.sample(params), await onnx!.sample(params)];
      const texts = (r: typeof a) => r.results.map((entry) => entry.samples.map((sample) => sample.text).join('\u0000'));
      return texts(a).filter((text, i) => text === texts(b)[i]).length;
    };

    const workerCpu = () => processCpuSeconds(worker.pid!);
    const onnxCpu = () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1e6;
    };
    console.log('| workload | measure | PyTorch worker | ONNX backend | ratio ONNX / worker |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const workload of WORKLOADS) {
      const best = { worker: { wall: 0, cpu: 0 }, onnx: { wall: 0, cpu: 0 } };
      for (let pass = 0; pass < PASSES; pass++) {
        const w = await measure(workerBackend, workload.params, workerCpu);
        const o = await measure(onnx, workload.params, onnxCpu);
        for (const key of ['wall', 'cpu'] as const) {
          best.worker[key] = Math.max(best.worker[key], w[key]);
          best.onnx[key] = Math.max(best.onnx[key], o[key]);
        }
      }
      for (const [key, label] of [['wall', 'tokens/s (wall)'], ['cpu', 'tokens per CPU-second']] as const) {
        const [w, o] = [best.worker[key], best.onnx[key]];
        console.log(`| ${workload.name} | ${label} | ${w.toFixed(0)} | ${o.toFixed(0)} | **${(o / w).toFixed(2)}×** |`);
      }
    }
    const greedy = WORKLOADS[1]!.params;
    console.log(`greedy outputs identical: ${await greedyMatches(greedy)}/${greedy.requests.length}`);
  } finally {
    await onnx?.close();
    await worker.dispose();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
