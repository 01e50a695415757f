// Append-only JSON Lines logs: one writer per file, any number of incremental readers.
//
// Writer (JsonlAppender). Each record is one `write` of a complete line ending in '\n', so a reader sees
// a line either whole or not at all (a line is complete once its '\n' is there), and a crash can only
// leave an incomplete *last* line. Opening a file for appending repairs such a torn tail by truncating it
// (the write it came from never returned, so no caller was told it was saved), which keeps every line
// but the last one whole forever. A failed write is cut back the same way at once.
//
// Durability: once `append` returns, the line is in the operating system's page cache and survives the
// writing process being killed (kill -9, a crash), but not an OS crash or power loss; once `sync`
// returns, every line appended before it survives those too. Writers call `sync` at step and
// checkpoint boundaries, and after every human decision.
//
// Reader (readJsonl, JsonlFollower). Reads whole lines from a byte offset, never re-reading what it has
// consumed; an incomplete last line is left for the next read. Every line is validated; a bad one is
// reported as "file:line: what is wrong" and skipped, and the lines around it are still returned.
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatLogLocation, type LogLocation, type LogRecord } from '../protocol/events';

const NEWLINE = 0x0a;
const CHUNK_BYTES = 1 << 20;

export interface JsonlProblem {
  location: LogLocation;
  /** "file:line: what is wrong". */
  message: string;
}

/** Validates one parsed JSON value (e.g. parseRunEvent); the error names what is wrong, not where. */
export type LineParser<T> = (value: unknown) => { ok: true; value: T } | { ok: false; error: string };

// ---------------------------------------------------------------------------------------------------------
// Writing

/** A torn last line found when opening a file for appending, and cut off. */
export interface TailRepair {
  file: string;
  /** Line number the torn line had. */
  line: number;
  droppedBytes: number;
}

export class JsonlAppender<T> {
  /** What opening had to cut off; null when the file ended cleanly. */
  readonly repair: TailRepair | null;
  private fd: number | null;
  private size: number;
  private lines: number;
  /** A file this appender created is durable only once its directory entry is synced too. */
  private directoryUnsynced: boolean;

  private constructor(
    readonly file: string,
    private readonly parse: LineParser<T>,
    opened: { fd: number; size: number; lines: number; repair: TailRepair | null; created: boolean },
  ) {
    this.fd = opened.fd;
    this.size = opened.size;
    this.lines = opened.lines;
    this.repair = opened.repair;
    this.directoryUnsynced = opened.created;
  }

  /**
   * Opens (creating it if needed) `file` for appending, after cutting off a torn last line. `parse` is the
   * readers' validator: every record is checked with it, as readers will see it, before it is written.
   */
  static open<T>(file: string, parse: LineParser<T>): JsonlAppender<T> {
    let created = false;
    let fd: number;
    try {
      fd = openSync(file, 'ax+');
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      fd = openSync(file, 'a+');
    }
    try {
      const { size, lines, lastLineEnd } = scanLines(fd);
      let repair: TailRepair | null = null;
      if (lastLineEnd < size) {
        ftruncateSync(fd, lastLineEnd);
        repair = { file, line: lines + 1, droppedBytes: size - lastLineEnd };
      }
      return new JsonlAppender(file, parse, { fd, size: lastLineEnd, lines, repair, created });
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** Validates `record` and appends it as one line; returns where it was written. */
  append(record: T): LogLocation {
    const fd = this.openFd();
    const text = JSON.stringify(record);
    const checked = this.parse(JSON.parse(text));
    if (!checked.ok) throw new Error(`refusing to write an invalid record to ${this.file}: ${checked.error}`);
    const bytes = Buffer.from(`${text}\n`, 'utf8');
    let written = 0;
    try {
      written = writeSync(fd, bytes);
    } finally {
      // A short or failed write leaves part of a line: cut it off so the next line starts cleanly.
      if (written !== bytes.length) ftruncateSync(fd, this.size);
    }
    if (written !== bytes.length) throw new Error(`${this.file}: short write (${written} of ${bytes.length} bytes), undone`);
    const location = { file: this.file, line: this.lines + 1, offset: this.size, length: bytes.length - 1 };
    this.size += bytes.length;
    this.lines += 1;
    return location;
  }

  /** Makes every line appended so far survive an OS crash or power loss (fsync). */
  sync(): void {
    fsyncSync(this.openFd());
    if (this.directoryUnsynced) {
      const directory = openSync(dirname(this.file), 'r');
      try {
        fsyncSync(directory);
      } finally {
        closeSync(directory);
      }
      this.directoryUnsynced = false;
    }
  }

  get lineCount(): number {
    return this.lines;
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }

  private openFd(): number {
    if (this.fd === null) throw new Error(`${this.file} is closed for appending`);
    return this.fd;
  }
}

/** Size, number of complete lines, and the end of the last complete line (just past its '\n'). */
function scanLines(fd: number): { size: number; lines: number; lastLineEnd: number } {
  const size = fstatSync(fd).size;
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let lines = 0;
  let lastLineEnd = 0;
  for (let position = 0; position < size; ) {
    const read = readSync(fd, buffer, 0, Math.min(CHUNK_BYTES, size - position), position);
    if (read === 0) break;
    for (let at = buffer.indexOf(NEWLINE); at !== -1 && at < read; at = buffer.indexOf(NEWLINE, at + 1)) {
      lines += 1;
      lastLineEnd = position + at + 1;
    }
    position += read;
  }
  return { size, lines, lastLineEnd };
}

// ---------------------------------------------------------------------------------------------------------
// Reading

/** How far a reader has got: the next byte to read, complete lines before it, and the file's identity. */
export interface JsonlCursor {
  offset: number;
  line: number;
  /** Inode of the file read so far (null before the first read), to notice a replaced file. */
  inode: number | null;
}

export const JSONL_START: JsonlCursor = Object.freeze({ offset: 0, line: 0, inode: null });

/**
 * Why a reader must start over: the file is now shorter than what was read ('truncated'), is another
 * file under the same name ('replaced'), or is gone ('deleted'). Appending never causes any of these.
 */
export type JsonlReset = 'truncated' | 'replaced' | 'deleted';

export interface JsonlBatch<T> {
  records: LogRecord<T>[];
  problems: JsonlProblem[];
  /** Where the next read starts. */
  cursor: JsonlCursor;
  /** Bytes after the last complete line: a line being written, or torn by a crash. Not consumed. */
  pendingBytes: number;
  /** True when the read reached the end of the file (else call again: the byte budget ran out). */
  atEnd: boolean;
  /** Non-null: what was read before is stale; `records` is empty and `cursor` is the start. */
  reset: JsonlReset | null;
}

export interface ReadOptions {
  /** Stop after the line that reaches this many bytes (a longer single line is still read whole). */
  maxBytes?: number;
}

/** Reads the complete lines of `file` after `cursor`. A missing file reads as empty. */
export async function readJsonl<T>(
  file: string,
  parse: LineParser<T>,
  cursor: JsonlCursor = JSONL_START,
  options: ReadOptions = {},
): Promise<JsonlBatch<T>> {
  const maxBytes = options.maxBytes ?? 16 * CHUNK_BYTES;
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const reset = cursor.inode === null ? null : 'deleted';
    return { records: [], problems: [], cursor: reset ? JSONL_START : cursor, pendingBytes: 0, atEnd: true, reset };
  }
  try {
    const stat = await handle.stat();
    const reset: JsonlReset | null =
      cursor.inode !== null && cursor.inode !== stat.ino ? 'replaced' : stat.size < cursor.offset ? 'truncated' : null;
    if (reset) {
      return { records: [], problems: [], cursor: { ...JSONL_START, inode: stat.ino }, pendingBytes: 0, atEnd: false, reset };
    }
    const batch: JsonlBatch<T> = {
      records: [],
      problems: [],
      cursor: { ...cursor, inode: stat.ino },
      pendingBytes: 0,
      atEnd: true,
      reset: null,
    };
    let pending: Buffer = Buffer.alloc(0);
    let position = cursor.offset;
    reading: while (position < stat.size) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, stat.size - position));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data = pending.length ? Buffer.concat([pending, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let lineStart = 0;
      for (let at = data.indexOf(NEWLINE); at !== -1; at = data.indexOf(NEWLINE, lineStart)) {
        const location = { file, line: batch.cursor.line + 1, offset: batch.cursor.offset, length: at - lineStart };
        readLine(data.subarray(lineStart, at), location, parse, batch);
        batch.cursor = { ...batch.cursor, offset: batch.cursor.offset + at - lineStart + 1, line: location.line };
        lineStart = at + 1;
        if (batch.cursor.offset - cursor.offset >= maxBytes && batch.cursor.offset < stat.size) {
          batch.atEnd = false;
          break reading;
        }
      }
      pending = data.subarray(lineStart);
    }
    batch.pendingBytes = batch.atEnd ? stat.size - batch.cursor.offset : 0;
    return batch;
  } finally {
    await handle.close();
  }
}

function readLine<T>(bytes: Buffer, location: LogLocation, parse: LineParser<T>, batch: JsonlBatch<T>): void {
  const text = bytes.toString('utf8').replace(/\r$/, '');
  if (text.trim() === '') return;
  const result = parseLine(text, parse);
  if (result.ok) batch.records.push({ value: result.value, location });
  else batch.problems.push({ location, message: `${formatLogLocation(location)}: ${result.error}` });
}

function parseLine<T>(text: string, parse: LineParser<T>): ReturnType<LineParser<T>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `invalid JSON: ${(error as Error).message}` };
  }
  return parse(value);
}

/** Reads every complete line of `file` (in batches, so memory holds one batch of raw text at a time). */
export async function readAllJsonl<T>(
  file: string,
  parse: LineParser<T>,
  onBatch: (batch: JsonlBatch<T>) => void,
): Promise<JsonlCursor> {
  let cursor = JSONL_START;
  for (;;) {
    const batch = await readJsonl(file, parse, cursor);
    onBatch(batch);
    cursor = batch.cursor;
    if (batch.atEnd) return cursor;
  }
}

/** Re-reads the one line at `location` (e.g. an item's responses, which pool views do not keep). */
export async function readJsonlRecordAt<T>(location: LogLocation, parse: LineParser<T>): Promise<T> {
  const handle = await open(location.file, 'r');
  try {
    const bytes = Buffer.alloc(location.length + 1);
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, location.offset);
    if (bytesRead !== bytes.length || bytes[location.length] !== NEWLINE) {
      throw new Error(`${formatLogLocation(location)}: no complete line at byte ${location.offset} (was the file rewritten?)`);
    }
    const result = parseLine(bytes.subarray(0, location.length).toString('utf8'), parse);
    if (!result.ok) throw new Error(`${formatLogLocation(location)}: ${result.error}`);
    return result.value;
  } finally {
    await handle.close();
  }
}

/**
 * The last valid record of `file`, read from the end without reading the rest (a run's status comes from
 * its last event). Invalid lines on the way are reported; their line numbers are unknown from the end,
 * so problems name the byte offset.
 */
export async function readLastJsonlRecord<T>(
  file: string,
  parse: LineParser<T>,
): Promise<{ value: T | null; problems: string[] }> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { value: null, problems: [] };
    throw error;
  }
  const problems: string[] = [];
  try {
    let position = (await handle.stat()).size;
    let tail: Buffer = Buffer.alloc(0); // the file's bytes from `position` on
    let end: number | null = null; // end in `tail` of the lines not yet tried; null until the last '\n' is found
    for (;;) {
      for (;;) {
        const searchEnd: number = end ?? tail.length;
        const newline: number = searchEnd === 0 ? -1 : tail.lastIndexOf(NEWLINE, searchEnd - 1);
        if (end === null) {
          if (newline === -1) break; // bytes after the last '\n' are an incomplete line: skip them
          end = newline;
          continue;
        }
        if (newline === -1 && position > 0) break; // the line starts further back
        const text = tail.subarray(newline + 1, end).toString('utf8').replace(/\r$/, '');
        if (text.trim() !== '') {
          const result = parseLine(text, parse);
          if (result.ok) return { value: result.value, problems };
          problems.push(`${file}: line at byte ${position + newline + 1}: ${result.error}`);
        }
        if (newline === -1) return { value: null, problems };
        end = newline;
      }
      if (position === 0) return { value: null, problems };
      const length = Math.min(CHUNK_BYTES, position);
      position -= length;
      const chunk = Buffer.allocUnsafe(length);
      await handle.read(chunk, 0, length, position);
      tail = Buffer.concat([chunk, tail]);
      if (end !== null) end += length;
    }
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Following

/**
 * Follows a growing JSONL file by polling from its cursor: the extension's view of events.jsonl and the
 * controller's view of decisions.jsonl. Polls never overlap. After a reset the follower starts over from
 * the beginning; the batch that reports it tells the listener to drop what it built.
 */
export class JsonlFollower<T> {
  private position: JsonlCursor;
  private inFlight: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly file: string,
    private readonly parse: LineParser<T>,
    cursor: JsonlCursor = JSONL_START,
  ) {
    this.position = cursor;
  }

  get cursor(): JsonlCursor {
    return this.position;
  }

  /** Reads what was appended since the last poll (one batch; `atEnd` false means more is waiting). */
  poll(options: ReadOptions = {}): Promise<JsonlBatch<T>> {
    const next = this.inFlight
      .catch(() => undefined)
      .then(() => readJsonl(this.file, this.parse, this.position, options))
      .then((batch) => {
        this.position = batch.cursor;
        return batch;
      });
    this.inFlight = next;
    return next;
  }

  /**
   * Polls every `intervalMs` and hands each batch with news (records, problems or a reset) to `listener`,
   * draining a backlog before waiting again. A listener or read error goes to `onError` and polling goes on.
   */
  start(
    listener: (batch: JsonlBatch<T>) => void | Promise<void>,
    options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
  ): void {
    if (this.timer) throw new Error(`already following ${this.file}`);
    const intervalMs = options.intervalMs ?? 250;
    const tick = async () => {
      try {
        for (;;) {
          const batch = await this.poll();
          if (batch.records.length || batch.problems.length || batch.reset) await listener(batch);
          if (batch.atEnd || !this.timer) break;
        }
      } catch (error) {
        options.onError?.(error);
      }
      if (this.timer) this.timer = setTimeout(tick, intervalMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops polling and waits for a poll in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight.catch(() => undefined);
  }
}
