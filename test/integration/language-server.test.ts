// Drives the built language server (dist/server.js) over stdio with a real JSON-RPC client: workspace
// scan, open/edit, diagnostics, code actions, hover, completion, symbols, the summary request, run
// configs, watched files, and SeRL's real MATH seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRng } from '../../src/core/random';
import { parseSeedText } from '../../src/core/seeds';
import { validateSeeds } from '../../src/core/validate';
import { SeedSummaryRequest, SeedSummarySchema } from '../../src/protocol/seedServer';
import { MATH_SEEDS_FILE, skipUnlessPresent } from '../sharedData';
import { startServer, type LspDiagnostic } from './language-server-client';

function codes(diagnostics: readonly LspDiagnostic[]): string[] {
  return diagnostics.map((diagnostic) => diagnostic.code);
}

test('publishes diagnostics for an open seed file and updates them after an edit', async () => {
  const server = await startServer();
  try {
    const uri = 'file:///workspace/train.seed.jsonl';
    const text = [
      '{"problem": "What is the sum of 12 and 30 apples in the basket?", "answer": "42"}',
      '{"problem": "What is 2 plus 3?", "answer": 5',
      '{"problem": "What is the sum of 12 and 30 apples in the basket?", "answer": "42"}',
    ].join('\n');
    server.open(uri, text);
    const first = await server.diagnosticsAtVersion(uri, 1);
    const byCode = new Map(first.diagnostics.map((diagnostic) => [diagnostic.code, diagnostic]));
    assert.equal(byCode.get('json-syntax')?.range.start.line, 1);
    assert.equal(byCode.get('duplicate')?.range.start.line, 2);
    assert.match(byCode.get('duplicate')!.message, /line 1\b/);
    assert.equal(byCode.get('duplicate')!.relatedInformation?.[0]?.location.range.start.line, 0);

    // Repair the broken line: its syntax error goes, the duplicate stays.
    server.change(uri, 2, [{ range: { start: { line: 1, character: 45 }, end: { line: 1, character: 45 } }, text: '}' }]);
    const second = await server.diagnosticsAtVersion(uri, 2);
    assert.ok(!codes(second.diagnostics).includes('json-syntax'), JSON.stringify(second.diagnostics));
    assert.ok(codes(second.diagnostics).includes('duplicate'));

    // Insert two lines at the top: the duplicate moves down and still names its first occurrence's new line.
    server.change(uri, 3, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '\n\n' }]);
    const third = await server.diagnosticsAtVersion(uri, 3);
    const duplicate = third.diagnostics.find((diagnostic) => diagnostic.code === 'duplicate')!;
    assert.equal(duplicate.range.start.line, 4);
    assert.match(duplicate.message, /duplicate of line 3$/);
  } finally {
    await server.stop();
  }
});

test('scans the workspace, reports duplicates across closed files, and serves actions, hover, completion, symbols and the summary', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'serl-lsp-'));
  const uriOf = (name: string) => pathToFileURL(path.join(root, name)).href;
  const shared = 'How many marbles does Ava have after she gives three to Ben and buys five?';
  writeFileSync(path.join(root, 'a.seed.jsonl'), `${JSON.stringify({ problem: shared, answer: 7 })}\n`);
  writeFileSync(
    path.join(root, 'b.seed.jsonl'),
    [
      JSON.stringify({ problem: `  ${shared.toUpperCase()}`, answer: 7 }),
      JSON.stringify({ problm: 'A train travels 60 miles in 1.5 hours. What is its average speed?', answer: '40', solution: 'Divide 60 by 1.5 to get 40 miles per hour.' }),
      JSON.stringify({ id: 'q3', problem: 'Compute 2+2.', answer: 4 }),
    ].join('\n') + '\n',
  );
  writeFileSync(path.join(root, 'notes.jsonl'), '{"problem": "not a seed file by the default globs"}\n');
  const server = await startServer({ rootUri: pathToFileURL(root).href });
  try {
    // Closed files are validated from disk, with related information pointing across files.
    const b = uriOf('b.seed.jsonl');
    const published = await server.diagnosticsFor(b);
    const duplicate = published.diagnostics.find((diagnostic) => diagnostic.code === 'duplicate')!;
    assert.match(duplicate.message, /^duplicate of line 1 of a\.seed\.jsonl$/);
    assert.equal(duplicate.relatedInformation?.[0]?.location.uri, uriOf('a.seed.jsonl'));
    assert.deepEqual(codes(published.diagnostics).sort(), ['duplicate', 'missing-instruction', 'rule-too-short', 'unknown-field']);
    assert.ok(!server.published.some((entry) => entry.uri === uriOf('notes.jsonl')));

    // Open b: an edit makes the misspelt field's item a near duplicate of nothing; rename it via the quick fix.
    const text = readFileSync(path.join(root, 'b.seed.jsonl'), 'utf8');
    server.open(b, text, 1);
    const opened = await server.diagnosticsAtVersion(b, 1);
    const unknown = opened.diagnostics.find((diagnostic) => diagnostic.code === 'unknown-field')!;
    const actions = (await server.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri: b },
      range: unknown.range,
      context: { diagnostics: [{ ...unknown, source: 'serl' }] },
    })) as { title: string; kind: string; edit: { changes: Record<string, { range: LspDiagnostic['range']; newText: string }[]> } }[];
    const rename = actions.find((candidate) => candidate.kind === 'quickfix' && candidate.title.includes('"problem"'))!;
    assert.ok(rename, JSON.stringify(actions));
    const [edit] = rename.edit.changes[b]!;
    server.change(b, 2, [{ range: edit!.range, text: edit!.newText }]);
    const renamed = await server.diagnosticsAtVersion(b, 2);
    assert.ok(!codes(renamed.diagnostics).includes('unknown-field'));
    assert.ok(!codes(renamed.diagnostics).includes('missing-instruction'));

    // Whitespace normalisation and fix-all are offered as refactor and source actions.
    const lineActions = (await server.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri: b },
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      context: { diagnostics: [] },
    })) as { title: string; kind: string }[];
    assert.ok(lineActions.some((candidate) => candidate.kind === 'refactor.rewrite' && /whitespace/.test(candidate.title)), JSON.stringify(lineActions));
    assert.ok(lineActions.some((candidate) => candidate.kind === 'source.fixAll.serl'));
    // Asked automatically (the light bulb), the whole-document source actions are left out.
    const automaticActions = (await server.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri: b },
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      context: { diagnostics: [], triggerKind: 2 },
    })) as { title: string; kind: string }[];
    assert.ok(automaticActions.some((candidate) => candidate.kind === 'refactor.rewrite'), JSON.stringify(automaticActions));
    assert.ok(!automaticActions.some((candidate) => candidate.kind.startsWith('source')), JSON.stringify(automaticActions));

    // Remove the duplicate line with its quick fix.
    const dup = renamed.diagnostics.find((diagnostic) => diagnostic.code === 'duplicate')!;
    const dupActions = (await server.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri: b },
      range: dup.range,
      context: { diagnostics: [{ ...dup, source: 'serl' }], only: ['quickfix'] },
    })) as { title: string; edit: { changes: Record<string, { range: LspDiagnostic['range']; newText: string }[]> } }[];
    const removal = dupActions.find((candidate) => candidate.title === 'Remove this duplicate line')!;
    assert.deepEqual(removal.edit.changes[b], [{ range: { start: { line: 0, character: 0 }, end: { line: 1, character: 0 } }, newText: '' }]);
    server.change(b, 3, [{ range: removal.edit.changes[b]![0]!.range, text: '' }]);
    const removed = await server.diagnosticsAtVersion(b, 3);
    assert.ok(!codes(removed.diagnostics).includes('duplicate'));

    // Hover: word count, answers and nearest neighbour.
    const hover = (await server.connection.sendRequest('textDocument/hover', { textDocument: { uri: b }, position: { line: 0, character: 5 } })) as { contents: { value: string } };
    assert.match(hover.contents.value, /13 words/);
    assert.match(hover.contents.value, /answer: ` 40 `/);
    assert.match(hover.contents.value, /solution's final answer: ` 40 ` \(equivalent to the answer\)/);
    assert.match(hover.contents.value, /nearest neighbour: (line 2|a\\\.seed\\\.jsonl:1), ROUGE-L 0\.\d{3}/);

    // Completion of field names at a key position.
    server.change(b, 4, [{ range: { start: { line: 1, character: 1 }, end: { line: 1, character: 1 } }, text: '"", ' }]);
    await server.diagnosticsAtVersion(b, 4);
    const completion = (await server.connection.sendRequest('textDocument/completion', { textDocument: { uri: b }, position: { line: 1, character: 2 } })) as { label: string }[];
    assert.deepEqual(completion.map((item) => item.label), ['solution']);

    const symbols = (await server.connection.sendRequest('textDocument/documentSymbol', { textDocument: { uri: b } })) as { name: string }[];
    // Line 1 is broken by the completion test's edit, so only line 0 holds an item.
    assert.deepEqual(symbols.map((symbol) => symbol.name), ['A train travels 60 miles in 1.5 hours. …']);

    const summary = SeedSummarySchema.parse(await server.connection.sendRequest(SeedSummaryRequest.method, {}));
    assert.equal(summary.complete, true);
    assert.deepEqual(summary.files.map((file) => [path.basename(file.uri), file.open, file.items]), [
      ['a.seed.jsonl', false, 1],
      ['b.seed.jsonl', true, 1],
    ]);
    assert.deepEqual(summary.files[1]!.bySeverity, { error: 1, warning: 0, information: 0, hint: 0 });
    assert.deepEqual(summary.files[1]!.byCode, { 'json-syntax': 1 });
    await assert.rejects(server.connection.sendRequest(SeedSummaryRequest.method, { uri: 42 }), /expected string/);
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('validates run configs against the config schema with field paths and suggestions', async () => {
  const server = await startServer();
  try {
    const uri = 'file:///workspace/serl.config.json';
    server.open(uri, '{\n  "model": {"kind": "tiny"},\n  "n_samples_per_promt": 8,\n  "optimizer": {"lr": -1}\n}');
    const { diagnostics } = await server.diagnosticsAtVersion(uri, 1);
    const unknown = diagnostics.find((diagnostic) => diagnostic.code === 'config-unknown-key')!;
    assert.match(unknown.message, /n_samples_per_promt: unknown key \(did you mean 'n_samples_per_prompt'\?\)/);
    assert.deepEqual(unknown.range, { start: { line: 2, character: 2 }, end: { line: 2, character: 23 } });
    const invalid = diagnostics.find((diagnostic) => diagnostic.code === 'config-invalid')!;
    assert.match(invalid.message, /^optimizer\.lr: /);
    assert.equal(invalid.range.start.line, 3);
    server.change(uri, 2, [{ text: '{"model": {"kind": "tiny"}}' }]);
    assert.deepEqual((await server.diagnosticsAtVersion(uri, 2)).diagnostics, []);
  } finally {
    await server.stop();
  }
});

test('picks up seed files created on disk through workspace/didChangeWatchedFiles', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'serl-lsp-watch-'));
  const server = await startServer({ rootUri: pathToFileURL(root).href, watchFiles: true });
  try {
    const summary = async () => SeedSummarySchema.parse(await server.connection.sendRequest(SeedSummaryRequest.method, {}));
    assert.deepEqual((await summary()).files, []);
    const file = path.join(root, 'new.seed.jsonl');
    writeFileSync(file, '{"problem": "Write a program that prints the first ten primes."}\n');
    const uri = pathToFileURL(file).href;
    void server.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri, type: 1 }] });
    const { diagnostics } = await server.diagnosticsFor(uri);
    assert.deepEqual(codes(diagnostics), ['rule-write-a-program']);
    rmSync(file);
    void server.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri, type: 3 }] });
    await server.diagnosticsFor(uri, (entry) => entry.diagnostics.length === 0);
    assert.deepEqual((await summary()).files, []);
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test("validates SeRL's 500 MATH seeds through the server", { skip: skipUnlessPresent(MATH_SEEDS_FILE) }, async () => {
  const server = await startServer();
  try {
    const uri = 'file:///workspace/math_seed_500.seed.jsonl';
    server.open(uri, readFileSync(MATH_SEEDS_FILE, 'utf8'));
    const { diagnostics } = await server.diagnosticsAtVersion(uri, 1);
    const counts: Record<string, number> = {};
    for (const diagnostic of diagnostics) counts[diagnostic.code] = (counts[diagnostic.code] ?? 0) + 1;
    console.log(`math_seed_500 through the language server: ${diagnostics.length} findings ${JSON.stringify(counts)}`);
    // Every item has a problem and an answer: no errors; what remains are warnings and information.
    assert.ok(!diagnostics.some((diagnostic) => diagnostic.severity === 1), JSON.stringify(diagnostics.filter((diagnostic) => diagnostic.severity === 1).slice(0, 3)));
    const summary = SeedSummarySchema.parse(await server.connection.sendRequest(SeedSummaryRequest.method, { uri }));
    assert.equal(summary.files[0]!.items, 500);
    assert.equal(summary.files[0]!.answered, 500);
  } finally {
    await server.stop();
  }
});

test('a large file: every finding but near duplicates first, then the near duplicates from the worker threads, with an edit made meanwhile', async () => {
  const rng = createRng(12);
  const syllables = 'ka lo mi ne ru sa ti vo ze pa'.split(' ');
  const word = () => Array.from({ length: 3 }, () => rng.pick(syllables)).join('');
  const lines: string[] = [];
  // 3,000 distinct instructions (the join runs off the thread from 2,000), every tenth a near copy of an earlier one.
  for (let k = 0; k < 3000; k++) {
    const problem =
      k % 10 === 9 ? JSON.parse(lines[k - 1 - rng.int(5)]!).problem.replace(/\d+/, (digits: string) => String(Number(digits) + 1)) : `Ava has ${k} ${word()} ${word()} ${word()} ${word()} ${word()} ${word()} apples. How many are left?`;
    lines.push(JSON.stringify({ problem }));
  }
  const server = await startServer();
  try {
    const uri = 'file:///workspace/large.seed.jsonl';
    server.open(uri, lines.join('\n'));
    const first = await server.diagnosticsAtVersion(uri, 1);
    assert.deepEqual(codes(first.diagnostics), [], 'the near-duplicate search starts after the first publication');
    // While the join runs: a copy of line 1 at the top makes the original (now line 2) an exact duplicate at once.
    server.change(uri, 2, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: `${lines[0]}\n` }]);
    const edited = await server.diagnosticsAtVersion(uri, 2);
    assert.ok(edited.diagnostics.some((diagnostic) => diagnostic.code === 'duplicate' && diagnostic.range.start.line === 1), JSON.stringify(edited.diagnostics.slice(0, 3)));
    const complete = await server.diagnosticsFor(uri, (entry) => entry.version === 2 && entry.diagnostics.some((diagnostic) => diagnostic.code === 'near-duplicate'));
    const [expected] = validateSeeds([{ file: uri, ...parseSeedText([lines[0], ...lines].join('\n'), 'jsonl') }]);
    const key = (diagnostic: { range: LspDiagnostic['range']; code: string; message: string }) => `${diagnostic.range.start.line}:${diagnostic.range.start.character} ${diagnostic.code} ${diagnostic.message}`;
    assert.deepEqual(complete.diagnostics.map(key), expected!.map(key));
    assert.ok(expected!.filter((diagnostic) => diagnostic.code === 'near-duplicate').length > 200);
  } finally {
    await server.stop();
  }
});
