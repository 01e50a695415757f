// Never crashes: mutated seed lines (truncations, random code units, deep nesting, huge strings, lone
// surrogates, invalid UTF-8) thrown at the parser and item checks in process, and at the running server
// over stdio, with a deterministic seed. FUZZ_LINES (default 100,000) sets the in-process count and
// FUZZ_SERVER_LINES (default 20,000: each line also crosses JSON-RPC, is parsed and indexed by the server)
// the server's; `FUZZ_SERVER_LINES=100000 node scripts/run-tests.mjs <this file>` is the full run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRng, type Rng } from '../../src/core/random';
import { parseSeedLine } from '../../src/core/seeds';
import { checkSeedItem } from '../../src/core/validate';
import { SeedSummaryRequest, SeedSummarySchema } from '../../src/protocol/seedServer';
import { startServer } from './language-server-client';

const LINES = Number(process.env.FUZZ_LINES ?? 100_000);
const SERVER_LINES = Number(process.env.FUZZ_SERVER_LINES ?? 20_000);

const WORDS = 'apples train speed triangle area prime sum product integer fraction circle radius mean Ava Ben buys sells more less each'.split(' ');

/** Mostly rare words, so that near duplicates are as sparse as in real seed files. */
function word(rng: Rng): string {
  return rng.next() < 0.3 ? rng.pick(WORDS) : `w${rng.int(20_000).toString(36)}`;
}

function baseLine(rng: Rng): string {
  const words = Array.from({ length: 4 + rng.int(20) }, () => word(rng));
  const item: Record<string, unknown> = { problem: `${words.join(' ')} ${rng.int(1000)}?` };
  const answer = rng.next() < 0.5 ? rng.int(100) : `\\frac{${rng.int(9)}}{${1 + rng.int(9)}}`;
  if (rng.next() < 0.7) item.answer = answer;
  // Mostly the same answer as the solution's, as in real files (a mismatch costs a symbolic comparison).
  if (rng.next() < 0.5) item.solution = `Work it out: $\\boxed{${rng.next() < 0.95 ? answer : rng.int(100)}}$.`;
  if (rng.next() < 0.1) item.problm = 'misspelt';
  return JSON.stringify(item);
}

/** One mutated line; mutations compose, so a line may be truncated and then salted with bad code units. */
export function mutatedLine(rng: Rng): string {
  let line = baseLine(rng);
  const mutations = 1 + rng.int(2);
  for (let m = 0; m < mutations; m++) {
    // Deep nesting and huge strings are rare: each such line costs milliseconds (a huge one, 100 ms).
    const roll = rng.next() < 0.0005 ? 3 : rng.next() < 0.015 ? 2 : rng.pick([0, 0, 1, 1, 4, 5, 6, 7, 8, 8]);
    if (roll === 0) line = line.slice(0, rng.int(line.length + 1));
    else if (roll === 1) {
      const at = rng.int(line.length + 1);
      const junk = Array.from({ length: 1 + rng.int(4) }, () => String.fromCharCode(rng.int(0x10000))).join('');
      line = line.slice(0, at) + junk + line.slice(at);
    } else if (roll === 2) {
      const depth = rng.pick([10, 600, 5000, 50_000]);
      const open = rng.next() < 0.5 ? '[' : '{"a":';
      line = `{"problem": ${open.repeat(depth)}1${rng.next() < 0.5 ? (open === '[' ? ']' : '}').repeat(depth) : ''}}`;
    } else if (roll === 3) line = JSON.stringify({ problem: 'x '.repeat(rng.pick([1000, 50_000, 500_000])), solution: '\\boxed{'.repeat(rng.int(2000)) });
    else if (roll === 4) line = line.replace(/"([^"]*)"/, `"$1${rng.next() < 0.5 ? '\uD800' : '\uDFFF'}"`);
    else if (roll === 5) line = Buffer.from(Array.from({ length: 1 + rng.int(60) }, () => rng.int(256))).toString('utf8');
    else if (roll === 6) line = line.replace(/\d+/, rng.pick(['1e999', '-0', 'NaN', '0x1F', '1.', '.5', '01']));
    else if (roll === 7) line = rng.pick(['{"__proto__": {"problem": 1}}', '{"constructor": "x", "problem": "toString valueOf hasOwnProperty"}', '"just a string"', 'null', '[]', '{}', '\uFEFF{"problem":"bom"}']);
    else {
      const at = rng.int(line.length + 1);
      line = line.slice(0, at) + rng.pick(['"', '\\', '}', ']', ',', ':', '\t', '\r', '\\u12', '\\x']) + line.slice(at);
    }
  }
  // Line breaks inside a mutation would make several lines; JSONL lines never hold one.
  return line.replace(/\r\n|\n|\r/g, ' ');
}

test(`the parser and item checks survive ${LINES} mutated lines`, () => {
  const rng = createRng(20251125);
  let items = 0;
  for (let k = 0; k < LINES; k++) {
    const line = mutatedLine(rng);
    const { item, problems } = parseSeedLine(line, k);
    if (item !== null) {
      items++;
      checkSeedItem(item);
      item.range;
      item.fields();
    }
    for (const problem of problems) assert.ok(problem.range.start.character <= problem.range.end.character);
  }
  assert.ok(items > LINES / 10, `only ${items} lines parsed as items: the mutations are too destructive to test the checks`);
});

test(`the running server survives ${SERVER_LINES} mutated lines over stdio, in the workspace scan, opens and edits`, async () => {
  const rng = createRng(7);
  const root = mkdtempSync(path.join(tmpdir(), 'serl-lsp-fuzz-'));
  // Most lines reach the server through the workspace scan (read from disk in one batch): mutated JSONL
  // files, a .json file of mutated elements, and a file with invalid UTF-8 and a lone-surrogate escape.
  const files = 8;
  const perFile = Math.ceil((SERVER_LINES * 0.8) / files);
  let sent = 0;
  for (let f = 0; f < files; f++) {
    const lines = Array.from({ length: perFile }, () => mutatedLine(rng));
    sent += lines.length;
    writeFileSync(path.join(root, `fuzz-${f}.seed.jsonl`), lines.join('\n'));
  }
  const elements = Array.from({ length: 500 }, () => mutatedLine(rng));
  sent += elements.length;
  writeFileSync(path.join(root, 'fuzz.seed.json'), `[${elements.join(',\n')}]`);
  const bad = Buffer.concat([Buffer.from('{"problem": "caf'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from(' ok \\ud800 here"}\n{"problem": \n')]);
  writeFileSync(path.join(root, 'bad.seed.jsonl'), bad);
  const server = await startServer({ rootUri: pathToFileURL(root).href });
  try {
    const badUri = pathToFileURL(path.join(root, 'bad.seed.jsonl')).href;
    const badDiagnostics = await server.diagnosticsFor(badUri);
    assert.deepEqual(badDiagnostics.diagnostics.map((diagnostic) => diagnostic.code), ['json-syntax']);
    // The rest as edits of two opened files: random line ranges replaced by mutated lines.
    const uris = [0, 1].map((f) => pathToFileURL(path.join(root, `fuzz-${f}.seed.jsonl`)).href);
    for (const uri of uris) server.open(uri, readFileSync(new URL(uri), 'utf8'));
    const versions = new Map(uris.map((uri) => [uri, 1]));
    while (sent < SERVER_LINES) {
      const uri = rng.pick(uris);
      const version = versions.get(uri)! + 1;
      versions.set(uri, version);
      const count = 1 + rng.int(50);
      const lines = Array.from({ length: count }, () => mutatedLine(rng));
      sent += count;
      const line = rng.int(perFile);
      server.change(uri, version, [{ range: { start: { line, character: rng.int(20) }, end: { line: line + rng.int(3), character: rng.int(40) } }, text: lines.join('\n') }]);
    }
    for (const [uri, version] of versions) await server.diagnosticsAtVersion(uri, version);
    const summary = SeedSummarySchema.parse(await server.connection.sendRequest(SeedSummaryRequest.method, {}));
    assert.equal(summary.files.length, files + 2);
    assert.ok(summary.files.every((file) => file.lines > 0));
    assert.ok(!server.logs.some((message) => /failed/.test(message)), server.logs.join('\n'));
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
