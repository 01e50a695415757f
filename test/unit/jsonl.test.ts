import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  JSONL_START,
  JsonlAppender,
  JsonlFollower,
  readJsonl,
  readJsonlRecordAt,
  readLastJsonlRecord,
  type JsonlBatch,
  type LineParser,
} from '../../src/engine/jsonl';

interface Counter {
  n: number;
  note?: string;
}

const parseCounter: LineParser<Counter> = (value) =>
  typeof value === 'object' && value !== null && typeof (value as Counter).n === 'number'
    ? { ok: true, value: value as Counter }
    : { ok: false, error: 'n: expected a number' };

const root = mkdtempSync(join(tmpdir(), 'serl-jsonl-'));
after(() => rmSync(root, { recursive: true, force: true }));
let fileCount = 0;
function freshFile(content?: string): string {
  const file = join(root, `log-${fileCount++}.jsonl`);
  if (content !== undefined) writeFileSync(file, content);
  return file;
}

function values<T>(batch: JsonlBatch<T>): T[] {
  return batch.records.map((record) => record.value);
}

describe('JsonlAppender and readJsonl', () => {
  it('round-trips records, with their line numbers and byte locations', async () => {
    const file = freshFile();
    const log = JsonlAppender.open(file, parseCounter);
    const first = log.append({ n: 1 });
    const second = log.append({ n: 2, note: 'héllo' });
    log.sync();
    log.close();
    assert.equal(readFileSync(file, 'utf8'), '{"n":1}\n{"n":2,"note":"héllo"}\n');
    assert.deepEqual(first, { file, line: 1, offset: 0, length: 7 });
    assert.deepEqual(second, { file, line: 2, offset: 8, length: Buffer.byteLength('{"n":2,"note":"héllo"}') });

    const batch = await readJsonl(file, parseCounter);
    assert.deepEqual(values(batch), [{ n: 1 }, { n: 2, note: 'héllo' }]);
    assert.deepEqual(batch.records.map((record) => record.location), [first, second]);
    assert.deepEqual([batch.problems, batch.pendingBytes, batch.atEnd, batch.reset], [[], 0, true, null]);
    assert.deepEqual(await readJsonlRecordAt(second, parseCounter), { n: 2, note: 'héllo' });
  });

  it('continues numbering lines after reopening', () => {
    const file = freshFile('{"n":1}\n{"n":2}\n');
    const log = JsonlAppender.open(file, parseCounter);
    assert.equal(log.repair, null);
    assert.deepEqual(log.append({ n: 3 }), { file, line: 3, offset: 16, length: 7 });
    log.close();
  });

  it('refuses to write a record its readers would reject, and writes nothing', () => {
    const file = freshFile();
    const log = JsonlAppender.open(file, parseCounter);
    assert.throws(() => log.append({ n: Number.NaN }), /refusing to write an invalid record to .*: n: expected a number/);
    log.append({ n: 1 });
    log.close();
    assert.equal(readFileSync(file, 'utf8'), '{"n":1}\n');
    assert.throws(() => log.append({ n: 2 }), /is closed for appending/);
  });

  it('tolerates a torn last line on read and cuts it off before the next append', async () => {
    const file = freshFile('{"n":1}\n{"n":2}\n{"n":3,"no');
    const batch = await readJsonl(file, parseCounter);
    assert.deepEqual(values(batch), [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(batch.problems, []);
    assert.equal(batch.pendingBytes, 10);

    const log = JsonlAppender.open(file, parseCounter);
    assert.deepEqual(log.repair, { file, line: 3, droppedBytes: 10 });
    log.append({ n: 4 });
    log.close();
    assert.equal(readFileSync(file, 'utf8'), '{"n":1}\n{"n":2}\n{"n":4}\n');
  });

  it('cuts off a file that is one torn line', () => {
    const file = freshFile('{"n":');
    const log = JsonlAppender.open(file, parseCounter);
    assert.deepEqual(log.repair, { file, line: 1, droppedBytes: 5 });
    log.append({ n: 1 });
    log.close();
    assert.equal(readFileSync(file, 'utf8'), '{"n":1}\n');
  });

  it('names bad lines by file:line, skips them and keeps every other line', async () => {
    const file = freshFile('{"n":1}\nnot json\n\n{"m":2}\r\n{"n":3}\r\n');
    const batch = await readJsonl(file, parseCounter);
    assert.deepEqual(values(batch), [{ n: 1 }, { n: 3 }]);
    assert.deepEqual(
      batch.problems.map((problem) => problem.message),
      [`${file}:2: invalid JSON: ${jsonError('not json')}`, `${file}:4: n: expected a number`],
    );
    assert.deepEqual(batch.records.map((record) => record.location.line), [1, 5]);
    assert.deepEqual(batch.cursor.line, 5);
  });

  it('reads a missing file as empty', async () => {
    const batch = await readJsonl(join(root, 'absent.jsonl'), parseCounter);
    assert.deepEqual([batch.records, batch.problems, batch.atEnd, batch.reset], [[], [], true, null]);
  });

  it('reads in batches of about maxBytes, never splitting a line', async () => {
    const file = freshFile();
    const log = JsonlAppender.open(file, parseCounter);
    for (let n = 0; n < 50; n++) log.append({ n, note: 'x'.repeat(100) });
    log.close();
    let cursor = JSONL_START;
    const seen: number[] = [];
    let batches = 0;
    for (;;) {
      const batch = await readJsonl(file, parseCounter, cursor, { maxBytes: 1000 });
      batches += 1;
      seen.push(...values(batch).map((value) => value.n));
      cursor = batch.cursor;
      if (batch.atEnd) break;
    }
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, n) => n));
    // 50 lines of 119 bytes, 9 lines (1071 bytes) per batch.
    assert.equal(batches, 6);
  });

  it('reads lines longer than a read chunk', async () => {
    const file = freshFile();
    const note = 'y'.repeat(3 << 20);
    const log = JsonlAppender.open(file, parseCounter);
    log.append({ n: 1, note });
    log.append({ n: 2 });
    log.close();
    const batch = await readJsonl(file, parseCounter);
    assert.deepEqual(values(batch), [{ n: 1, note }, { n: 2 }]);
    assert.deepEqual((await readLastJsonlRecord(freshFile(`{"n":0}\n${JSON.stringify({ n: 9, note })}\n`), parseCounter)).value, { n: 9, note });
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('valid JSON');
}

describe('readJsonl from a cursor', () => {
  it('returns only lines appended since, and leaves a partial line for later', async () => {
    const file = freshFile('{"n":1}\n');
    const first = await readJsonl(file, parseCounter);
    appendFileSync(file, '{"n":2}\n{"n":');
    const second = await readJsonl(file, parseCounter, first.cursor);
    assert.deepEqual(values(second), [{ n: 2 }]);
    assert.equal(second.pendingBytes, 5);
    assert.deepEqual(second.records[0]!.location, { file, line: 2, offset: 8, length: 7 });

    const unchanged = await readJsonl(file, parseCounter, second.cursor);
    assert.deepEqual(values(unchanged), []);
    appendFileSync(file, '3}\n');
    const third = await readJsonl(file, parseCounter, unchanged.cursor);
    assert.deepEqual(values(third), [{ n: 3 }]);
    assert.equal(third.records[0]!.location.line, 3);
    assert.equal(third.pendingBytes, 0);
  });

  it('reports a truncated file and starts over', async () => {
    const file = freshFile('{"n":1}\n{"n":2}\n');
    const first = await readJsonl(file, parseCounter);
    truncateSync(file, 8);
    const reset = await readJsonl(file, parseCounter, first.cursor);
    assert.equal(reset.reset, 'truncated');
    assert.deepEqual([reset.records, reset.cursor.offset, reset.cursor.line], [[], 0, 0]);
    assert.deepEqual(values(await readJsonl(file, parseCounter, reset.cursor)), [{ n: 1 }]);
  });

  it('reports a replaced or deleted file', async () => {
    const file = freshFile('{"n":1}\n');
    const first = await readJsonl(file, parseCounter);
    const replacement = freshFile('{"n":7}\n{"n":8}\n');
    renameSync(replacement, file);
    const replaced = await readJsonl(file, parseCounter, first.cursor);
    assert.equal(replaced.reset, 'replaced');
    assert.deepEqual(values(await readJsonl(file, parseCounter, replaced.cursor)), [{ n: 7 }, { n: 8 }]);
    rmSync(file);
    assert.equal((await readJsonl(file, parseCounter, replaced.cursor)).reset, 'deleted');
  });
});

describe('readLastJsonlRecord', () => {
  it('finds the last valid complete line, skipping a torn tail and reporting bad lines', async () => {
    const file = freshFile('{"n":1}\n{"n":2}\nbroken\n\n{"n":3');
    const last = await readLastJsonlRecord(file, parseCounter);
    assert.deepEqual(last.value, { n: 2 });
    assert.equal(last.problems.length, 1);
    assert.match(last.problems[0]!, new RegExp(`^${file}: line at byte 16: invalid JSON`));
  });

  it('reads a first line without a line before it, and nothing from an empty or missing file', async () => {
    assert.deepEqual((await readLastJsonlRecord(freshFile('{"n":5}\n'), parseCounter)).value, { n: 5 });
    assert.deepEqual((await readLastJsonlRecord(freshFile(''), parseCounter)).value, null);
    assert.deepEqual((await readLastJsonlRecord(freshFile('{"n":5'), parseCounter)).value, null);
    assert.deepEqual((await readLastJsonlRecord(join(root, 'absent.jsonl'), parseCounter)).value, null);
  });
});

describe('readJsonlRecordAt', () => {
  it('says so when the line is no longer where it was', async () => {
    const file = freshFile('{"n":1}\n');
    await assert.rejects(readJsonlRecordAt({ file, line: 1, offset: 0, length: 5 }, parseCounter), new RegExp(`^Error: ${file}:1: no complete line at byte 0`));
  });
});

describe('JsonlFollower', () => {
  it('hands over each new line once, in order, as it is completed', async () => {
    const file = freshFile();
    const follower = new JsonlFollower(file, parseCounter);
    const seen: number[] = [];
    let notify: () => void = () => undefined;
    follower.start(
      (batch) => {
        seen.push(...values(batch).map((value) => value.n));
        notify();
      },
      { intervalMs: 5 },
    );
    const until = (count: number) =>
      new Promise<void>((resolve) => {
        notify = () => seen.length >= count && resolve();
        notify();
      });
    try {
      appendFileSync(file, '{"n":1}\n{"n":');
      await until(1);
      appendFileSync(file, '2}\n{"n":3}\n');
      await until(3);
      assert.deepEqual(seen, [1, 2, 3]);
      assert.equal(follower.cursor.line, 3);
    } finally {
      await follower.stop();
    }
  });

  it('does not overlap polls', async () => {
    const file = freshFile('{"n":1}\n{"n":2}\n');
    const follower = new JsonlFollower(file, parseCounter);
    const [a, b] = await Promise.all([follower.poll(), follower.poll()]);
    assert.deepEqual([values(a), values(b)], [[{ n: 1 }, { n: 2 }], []]);
  });
});
