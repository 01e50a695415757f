// Curation-only runs end to end with the OpenAI backend against a real HTTP server on 127.0.0.1 that answers
// by rules: self-instruction requests (n = 1) continue the numbered list with new problems (and a few that
// the rule and similarity filters must drop); rollouts answer n responses whose agreement makes each problem
// kept, too easy or too hard. Checked: the events (same as training, minus item-trained), decisions honoured
// mid-run (veto, relabel), stop and resume, the lock, `serl export`, the CLI bundle, and that the API key
// never reaches a run file or the output.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { exportCommand } from '../../src/cli/commands/export';
import type { RunConfigInput } from '../../src/core/config';
import { runLoop, train, type TrainListener, type TrainOutcome } from '../../src/engine/controller';
import { CollapseMonitor } from '../../src/engine/monitor';
import { RunLockedError } from '../../src/engine/runLock';
import { appendDecision, replayRun, runPaths } from '../../src/engine/runStore';
import { parseRunEvent, type RunEvent, type RunEventOf, type RunEventType } from '../../src/protocol/events';
import { runInProcess } from '../cli/cli';
import { chatBody, completionBody, sendJson, TestOpenAIServer, type RecordedRequest } from './openaiServer';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist', 'cli.js');
const KEY = 'sk-curate-test-9b1e55c0';

const SEEDS = [
  'Ben has 8 toys. He doubles them and then buys 3 more. How many toys does Ben have now?',
  'A rectangle has a length of 12 cm and a width of 5 cm. What is its area in square centimetres?',
  'What is the remainder when 2024 is divided by 7?',
  'Solve for x: 3x + 7 = 22.',
  'How many positive divisors does 36 have?',
  'A train travels 180 km in 2 hours. What is its average speed in km per hour?',
  'What is the sum of the interior angles of a hexagon, in degrees?',
  'If a shirt costs 40 dollars and is discounted by 25 percent, what is the sale price?',
];

type Difficulty = 'kept' | 'easy' | 'hard';
/** New problems the "model" writes, each with the agreement its rollouts will have. */
const NEW_PROBLEMS: { text: string; difficulty: Difficulty }[] = [
  { text: 'A baker fills 14 trays with 9 muffins each and sells 57 muffins. How many muffins remain unsold?', difficulty: 'kept' },
  { text: 'Find the least common multiple of 18 and 24.', difficulty: 'easy' },
  { text: 'A cyclist rides uphill at 12 km/h and returns downhill at 20 km/h; what is her average speed for the round trip?', difficulty: 'hard' },
  { text: 'The sum of three consecutive odd integers equals 87. Which is the largest of them?', difficulty: 'kept' },
  { text: 'How many ways can a committee of 3 be chosen from 8 volunteers?', difficulty: 'kept' },
  { text: 'Evaluate the product of all prime numbers smaller than twenty.', difficulty: 'easy' },
  { text: 'Water drains from a tank at 6 litres per minute; after 45 minutes 130 litres are left. What was its initial volume?', difficulty: 'kept' },
  { text: 'Compute the exact value of sine squared theta plus cosine squared theta for theta equal to 40 degrees.', difficulty: 'hard' },
  { text: 'Lena saves 15 euros every week starting with 40 euros. After how many weeks will she have 250 euros?', difficulty: 'kept' },
  { text: 'What is the greatest two-digit number divisible by both 4 and 7?', difficulty: 'kept' },
  { text: 'Two dice are rolled together; what is the probability that their total is 9?', difficulty: 'easy' },
  { text: 'Quadrilateral PQRS has angles in the ratio 2:3:4:6. Determine the measure of its smallest angle.', difficulty: 'kept' },
];
/** Items the filters must drop: a blocked word (rule filter) and a near copy of a seed (similarity filter). */
const RULE_VIOLATION = 'Draw a graph of the parabola y equals x squared between minus three and three.';
const SEED_COPY = 'What is the remainder when 2025 is divided by 7?';

let server: TestOpenAIServer;
const scratch = mkdtempSync(join(tmpdir(), 'serl-curate-test-'));
const seedsFile = join(scratch, 'seeds.seed.jsonl');
let problemCursor = 0;
/** Extra lines for the next continuations (e.g. a vetoed text written again). */
let injected: string[] = [];
/** Runs before a self-instruction request is answered (the test's hooks into a run in progress). */
let beforeSelfInstruct: ((request: RecordedRequest) => Promise<void>) | null = null;

before(async () => {
  writeFileSync(seedsFile, SEEDS.map((problem, i) => JSON.stringify({ id: `s${i}`, problem })).join('\n') + '\n');
  server = await TestOpenAIServer.start(answerByRules);
});
after(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  problemCursor = 0;
  injected = [];
  beforeSelfInstruct = null;
  server.requests.length = 0;
});

async function answerByRules(request: RecordedRequest, response: import('node:http').ServerResponse): Promise<void> {
  if (request.headers.authorization !== `Bearer ${KEY}`) {
    sendJson(response, 401, { error: { message: `Incorrect API key provided: ${String(request.headers.authorization)}` } });
    return;
  }
  const chat = request.path.endsWith('/chat/completions');
  const prompt = chat ? (request.body.messages as { content: string }[]).at(-1)!.content : String(request.body.prompt);
  const body = chat ? chatBody : completionBody;
  const n = Number(request.body.n);
  if (n === 1) {
    await beforeSelfInstruct?.(request);
    const next = Number(/(\d+)\.$/.exec(prompt)?.[1]);
    assert.ok(Number.isInteger(next), `a self-instruction prompt ends in the open item number: ${prompt.slice(-40)}`);
    const lines = [...injected, NEW_PROBLEMS[problemCursor++ % NEW_PROBLEMS.length].text];
    injected = [];
    if (problemCursor % 4 === 1) lines.push(RULE_VIOLATION, SEED_COPY);
    lines.push(NEW_PROBLEMS[problemCursor++ % NEW_PROBLEMS.length].text);
    const continuation = ' ' + lines.map((line, i) => (i === 0 ? line : `${next + i}. ${line}`)).join('\n');
    sendJson(response, 200, body([continuation]));
    return;
  }
  const difficulty = NEW_PROBLEMS.find((problem) => problem.text === prompt)?.difficulty ?? 'kept';
  const base = prompt.length;
  const answers = Array.from({ length: n }, (_, i) => (difficulty === 'easy' ? base : difficulty === 'hard' ? base + i : i < n / 2 ? base : base + i));
  sendJson(response, 200, body(answers.map((answer) => `Working it out step by step, the result is \\boxed{${answer}}.`)));
}

function writeConfig(dir: string, overrides: RunConfigInput = {}): string {
  const config: RunConfigInput = {
    seeds: seedsFile,
    mode: 'serl',
    seed: 7,
    max_steps: 3,
    n_samples_per_prompt: 6,
    rollout_batch_size: 4,
    generate_max_len: 64,
    self_instruction: { exemplars: 4, max_generated_exemplars: 2, batch_size: 2, max_tokens: 200, presence_penalty: 0.5 },
    backend: { kind: 'openai', base_url: server.baseUrl, model: 'test-model', max_retries: 1, timeout_s: 30 },
    ...overrides,
  };
  const file = join(dir, 'serl.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

function workspace(name: string): string {
  const dir = join(scratch, name);
  rmSync(dir, { recursive: true, force: true });
  return mkdtempSync(`${dir}-`);
}

function readEvents(dir: string, runId: string): RunEvent[] {
  return readFileSync(runPaths(dir, runId).events, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const parsed = parseRunEvent(JSON.parse(line));
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      return parsed.value;
    });
}

function ofType<Type extends RunEventType>(events: RunEvent[], type: Type): RunEventOf<Type>[] {
  return events.filter((event): event is RunEventOf<Type> => event.type === type);
}

/** Every file of the run, read as text. */
function runFilesText(dir: string, runId: string): string {
  const root = runPaths(dir, runId).dir;
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(folder, entry.name)) : [readFileSync(join(folder, entry.name), 'utf8')],
    );
  return walk(root).join('\n');
}

const env = { ...process.env, OPENAI_API_KEY: KEY };

function curate(dir: string, start: { configFile: string } | { resume: string }, listener: TrainListener = {}, signal?: AbortSignal): Promise<TrainOutcome> {
  return runLoop({ workspace: dir, start, env, listener, ...(signal ? { signal } : {}) }, 'curate');
}

describe('serl curate with the OpenAI backend', () => {
  it('runs self-instruction, filters, votes and the difficulty band without training, honouring a veto and a relabel', async () => {
    const dir = workspace('full');
    let runId = '';
    let step = 0;
    // Set by the hook below, mid-run.
    const decided: { vetoed?: { item_id: string; text: string }; relabelled?: string } = {};
    let reworded = false;
    beforeSelfInstruct = async () => {
      if (step === 3 && decided.vetoed && !reworded) {
        // Step 3 writes the vetoed text again (reworded a little): the filter must catch it.
        reworded = true;
        injected = [decided.vetoed.text.replace(/\?$/, ' exactly?')];
      }
      if (step !== 2 || decided.vetoed) return;
      // While step 2 samples: veto one kept item of step 1 and relabel another, as a person would.
      const { pool } = await replayRun(runPaths(dir, runId));
      const kept = pool.liveItems().filter((item) => item.step === 1 && item.vote?.difficulty.status === 'kept');
      assert.ok(kept.length >= 2, `step 1 kept ${kept.length} items`);
      decided.vetoed = { item_id: kept[0].item_id, text: kept[0].text };
      decided.relabelled = kept[1].item_id;
      await appendDecision(runPaths(dir, runId), { type: 'veto', item_id: kept[0].item_id, reason: 'test' });
      await appendDecision(runPaths(dir, runId), { type: 'relabel', item_id: kept[1].item_id, answer: '12345' });
    };
    const logs: string[] = [];
    const outcome = await curate(dir, { configFile: writeConfig(dir) }, {
      opened: (info) => (runId = info.runId),
      phase: (at) => (step = at),
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    assert.equal(outcome.status, 'completed', outcome.detail);
    assert.equal(outcome.steps, 3);
    const { vetoed, relabelled } = decided;
    assert.ok(vetoed && relabelled, 'the decisions were made mid-run');

    const events = readEvents(dir, runId);
    const [started] = ofType(events, 'run-started');
    assert.equal(started.config.curation_only, true);
    assert.deepEqual(started.config.backend, { kind: 'openai', model: 'test-model' });
    assert.equal(ofType(events, 'item-trained').length, 0, 'a curation run trains nothing');
    const metrics = ofType(events, 'step-metrics');
    assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3]);
    for (const m of metrics) {
      assert.equal(m.trained, 0);
      assert.equal(m.loss, null);
      assert.ok(m.voted >= 1 && m.agreement_mean !== null);
    }
    assert.deepEqual(ofType(events, 'alert'), [], 'every step kept items: no alert (in particular not "trained nothing")');
    assert.deepEqual(ofType(events, 'checkpoint').map((checkpoint) => checkpoint.step), [1, 2, 3]);
    assert.ok(existsSync(join(runPaths(dir, runId).dir, 'checkpoints', 'step-000003', 'curation.json')));
    assert.equal(ofType(events, 'run-finished')[0].status, 'completed');

    // Every stage of the pipeline shows up.
    const filtered = ofType(events, 'item-filtered');
    assert.ok(filtered.some((event) => event.reason === 'blocked-keyword'), JSON.stringify(filtered));
    assert.ok(filtered.some((event) => event.reason === 'duplicate' && event.nearest?.pool === 'seed'), JSON.stringify(filtered));
    const similarToVetoed = filtered.filter((event) => event.reason === 'similar-to-vetoed');
    assert.equal(similarToVetoed.length, 1, JSON.stringify(filtered));
    assert.deepEqual(similarToVetoed[0].nearest?.ref, { kind: 'item', item_id: vetoed.item_id });
    const statuses = new Set(ofType(events, 'item-voted').map((event) => event.difficulty.status));
    assert.deepEqual([...statuses].sort(), ['kept', 'too-easy', 'too-hard']);
    for (const voted of ofType(events, 'item-voted')) {
      assert.equal(voted.responses.length, 6);
      assert.ok(voted.responses.every((response) => response.tokens > 0 && response.finish_reason === 'stop'));
    }

    // Step 3's few-shot prompts never use the vetoed item as an exemplar.
    const step3Sources = ofType(events, 'item-generated')
      .filter((event) => event.step === 3 && event.origin.kind === 'self-instruct')
      .flatMap((event) => (event.origin.kind === 'self-instruct' ? event.origin.sources : []));
    assert.ok(step3Sources.length > 0);
    assert.ok(!step3Sources.some((ref) => ref.kind === 'item' && ref.item_id === vetoed.item_id));

    // The self-instruction requests are plain prompts with the configured sampling; rollouts are the bare instructions.
    const selfInstruct = server.requests.filter((request) => request.body.n === 1);
    assert.ok(selfInstruct.every((request) => request.path === '/v1/completions' && request.body.presence_penalty === 0.5 && request.body.temperature === 0.8));
    assert.ok(String(selfInstruct[0].body.prompt).startsWith('Please act as a professional math teacher.'));

    // serl export: the kept items, not the vetoed one, the relabel's answer for the relabelled one.
    const exported = await runInProcess(exportCommand, ['--run', runId, '--format', 'jsonl', '--workspace', dir], '');
    assert.equal(exported.code, 0, exported.stderr);
    const items = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as { item_id: string; instruction: string; answer: string; answer_source: string; agreement: number });
    const keptIds = ofType(events, 'item-voted').filter((event) => event.difficulty.status === 'kept').map((event) => event.item_id);
    assert.deepEqual(items.map((item) => item.item_id).sort(), keptIds.filter((id) => id !== vetoed.item_id).sort());
    const relabelledItem = items.find((item) => item.item_id === relabelled)!;
    assert.deepEqual([relabelledItem.answer, relabelledItem.answer_source], ['12345', 'relabel']);
    for (const item of items.filter((entry) => entry.item_id !== relabelled)) {
      assert.equal(item.answer, String(item.instruction.length), 'the majority answer');
      assert.equal(item.agreement, 0.5);
    }

    const everything = [runFilesText(dir, runId), logs.join('\n'), exported.stdout, exported.stderr].join('\n');
    assert.ok(!everything.includes(KEY), 'the API key leaked into the run files or logs');
  });

  it('stops on request, refuses a second controller, and resumes to the same end', async () => {
    const dir = workspace('resume');
    let runId = '';
    const stop = new AbortController();
    let lockRefusal: unknown = null;
    beforeSelfInstruct = async () => {
      if (runId === '' || stop.signal.aborted) return;
      const { pool } = await replayRun(runPaths(dir, runId));
      if (pool.lastCompletedStep < 1) return;
      // Step 2 in progress: a second controller on the run must be refused; then the first one is stopped.
      lockRefusal = await curate(dir, { resume: runId }).then(() => null, (error: unknown) => error);
      stop.abort();
    };
    const first = await curate(dir, { configFile: writeConfig(dir) }, { opened: (info) => (runId = info.runId) }, stop.signal);
    assert.equal(first.status, 'stopped', first.detail);
    assert.match(first.detail ?? '', /resume with serl curate --resume/);
    assert.ok(lockRefusal instanceof RunLockedError, `the second controller got: ${String(lockRefusal)}`);

    await assert.rejects(train({ workspace: dir, start: { resume: runId }, env }), /is a curation-only run: resume it with serl curate --resume/);

    beforeSelfInstruct = null;
    const resumed = await curate(dir, { resume: runId });
    assert.equal(resumed.status, 'completed', resumed.detail);
    assert.equal(resumed.steps, 3);
    const events = readEvents(dir, runId);
    const sessions = ofType(events, 'run-started');
    assert.equal(sessions.length, 2, 'the refused controller wrote nothing');
    assert.deepEqual(sessions.at(-1)!.resumed_from, { step: 1, checkpoint_dir: 'checkpoints/step-000001' });
    assert.ok(sessions.every((session) => session.config.curation_only === true));
    const { pool } = await replayRun(runPaths(dir, runId));
    assert.deepEqual([...pool.steps.keys()].sort(), [1, 2, 3]);
    assert.ok(pool.liveItems().every((item) => item.step === 1 || item.session === 1), 'steps 2 and 3 are the resumed session\'s');
  });

  it('with api "chat", sends self-instruction as system + user messages and rollouts as one user message', async () => {
    const dir = workspace('chat');
    const configFile = writeConfig(dir, { max_steps: 1, backend: { kind: 'openai', base_url: server.baseUrl, model: 'test-model', api: 'chat' } });
    const outcome = await curate(dir, { configFile });
    assert.equal(outcome.status, 'completed', outcome.detail);
    assert.ok(server.requests.length > 0 && server.requests.every((request) => request.path === '/v1/chat/completions'));
    const selfInstruct = server.requests.filter((request) => request.body.n === 1);
    const rollouts = server.requests.filter((request) => request.body.n === 6);
    assert.ok(selfInstruct.length > 0 && rollouts.length > 0);
    for (const request of selfInstruct) {
      const messages = request.body.messages as { role: string; content: string }[];
      assert.deepEqual(messages.map((message) => message.role), ['system', 'user']);
      assert.match(messages[0].content, /^Please act as a professional math teacher\./);
      assert.match(messages[1].content, /\n5\.$/);
    }
    for (const request of rollouts) {
      const messages = request.body.messages as { role: string; content: string }[];
      assert.equal(messages.length, 1);
      assert.equal(messages[0].role, 'user');
      assert.ok(NEW_PROBLEMS.some((problem) => problem.text === messages[0].content), messages[0].content);
    }
  });

  it('alerts on a step that kept nothing, not on the training it never does', async () => {
    const monitor = new CollapseMonitor({ curationOnly: true });
    const reading = { voted: 4, trained: 0, all_equal_share: 0, entropy: null, label_accuracy: null };
    assert.deepEqual(monitor.observe({ ...reading, step: 1, kept: 2 }), []);
    assert.deepEqual(monitor.observe({ ...reading, step: 2, kept: 0 }), [
      { step: 2, kind: 'no-kept-items', detail: 'step 2 kept nothing: no item passed the filters and the difficulty band', metrics: { voted: 4, kept: 0 } },
    ]);
  });

  it('refuses to train with a backend that cannot train', async () => {
    const dir = workspace('refuse');
    await assert.rejects(train({ workspace: dir, start: { configFile: writeConfig(dir) }, env }), /backend\.kind: 'openai' cannot train \(only the worker can\); curate with serl curate/);
  });

  it('fails the run with a clear error when the server refuses the key, without writing the key', async () => {
    const dir = workspace('bad-key');
    let runId = '';
    const outcome = await runLoop(
      { workspace: dir, start: { configFile: writeConfig(dir) }, env: { ...process.env, OPENAI_API_KEY: `${KEY}-wrong` }, listener: { opened: (info) => (runId = info.runId) } },
      'curate',
    );
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.detail ?? '', /HTTP 401: "Incorrect API key provided: Bearer \*\*\*"/);
    assert.ok(!runFilesText(dir, runId).includes(KEY));
  });
});

describe('serl curate (the CLI bundle)', { skip: existsSync(CLI) ? false : `${CLI} is missing: run npm run build` }, () => {
  it('curates, then exports, with the key only in the environment', async () => {
    const dir = workspace('cli');
    const config = writeConfig(dir, { max_steps: 2 });
    const child = spawn(process.execPath, [CLI, 'curate', '--config', config, '--workspace', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolveExit) => child.once('close', resolveExit));
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /^step 2\/2 reward – agreement \d\.\d{3} kept \d+\/\d+ trained 0 loss – /m);
    const runId = /completed run (\S+) \(2 steps\)/.exec(stdout)?.[1];
    assert.ok(runId, stdout);
    assert.match(stderr, /sampling with openai: model test-model at http:\/\/127\.0\.0\.1:\d+\/v1/);
    assert.ok(!`${stdout}${stderr}${runFilesText(dir, runId)}`.includes(KEY));

    const exported = await runInProcess(exportCommand, ['--run', runId, '--format', 'openrlhf', '--workspace', dir], '');
    assert.equal(exported.code, 0, exported.stderr);
    const lines = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as { problem: string; answer: string });
    assert.ok(lines.length > 0);
    for (const line of lines) assert.equal(line.answer, String(line.problem.length));
  });
});
