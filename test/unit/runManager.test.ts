// The run manager's processes (src/engine/runProcess.ts) with the real controller, `node dist/cli.js train`
// on the arithmetic world's tiny base model (CPU, one thread): a detached start whose log lands in the run
// folder, a graceful stop (exit 130, run 'stopped'), a run started by a process that has since exited and is
// found again and killed after a grace period with its worker, and a start that fails before creating a run.
// Also the PyTorch check that runs before a start.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunConfigInput } from '../../src/core/config';
import { checkTorch } from '../../src/engine/pythonCheck';
import {
  ControllerProcess,
  ControllerStartError,
  EXIT_STOPPED,
  isControllerCommand,
  isProcessAlive,
  killProcessTree,
  processDescendants,
  type LaunchOptions,
} from '../../src/engine/runProcess';
import { listRuns, runPaths } from '../../src/engine/runStore';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist', 'cli.js');
const PYTHON = '/usr/bin/python3';
const EXAMPLE = join(ROOT, 'examples', 'arithmetic');
const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const skipWithoutTorch = torchProbe.status === 0 ? false : `PyTorch is not importable by ${PYTHON}`;

const scratch = mkdtempSync(join(tmpdir(), 'serl-run-manager-'));
const started: number[] = [];
after(() => {
  for (const pid of started) if (isProcessAlive(pid)) killProcessTree(pid);
  rmSync(scratch, { recursive: true, force: true });
});

let count = 0;
/** A workspace with a run config for a long, slow-enough run (the tests stop it). */
function workspaceWithConfig(overrides: RunConfigInput = {}): { workspace: string; config: string } {
  const workspace = join(scratch, `ws-${count++}`);
  const config: RunConfigInput = {
    seeds: join(EXAMPLE, 'seeds.seed.jsonl'),
    model: { kind: 'tiny', path: join(EXAMPLE, 'base'), dtype: 'float32' },
    device: 'cpu',
    max_steps: 200,
    n_samples_per_prompt: 4,
    rollout_batch_size: 4,
    train_batch_size: 8,
    micro_train_batch_size: 8,
    prompt_max_len: 384,
    generate_max_len: 24,
    self_instruction: { exemplars: 2, max_generated_exemplars: 1, batch_size: 4, presence_penalty: 0, max_tokens: 60 },
    ...overrides,
  };
  spawnSync('mkdir', ['-p', workspace]);
  const file = join(workspace, 'serl.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { workspace, config: file };
}

function launchOptions(workspace: string): LaunchOptions {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  return { node: process.execPath, cli: CLI, workspace, python: PYTHON, env: { SERL_WORKER_THREADS: '1', OMP_NUM_THREADS: '1' } };
}

async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

describe('ControllerProcess', { skip: skipWithoutTorch }, () => {
  it('starts a detached controller, logs into the run folder, and stops it gracefully', async () => {
    const { workspace, config } = workspaceWithConfig();
    const controller = await ControllerProcess.launch({ command: 'train', config }, launchOptions(workspace));
    started.push(controller.pid);
    assert.ok(controller.alive);
    assert.ok(isControllerCommand(controller.pid));
    assert.equal(controller.logFile, join(controller.paths.dir, 'controller.log'));
    assert.deepEqual(readdirSync(join(workspace, '.serl', 'logs')), [], 'the start log moved into the run folder');
    const [run] = await listRuns(workspace);
    assert.deepEqual([run?.runId, run?.status, run?.controller?.pid], [controller.runId, 'running', controller.pid]);

    const worker = await waitFor('the training worker', () => processDescendants(controller.pid).find((entry) => entry.pid !== controller.pid));
    assert.equal(await controller.stop({ graceMs: 120_000 }), 'stopped');
    assert.equal((await controller.exited).code, EXIT_STOPPED);
    assert.equal((await listRuns(workspace))[0]?.status, 'stopped');
    await waitFor('the worker to end', () => !isProcessAlive(worker.pid), 10_000);
    const log = readFileSync(controller.logFile, 'utf8');
    assert.match(log, /^--- .* SeRL Studio: .*cli\.js train --config /);
    assert.match(log, new RegExp(`stopped run ${controller.runId}`));
    assert.equal(await controller.stop(), 'not-running');
  });

  it('finds a run whose launcher has exited, and kills it with its worker when the grace period runs out', async () => {
    const { workspace, config } = workspaceWithConfig();
    // The launcher stands for a window that started the run and was then reloaded.
    const script = `
      const { ControllerProcess } = require(${JSON.stringify(join(ROOT, 'src/engine/runProcess.ts'))});
      ControllerProcess.launch({ command: 'train', config: ${JSON.stringify(config)} }, ${JSON.stringify(launchOptions(workspace))})
        .then((controller) => { console.log(JSON.stringify({ pid: controller.pid })); process.exit(0); },
              (error) => { console.error(error.message); process.exit(1); });`;
    const launcher = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(launcher.status, 0, launcher.stderr);
    const { pid } = JSON.parse(launcher.stdout) as { pid: number };
    started.push(pid);

    const [run] = await listRuns(workspace);
    assert.equal(run?.status, 'running');
    const attached = ControllerProcess.attach(runPaths(workspace, run!.runId), run!.controller);
    assert.ok(attached, 'a live controller of this host is attached');
    assert.equal(attached.pid, pid);
    const worker = await waitFor('the training worker', () => processDescendants(pid)[0]);

    assert.equal(await attached.stop({ graceMs: 0 }), 'killed');
    assert.deepEqual(await attached.exited, { code: null, signal: null }, 'an attached process has no exit status');
    await waitFor('the worker to be killed', () => !isProcessAlive(worker.pid), 10_000);
    assert.equal((await listRuns(workspace))[0]?.status, 'interrupted');
  });

  it('reports a controller that ends before creating its run with its own message, and leaves no log behind', async () => {
    const { workspace, config } = workspaceWithConfig({ max_stepz: 3 } as RunConfigInput);
    const error = await ControllerProcess.launch({ command: 'train', config }, launchOptions(workspace)).then(
      () => assert.fail('the start should fail'),
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof ControllerStartError);
    assert.match(error.message, /ended \(exit status 2\) before it created the run/);
    assert.match(error.output, /max_stepz: unknown key \(did you mean 'max_steps'\?\)/);
    assert.doesNotMatch(error.output, /SeRL Studio:/);
    assert.deepEqual(readdirSync(join(workspace, '.serl', 'logs')), []);
    assert.deepEqual(await listRuns(workspace), []);
  });

  it('does not attach to a process that is not a serl controller', () => {
    const paths = runPaths(scratch, 'some-run');
    const now = new Date().toISOString();
    assert.equal(ControllerProcess.attach(paths, { pid: process.pid, hostname: hostname(), started_at: now }), null);
    assert.equal(ControllerProcess.attach(paths, { pid: process.pid, hostname: `not-${hostname()}`, started_at: now }), null);
    assert.equal(ControllerProcess.attach(paths, null), null);
  });
});

describe('isControllerCommand', { skip: process.platform === 'linux' ? false : 'the test reads /proc' }, () => {
  it('recognises the CLI run as dist/cli.js or through the serl bin link, for train and curate only', async () => {
    const bin = join(scratch, 'bin');
    spawnSync('mkdir', ['-p', bin]);
    for (const name of ['serl', 'cli.js', 'other.js']) writeFileSync(join(bin, name), 'setInterval(() => {}, 1000);\n');
    const cases: [string, string, boolean][] = [
      ['serl', 'train', true],
      ['cli.js', 'curate', true],
      ['serl', 'validate', false],
      ['other.js', 'train', false],
    ];
    for (const [script, command, expected] of cases) {
      const child = spawn(process.execPath, [join(bin, script), command, '--config', 'x.json'], { stdio: 'ignore' });
      try {
        await waitFor('the process to start', () => child.pid !== undefined && readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes(script), 10_000);
        assert.equal(isControllerCommand(child.pid!), expected, `${script} ${command}`);
      } finally {
        child.kill('SIGKILL');
      }
    }
  });
});

describe('checkTorch', () => {
  it('accepts a Python with PyTorch', { skip: skipWithoutTorch }, async () => {
    const check = await checkTorch(PYTHON);
    assert.ok(check.ok, check.ok ? '' : check.message);
    assert.match(check.torchVersion, /^\d+\.\d+/);
  });

  it('says how to install PyTorch when the interpreter lacks it', async () => {
    const bare = join(scratch, 'bare-python');
    // A real interpreter that cannot see torch: Python in isolated mode with no site-packages.
    writeFileSync(bare, `#!/bin/sh\nexec ${PYTHON} -I -S "$@"\n`, { mode: 0o755 });
    const check = await checkTorch(bare);
    assert.equal(check.ok, false);
    assert.equal(!check.ok && check.problem, 'no-torch');
    assert.match(!check.ok ? check.message : '', /PyTorch is not installed for .*bare-python\. Install it \(Debian\/Ubuntu: "sudo apt-get install python3-torch"; .*SeRL: Select Python Interpreter/);
  });

  it('names an interpreter that does not exist', async () => {
    const check = await checkTorch(join(scratch, 'no-such-python'));
    assert.deepEqual([check.ok, !check.ok && check.problem], [false, 'not-found']);
    assert.match(!check.ok ? check.message : '', /Python interpreter '.*no-such-python' not found/);
  });
});
