// The controller's side of the training worker: spawns `python -m serl_worker`, speaks the line-delimited
// JSON-RPC of trainer/PROTOCOL.md through vscode-jsonrpc, validates every result and notification with the
// schemas of src/protocol/worker.ts, and turns every way the worker can fail (not startable, crash, signal,
// hang, bad output) into a clear error on the requests it affects. Processes it starts, it stops: dispose().
import { type ChildProcessWithoutNullStreams, spawn, type SpawnOptionsWithStdioTuple } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import {
  AbstractMessageReader,
  AbstractMessageWriter,
  createMessageConnection,
  type DataCallback,
  type Disposable,
  ErrorCodes,
  type Message,
  type MessageConnection,
  type MessageWriter,
  type RequestParam,
  ResponseError,
} from 'vscode-jsonrpc/node';
import {
  type CheckpointResult,
  type DirParams,
  type ExportOnnxResult,
  type InitializeParams,
  type InitializeResult,
  type LogParams,
  LogNotification,
  LogParamsSchema,
  parseWith,
  parseWorkerMessage,
  type ProgressParams,
  ProgressNotification,
  ProgressParamsSchema,
  type ReleaseParams,
  type ReleaseResult,
  type SampleParams,
  type SampleResult,
  sampleResultMismatches,
  ShutdownRequest,
  ShutdownResultSchema,
  type TrainSftParams,
  type TrainSftResult,
  type TrainStepParams,
  type TrainStepResult,
  workerErrorCodeName,
  type WorkerMethod,
  WorkerMethods,
} from '../protocol/worker';

// ---------------------------------------------------------------------------------------------------------
// Framing: one JSON message per line. vscode-jsonrpc's own stream reader/writer speak LSP's Content-Length
// headers, so the line framing plugs in as a MessageReader/MessageWriter pair.

/** Longest piece of a bad line quoted in an error. */
const QUOTED_LINE_CHARS = 200;

/**
 * Reads one JSON-RPC message per `\n`-terminated line (a trailing `\r` is dropped, blank lines are
 * skipped). A line that is not JSON or not a message the worker may send is reported through `onError`,
 * naming the line, and reading goes on: one bad line never loses the messages around it.
 */
export class LineMessageReader extends AbstractMessageReader {
  private readonly decoder = new StringDecoder('utf8');
  /** Pieces of the line being received; joined once its newline arrives (a large message comes in many chunks). */
  private partialLine: string[] = [];
  private lineNumber = 0;
  private deliveredCount = 0;

  constructor(
    private readonly readable: Readable,
    /** Names the stream in errors, e.g. "worker stdout". */
    private readonly source: string,
  ) {
    super();
  }

  /** Messages passed on so far. */
  get delivered(): number {
    return this.deliveredCount;
  }

  listen(callback: DataCallback): Disposable {
    const onData = (chunk: Buffer | string) => {
      this.receive(typeof chunk === 'string' ? chunk : this.decoder.write(chunk), callback);
    };
    const onEnd = () => {
      this.receive(this.decoder.end(), callback);
      if (this.partialLine.length > 0) {
        const rest = this.partialLine.join('');
        this.partialLine = [];
        if (rest.trim() !== '') {
          this.lineNumber++;
          this.fireError(new Error(`${this.place()}: the output ended inside a message (no newline): ${quote(rest)}`));
        }
      }
      this.fireClose();
    };
    const onError = (error: Error) => this.fireError(error);
    this.readable.on('data', onData);
    this.readable.on('end', onEnd);
    this.readable.on('error', onError);
    return {
      dispose: () => {
        this.readable.off('data', onData);
        this.readable.off('end', onEnd);
        this.readable.off('error', onError);
      },
    };
  }

  private receive(text: string, callback: DataCallback): void {
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      this.partialLine.push(text.slice(start, newline));
      const line = this.partialLine.join('');
      this.partialLine = [];
      start = newline + 1;
      this.lineNumber++;
      this.deliver(line.endsWith('\r') ? line.slice(0, -1) : line, callback);
    }
    if (start < text.length) this.partialLine.push(text.slice(start));
  }

  private deliver(line: string, callback: DataCallback): void {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      this.fireError(new Error(`${this.place()}: not JSON (${(error as Error).message}): ${quote(line)}`));
      return;
    }
    const parsed = parseWorkerMessage(value);
    if (!parsed.ok) {
      this.fireError(new Error(`${this.place()}: ${parsed.problem}: ${quote(line)}`));
      return;
    }
    this.deliveredCount++;
    callback(parsed.message);
  }

  private place(): string {
    return `${this.source} line ${this.lineNumber}`;
  }
}

/** Writes each message as one line of JSON (JSON escapes newlines inside strings, so a line is a message). */
export class LineMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private errorCount = 0;

  constructor(private readonly writable: Writable) {
    super();
    // Without a listener, a write to a dead process's stdin (EPIPE) would crash the controller.
    writable.on('error', (error) => this.fireError(error));
    writable.on('close', () => this.fireClose());
  }

  write(message: Message): Promise<void> {
    const line = JSON.stringify(message) + '\n';
    return new Promise((resolveWrite, rejectWrite) => {
      this.writable.write(line, 'utf8', (error) => {
        if (!error) return resolveWrite();
        this.errorCount++;
        this.fireError(error, message, this.errorCount);
        rejectWrite(error);
      });
    });
  }

  end(): void {
    this.writable.end();
  }
}

function quote(line: string): string {
  return JSON.stringify(line.length > QUOTED_LINE_CHARS ? `${line.slice(0, QUOTED_LINE_CHARS)}…` : line);
}

// ---------------------------------------------------------------------------------------------------------
// Errors

export type WorkerErrorKind =
  /** The process could not be started (interpreter not found, not executable, trainer folder missing). */
  | 'spawn'
  /** The process ended (crash, signal, shutdown) before the request was answered, or before it was sent. */
  | 'exited'
  /** No reply within the request timeout; the worker may still be running the request. */
  | 'timeout'
  /** The worker answered with a JSON-RPC error; `code` and `data` are the worker's. */
  | 'rpc'
  /** The controller's params break the protocol; nothing was sent. */
  | 'invalid-params'
  /** The worker's result breaks the protocol. */
  | 'invalid-result';

export class WorkerError extends Error {
  constructor(
    readonly kind: WorkerErrorKind,
    message: string,
    readonly details: {
      /** The request's method, e.g. "sample"; absent for errors of the process itself. */
      method?: string;
      /** JSON-RPC error code (kind 'rpc'). */
      code?: number;
      /** JSON-RPC error data (kind 'rpc'), as the worker sent it. */
      data?: unknown;
      /** How the process ended (kind 'exited'). */
      exit?: WorkerExit;
    } = {},
  ) {
    super(message);
    this.name = 'WorkerError';
  }
}

export interface WorkerExit {
  /** Exit status; null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

// ---------------------------------------------------------------------------------------------------------
// The client

/** `python3` from PATH. Debian's python3-torch lives in /usr/bin/python3, which tests and CI pass explicitly. */
export const DEFAULT_PYTHON = 'python3';
/** Time `dispose()` gives a `shutdown` request, and then each signal, before escalating. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
/** stderr lines kept for error messages. */
const STDERR_TAIL_LINES = 30;
/**
 * Ticks without progress after which the end stops waiting for vscode-jsonrpc's queue, which can drop a
 * message (a second response with the same id replaces the first) and would otherwise never catch up.
 */
const MAX_STALLED_TICKS = 100;

export interface WorkerOptions {
  /** The Python interpreter (needs PyTorch). Default: `python3` from PATH. */
  python?: string;
  /** The folder holding the `serl_worker` package. Default: the repository's `trainer/`, found above this file. */
  trainerDir?: string;
  /** The worker's working directory, against which relative checkpoint dirs resolve. Default: this process's. */
  cwd?: string;
  /** Extra environment for the worker (e.g. OMP_NUM_THREADS), on top of this process's. */
  env?: NodeJS.ProcessEnv;
  /** Default reply timeout of every request, in ms. Default: none (sampling and training may take long). */
  requestTimeoutMs?: number;
  /** How long `dispose()` waits for `shutdown`, and then after SIGTERM, before escalating. */
  shutdownTimeoutMs?: number;
  /** Each line the worker writes to stderr (its human-readable log, tracebacks). */
  onStderr?: (line: string) => void;
  /** The worker's `log` notifications, and protocol problems the client finds (bad lines, bad notifications). */
  onLog?: (entry: LogParams) => void;
  /** The worker's `progress` notifications. */
  onProgress?: (progress: ProgressParams) => void;
}

export interface RequestOptions {
  /** Reply timeout of this request in ms; overrides `WorkerOptions.requestTimeoutMs`. */
  timeoutMs?: number;
}

interface PendingRequest {
  method: string;
  fail(error: WorkerError): void;
}

/**
 * A running training worker. `WorkerClient.start()` spawns it; the typed methods send one request each and
 * resolve with the validated result. The worker handles requests one at a time, in order.
 */
export class WorkerClient {
  private readonly connection: MessageConnection;
  private readonly reader: LineMessageReader;
  private readonly pending = new Set<PendingRequest>();
  private readonly stderrTail: string[] = [];
  private readonly stderrDecoder = new StringDecoder('utf8');
  private partialStderrLine = '';
  /** Messages vscode-jsonrpc's queue has dispatched; it lags the reader by the messages still queued. */
  private handledMessages = 0;
  private spawnError: Error | undefined;
  /** Why the controller asked the process to end (shutdown, dispose), for the error of requests it cuts off. */
  private stopReason: string | undefined;
  /** Why the controller killed a process it could no longer reach; applies if that SIGKILL is what ended it. */
  private unreachableReason: string | undefined;
  /** Set once the process is gone: every later request fails with it. */
  private failure: WorkerError | undefined;
  private disposal: Promise<void> | undefined;
  private readonly spawned: Promise<void>;
  /** Resolves once the process has ended and every request it left open has been rejected. */
  readonly exited: Promise<WorkerExit>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly python: string,
    private readonly trainerDir: string,
    private readonly options: WorkerOptions,
  ) {
    let running = false;
    this.spawned = new Promise((resolveSpawn, rejectSpawn) => {
      child.once('spawn', () => {
        running = true;
        resolveSpawn();
      });
      child.on('error', (error) => {
        if (running) {
          this.report('error', `training worker process: ${error.message}`);
        } else {
          // Recorded synchronously: 'close' follows at once and turns it into the failure start() throws.
          this.spawnError = error;
          rejectSpawn(error);
        }
      });
    });
    this.spawned.catch(() => {});
    child.stderr.on('data', (chunk: Buffer) => this.receiveStderr(this.stderrDecoder.write(chunk)));

    this.reader = new LineMessageReader(child.stdout, 'worker stdout');
    this.connection = createMessageConnection(this.reader, new LineMessageWriter(child.stdin), {
      error: (message) => this.report('error', `worker protocol: ${message}`),
      warn: (message) => this.report('warning', `worker protocol: ${message}`),
      info: () => {},
      log: () => {},
    }, {
      // Counts dispatched messages, so that the end of the process can wait for those already read.
      messageStrategy: {
        handleMessage: (message, next) => {
          try {
            return next(message);
          } finally {
            this.handledMessages++;
          }
        },
      },
    });
    this.connection.onError(([error]) => this.report('error', `worker protocol: ${error.message}`));
    this.connection.onNotification(ProgressNotification, (params) => {
      const parsed = parseWith(ProgressParamsSchema, params);
      if (parsed.ok) this.options.onProgress?.(parsed.value);
      else this.report('warning', `worker protocol: invalid 'progress' notification: ${parsed.problems.join('; ')}`);
    });
    this.connection.onNotification(LogNotification, (params) => {
      const parsed = parseWith(LogParamsSchema, params);
      if (parsed.ok) this.options.onLog?.(parsed.value);
      else this.report('warning', `worker protocol: invalid 'log' notification: ${parsed.problems.join('; ')}`);
    });
    this.connection.onUnhandledNotification((message) => {
      this.report('warning', `worker protocol: unknown notification '${message.method}' ignored`);
    });
    this.connection.listen();

    this.exited = new Promise((resolveExit) => {
      child.once('close', (code, signal) => void this.onClose({ code, signal }).then(resolveExit));
    });
  }

  /** Spawns `<python> -m serl_worker`; rejects with a WorkerError of kind 'spawn' if it cannot start. */
  static async start(options: WorkerOptions = {}): Promise<WorkerClient> {
    const python = options.python ?? DEFAULT_PYTHON;
    const trainerDir = resolve(options.trainerDir ?? findTrainerDir(__dirname));
    if (!existsSync(join(trainerDir, 'serl_worker'))) {
      throw new WorkerError('spawn', `cannot start the training worker: no serl_worker package in ${trainerDir}`);
    }
    const inheritedPath = options.env?.PYTHONPATH ?? process.env.PYTHONPATH;
    const child = spawnOrExplain(python, ['-m', 'serl_worker'], {
      cwd: options.cwd ?? process.cwd(),
      env: {
        ...process.env,
        ...options.env,
        PYTHONPATH: inheritedPath ? `${trainerDir}${delimiter}${inheritedPath}` : trainerDir,
        // The protocol is UTF-8 whatever the locale; unbuffered stderr keeps the log live and complete on a crash.
        PYTHONIOENCODING: 'utf-8',
        PYTHONUNBUFFERED: '1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so that signals reach the real interpreter behind a wrapper script (a pyenv
      // shim, `conda run`) and anything it started, not only the wrapper.
      detached: process.platform !== 'win32',
    });
    const client = new WorkerClient(child, python, trainerDir, options);
    try {
      await client.spawned;
    } catch {
      await client.exited;
      throw client.failure;
    }
    return client;
  }

  /** The process id (for logs). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  initialize(params: InitializeParams, options?: RequestOptions): Promise<InitializeResult> {
    return this.call(WorkerMethods.initialize, params, options);
  }

  async sample(params: SampleParams, options?: RequestOptions): Promise<SampleResult> {
    const result = await this.call(WorkerMethods.sample, params, options);
    const mismatches = sampleResultMismatches(params, result);
    if (mismatches.length > 0) throw invalidResult('sample', mismatches);
    return result;
  }

  trainStep(params: TrainStepParams, options?: RequestOptions): Promise<TrainStepResult> {
    return this.call(WorkerMethods.trainStep, params, options);
  }

  trainSft(params: TrainSftParams, options?: RequestOptions): Promise<TrainSftResult> {
    return this.call(WorkerMethods.trainSft, params, options);
  }

  release(params: ReleaseParams, options?: RequestOptions): Promise<ReleaseResult> {
    return this.call(WorkerMethods.release, params, options);
  }

  save(params: DirParams, options?: RequestOptions): Promise<CheckpointResult> {
    return this.call(WorkerMethods.save, params, options);
  }

  load(params: DirParams, options?: RequestOptions): Promise<CheckpointResult> {
    return this.call(WorkerMethods.load, params, options);
  }

  exportOnnx(params: DirParams, options?: RequestOptions): Promise<ExportOnnxResult> {
    return this.call(WorkerMethods.exportOnnx, params, options);
  }

  /** Asks the worker to exit and waits until it has. `dispose()` is the variant that always ends the process. */
  async shutdown(options?: RequestOptions): Promise<WorkerExit> {
    this.stopReason ??= 'after a shutdown request';
    await this.requestShutdown(options);
    return this.exited;
  }

  private async requestShutdown(options?: RequestOptions): Promise<void> {
    const reply = await this.send('shutdown', () => this.connection.sendRequest(ShutdownRequest), options);
    const parsed = parseWith(ShutdownResultSchema, reply);
    if (!parsed.ok) throw invalidResult('shutdown', parsed.problems);
  }

  /**
   * Ends the process for sure: a `shutdown` request (with a timeout), then SIGTERM, then SIGKILL, each
   * after `shutdownTimeoutMs`. Requests still open fail with an 'exited' error. Safe to call repeatedly.
   */
  dispose(): Promise<void> {
    this.disposal ??= this.stop();
    return this.disposal;
  }

  private async stop(): Promise<void> {
    if (this.failure) return;
    const graceMs = this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    this.stopReason = 'stopped by the controller (dispose)';
    try {
      await this.requestShutdown({ timeoutMs: graceMs });
    } catch {
      // Whatever went wrong, the signals below end the process.
    }
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      if (await this.exitsWithin(graceMs)) break;
      this.signal(signal);
    }
    await this.exited;
    // An interpreter behind a wrapper script shares the process group and can outlive the direct child.
    if (!(await this.groupEndsWithin(graceMs))) {
      this.signal('SIGKILL');
      await this.groupEndsWithin(graceMs);
    }
  }

  /** Polls the worker's process group (zombies that nobody reaps count as gone: they hold nothing). */
  private async groupEndsWithin(ms: number): Promise<boolean> {
    const pid = this.child.pid;
    if (process.platform === 'win32' || pid === undefined) return true;
    const deadline = Date.now() + ms;
    for (;;) {
      if (!groupHasLiveMembers(pid)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolveWait) => setTimeout(resolveWait, 10));
    }
  }

  private exitsWithin(ms: number): Promise<boolean> {
    return new Promise((resolveWait) => {
      const timer = setTimeout(() => resolveWait(false), ms);
      void this.exited.then(() => {
        clearTimeout(timer);
        resolveWait(true);
      });
    });
  }

  private async call<Params, Result>(
    definition: WorkerMethod<Params, Result>,
    params: Params,
    options?: RequestOptions,
  ): Promise<Result> {
    const checked = parseWith(definition.params, params);
    if (!checked.ok) {
      const problems = checked.problems.join('; ');
      throw new WorkerError('invalid-params', `invalid params for '${definition.method}' (not sent): ${problems}`, {
        method: definition.method,
      });
    }
    const reply = await this.send(
      definition.method,
      // Params are always an object, so RequestParam<Params> is Params itself.
      () => this.connection.sendRequest(definition.type, checked.value as RequestParam<Params>),
      options,
    );
    const result = parseWith(definition.result, reply);
    if (!result.ok) throw invalidResult(definition.method, result.problems);
    return result.value;
  }

  /** Sends one request and tracks it until it is answered, times out, or the process ends. */
  private send(method: string, request: () => Promise<unknown>, options: RequestOptions = {}): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failureFor(method, this.failure));
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    return new Promise((resolveRequest, rejectRequest) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (outcome: () => void) => {
        if (!this.pending.delete(entry)) return;
        clearTimeout(timer);
        outcome();
      };
      const entry: PendingRequest = { method, fail: (error) => settle(() => rejectRequest(error)) };
      this.pending.add(entry);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const waited = formatSeconds(timeoutMs);
          const message = `'${method}' got no reply within ${waited}; the worker (pid ${this.pid}) may still be running it`;
          entry.fail(new WorkerError('timeout', message, { method }));
        }, timeoutMs);
      }
      let reply: Promise<unknown>;
      try {
        reply = request();
      } catch (error) {
        reply = Promise.reject(error);
      }
      reply.then(
        (value) => settle(() => resolveRequest(value)),
        (error: unknown) => {
          if (error instanceof ResponseError && !isConnectionErrorCode(error.code)) {
            entry.fail(rpcError(method, error));
            return;
          }
          // The request never reached the worker, or the connection broke: the worker cannot answer any more.
          // The process's end rejects this request with the reason; make sure that end comes.
          void this.terminateUnreachable(error instanceof Error ? error.message : String(error));
        },
      );
    });
  }

  /** Kills the process unless it ends by itself soon: a connection usually fails because the process died. */
  private async terminateUnreachable(reason: string): Promise<void> {
    if (this.unreachableReason) return;
    if (await this.exitsWithin(this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS)) return;
    this.unreachableReason = `killed by the controller after the connection failed (${reason})`;
    this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    if (process.platform === 'win32' || this.child.pid === undefined) {
      this.child.kill(signal);
      return;
    }
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is gone already: the process ended by itself.
    }
  }

  private async onClose(exit: WorkerExit): Promise<WorkerExit> {
    this.receiveStderr(this.stderrDecoder.end());
    if (this.partialStderrLine !== '') this.addStderrLine(this.partialStderrLine);
    // vscode-jsonrpc dispatches queued messages one per tick, in order: let it dispatch everything read before
    // the end, so a reply that arrived is never reported as lost and a last 'log' still reaches its callback.
    for (let stalledTicks = 0; this.handledMessages < this.reader.delivered && stalledTicks < MAX_STALLED_TICKS; ) {
      const handledBefore = this.handledMessages;
      await new Promise((resolveTick) => setImmediate(resolveTick));
      stalledTicks = this.handledMessages === handledBefore ? stalledTicks + 1 : 0;
    }
    this.failure = this.spawnError ? this.spawnFailure(this.spawnError) : this.exitFailure(exit);
    for (const entry of [...this.pending]) entry.fail(this.failureFor(entry.method, this.failure));
    this.connection.dispose();
    return exit;
  }

  private spawnFailure(error: Error): WorkerError {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? `cannot start the training worker: Python interpreter '${this.python}' not found (spawn ENOENT). ` +
          'Pass the path of a Python 3 with PyTorch as the python option (tests and CI use /usr/bin/python3).'
        : `cannot start the training worker with '${this.python}': ${error.message}`;
    return new WorkerError('spawn', message);
  }

  private exitFailure(exit: WorkerExit): WorkerError {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const parts = [`the training worker (${this.python} -m serl_worker, pid ${this.pid}) ${how}`];
    if (this.stopReason) parts[0] += `: ${this.stopReason}`;
    else if (exit.signal === 'SIGKILL' && this.unreachableReason) parts[0] += `: ${this.unreachableReason}`;
    else if (exit.signal === 'SIGKILL') parts[0] += ' (if nobody killed it, the system may have run out of memory)';
    const hint = missingModuleHint(this.stderrTail, this.python, this.trainerDir);
    if (hint) parts.push(hint);
    if (this.stderrTail.length > 0) {
      parts.push(`last stderr lines:\n${this.stderrTail.map((line) => `  ${line}`).join('\n')}`);
    }
    return new WorkerError('exited', parts.join('\n'), { exit });
  }

  private failureFor(method: string, failure: WorkerError): WorkerError {
    return new WorkerError(failure.kind, `'${method}' failed: ${failure.message}`, { ...failure.details, method });
  }

  private receiveStderr(text: string): void {
    const lines = (this.partialStderrLine + text).split('\n');
    this.partialStderrLine = lines.pop()!;
    for (const line of lines) this.addStderrLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  private addStderrLine(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.options.onStderr?.(line);
  }

  private report(level: LogParams['level'], message: string): void {
    this.options.onLog?.({ level, message });
  }
}

/** spawn() itself throws for some errors (e.g. E2BIG: an environment too large); they get the same kind of error. */
function spawnOrExplain(python: string, args: string[], options: SpawnOptionsWithStdioTuple<'pipe', 'pipe', 'pipe'>) {
  try {
    return spawn(python, args, options);
  } catch (error) {
    throw new WorkerError('spawn', `cannot start the training worker with '${python}': ${(error as Error).message}`);
  }
}

/** The `trainer/` folder of the repository (or installed extension) that contains `start`. */
export function findTrainerDir(start: string): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, 'trainer');
    if (existsSync(join(candidate, 'serl_worker'))) return candidate;
    if (dirname(dir) === dir) {
      throw new WorkerError('spawn', `cannot find the trainer folder (trainer/serl_worker) above ${start}; pass trainerDir`);
    }
  }
}

/** A fix for the commonest start-up failure: a Python module that is not installed. */
function missingModuleHint(stderr: readonly string[], python: string, trainerDir: string): string | undefined {
  const missing = stderr
    .map((line) => /No module named '([\w.]+)'/.exec(line)?.[1])
    .filter((name) => name !== undefined)
    .pop();
  if (missing === undefined) return undefined;
  const root = missing.split('.')[0];
  if (root === 'torch') {
    return (
      `PyTorch is not installed for ${python}: install it (Debian/Ubuntu: sudo apt install python3-torch; ` +
      `otherwise: ${python} -m pip install torch) or pass a Python that has it as the python option.`
    );
  }
  if (root === 'serl_worker') return `Python cannot import serl_worker from ${trainerDir}: pass the right trainerDir.`;
  return `Python module '${missing}' is not installed for ${python}: install the package that provides it.`;
}

function rpcError(method: string, error: ResponseError<unknown>): WorkerError {
  const name = workerErrorCodeName(error.code);
  const code = name ? `${error.code} ${name}` : `${error.code}`;
  return new WorkerError('rpc', `'${method}' failed: ${error.message} (worker error ${code})`, {
    method,
    code: error.code,
    data: error.data,
  });
}

function invalidResult(method: string, problems: string[]): WorkerError {
  return new WorkerError('invalid-result', `'${method}' returned an invalid result: ${problems.join('; ')}`, { method });
}

/** Codes vscode-jsonrpc itself uses when a request cannot be delivered or the connection goes away. */
function isConnectionErrorCode(code: number): boolean {
  return (
    code === ErrorCodes.MessageWriteError ||
    code === ErrorCodes.PendingResponseRejected ||
    code === ErrorCodes.ConnectionInactive
  );
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** Whether any process of group `pgid` is alive (not a zombie); false where /proc cannot tell and kill says none. */
function groupHasLiveMembers(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  return entries.some((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      return false;
    }
    // Fields after the command name: state, ppid, pgrp.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(pgrp) === pgid && state !== 'Z';
  });
}
