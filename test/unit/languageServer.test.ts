// The language server's document model and providers, in process: incremental results must equal a
// from-scratch validateSeeds after every edit, and the providers must produce the expected edits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { seedCodeActions, wrapFinalAnswer } from '../../language-server/codeActions';
import { nearJoinRunner } from '../../language-server/nearJoin';
import { seedCompletions, seedHover, seedSymbols } from '../../language-server/providers';
import { validateRunConfig } from '../../language-server/runConfig';
import { SeedDocument } from '../../language-server/seedDocument';
import { SeedWorkspace } from '../../language-server/workspace';
import { createRng, type Rng } from '../../src/core/random';
import { parseSeedText, seedFormatForPath } from '../../src/core/seeds';
import { DEFAULT_NEAR_DUPLICATE_THRESHOLD, validateSeeds, type Diagnostic } from '../../src/core/validate';

const NAMES = ['Ava', 'Ben', 'Chloe', 'Dev', 'Emma'];
const THINGS = ['apples', 'marbles', 'books', 'coins'];

/** Lines with many exact and near duplicates, some broken, some with answers and solutions. */
function randomLine(rng: Rng): string {
  const roll = rng.next();
  if (roll < 0.05) return '';
  if (roll < 0.1) return `{"problem": "What is ${rng.int(9)} plus`;
  if (roll < 0.13) return `{"problm": "How many ${rng.pick(THINGS)} are left over at the end?", "answer": ${rng.int(5)}}`;
  if (roll < 0.16) return `[${rng.int(3)}]`;
  const problem = `${rng.pick(NAMES)} has ${rng.int(4)} ${rng.pick(THINGS)} and buys ${rng.int(4)} more${rng.next() < 0.3 ? '  today' : ''}. How many ${rng.pick(THINGS)} now?`;
  const item: Record<string, unknown> = { problem: rng.next() < 0.1 ? problem.toUpperCase() : problem };
  if (rng.next() < 0.6) item.answer = rng.int(8);
  if (rng.next() < 0.4) item.solution = rng.next() < 0.5 ? `So the total is $\\boxed{${rng.int(8)}}$.` : `Adding gives ${rng.int(8)}.`;
  return JSON.stringify(item);
}

function sortKey(diagnostic: Diagnostic): string {
  const { start, end } = diagnostic.range;
  return [start.line, start.character, end.line, end.character, diagnostic.code, diagnostic.message, JSON.stringify(diagnostic.related ?? [])].join('|');
}

function normalised(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map(sortKey).sort();
}

/** validateSeeds over the documents in URI order: what the server must agree with. */
function expected(docs: readonly SeedDocument[]): Map<string, string[]> {
  const ordered = [...docs].sort((a, b) => (a.uri < b.uri ? -1 : 1));
  const results = validateSeeds(ordered.map((doc) => ({ file: doc.uri, ...parseSeedText(doc.text, seedFormatForPath(doc.uri)) })));
  return new Map(ordered.map((doc, k) => [doc.uri, normalised(results[k]!)]));
}

function assertAgrees(workspace: SeedWorkspace, docs: readonly SeedDocument[], context: string): void {
  const want = expected(docs);
  for (const doc of docs) assert.deepEqual(normalised(workspace.diagnostics(doc)), want.get(doc.uri), `${context}: ${doc.uri}`);
}

/** A random edit of `doc` as an LSP content change: replace a range of lines (or part of one) with new lines. */
function randomChange(rng: Rng, doc: SeedDocument) {
  const lines = doc.lineCount;
  const first = rng.int(lines);
  const last = Math.min(lines - 1, first + rng.int(3));
  const roll = rng.next();
  const newLines = Array.from({ length: rng.int(3) }, () => randomLine(rng));
  if (roll < 0.2) {
    // A keystroke inside one line.
    const text = doc.entries[first]!.text;
    const at = rng.int(text.length + 1);
    return { range: { start: { line: first, character: at }, end: { line: first, character: Math.min(text.length, at + rng.int(3)) } }, text: rng.pick(['x', '"', '}', ' ', '']) };
  }
  if (roll < 0.4) return { range: { start: { line: first, character: 0 }, end: { line: first, character: 0 } }, text: newLines.map((line) => `${line}\n`).join('') };
  const endCharacter = doc.entries[last]!.text.length;
  return { range: { start: { line: first, character: 0 }, end: { line: last, character: endCharacter } }, text: newLines.join('\n') };
}

test('incremental diagnostics equal a from-scratch validation after every random edit, across two files', () => {
  const rng = createRng(4242);
  const workspace = new SeedWorkspace();
  const docs = ['file:///w/a.seed.jsonl', 'file:///w/b.seed.jsonl'].map(
    (uri) => new SeedDocument(uri, 'jsonl', uri, Array.from({ length: 40 }, () => randomLine(rng)).join('\n'), 1),
  );
  workspace.addDocuments(docs);
  workspace.tracker.fillIndex();
  assertAgrees(workspace, docs, 'after open');
  for (let step = 0; step < 300; step++) {
    const doc = rng.pick(docs);
    const changes = Array.from({ length: 1 + rng.int(2) }, () => randomChange(rng, doc));
    // Changes apply one after another, each against the text the previous one left.
    const applied = changes.map((change) => doc.applyChanges([change], step + 2));
    for (const change of applied) workspace.applyEntryChanges([doc], change);
    assertAgrees(workspace, docs, `after edit ${step} (${JSON.stringify(changes)})`);
  }
});

const JOIN_WORKER = path.resolve(__dirname, '../../dist/nearJoinWorker.js');

test('an off-thread join: every other finding at once, near duplicates when it is in, with the edits made meanwhile applied on top', async (t) => {
  if (!existsSync(JOIN_WORKER)) return t.skip(`${JOIN_WORKER} is not built (npm run build)`);
  const rng = createRng(777);
  let joinIn!: () => void;
  const joined = new Promise<void>((resolve) => (joinIn = resolve));
  const workspace = new SeedWorkspace(DEFAULT_NEAR_DUPLICATE_THRESHOLD, {
    runJoin: nearJoinRunner({ workerPath: JOIN_WORKER, parts: 2 }),
    offThreadJoinFrom: 1,
    onJoinComplete: () => joinIn(),
  });
  const docs = ['file:///w/a.seed.jsonl', 'file:///w/b.seed.jsonl'].map(
    (uri) => new SeedDocument(uri, 'jsonl', uri, Array.from({ length: 120 }, () => randomLine(rng)).join('\n'), 1),
  );
  workspace.addDocuments(docs); // 240 entries: a rebuild, so a join
  const withoutNear = (diagnostics: string[]) => diagnostics.filter((key) => !key.includes('|near-duplicate|'));
  const assertAgreesExceptNear = (context: string) => {
    const want = expected(docs);
    for (const doc of docs) assert.deepEqual(normalised(workspace.diagnostics(doc)), withoutNear(want.get(doc.uri)!), `${context}: ${doc.uri}`);
  };
  assert.ok(workspace.nearDuplicatesPending);
  assertAgreesExceptNear('before the join is in');
  // The worker cannot answer before this synchronous loop yields: every edit lands while the join runs.
  for (let step = 0; step < 40; step++) {
    const doc = rng.pick(docs);
    workspace.applyEntryChanges([doc], doc.applyChanges([randomChange(rng, doc)], step + 2));
    assertAgreesExceptNear(`edit ${step} during the join`);
  }
  assert.ok(expected(docs).get(docs[0]!.uri)!.some((key) => key.includes('|near-duplicate|')), 'the lines should make near duplicates');
  await joined;
  while (!workspace.fillIndex(performance.now() + 5).complete);
  assert.equal(workspace.nearDuplicatesPending, false);
  assertAgrees(workspace, docs, 'after the join and the edits made meanwhile');
  for (let step = 0; step < 40; step++) {
    const doc = rng.pick(docs);
    workspace.applyEntryChanges([doc], doc.applyChanges([randomChange(rng, doc)], step + 100));
    assertAgrees(workspace, docs, `edit ${step} after the join`);
  }
  workspace.dispose();
});

test('a full-text replacement reuses unchanged lines and a .json file is re-parsed whole', () => {
  const workspace = new SeedWorkspace();
  const jsonl = new SeedDocument('file:///w/a.seed.jsonl', 'jsonl', 'file:///w/a.seed.jsonl', '{"problem": "What is two plus two apples?"}\n{"problem": "What is two plus two apples?"}', 1);
  const json = new SeedDocument('file:///w/b.seed.json', 'json', 'file:///w/b.seed.json', '[{"problem": "What is two plus two apples?"}]', 1);
  workspace.addDocuments([jsonl, json]);
  const kept = jsonl.entries[0];
  const changes = jsonl.replaceText('{"problem": "What is two plus two apples?"}\n{"problem": "Something else entirely, with more words"}', 2);
  assert.equal(changes.removed.length, 1);
  assert.equal(jsonl.entries[0], kept);
  workspace.applyEntryChanges([jsonl], changes);
  workspace.applyEntryChanges([json], json.applyChanges([{ text: '[{"problem": "Something else entirely, with more words"}, {"problem": 3}]' }], 2));
  assertAgrees(workspace, [jsonl, json], 'after replacement');
  assert.deepEqual(
    workspace.diagnostics(json).map((diagnostic) => diagnostic.code),
    ['duplicate', 'wrong-type'],
  );
});

test('a file of 300,000 lines opens, and a paste of 300,000 lines applies (neither passes its lines as call arguments)', () => {
  const workspace = new SeedWorkspace(1);
  const item = '{"problem": "How many apples does Ava have after she buys three more?"}';
  const lines = 300_000;
  // Blank lines: cheap to parse, and still one entry each.
  const big = new SeedDocument('file:///w/big.seed.jsonl', 'jsonl', 'big', `${'\n'.repeat(lines)}${item}`, 1);
  workspace.addDocuments([big]);
  const small = new SeedDocument('file:///w/small.seed.jsonl', 'jsonl', 'small', item, 1);
  workspace.addDocuments([small]);
  assert.deepEqual(workspace.diagnostics(small).map((diagnostic) => diagnostic.message), [`duplicate of line ${lines + 1} of big`]);
  const changes = small.applyChanges([{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '\n'.repeat(lines) }], 2);
  assert.equal(small.lineCount, lines + 1);
  workspace.applyEntryChanges([small], changes);
  assert.equal(small.entries[lines]!.index, lines);
  assert.deepEqual(workspace.diagnostics(small).map((diagnostic) => diagnostic.range.start.line), [lines]);
});

test('removing a file takes its items out of the duplicate state of the others', () => {
  const workspace = new SeedWorkspace();
  const line = '{"problem": "How many apples does Ava have after she buys three more?"}';
  const a = new SeedDocument('file:///w/a.seed.jsonl', 'jsonl', 'a', line, 1);
  const b = new SeedDocument('file:///w/b.seed.jsonl', 'jsonl', 'b', line, 1);
  workspace.addDocuments([a, b]);
  assert.deepEqual(workspace.diagnostics(b).map((diagnostic) => diagnostic.message), ['duplicate of line 1 of a']);
  const affected = workspace.removeDocument(a.uri);
  assert.ok(affected.has(b));
  assert.deepEqual(workspace.diagnostics(b), []);
});

test('wrapFinalAnswer wraps the last standalone occurrence of the answer, in math mode or not', () => {
  assert.equal(wrapFinalAnswer('Adding 12 and 30 gives 42.', '42'), 'Adding 12 and 30 gives $\\boxed{42}$.');
  assert.equal(wrapFinalAnswer('So $x = 42$ here.', '42'), 'So $x = \\boxed{42}$ here.');
  // 142 holds 42 but is another number; the standalone 42 comes earlier.
  assert.equal(wrapFinalAnswer('First 42, then 142', '42'), 'First $\\boxed{42}$, then 142');
  assert.equal(wrapFinalAnswer('Already $\\boxed{42}$.', '42'), null);
  assert.equal(wrapFinalAnswer('No number here', '7'), null);
  // Without an answer field, the answer extracted from the solution is wrapped.
  assert.equal(wrapFinalAnswer('The answer is 9.', null), 'The answer is $\\boxed{9}$.');
});

test('field-name completion offers the known fields an item lacks, at key positions only', () => {
  const doc = new SeedDocument('file:///w/a.seed.jsonl', 'jsonl', 'a', '{"problem": "x", ""}\n{"problem": "y"}', 1);
  const labels = seedCompletions(doc, { line: 0, character: 18 }).map((item) => item.label);
  assert.deepEqual(labels, ['answer', 'solution', 'id']);
  const edit = seedCompletions(doc, { line: 0, character: 18 })[0]!.textEdit as { range: unknown; newText: string };
  assert.deepEqual(edit, { range: { start: { line: 0, character: 17 }, end: { line: 0, character: 19 } }, newText: '"answer"' });
  assert.deepEqual(seedCompletions(doc, { line: 0, character: 14 }), [], 'inside a value');
  const json = new SeedDocument('file:///w/b.seed.json', 'json', 'b', '{"items": [\n  {"answer": 1, }\n]}', 1);
  assert.deepEqual(seedCompletions(json, { line: 1, character: 16 }).map((item) => item.label), ['problem', 'question', 'instruction', 'solution', 'id']);
});

test('document symbols: one per item, named by id or first words, at the current line', () => {
  const doc = new SeedDocument('file:///w/a.seed.jsonl', 'jsonl', 'a', '{"id": 7, "problem": "One two three four five six seven eight nine"}\n\n{"problem": "Short  one"}', 1);
  doc.applyChanges([{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '\n' }], 2);
  const symbols = seedSymbols(doc);
  assert.deepEqual(symbols.map((symbol) => [symbol.name, symbol.range.start.line]), [
    ['7: One two three four five six seven eight …', 1],
    ['Short one', 3],
  ]);
});

/** An insertion of `text` at the start of `line`. */
function insertAt(line: number, text: string) {
  return { range: { start: { line, character: 0 }, end: { line, character: 0 } }, text };
}

/** The range of the first occurrence of `needle` in `line` (the text at that line). */
function rangeOfText(line: number, text: string, needle: string) {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} in ${text}`);
  return { start: { line, character: at }, end: { line, character: at + needle.length } };
}

test('hover, code actions and symbols re-parse an entry\'s own line and place it where edits moved it', () => {
  // The item under test has a misspelt field, whitespace to normalise and a bare final answer; the line it
  // was parsed at holds, after the edits, an unrelated item, so reading the wrong line or shifting twice shows.
  const target = '{"id": "t1", "problem": "How  many apples does Ava have after buying seven more apples?", "questoin": "?", "answer": "twelve", "solution": "Counting them one by one gives twelve."}';
  const other = '{"problem": "Ben reads four books on Monday and two more on Tuesday. How many books?", "answer": 6}';
  const doc = new SeedDocument('file:///w/moved.seed.jsonl', 'jsonl', 'moved', [other, target, other.replace('four', 'five')].join('\n'), 1);
  const workspace = new SeedWorkspace();
  workspace.addDocuments([doc]);
  // Providers asked once before the move, as an editor would.
  assert.equal(seedSymbols(doc)[1]!.name, 't1: How many apples does Ava have after buying …');
  workspace.applyEntryChanges([doc], doc.applyChanges([insertAt(0, `${other.replace('four', 'three')}\n\n`)], 2));
  workspace.applyEntryChanges([doc], doc.applyChanges([insertAt(1, '{"problem": "Chloe has nine marbles and gives away three of them. How many are left?"}\n')], 3));
  const line = 4;
  assert.equal(doc.entries[line]!.text, target);
  assert.notEqual(doc.entries[line]!.parsedAt, line);

  const hover = seedHover(workspace, doc, { line, character: 3 })!;
  assert.deepEqual(hover.range, { start: { line, character: 0 }, end: { line, character: target.length } });
  assert.match((hover.contents as { value: string }).value, /^\*\*Seed item\*\* · 11 words.*\n- answer: ` twelve `\n- solution: no final answer can be extracted/);
  assert.equal(seedHover(workspace, doc, { line: 2, character: 3 }), null, 'the blank line inserted above is no item');

  const symbol = seedSymbols(doc).find((candidate) => candidate.range.start.line === line)!;
  assert.equal(symbol.name, 't1: How many apples does Ava have after buying …');
  assert.deepEqual(symbol.selectionRange, rangeOfText(line, target, '"How  many apples does Ava have after buying seven more apples?"'));

  const findings = workspace.diagnostics(doc).filter((diagnostic) => diagnostic.range.start.line === line);
  assert.deepEqual(findings.map((diagnostic) => diagnostic.code).sort(), ['answer-not-extractable', 'unknown-field']);
  const context = { diagnostics: findings.map(({ range, code, message }) => ({ range, code, message, source: 'serl' })) };
  const actions = seedCodeActions(workspace, doc, { textDocument: { uri: doc.uri }, range: { start: { line, character: 0 }, end: { line, character: 0 } }, context });
  const edits = (title: RegExp) => {
    const found = actions.find((action) => title.test(action.title));
    assert.ok(found, `an action titled ${title} among ${actions.map((action) => action.title).join('; ')}`);
    return found.edit!.changes![doc.uri];
  };
  assert.deepEqual(edits(/^Rename the field to "question"/), [{ range: rangeOfText(line, target, '"questoin"'), newText: '"question"' }]);
  assert.deepEqual(edits(/^Wrap the final answer/), [
    { range: rangeOfText(line, target, '"Counting them one by one gives twelve."'), newText: JSON.stringify('Counting them one by one gives $\\boxed{twelve}$.') },
  ]);
  assert.deepEqual(edits(/^Normalise whitespace in the instruction/), [
    { range: rangeOfText(line, target, '"How  many apples does Ava have after buying seven more apples?"'), newText: '"How many apples does Ava have after buying seven more apples?"' },
  ]);
  const fixAll = seedCodeActions(workspace, doc, { textDocument: { uri: doc.uri }, range: hover.range!, context: { diagnostics: [], only: ['source.fixAll'] } });
  assert.deepEqual(fixAll[0]!.edit!.changes![doc.uri]!.map((edit) => edit.range.start.line), [line, line, line]);
});

test('missing-answer and duplicate findings follow their items when lines are inserted above them', () => {
  const stories = ['Emma has one coin and finds three more under the sofa', 'Sam bakes twelve cookies and eats two of them', 'Grace plants five tulips beside seven roses', '', 'Liam folds eight paper cranes every day for a week', 'Rosa swims four laps before lunch and six after'];
  const answered = (k: number) => `{"problem": "${stories[k]}. What is the count now?", "answer": ${k}}`;
  const unanswered = '{"problem": "Dev has ten books and lends four of them to a friend. How many are left?"}';
  const doc = new SeedDocument('file:///w/answers.seed.jsonl', 'jsonl', 'answers', [answered(1), unanswered, answered(2), answered(1), answered(4)].join('\n'), 1);
  const workspace = new SeedWorkspace();
  workspace.addDocuments([doc]);
  const codesByLine = () => workspace.diagnostics(doc).map((diagnostic) => [diagnostic.range.start.line, diagnostic.code]);
  assert.deepEqual(codesByLine(), [
    [1, 'missing-answer'],
    [3, 'duplicate'],
  ]);
  workspace.applyEntryChanges([doc], doc.applyChanges([insertAt(0, `${answered(5)}\n\n`)], 2));
  assert.deepEqual(codesByLine(), [
    [3, 'missing-answer'],
    [5, 'duplicate'],
  ]);
  const [missing, duplicate] = workspace.diagnostics(doc);
  assert.deepEqual(missing!.range, { start: { line: 3, character: 0 }, end: { line: 3, character: unanswered.length } });
  assert.deepEqual(duplicate!.related![0]!.range.start.line, 2, 'the first occurrence, moved too');
  assertAgrees(workspace, [doc], 'after the insertion');
  // Deleting lines above moves them back up.
  workspace.applyEntryChanges([doc], doc.applyChanges([{ range: { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } }, text: '' }], 3));
  assert.deepEqual(codesByLine(), [
    [1, 'missing-answer'],
    [3, 'duplicate'],
  ]);
  assertAgrees(workspace, [doc], 'after the deletion');
});

test('run configs: unknown keys with a suggestion, invalid values and syntax errors on their exact text', () => {
  const check = (text: string) => {
    const doc = TextDocument.create('file:///w/serl.config.json', 'json', 1, text);
    return validateRunConfig(text, (offset) => doc.positionAt(offset));
  };
  const text = '{\n  "model": {"kind": "tiny"},\n  "optimizr": {},\n  "filters": {"reward_difficulty_bounds": [0.9, 0.1]}\n}';
  const findings = check(text);
  const unknown = findings.find((finding) => finding.code === 'config-unknown-key')!;
  assert.match(unknown.message, /^optimizr: unknown key \(did you mean 'optimizer'\?\)/);
  assert.deepEqual(unknown.range, { start: { line: 2, character: 2 }, end: { line: 2, character: 12 } });
  const invalid = findings.find((finding) => finding.code === 'config-invalid')!;
  assert.match(invalid.message, /^filters\.reward_difficulty_bounds: low bound 0\.9 is above high bound 0\.1/);
  assert.equal(invalid.range.start.line, 3);
  assert.deepEqual(check('{"model": {"kind": "tiny"}, "seed": -1}').map((finding) => [finding.code, finding.range.start.character]), [['config-invalid', 36]]);
  const syntax = check('{"model": {"kind": "tiny"},}');
  assert.deepEqual(syntax.map((finding) => [finding.code, finding.range.start.character]), [['json-syntax', 26]]);
  assert.deepEqual(check('').map((finding) => [finding.code, finding.message]), [['json-syntax', 'unexpected end of file: the JSON value is incomplete']]);
});
