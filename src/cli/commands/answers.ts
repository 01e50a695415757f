// `serl answers compare`: stdin JSONL {"gold","pred"} → stdout JSONL {"equal","gold","pred"}, where gold
// and pred are full responses or bare answers and the output carries the answers extracted from them.
import { z } from 'zod';
import { answersEquivalent, extractAnswer } from '../../core/answers';
import { EXIT_FINDINGS, EXIT_OK, UsageError, mapJsonLines, type Command } from '../io';

const USAGE = `usage: serl answers compare < pairs.jsonl

Reads JSON lines {"gold": string, "pred": string} (full responses or bare answers) and writes, per
line and in order, {"equal": boolean, "gold": extracted|null, "pred": extracted|null}. Answers are
extracted from \\boxed{}, "the answer is …" or the last number; a short bare answer stands for itself.
"equal" is false when either side has no answer. A bad input line gives {"error", "line"} and
processing continues; the exit code is then 1.
`;

const comparisonSchema = z.object({ gold: z.string(), pred: z.string() });

export const answersCommand: Command = async (args, io) => {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  const [subcommand, ...rest] = args;
  if (subcommand !== 'compare') {
    throw new UsageError(`${subcommand === undefined ? 'missing subcommand' : `unknown subcommand '${subcommand}'`} (expected 'compare'; see serl answers --help)`);
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' (see serl answers --help)`);

  const errors = await mapJsonLines(io, (value) => {
    const parsed = comparisonSchema.safeParse(value);
    if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
    const gold = extractAnswer(parsed.data.gold);
    const pred = extractAnswer(parsed.data.pred);
    return { equal: gold !== null && pred !== null && answersEquivalent(gold, pred), gold, pred };
  });
  return errors > 0 ? EXIT_FINDINGS : EXIT_OK;
};
