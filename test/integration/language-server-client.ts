// A JSON-RPC client driving the built language server (dist/server.js) over stdio, for the integration
// and fuzz tests: start, initialize, open and edit documents, wait for diagnostics, stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';

export const SERVER_PATH = resolve(__dirname, '../../dist/server.js');

export interface LspDiagnostic {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  code: string;
  severity: number;
  message: string;
  relatedInformation?: { location: { uri: string; range: LspDiagnostic['range'] }; message: string }[];
}

export interface PublishedDiagnostics {
  uri: string;
  version?: number;
  diagnostics: LspDiagnostic[];
}

export interface ServerSession {
  connection: MessageConnection;
  child: ChildProcess;
  /** Every publication, in order. */
  published: PublishedDiagnostics[];
  /** The first publication for `uri` satisfying `accept` (default: any), waiting for it when needed. */
  diagnosticsFor(uri: string, accept?: (entry: PublishedDiagnostics) => boolean): Promise<PublishedDiagnostics>;
  /** The latest publication for `uri` once the server has published for `version`. */
  diagnosticsAtVersion(uri: string, version: number): Promise<PublishedDiagnostics>;
  open(uri: string, text: string, version?: number): void;
  change(uri: string, version: number, contentChanges: unknown[]): void;
  /** Server log lines (window/logMessage). */
  logs: string[];
  /** Rejects, with the server's stderr, if the server exits before `stop` (race it against requests: they never settle then). */
  crashed: Promise<never>;
  stop(): Promise<void>;
}

export async function startServer(options: { rootUri?: string | null; initializationOptions?: unknown; watchFiles?: boolean; serverPath?: string } = {}): Promise<ServerSession> {
  const child = spawn(process.execPath, [options.serverPath ?? SERVER_PATH, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const published: PublishedDiagnostics[] = [];
  const logs: string[] = [];
  let waiters: (() => void)[] = [];
  const wake = () => {
    const woken = waiters;
    waiters = [];
    woken.forEach((resume) => resume());
  };
  let exited = false;
  let stopping = false;
  const crashed = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      exited = true;
      wake();
      if (!stopping) reject(new Error(`the server exited (code ${code}, signal ${signal}); stderr: ${stderr.join('').slice(-4000)}`));
    });
  });
  crashed.catch(() => undefined); // observed by whoever races it
  connection.onNotification('textDocument/publishDiagnostics', (params: PublishedDiagnostics) => {
    published.push(params);
    wake();
  });
  connection.onNotification('window/logMessage', ({ message }: { message: string }) => void logs.push(message));
  connection.onRequest('client/registerCapability', () => null);
  connection.onRequest('workspace/configuration', () => [null]);
  connection.listen();

  async function until<T>(find: () => T | undefined, what: string): Promise<T> {
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (exited) throw new Error(`the server exited while waiting for ${what}; stderr: ${stderr.join('').slice(-2000)}`);
      await new Promise<void>((resume) => waiters.push(resume));
    }
  }

  const session: ServerSession = {
    connection,
    child,
    published,
    logs,
    crashed,
    diagnosticsFor: (uri, accept = () => true) => until(() => published.find((entry) => entry.uri === uri && accept(entry)), `diagnostics of ${uri}`),
    diagnosticsAtVersion: (uri, version) =>
      until(() => {
        const mine = published.filter((entry) => entry.uri === uri);
        const last = mine[mine.length - 1];
        return last !== undefined && last.version === version ? last : undefined;
      }, `diagnostics of ${uri} at version ${version}`),
    open: (uri, text, version = 1) => void connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'jsonl', version, text } }),
    change: (uri, version, contentChanges) => void connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges }),
    async stop() {
      stopping = true;
      if (!exited) {
        await connection.sendRequest('shutdown');
        void connection.sendNotification('exit');
        await until(() => (exited ? true : undefined), 'exit');
      }
      connection.dispose();
    },
  };
  await connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: options.rootUri ?? null,
    workspaceFolders: options.rootUri ? [{ uri: options.rootUri, name: 'workspace' }] : null,
    capabilities: { workspace: { didChangeWatchedFiles: { dynamicRegistration: options.watchFiles ?? false }, configuration: false } },
    initializationOptions: { publishDebounceMs: 0, ...(options.initializationOptions as object) },
  });
  void connection.sendNotification('initialized', {});
  return session;
}
