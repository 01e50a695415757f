// The worker client against real processes: the real Python worker (tiny model, CPU) for the protocol's
// happy path, a crash and a JSON-RPC error; and a scripted stand-in worker for the faults the real one
// cannot be made to show on demand (bad results, stray output, a missing PyTorch, a hung process).
// Both need /usr/bin/python3; only the real worker needs PyTorch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WorkerClient, WorkerError, type WorkerOptions } from '../../src/engine/worker';
import type { LogParams, ProgressParams } from '../../src/protocol/worker';

const PYTHON = '/usr/bin/python3';
const pythonMissing = spawnSync(PYTHON, ['--version']).status !== 0 ? `${PYTHON} is not installed` : undefined;
const torchProbe = pythonMissing ? undefined : spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const torchMissing =
  pythonMissing ??
  (torchProbe?.status !== 0
    ? `PyTorch is not importable by ${PYTHON} (Debian: apt install python3-torch): ${torchProbe?.stderr.trim().split('\n').pop()}`
    : undefined);

const started: WorkerClient[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'serl-worker-test-'));

async function startWorker(options: WorkerOptions = {}): Promise<WorkerClient> {
  const worker = await WorkerClient.start({
    python: PYTHON,
    ...options,
    // Two cores are shared by everything on a CI box: one thread each keeps the test quick and quiet.
    env: { SERL_WORKER_THREADS: '1', OMP_NUM_THREADS: '1', ...options.env },
  });
  started.push(worker);
  return worker;
}

/** A zombie (dead, not yet reaped by its new parent after its own parent died) does not count. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

after(async () => {
  await Promise.all(started.map((worker) => worker.dispose()));
  for (const worker of started) assert.equal(isRunning(worker.pid!), false, `worker pid ${worker.pid} still running`);
  rmSync(scratch, { recursive: true, force: true });
});

/** Resolves to the error the promise rejects with (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<WorkerError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof WorkerError, `not a WorkerError: ${String(error)}`);
  return error;
}

const TINY_MODEL = { kind: 'tiny', config: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 64 } } as const;

describe('the real Python worker', { skip: torchMissing }, () => {
  it('runs initialize → sample (keep) → train_step → save/load (exact resume) → release → shutdown', async () => {
    const progress: ProgressParams[] = [];
    const logs: LogParams[] = [];
    const worker = await startWorker({ onProgress: (entry) => progress.push(entry), onLog: (entry) => logs.push(entry) });

    const info = await worker.initialize({ model: TINY_MODEL, device: 'cpu', seed: 7, optimizer: { lr: 1e-2 }, reference: true });
    assert.equal(info.device, 'cpu');
    assert.equal(info.max_context, 64);
    assert.equal(info.trainable_params, info.params);
    assert.ok(logs.some((entry) => entry.level === 'info' && /parameters/.test(entry.message)), JSON.stringify(logs));

    const rollout = await worker.sample({
      requests: [
        { id: 'q1', prompt: '12+30=', n: 3, max_tokens: 6 },
        { id: 'q2', prompt: '7*6=', n: 3, max_tokens: 6, stop: ['#'] },
      ],
      keep: true,
      seed: 1,
    });
    assert.deepEqual(rollout.results.map((result) => result.id), ['q1', 'q2']);
    const samples = rollout.results.flatMap((result) => result.samples);
    const sampleIds = samples.map((sample) => sample.sample_id);
    assert.equal(new Set(sampleIds).size, 6);
    assert.ok(sampleIds.every((id) => typeof id === 'string'));
    assert.deepEqual(progress.at(-1), { method: 'sample', done: 6, total: 6 });

    const batch = sampleIds.map((sampleId, i) => ({ sample_id: sampleId!, advantage: i % 2 === 0 ? 1 : -1 }));
    const loss = { kind: 'ppo-clip', kl_coef: 0.01, kl_estimator: 'k3' } as const;
    const first = await worker.trainStep({ batch, loss, micro_batch: 2, max_grad_norm: 1 });
    assert.equal(first.step, 1);
    assert.equal(first.tokens, samples.reduce((sum, sample) => sum + sample.tokens, 0));
    assert.ok(first.grad_norm > 0);
    assert.equal(progress.at(-1)?.method, 'train_step');

    const checkpoint = join(scratch, 'checkpoint');
    assert.deepEqual(await worker.save({ dir: checkpoint }), { dir: checkpoint, step: 1 });
    const probe = { requests: [{ id: 'p', prompt: '3+4=', n: 4, max_tokens: 6 }], seed: 99 };
    const beforeMoreTraining = await worker.sample(probe);
    const second = await worker.trainStep({ batch, loss, micro_batch: 3 });
    assert.equal(second.step, 2);
    assert.deepEqual(await worker.load({ dir: checkpoint }), { dir: checkpoint, step: 1 });
    const afterLoad = await worker.sample(probe);
    assert.deepEqual(afterLoad.results, beforeMoreTraining.results);

    assert.deepEqual(await worker.release({ sample_ids: sampleIds.map(String) }), { released: 6, kept: 0 });
    assert.deepEqual(await worker.shutdown(), { code: 0, signal: null });
    assert.equal(isRunning(worker.pid!), false);
    const late = await rejection(worker.release({ sample_ids: [] }));
    assert.equal(late.kind, 'exited');
    assert.match(late.message, /^'release' failed: the training worker \(.+\) exited with code 0: after a shutdown request/);
  });

  it('turns JSON-RPC errors into errors naming the method and keeps the worker usable', async () => {
    const worker = await startWorker();
    const early = await rejection(worker.sample({ requests: [{ id: 1, prompt: '1+1=', max_tokens: 2 }] }));
    assert.equal(early.kind, 'rpc');
    assert.equal(early.details.code, -32002);

    await worker.initialize({ model: TINY_MODEL, device: 'cpu', seed: 1, optimizer: { lr: 1e-3 } });
    const unknown = await rejection(
      worker.trainStep({ batch: [{ sample_id: 's999', advantage: 1 }], loss: { kind: 'policy-gradient' }, micro_batch: 1 }),
    );
    assert.equal(unknown.kind, 'rpc');
    assert.equal(unknown.details.method, 'train_step');
    assert.equal(unknown.details.code, -32003);
    assert.deepEqual(unknown.details.data, { path: 'batch[0].sample_id', sample_id: 's999' });
    assert.match(unknown.message, /^'train_step' failed: .*s999.* \(worker error -32003 unknown sample\)$/);

    const refused = await rejection(worker.sample({ requests: [{ id: 1, prompt: 'é', max_tokens: 2 }] }));
    assert.equal(refused.details.code, -32602);
    assert.match(refused.message, /requests\[0\]/);

    const invalid = await rejection(worker.sample({ requests: [{ id: 1, prompt: '1', max_tokens: 0 }] }));
    assert.equal(invalid.kind, 'invalid-params');
    assert.match(invalid.message, /^invalid params for 'sample' \(not sent\): requests\[0\]\.max_tokens: /);

    const still = await worker.sample({ requests: [{ id: 'ok', prompt: '1+1=', max_tokens: 3 }] });
    assert.equal(still.results[0]!.samples.length, 1);
  });

  it('rejects the pending request with a clear error when the worker is killed mid-request', async () => {
    const worker = await startWorker();
    await worker.initialize({ model: TINY_MODEL, device: 'cpu', seed: 1, optimizer: { lr: 1e-3 } });
    const inFlight = worker.sample({ requests: [{ id: 'long', prompt: '1', n: 64, max_tokens: 60 }] });
    process.kill(worker.pid!, 'SIGKILL');
    const error = await rejection(inFlight);
    assert.equal(error.kind, 'exited');
    assert.deepEqual(error.details.exit, { code: null, signal: 'SIGKILL' });
    assert.match(error.message, /^'sample' failed: the training worker \(\/usr\/bin\/python3 -m serl_worker, pid \d+\) /);
    assert.match(error.message, / was killed by SIGKILL \(if nobody killed it, the system may have run out of memory\)\n/);
    assert.match(error.message, /last stderr lines:\n {2}\[serl-worker\] info: tiny model on cpu/);
    const next = await rejection(worker.release({ sample_ids: [] }));
    assert.match(next.message, /^'release' failed: .*killed by SIGKILL/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// A stand-in `serl_worker` that plays a script: for each request, the actions listed under its method.

const STAND_IN = String.raw`
import json, os, signal, sys, time

script = json.loads(os.environ["STAND_IN_SCRIPT"])
if script.get("ignore_sigterm"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

def play(actions, request_id):
    for action in actions:
        if "stdout" in action:
            text = action["stdout"].replace("{id}", json.dumps(request_id)).replace("{pid}", str(os.getpid()))
            sys.stdout.write(text * action.get("times", 1))
            sys.stdout.flush()
        elif "stderr" in action:
            sys.stderr.write(action["stderr"])
            sys.stderr.flush()
        elif "reply" in action:
            sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": action["reply"]}) + "\n")
            sys.stdout.flush()
        elif "sleep" in action:
            time.sleep(action["sleep"])
        elif "exit" in action:
            sys.exit(action["exit"])

play(script.get("start", []), None)
for line in sys.stdin:
    request = json.loads(line)
    default = [{"reply": None}, {"exit": 0}] if request["method"] == "shutdown" else []
    play(script.get(request["method"], default), request.get("id"))
`;

type Action = { stdout: string; times?: number } | { stderr: string } | { reply: unknown } | { sleep: number } | { exit: number };
type Script = { ignore_sigterm?: boolean; start?: Action[] } & Record<string, Action[] | boolean | undefined>;

const standInDir = join(scratch, 'stand-in');
mkdirSync(join(standInDir, 'serl_worker'), { recursive: true });
writeFileSync(join(standInDir, 'serl_worker', '__init__.py'), '');
writeFileSync(join(standInDir, 'serl_worker', '__main__.py'), STAND_IN);

function startStandIn(script: Script, options: WorkerOptions = {}): Promise<WorkerClient> {
  return startWorker({ trainerDir: standInDir, env: { STAND_IN_SCRIPT: JSON.stringify(script) }, ...options });
}

const INITIALIZE_RESULT = { device: 'cpu', dtype: 'float32', params: 10, trainable_params: 10, max_context: 64, eos: '<|eos|>' };
const INITIALIZE_PARAMS = { model: { kind: 'tiny' }, seed: 0, optimizer: { lr: 1e-3 } } as const;

describe('failures of the worker process and its output', { skip: pythonMissing }, () => {
  it('refuses an invalid result, naming the method and the field', async () => {
    const worker = await startStandIn({ initialize: [{ reply: { ...INITIALIZE_RESULT, params: -1, eos: 5 } }] });
    const error = await rejection(worker.initialize(INITIALIZE_PARAMS));
    assert.equal(error.kind, 'invalid-result');
    assert.match(error.message, /^'initialize' returned an invalid result: params: .*; eos: /);
  });

  it('refuses sample results that do not answer the requests', async () => {
    const sample = { sample_id: null, text: '2', tokens: 1, finish_reason: 'eos' };
    const worker = await startStandIn({
      sample: [{ reply: { results: [{ id: 'other', prompt_tokens: 2, samples: [sample] }], tokens_per_s: 1 } }],
    });
    const error = await rejection(worker.sample({ requests: [{ id: 'mine', prompt: '1+1=', max_tokens: 1 }], keep: true }));
    assert.equal(error.kind, 'invalid-result');
    assert.equal(
      error.message,
      `'sample' returned an invalid result: results[0].id: "other" where the request had "mine"; ` +
        'results[0].samples[0].sample_id: null although keep was set',
    );
  });

  it('reports stray output and bad notifications, and still reads a reply that arrives in pieces', async () => {
    const logs: LogParams[] = [];
    const progress: ProgressParams[] = [];
    const reply = JSON.stringify({ jsonrpc: '2.0', id: '{id}', result: INITIALIZE_RESULT }).replace('"{id}"', '{id}');
    const worker = await startStandIn(
      {
        initialize: [
          { stdout: 'loading weights...\n' },
          { stdout: '{"jsonrpc": "2.0", "method": "progress", "params": {"method": "initialize", "done": "half", "total": 2}}\n' },
          { stdout: '{"jsonrpc": "2.0", "method": "progress", "params": {"method": "initialize", "done": 2, "total": 2}}\n' },
          { stdout: '{"jsonrpc": "2.0", "method": "log", "params": {"level": "info", "message": "ready"}}\n' },
          { stdout: '{"jsonrpc": "2.0", "method": "telemetry", "params": {}}\n' },
          { stdout: reply.slice(0, 30) },
          { sleep: 0.05 },
          { stdout: reply.slice(30) + '\n' },
        ],
      },
      { onLog: (entry) => logs.push(entry), onProgress: (entry) => progress.push(entry) },
    );
    assert.deepEqual(await worker.initialize(INITIALIZE_PARAMS), INITIALIZE_RESULT);
    assert.deepEqual(progress, [{ method: 'initialize', done: 2, total: 2 }]);
    const lines = logs.map((entry) => `${entry.level}: ${entry.message}`);
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.match(lines[0]!, /^error: worker protocol: worker stdout line 1: not JSON \(.+\): "loading weights\.\.\."$/);
    assert.match(lines[1]!, /^warning: worker protocol: invalid 'progress' notification: done: .*expected number/);
    assert.deepEqual(lines.slice(2), ['info: ready', "warning: worker protocol: unknown notification 'telemetry' ignored"]);
  });

  it('delivers the reply and notifications a worker wrote just before it exited', async () => {
    // vscode-jsonrpc dispatches one message per event-loop tick: a burst of notifications ahead of the reply
    // keeps the reply queued when the process's end is seen.
    const logs: string[] = [];
    const note = (i: number) => JSON.stringify({ jsonrpc: '2.0', method: 'log', params: { level: 'info', message: `note ${i}` } });
    const worker = await startStandIn(
      { save: [{ stdout: note(1) + '\n', times: 2000 }, { reply: { dir: '/ckpt', step: 4 } }, { stdout: note(2) + '\n' }, { exit: 3 }] },
      { onLog: (entry) => logs.push(entry.message) },
    );
    assert.deepEqual(await worker.save({ dir: '/ckpt' }), { dir: '/ckpt', step: 4 });
    assert.deepEqual(await worker.exited, { code: 3, signal: null });
    assert.equal(logs.length, 2001);
    assert.equal(logs.at(-1), 'note 2');
  });

  it('explains a worker that dies at start-up because PyTorch is missing', async () => {
    const traceback =
      'Traceback (most recent call last):\n  File "serl_worker/__main__.py", line 1, in <module>\n' +
      "ModuleNotFoundError: No module named 'torch'\n";
    const stderr: string[] = [];
    const worker = await startStandIn({ start: [{ stderr: traceback }, { exit: 1 }] }, { onStderr: (line) => stderr.push(line) });
    const error = await rejection(worker.initialize(INITIALIZE_PARAMS));
    assert.equal(error.kind, 'exited');
    assert.deepEqual(error.details.exit, { code: 1, signal: null });
    const [first, hint, ...rest] = error.message.split('\n');
    assert.match(first!, /^'initialize' failed: the training worker \(\/usr\/bin\/python3 -m serl_worker, pid \d+\) exited with code 1$/);
    assert.match(hint!, /^PyTorch is not installed for \/usr\/bin\/python3: install it \(Debian\/Ubuntu: sudo apt install python3-torch;/);
    assert.deepEqual(rest, [
      'last stderr lines:',
      '  Traceback (most recent call last):',
      '    File "serl_worker/__main__.py", line 1, in <module>',
      "  ModuleNotFoundError: No module named 'torch'",
    ]);
    assert.equal(stderr.at(-1), "ModuleNotFoundError: No module named 'torch'");
  });

  it('times a request out, and dispose() ends a worker that ignores shutdown and SIGTERM', async () => {
    const worker = await startStandIn(
      { ignore_sigterm: true, initialize: [{ reply: INITIALIZE_RESULT }], sample: [{ sleep: 30 }] },
      { shutdownTimeoutMs: 200, requestTimeoutMs: 150 },
    );
    // A reply means the script is running, with SIGTERM ignored.
    await worker.initialize(INITIALIZE_PARAMS, { timeoutMs: 60_000 });
    const request = { requests: [{ id: 1, prompt: '1', max_tokens: 1 }] };
    const timedOut = await rejection(worker.sample(request));
    assert.equal(timedOut.kind, 'timeout');
    assert.match(timedOut.message, /^'sample' got no reply within 0\.15 s; the worker \(pid \d+\) may still be running it$/);

    const cutOff = rejection(worker.sample(request, { timeoutMs: 60_000 }));
    const startedAt = Date.now();
    await worker.dispose();
    assert.ok(Date.now() - startedAt < 10_000);
    assert.deepEqual(await worker.exited, { code: null, signal: 'SIGKILL' });
    assert.equal(isRunning(worker.pid!), false);
    const error = await cutOff;
    assert.equal(error.kind, 'exited');
    assert.match(error.message, /^'sample' failed: the training worker .* was killed by SIGKILL: stopped by the controller \(dispose\)$/);
  });

  it('dispose() also stops the interpreter behind a wrapper script', async () => {
    const wrapper = join(scratch, 'python-wrapper.sh');
    // No exec: the shell stays the direct child, and the interpreter is its child.
    writeFileSync(wrapper, `#!/bin/sh\n${PYTHON} "$@"\n`, { mode: 0o755 });
    const logs: string[] = [];
    const worker = await startStandIn(
      {
        initialize: [
          { stdout: '{"jsonrpc": "2.0", "method": "log", "params": {"level": "info", "message": "{pid}"}}\n' },
          { reply: INITIALIZE_RESULT },
        ],
        sample: [{ sleep: 30 }],
      },
      { python: wrapper, shutdownTimeoutMs: 200, onLog: (entry) => logs.push(entry.message) },
    );
    await worker.initialize(INITIALIZE_PARAMS);
    const interpreterPid = Number(logs[0]);
    assert.notEqual(interpreterPid, worker.pid);
    const cutOff = rejection(worker.sample({ requests: [{ id: 1, prompt: '1', max_tokens: 1 }] }));
    const startedAt = Date.now();
    await worker.dispose();
    assert.ok(Date.now() - startedAt < 10_000);
    assert.equal(isRunning(interpreterPid), false);
    assert.equal((await cutOff).kind, 'exited');
  });

  it('says how to fix a Python interpreter that does not exist', async () => {
    const error = await rejection(WorkerClient.start({ python: join(scratch, 'no-such-python'), trainerDir: standInDir }));
    assert.equal(error.kind, 'spawn');
    assert.match(error.message, /^cannot start the training worker: Python interpreter '.*no-such-python' not found \(spawn ENOENT\)\./);
    assert.match(error.message, /Pass the path of a Python 3 with PyTorch as the python option/);
  });

  it('says which folder lacks the serl_worker package', async () => {
    const error = await rejection(WorkerClient.start({ python: PYTHON, trainerDir: scratch }));
    assert.equal(error.kind, 'spawn');
    assert.equal(error.message, `cannot start the training worker: no serl_worker package in ${scratch}`);
  });
});
