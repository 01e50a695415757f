// Never crashes: mutated seed lines (truncations, random code units, deep nesting, huge strings, lone
// surrogates, invalid UTF-8) thrown at the parser and item checks in process, and at the running server
// over stdio, with a deterministic seed. FUZZ_LINES and FUZZ_SERVER_LINES (both 100,000 by default) set the
// counts. The server gets its lines in whole documents (didOpen) and in didChange messages of several
// multi-line changes each, so the JSON-RPC cost is per message, not per line; between them, hover, code
// actions, completion and symbols on the mutated content; at the end its counts must equal validateSeeds'.
// Measured 2026-11-25 on the shared 2-core machine (load ~1.5): in process 5.9 s; over stdio 32.6 s wall,
// 17.5 s CPU in the test process (8 s of it the final validateSeeds) and 29.4 s in the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRng, type Rng } from '../../src/core/random';
import { parseSeedLine, parseSeedText, seedFormatForPath } from '../../src/core/seeds';
import { checkSeedItem, validateSeeds } from '../../src/core/validate';
import { SeedSummaryRequest, SeedSummarySchema, type SeedSummary } from '../../src/protocol/seedServer';
import { startServer } from './language-server-client';

const LINES = Number(process.env.FUZZ_LINES ?? 100_000);
const SERVER_LINES = Number(process.env.FUZZ_SERVER_LINES ?? 100_000);

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
    // Deep nesting and huge strings are rare: each such line costs milliseconds (50,000 levels or a
    // megabyte, 30–100 ms), so the deepest and the longest come a few times per 100,000 lines.
    const roll = rng.next() < 0.0005 ? 3 : rng.next() < 0.015 ? 2 : rng.pick([0, 0, 1, 1, 4, 5, 6, 7, 8, 8]);
    if (roll === 0) line = line.slice(0, rng.int(line.length + 1));
    else if (roll === 1) {
      const at = rng.int(line.length + 1);
      const junk = Array.from({ length: 1 + rng.int(4) }, () => String.fromCharCode(rng.int(0x10000))).join('');
      line = line.slice(0, at) + junk + line.slice(at);
    } else if (roll === 2) {
      const depth = rng.next() < 0.01 ? 50_000 : rng.pick([10, 600, 5000]);
      const open = rng.next() < 0.5 ? '[' : '{"a":';
      line = `{"problem": ${open.repeat(depth)}1${rng.next() < 0.5 ? (open === '[' ? ']' : '}').repeat(depth) : ''}}`;
    } else if (roll === 3) line = JSON.stringify({ problem: 'x '.repeat(rng.next() < 0.1 ? 500_000 : rng.pick([1000, 50_000])), solution: '\\boxed{'.repeat(rng.int(2000)) });
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

/** A client-side copy of a JSONL document's lines, edited as the server edits its own. */
function applyToLines(lines: string[], change: LineChange): void {
  const { start, end } = change.range;
  const head = lines[start.line]!.slice(0, start.character);
  const tail = lines[end.line]!.slice(end.character);
  lines.splice(start.line, end.line - start.line + 1, ...(head + change.text + tail).split(/\r\n|\n|\r/));
}

interface LineChange {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  text: string;
}

/** A random range of up to 3 lines of `lines` replaced by `count` mutated lines. */
function multiLineChange(rng: Rng, lines: readonly string[], count: number): LineChange {
  const line = rng.int(lines.length);
  const endLine = Math.min(lines.length - 1, line + rng.int(3));
  const start = { line, character: rng.int(Math.min(lines[line]!.length, 40) + 1) };
  const end = endLine === line ? { line, character: start.character + rng.int(lines[line]!.length - start.character + 1) } : { line: endLine, character: rng.int(lines[endLine]!.length + 1) };
  return { range: { start, end }, text: Array.from({ length: count }, () => mutatedLine(rng)).join('\n') };
}

/** CPU milliseconds a process has used (user + system, all threads), from /proc; null where there is none. */
function processCpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

test(`the running server survives ${SERVER_LINES} mutated lines sent over stdio: opens, multi-line edits, hover, code actions, symbols, completion`, async () => {
  const started = performance.now();
  const clientCpu = process.cpuUsage();
  const rng = createRng(7);
  const root = mkdtempSync(path.join(tmpdir(), 'serl-lsp-fuzz-'));
  // Bytes that are not UTF-8 cannot travel in JSON-RPC (its strings are Unicode): they reach the server
  // through the workspace scan, which reads files from disk.
  const bad = Buffer.concat([Buffer.from('{"problem": "caf'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from(' ok \\ud800 here"}\n{"problem": \n')]);
  writeFileSync(path.join(root, 'bad.seed.jsonl'), bad);
  const server = await startServer({ rootUri: pathToFileURL(root).href });
  let serverCpu: number | null = null;
  try {
    const badUri = pathToFileURL(path.join(root, 'bad.seed.jsonl')).href;
    const badDiagnostics = await server.diagnosticsFor(badUri);
    assert.deepEqual(badDiagnostics.diagnostics.map((diagnostic) => diagnostic.code), ['json-syntax']);

    // 80% of the lines in whole documents (didOpen): JSONL files and a .json file of mutated elements.
    const files = 8;
    const perFile = Math.ceil((SERVER_LINES * 0.8) / files);
    const mirrors = new Map<string, string[]>();
    const versions = new Map<string, number>();
    let sent = 0;
    for (let f = 0; f < files; f++) {
      const uri = pathToFileURL(path.join(root, `fuzz-${f}.seed.jsonl`)).href;
      const lines = Array.from({ length: perFile }, () => mutatedLine(rng));
      sent += lines.length;
      mirrors.set(uri, lines);
      versions.set(uri, 1);
      server.open(uri, lines.join('\n'));
    }
    const jsonUri = pathToFileURL(path.join(root, 'fuzz.seed.json')).href;
    const elements = Array.from({ length: 500 }, () => mutatedLine(rng));
    sent += elements.length;
    const jsonText = `[${elements.join(',\n')}]`;
    server.open(jsonUri, jsonText);

    // The rest as incremental edits: each didChange carries several multi-line changes (the RPC cost is per
    // message), with requests on the mutated content between them. Requests are answered in order, so they
    // are awaited together at the end.
    const uris = [...mirrors.keys()];
    const requests: Promise<unknown>[] = [];
    const request = (method: string, params: object) => requests.push(server.connection.sendRequest(method, params));
    for (let message = 0; sent < SERVER_LINES; message++) {
      const uri = rng.pick(uris);
      const lines = mirrors.get(uri)!;
      const version = versions.get(uri)! + 1;
      versions.set(uri, version);
      const changes = Array.from({ length: 1 + rng.int(4) }, (_, k) => {
        // Changes stay under the server's rebuild size, but for two pastes that force a rebuild (a new join).
        const change = multiLineChange(rng, lines, k === 0 && (message === 100 || message === 300) ? 250 : 1 + rng.int(40));
        applyToLines(lines, change);
        sent += change.text.split('\n').length;
        return change;
      });
      server.change(uri, version, changes);
      const line = rng.int(lines.length);
      const position = { line, character: rng.int(lines[line]!.length + 1) };
      const textDocument = { uri };
      if (message % 4 === 0) request('textDocument/hover', { textDocument, position });
      if (message % 4 === 1) {
        const diagnostics = server.published.filter((entry) => entry.uri === uri).at(-1)?.diagnostics.filter((diagnostic) => diagnostic.range.start.line >= line - 20 && diagnostic.range.start.line <= line + 20) ?? [];
        // Mostly as the light bulb asks (automatically); now and then invoked, with the whole-document fixes.
        const triggerKind = message % 100 === 1 ? 1 : 2;
        request('textDocument/codeAction', { textDocument, range: { start: { line: Math.max(0, line - 20), character: 0 }, end: { line: line + 20, character: 0 } }, context: { diagnostics, triggerKind } });
      }
      if (message % 4 === 2) request('textDocument/completion', { textDocument, position });
      if (message % 100 === 3) request('textDocument/documentSymbol', { textDocument });
      if (message % 100 === 51) request('textDocument/documentSymbol', { textDocument: { uri: jsonUri } });
    }
    const answers = await Promise.race([Promise.all(requests), server.crashed]);
    assert.ok(answers.length > 100, `only ${answers.length} requests`);
    assert.ok(answers.some((answer) => Array.isArray(answer) && answer.length > 0), 'no request found anything on the mutated content');

    // The final state: every edit applied (the server's line counts are the client's), the last versions
    // published, and once the near-duplicate work is done, the server's counts per file and code are
    // validateSeeds' over the client's copies of the files.
    for (const [uri, version] of versions) await server.diagnosticsAtVersion(uri, version);
    let summary: SeedSummary;
    for (;;) {
      summary = SeedSummarySchema.parse(await Promise.race([server.connection.sendRequest(SeedSummaryRequest.method, {}), server.crashed]));
      if (!summary.nearDuplicatesPending) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const texts = new Map([...mirrors].map(([uri, lines]) => [uri, lines.join('\n')]));
    texts.set(jsonUri, jsonText);
    texts.set(badUri, readFileSync(new URL(badUri), 'utf8'));
    const ordered = [...texts.keys()].sort();
    const expected = validateSeeds(ordered.map((uri) => ({ file: uri, ...parseSeedText(texts.get(uri)!, seedFormatForPath(uri)) })));
    assert.deepEqual(summary.files.map((file) => file.uri), ordered);
    summary.files.forEach((file, k) => {
      const byCode: Record<string, number> = {};
      for (const diagnostic of expected[k]!) byCode[diagnostic.code] = (byCode[diagnostic.code] ?? 0) + 1;
      assert.equal(file.lines, texts.get(file.uri)!.split(/\r\n|\n|\r/).length, file.uri);
      assert.deepEqual(file.byCode, byCode, file.uri);
    });
    assert.ok(!server.logs.some((message) => /failed/.test(message)), server.logs.join('\n'));
    assert.ok(sent >= SERVER_LINES);
    serverCpu = processCpuMs(server.child.pid!);
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const { user, system } = process.cpuUsage(clientCpu);
  console.log(
    `fuzz over stdio: ${SERVER_LINES} lines in ${Math.round(performance.now() - started)} ms wall; CPU: test process ${Math.round((user + system) / 1000)} ms, server ${serverCpu === null ? 'unknown' : `${Math.round(serverCpu)} ms`}`,
  );
});
