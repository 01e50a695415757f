// What the collapse monitor's probe (src/engine/probe.ts) costs a SeRL step in the arithmetic world: the real
// loop (controller + worker) with examples/arithmetic/serl.config.json, probing at every step, timing the
// controller's "probing" phase against the rest of the same step. Baseline, in the same run: the step
// without its probe. Run twice: the config as is (difficulty band on) and without the band (every item
// trains, so steps are longer). Step 1 is left out (the worker's first sampling and training warm up).
// Run: node --import tsx bench/probe.bench.ts [--steps N] [--threads T]   (defaults 8 and 2)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import type { RunConfig } from '../src/core/config';
import { loadRunConfigFile, train } from '../src/engine/controller';
import { findArithmeticExample } from '../src/engine/demo';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const STEPS = option('--steps', 8);
const THREADS = option('--threads', 2);
const PYTHON = '/usr/bin/python3';

interface Measured {
  probeSeconds: number;
  restSeconds: number;
  steps: number;
}

async function measure(name: string, config: RunConfig, scratch: string): Promise<Measured> {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  const configFile = join(dir, 'serl.config.json');
  writeFileSync(configFile, JSON.stringify({ ...config, max_steps: STEPS, monitor: { ...config.monitor, probe_every: 1 } }));
  let probeStarted = 0;
  let probeSeconds = 0;
  const total: Measured = { probeSeconds: 0, restSeconds: 0, steps: 0 };
  const outcome = await train({
    workspace: dir,
    start: { configFile },
    python: PYTHON,
    workerEnv: { SERL_WORKER_THREADS: String(THREADS), OMP_NUM_THREADS: String(THREADS) },
    listener: {
      phase: (_step, text) => {
        // The probe is the phase between "probing …" and the next one (evaluation or the checkpoint).
        const now = performance.now();
        if (probeStarted > 0) probeSeconds = (now - probeStarted) / 1000;
        probeStarted = text.startsWith('probing') ? now : 0;
      },
      stepDone: (metrics) => {
        if (metrics.probe_accuracy === null || metrics.probe_accuracy === undefined) throw new Error(`step ${metrics.step} ran no probe`);
        const rest = metrics.step_seconds - probeSeconds;
        console.log(`  ${name} step ${metrics.step}: ${rest.toFixed(2)} s + probe ${probeSeconds.toFixed(2)} s (trained ${metrics.trained} items)`);
        if (metrics.step > 1) {
          total.probeSeconds += probeSeconds;
          total.restSeconds += rest;
          total.steps += 1;
        }
        probeSeconds = 0;
      },
    },
  });
  if (outcome.status !== 'completed') throw new Error(`${name}: ${outcome.status}: ${outcome.detail}`);
  return total;
}

async function main(): Promise<void> {
  if (spawnSync(PYTHON, ['-c', 'import torch']).status !== 0) {
    console.log(`skipped: ${PYTHON} cannot import torch`);
    return;
  }
  const config = await loadRunConfigFile(join(findArithmeticExample(), 'serl.config.json'));
  const n = config.monitor.probe_samples ?? config.n_samples_per_prompt;
  console.log(`probe: ${config.monitor.probe_size} items × ${n} samples; steps: ${config.rollout_batch_size} instructions × ${config.n_samples_per_prompt} samples; ${STEPS} steps, worker threads ${THREADS}`);
  const scratch = mkdtempSync(join(tmpdir(), 'serl-probe-bench-'));
  try {
    const variants: [string, RunConfig][] = [
      ['band', config],
      ['no-band', { ...config, filters: { ...config.filters, reward_difficulty_bounds: [0, 1] } }],
    ];
    for (const [name, variant] of variants) {
      const { probeSeconds, restSeconds, steps } = await measure(name, variant, scratch);
      const ratio = probeSeconds / restSeconds;
      console.log(
        `${name}: a step without the probe ${(restSeconds / steps).toFixed(2)} s, the probe ${(probeSeconds / steps).toFixed(2)} s: ` +
          `×${(1 + ratio).toFixed(2)} per probed step (+${(ratio * 100).toFixed(0)}%), ` +
          `+${((ratio / config.monitor.probe_every) * 100).toFixed(0)}% per step at probe_every ${config.monitor.probe_every}`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
