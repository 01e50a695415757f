// Drives the built language server (dist/server.js) over stdio with a real JSON-RPC client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';

const serverPath = resolve(__dirname, '../../dist/server.js');

interface PublishedDiagnostics {
  uri: string;
  diagnostics: { range: { start: { line: number; character: number } }; code: string; severity: number; message: string }[];
}

function startServer() {
  const child = spawn(process.execPath, [serverPath, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const published: PublishedDiagnostics[] = [];
  const waiters: (() => void)[] = [];
  connection.onNotification('textDocument/publishDiagnostics', (params: PublishedDiagnostics) => {
    published.push(params);
    waiters.splice(0).forEach((wake) => wake());
  });
  connection.listen();
  async function diagnosticsFor(uri: string, count: number): Promise<PublishedDiagnostics> {
    for (;;) {
      const matching = published.filter((entry) => entry.uri === uri);
      if (matching.length >= count) return matching[count - 1]!;
      await new Promise<void>((wake) => waiters.push(wake));
    }
  }
  async function stop() {
    await connection.sendRequest('shutdown');
    connection.sendNotification('exit');
    await new Promise((done) => child.once('exit', done));
    connection.dispose();
  }
  return { connection, diagnosticsFor, stop };
}

test('publishes diagnostics for an open seed file and updates them after an edit', async () => {
  const server = startServer();
  try {
    await server.connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    server.connection.sendNotification('initialized', {});
    const uri = 'file:///workspace/train.seed.jsonl';
    const text = [
      '{"problem": "What is the sum of 12 and 30 apples in the basket?", "answer": "42"}',
      '{"problem": "What is 2 plus 3?", "answer": 5',
      '{"problem": "What is the sum of 12 and 30 apples in the basket?", "answer": "42"}',
    ].join('\n');
    server.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'jsonl', version: 1, text } });
    const first = await server.diagnosticsFor(uri, 1);
    const byCode = new Map(first.diagnostics.map((diagnostic) => [diagnostic.code, diagnostic]));
    assert.equal(byCode.get('json-syntax')?.range.start.line, 1);
    assert.equal(byCode.get('duplicate')?.range.start.line, 2);
    assert.match(byCode.get('duplicate')!.message, /line 1\b/);

    // Repair the broken line: its syntax error goes, the duplicate stays.
    server.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: 1, character: 45 }, end: { line: 1, character: 45 } }, text: '}' }],
    });
    const second = await server.diagnosticsFor(uri, 2);
    const codes = second.diagnostics.map((diagnostic) => diagnostic.code);
    assert.ok(!codes.includes('json-syntax'), `unexpected diagnostics: ${JSON.stringify(second.diagnostics)}`);
    assert.ok(codes.includes('duplicate'));
  } finally {
    await server.stop();
  }
});
