// `serl dedupe --against FILE [--threshold T]`: SeRL's similarity filter on the command line. Each seed item on
// stdin is dropped when its instruction's ROUGE-L F1 against an item of FILE, or against an item kept earlier
// on stdin, is above T; otherwise it is kept and joins the items later ones are compared with.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_ROUGE_THRESHOLD } from '../../core/filters';
import { NearDuplicateIndex } from '../../core/rouge';
import { seedInstruction, seedItemSchema, type ParsedSeedFile } from '../../core/seeds';
import { EXIT_FINDINGS, EXIT_OK, UsageError, mapJsonLines, thresholdOption, type Command, type CommandIO } from '../io';
import { describeIoError, readSeedFile } from '../seedFiles';

const USAGE = `usage: serl dedupe --against FILE [--threshold T] < items.jsonl

Reads seed items as JSON lines (instruction text in "problem", "question" or "instruction") and writes,
per line and in order, a verdict {"keep": boolean, "nearest": {"source", "line", "score"} | null}.
An item is dropped (keep false) when the ROUGE-L F1 of its instruction against an item of FILE, or
against an item kept earlier on stdin, is above T (SeRL's rule); dropped items are not compared with.

  --against FILE   seed file to compare with: .json holds an array of items, anything else is JSONL.
                   Its lines that are not valid seed items are reported on stderr and left out.
  --threshold T    ROUGE-L F1 threshold in [0, 1] (default ${DEFAULT_ROUGE_THRESHOLD})

"nearest" is the most similar item above the threshold (so null exactly when the item is kept):
"source" is "against" (then "line" is the item's 1-based line in FILE) or "stdin" (then "line" is the
earlier kept item's 1-based line on stdin, blank lines counted); "score" is its ROUGE-L F1. Ties go to
the earlier item, FILE before stdin.
A bad input line gives {"error", "line"} and processing continues; the exit code is then 1.
`;

const optionsSchema = z.object({
  against: z.string({ error: '--against FILE is required' }).min(1, { error: '--against FILE is required' }),
  threshold: thresholdOption(DEFAULT_ROUGE_THRESHOLD),
});

/** Where a compared item came from: its 1-based line in FILE or on stdin. */
interface Origin {
  source: 'against' | 'stdin';
  line: number;
}

function parseCommandLine(args: string[]): { help: true } | ({ help: false } & z.output<typeof optionsSchema>) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { against: { type: 'string' }, threshold: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (see serl dedupe --help)`);
  }
  if (values.help === true) return { help: true };
  const options = optionsSchema.safeParse(values);
  if (!options.success) throw new UsageError(`${options.error.issues.map((issue) => issue.message).join('; ')} (see serl dedupe --help)`);
  return { help: false, ...options.data };
}

/** Indexes FILE's instructions; its problems go to stderr as FILE:line:column warnings. */
async function indexAgainst(file: string, threshold: number, io: CommandIO): Promise<NearDuplicateIndex<Origin>> {
  let parsed: ParsedSeedFile;
  try {
    parsed = await readSeedFile(file);
  } catch (error) {
    throw new UsageError(`cannot read --against ${file}: ${describeIoError(error)}`);
  }
  for (const problem of parsed.problems) {
    const { line, character } = problem.range.start;
    io.stderr.write(`serl dedupe: ${file}:${line + 1}:${character + 1}: ${problem.severity}: ${problem.message}\n`);
  }
  const index = new NearDuplicateIndex<Origin>({ minThreshold: threshold });
  let used = 0;
  for (const item of parsed.items) {
    // Items the schema rejected are left out, as the same items on stdin would be.
    if (item.seed === null || item.instruction === null) continue;
    index.add(item.instruction, { source: 'against', line: item.line + 1 });
    used++;
  }
  if (parsed.problems.length > 0) {
    io.stderr.write(`serl dedupe: ${file}: ${parsed.problems.length} problems, items with errors left out; comparing with ${used} items\n`);
  }
  return index;
}

export const dedupeCommand: Command = async (args, io) => {
  const options = parseCommandLine(args);
  if (options.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  const { against, threshold } = options;
  const index = await indexAgainst(against, threshold, io);
  const errors = await mapJsonLines(io, (value, lineNumber) => {
    const parsed = seedItemSchema.safeParse(value);
    if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
    // The schema rejects items without instruction text.
    const instruction = seedInstruction(parsed.data) as string;
    const nearest = index.nearestAbove(instruction, threshold);
    if (nearest !== null) return { keep: false, nearest: { ...nearest.ref, score: nearest.score } };
    index.add(instruction, { source: 'stdin', line: lineNumber });
    return { keep: true, nearest: null };
  });
  return errors > 0 ? EXIT_FINDINGS : EXIT_OK;
};
