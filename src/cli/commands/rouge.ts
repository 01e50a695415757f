// `serl rouge`: stdin JSONL {"a","b"} → stdout JSONL {"f"}, the ROUGE-L F1 of the two texts as google-research
// rouge_score computes it (RougeScorer(['rougeL'], use_stemmer=False)).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { rougeL } from '../../core/rouge';
import { EXIT_FINDINGS, EXIT_OK, UsageError, mapJsonLines, type Command } from '../io';

const USAGE = `usage: serl rouge < pairs.jsonl

Reads JSON lines {"a": string, "b": string} and writes, per line and in order, {"f": number}: the
ROUGE-L F1 of a and b with rouge_score's semantics (lowercase; every run of characters outside [a-z0-9]
separates tokens; no stemming; F1 of the longest common subsequence's precision and recall; 0 when either
text has no tokens). The score is symmetric in a and b.
A bad input line gives {"error", "line"} and processing continues; the exit code is then 1.
`;

const pairSchema = z.object({ a: z.string(), b: z.string() });

export const rougeCommand: Command = async (args, io) => {
  let help: boolean;
  try {
    help = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } } }).values.help === true;
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (see serl rouge --help)`);
  }
  if (help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  const errors = await mapJsonLines(io, (value) => {
    const parsed = pairSchema.safeParse(value);
    if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
    return { f: rougeL(parsed.data.a, parsed.data.b) };
  });
  return errors > 0 ? EXIT_FINDINGS : EXIT_OK;
};
