// The playground's logic (src/engine/playground.ts) with the backend a run config opens, against a real HTTP
// server on 127.0.0.1: seed items with their lines, n responses sampled as a rollout would, the majority
// vote with its groups and the item's answer, cancellation, and the Markdown report.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openBackend } from '../../src/engine/backends';
import { loadRunConfigFile } from '../../src/engine/controller';
import { playgroundItems, playgroundSettings, renderPlaygroundMarkdown, samplePlaygroundItem } from '../../src/engine/playground';
import { completionBody, sendJson, TestOpenAIServer } from './openaiServer';

const scratch = mkdtempSync(join(tmpdir(), 'serl-playground-test-'));
let server: TestOpenAIServer;

before(async () => {
  server = await TestOpenAIServer.start();
});
after(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

const SEED_TEXT = [
  JSON.stringify({ id: 'a', problem: 'What is 6 times 7?', answer: '42' }),
  '{"problem": "broken',
  '',
  JSON.stringify({ id: 7, question: 'How many sides has a hexagon?' }),
  JSON.stringify({ note: 'no instruction here' }),
  JSON.stringify({ instruction: 'Name the smallest prime.', answer: 2 }),
].join('\n');

describe('playgroundItems', () => {
  it('lists the items with an instruction, with their lines and answers, past bad lines', () => {
    const items = playgroundItems(SEED_TEXT, '/w/x.seed.jsonl');
    assert.deepEqual(
      items.map(({ line, instruction, answer, id }) => ({ line, instruction, answer, id })),
      [
        { line: 0, instruction: 'What is 6 times 7?', answer: '42', id: 'a' },
        { line: 3, instruction: 'How many sides has a hexagon?', answer: null, id: '7' },
        { line: 5, instruction: 'Name the smallest prime.', answer: '2', id: null },
      ],
    );
    assert.deepEqual(items.map((item) => item.index), [0, 1, 3], "positions among the parsed objects");
  });

  it('reads JSON seed files too', () => {
    const items = playgroundItems(JSON.stringify([{ problem: 'One?' }, { problem: 'Two?', answer: '2' }], null, 2), '/w/x.seed.json');
    assert.deepEqual(items.map((item) => [item.line, item.instruction, item.answer]), [
      [1, 'One?', null],
      [4, 'Two?', '2'],
    ]);
  });
});

describe('the playground with the OpenAI backend of a run config', () => {
  it('samples n responses to the bare instruction and reports the vote against the item\'s answer', async () => {
    server.handler = (_, response) => {
      const answers = ['42', '42', '\\frac{84}{2}', '41', 'x', '42'];
      sendJson(response, 200, completionBody(answers.map((answer, i) => (answer === 'x' ? 'I cannot tell. ```no``` answer' : `Step ${i}: \\boxed{${answer}}`))));
    };
    const configFile = join(scratch, 'serl.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        n_samples_per_prompt: 6,
        temperature: 0.9,
        top_p: 0.9,
        generate_max_len: 128,
        backend: { kind: 'openai', base_url: server.baseUrl, model: 'm', api: 'completions' },
      }),
    );
    const config = await loadRunConfigFile(configFile);
    const { backend, description } = await openBackend(config, { env: { OPENAI_API_KEY: 'sk-playground' } });
    try {
      const [item] = playgroundItems(SEED_TEXT, '/w/x.seed.jsonl');
      const outcome = await samplePlaygroundItem(backend, item, playgroundSettings(config));
      assert.deepEqual(server.requests.at(-1)!.body, { model: 'm', prompt: 'What is 6 times 7?', n: 6, max_tokens: 128, temperature: 0.9, top_p: 0.9 });
      assert.equal(server.requests.at(-1)!.headers.authorization, 'Bearer sk-playground');
      assert.equal(outcome.majority, '42');
      assert.equal(outcome.agreement, 4 / 6);
      assert.equal(outcome.majorityCorrect, true);
      assert.equal(outcome.accuracy, 4 / 6);
      assert.deepEqual(outcome.difficulty.status, 'kept');
      assert.deepEqual(
        outcome.groups.map((group) => [group.answer, group.count, group.members, group.matchesReference]),
        [
          ['42', 4, [0, 1, 2, 5], true],
          ['41', 1, [3], false],
        ],
      );
      assert.deepEqual(
        outcome.responses.map((response) => [response.answer, response.inMajority, response.matchesReference]),
        [
          ['42', true, true],
          ['42', true, true],
          ['\\frac{84}{2}', true, true],
          ['41', false, false],
          [null, false, false],
          ['42', true, true],
        ],
      );

      const markdown = renderPlaygroundMarkdown(outcome, { file: 'x.seed.jsonl', backend: description });
      assert.match(markdown, /^# Playground: item 1 \(`a`\)$/m);
      assert.match(markdown, /^x\.seed\.jsonl, line 1 · openai: model m at http:\/\/127\.0\.0\.1:\d+\/v1 · n=6, temperature 0\.9/m);
      assert.match(markdown, /^- Majority: `42` ✓ matches the item's answer$/m);
      assert.match(markdown, /^- Agreement: 67% \(4 of 6\)$/m);
      assert.match(markdown, /^- Difficulty band \[0\.2, 0\.8\]: \*\*kept\*\*/m);
      assert.match(markdown, /^\| `41` \| 1 \| #4 \| ✗ \|$/m);
      assert.match(markdown, /^\| \(no answer\) \| 1 \| #5 \| \|$/m);
      // Model text with a code fence inside stays inside a longer fence.
      assert.match(markdown, /^````text\nI cannot tell\. ```no``` answer\n````$/m);
      assert.ok(!markdown.includes('sk-playground'));
    } finally {
      await backend.close();
    }
  });

  it('stops sampling when cancelled', async () => {
    server.handler = () => {};
    const configFile = join(scratch, 'cancel.serl.json');
    writeFileSync(configFile, JSON.stringify({ backend: { kind: 'openai', base_url: server.baseUrl, model: 'm' } }));
    const config = await loadRunConfigFile(configFile);
    const { backend } = await openBackend(config, { env: {} });
    try {
      const abort = new AbortController();
      const [item] = playgroundItems(SEED_TEXT, '/w/x.seed.jsonl');
      const sampling = samplePlaygroundItem(backend, item, playgroundSettings(config), abort.signal);
      const before = server.requests.length;
      while (server.requests.length === before) await new Promise((resolveWait) => setTimeout(resolveWait, 5));
      abort.abort();
      await assert.rejects(sampling, { name: 'AbortError' });
    } finally {
      await backend.close();
    }
  });

  it('says which setting is missing when there is no base URL', async () => {
    const configFile = join(scratch, 'nourl.serl.json');
    writeFileSync(configFile, JSON.stringify({ backend: { kind: 'openai', model: 'm' } }));
    const config = await loadRunConfigFile(configFile);
    await assert.rejects(openBackend(config, { env: {} }), /backend\.base_url: not set and OPENAI_BASE_URL is not in the environment/);
  });
});
