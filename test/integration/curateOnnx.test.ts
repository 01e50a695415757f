// A curation-only run on the arithmetic world's base model exported to ONNX, through the CLI bundle, with no
// Python for the run: the worker is used once, here, for the export (`serl export-onnx`); `serl curate` then gets a --python that
// does not exist and a PATH without any interpreter, so only the ONNX backend can have sampled. Then
// `serl export` on the result.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportCommand } from '../../src/cli/commands/export';
import { exportOnnxCommand } from '../../src/cli/commands/exportOnnx';
import { runPaths } from '../../src/engine/runStore';
import { parseRunEvent, type RunEvent } from '../../src/protocol/events';
import { runInProcess } from '../cli/cli';

const PYTHON = '/usr/bin/python3';
const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist', 'cli.js');
const ARITHMETIC = join(ROOT, 'examples', 'arithmetic');
const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const skip =
  torchProbe.status !== 0
    ? `PyTorch is not importable by ${PYTHON} (needed for the export only): ${(torchProbe.stderr ?? '').trim().split('\n').pop()}`
    : !existsSync(CLI)
      ? `${CLI} is missing: run npm run build`
      : false;

const scratch = mkdtempSync(join(tmpdir(), 'serl-curate-onnx-test-'));
const modelDir = join(scratch, 'model');

describe('serl curate with the ONNX backend on the exported base model', { skip }, () => {
  before(() => {
    // The export as a user runs it: `serl export-onnx` on the committed base model folder.
    const exported = spawnSync(process.execPath, [CLI, 'export-onnx', '--model', join(ARITHMETIC, 'base'), '--out', modelDir, '--python', PYTHON], {
      encoding: 'utf8',
      env: { ...process.env, SERL_WORKER_THREADS: '1', OMP_NUM_THREADS: '1' },
    });
    assert.equal(exported.status, 0, exported.stderr);
    assert.match(exported.stderr, /onnx\/model\.onnx/);
    assert.ok(existsSync(join(modelDir, 'onnx', 'model.onnx')));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('curates without Python and exports the kept items', async () => {
    const example = JSON.parse(readFileSync(join(ARITHMETIC, 'serl.config.json'), 'utf8')) as Record<string, unknown>;
    const configFile = join(scratch, 'serl.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        ...example,
        $schema: undefined,
        seeds: join(ARITHMETIC, 'seeds.seed.jsonl'),
        model: { kind: 'tiny', path: join(ARITHMETIC, 'base') },
        backend: { kind: 'onnx', path: 'model' },
        max_steps: 2,
        n_samples_per_prompt: 8,
        rollout_batch_size: 6,
        self_instruction: { ...(example.self_instruction as object), batch_size: 6 },
      }),
    );
    const workspace = join(scratch, 'workspace');
    const child = spawn(process.execPath, [CLI, 'curate', '--config', configFile, '--workspace', workspace, '--python', join(scratch, 'no-such-python')], {
      env: { PATH: '', HOME: scratch },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolveExit) => child.once('close', resolveExit));
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stderr, /sampling with onnx: .*model \(cpu\)/);
    const runId = /completed run (\S+) \(2 steps\)/.exec(stdout)?.[1];
    assert.ok(runId, stdout);

    const events = readFileSync(runPaths(workspace, runId).events, 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const parsed = parseRunEvent(JSON.parse(line));
        assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
        return parsed.value;
      });
    const ofType = <T extends RunEvent['type']>(type: T) => events.filter((event): event is Extract<RunEvent, { type: T }> => event.type === type);
    const [started] = ofType('run-started');
    assert.equal(started.config.curation_only, true);
    assert.deepEqual(started.config.backend, { kind: 'onnx', path: modelDir });
    assert.equal(ofType('item-trained').length, 0);
    const voted = ofType('item-voted');
    assert.ok(voted.length > 0, `nothing was voted on:\n${stdout}\n${stderr}`);
    for (const event of voted) assert.equal(event.responses.length, 8);
    assert.deepEqual(ofType('step-metrics').map((metrics) => [metrics.step, metrics.trained]), [
      [1, 0],
      [2, 0],
    ]);

    const exported = await runInProcess(exportCommand, ['--run', runId, '--format', 'jsonl', '--workspace', workspace], '');
    assert.equal(exported.code, 0, exported.stderr);
    const kept = voted.filter((event) => event.difficulty.status === 'kept' && event.majority !== null).map((event) => event.item_id);
    const items = exported.stdout.trim() === '' ? [] : exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as { item_id: string });
    assert.deepEqual(items.map((item) => item.item_id).sort(), kept.sort());
  });
});

describe('serl export-onnx usage', () => {
  it('wants exactly one of --model and --run, and --out', async () => {
    await assert.rejects(runInProcess(exportOnnxCommand, ['--out', scratch], ''), /exactly one of --model DIR and --run RUN/);
    await assert.rejects(runInProcess(exportOnnxCommand, ['--model', 'a', '--run', 'b', '--out', scratch], ''), /exactly one of/);
    await assert.rejects(runInProcess(exportOnnxCommand, ['--model', 'a'], ''), /--out DIR is required/);
  });

  it('names a run that does not exist', async () => {
    await assert.rejects(runInProcess(exportOnnxCommand, ['--run', 'no-such-run', '--out', scratch, '--workspace', scratch], ''), /no-such-run/);
  });
});
