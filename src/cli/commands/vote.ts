// `serl vote`: stdin JSONL {"responses": [string…]} → stdout JSONL majority vote (SeRL's self-reward).
import { z } from 'zod';
import { majorityVote } from '../../core/vote';
import { EXIT_FINDINGS, EXIT_OK, UsageError, mapJsonLines, type Command } from '../io';

const USAGE = `usage: serl vote < groups.jsonl

Reads JSON lines {"responses": [string, …]} (the n responses sampled for one instruction) and writes,
per line and in order, {"majority": string|null, "agreement": number, "rewards": [0|1, …],
"groups": [{"answer", "count", "members": [index, …]}, …]}. Answers are grouped by mathematical
equivalence; the largest group wins, ties go to the group whose first member comes first; responses
without an answer never win and get reward 0; agreement = majority size / number of responses.
A bad input line gives {"error", "line"} and processing continues; the exit code is then 1.
`;

const voteInputSchema = z.object({ responses: z.array(z.string()) });

export const voteCommand: Command = async (args, io) => {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}' (see serl vote --help)`);

  const errors = await mapJsonLines(io, (value) => {
    const parsed = voteInputSchema.safeParse(value);
    if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
    const { majority, agreement, rewards, groups } = majorityVote(parsed.data.responses);
    return { majority, agreement, rewards, groups };
  });
  return errors > 0 ? EXIT_FINDINGS : EXIT_OK;
};
