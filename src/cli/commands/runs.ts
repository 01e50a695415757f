// `serl runs`: the workspace's training runs with their status (running, completed, stopped, failed,
// interrupted, created), step and latest rewards, from each run's lock, last event and state.json.
import { listRuns, type RunSummary } from '../../engine/runStore';
import { EXIT_OK, UsageError, parseArgsOrUsage, type Command } from '../io';

const HELP = `usage: serl runs [--workspace DIR] [--format text|json]

Lists the runs in DIR/.serl/runs (DIR: the current directory by default), oldest first.
Status: running (a live controller holds it), completed, stopped, failed, interrupted (its controller
died: resume it with serl train --resume RUN), created (never started).
--format json writes one array of {run_id, status, step, last_checkpoint_step, reward_mean,
agreement_mean, items, controller, problems}.
`;

export const runsCommand: Command = async (args, io) => {
  const parsed = parseArgsOrUsage(
    { args, options: { workspace: { type: 'string' }, format: { type: 'string' }, help: { type: 'boolean', short: 'h' } } },
    HELP,
  );
  if (parsed.values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const format = parsed.values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not '${format}'`);
  const runs = await listRuns(parsed.values.workspace ?? process.cwd());
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify(runs.map(toJson), null, 2)}\n`);
    return EXIT_OK;
  }
  if (runs.length === 0) {
    io.stdout.write('no runs\n');
    return EXIT_OK;
  }
  io.stdout.write(formatRunsTable(runs));
  return EXIT_OK;
};

function toJson(run: RunSummary) {
  return {
    run_id: run.runId,
    status: run.status,
    step: run.state?.step ?? null,
    last_checkpoint_step: run.state?.last_checkpoint?.step ?? null,
    reward_mean: run.state?.reward_mean ?? null,
    agreement_mean: run.state?.agreement_mean ?? null,
    items: run.state?.items ?? null,
    controller: run.controller,
    problems: run.problems,
  };
}

/** Aligned columns: run, status, step, checkpoint, reward, agreement; then each run's problems. */
export function formatRunsTable(runs: readonly RunSummary[]): string {
  const number = (value: number | null | undefined) => (value === null || value === undefined ? '–' : value.toFixed(3));
  const rows = [
    ['RUN', 'STATUS', 'STEP', 'CHECKPOINT', 'REWARD', 'AGREEMENT'],
    ...runs.map((run) => [
      run.runId,
      run.status,
      String(run.state?.step ?? '–'),
      String(run.state?.last_checkpoint?.step ?? '–'),
      number(run.state?.reward_mean),
      number(run.state?.agreement_mean),
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
  const problems = runs.flatMap((run) => run.problems.map((problem) => `warning: ${run.runId}: ${problem}`));
  return [...lines, ...problems].join('\n') + '\n';
}
