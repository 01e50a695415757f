// `serl export`: a run's curated instructions with their answers (src/engine/exportItems.ts defines the
// selection and the formats), as JSONL to a file or stdout.
import { writeFile } from 'node:fs/promises';
import { curatedItems, EXPORT_FORMATS, formatCuratedItem, type ExportFormat } from '../../engine/exportItems';
import { openRun, readRunConfig, replayRun, type RunPaths } from '../../engine/runStore';
import { EXIT_OK, UsageError, parseArgsOrUsage, type Command } from '../io';

const HELP = `usage: serl export --run RUN --format jsonl|openrlhf|trl [--out FILE] [--workspace DIR]

Writes RUN's curated instructions: items that passed the difficulty band (or trained), not vetoed;
in review mode only accepted ones. The answer is the latest relabel, else the majority answer.
  jsonl     {item_id, instruction, answer, answer_source, agreement, step, origin}
  openrlhf  {problem, answer}: OpenRLHF/SeRL prompt data (--input_key problem --label_key answer)
  trl       {prompt: [{role: "user", content}], answer}: TRL's conversational prompt-only format
Without --out the lines go to stdout. Runs live in DIR/.serl/runs (DIR: the current directory).
`;

/** The run named on the command line; a missing run is a usage error (exit 2) naming it. */
export async function openRunOrUsage(workspace: string | undefined, runId: string): Promise<RunPaths> {
  try {
    return await openRun(workspace ?? process.cwd(), runId);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export const exportCommand: Command = async (args, io) => {
  const { values } = parseArgsOrUsage(
    {
      args,
      options: {
        run: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        workspace: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    HELP,
  );
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (values.run === undefined) throw new UsageError(`--run RUN is required\n\n${HELP}`);
  const format = values.format;
  if (!EXPORT_FORMATS.includes(format as ExportFormat)) {
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}${format === undefined ? '' : `, not '${format}'`}`);
  }
  const paths = await openRunOrUsage(values.workspace, values.run);
  const config = await readRunConfig(paths);
  const replay = await replayRun(paths);
  for (const problem of replay.problems) io.stderr.write(`warning: ${problem}\n`);
  const selection = curatedItems(replay.pool, config.curation.mode);
  const text = selection.items.map((item) => `${formatCuratedItem(item, format as ExportFormat)}\n`).join('');
  if (values.out === undefined) io.stdout.write(text);
  else await writeFile(values.out, text);
  const skipped = selection.withoutAnswer.length;
  const note = skipped > 0 ? ` (${skipped} curated items without an answer left out)` : '';
  io.stderr.write(`exported ${selection.items.length} items of run ${values.run} as ${format}${values.out ? ` to ${values.out}` : ''}${note}\n`);
  return EXIT_OK;
};
