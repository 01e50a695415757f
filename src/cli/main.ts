// `serl`: the headless command line (SSH boxes, CI, scripts). Each command lives in commands/<name>.ts.
import { EXIT_USAGE, UsageError, type Command, type CommandIO } from './io';
import { validateCommand } from './commands/validate';
import { answersCommand } from './commands/answers';
import { voteCommand } from './commands/vote';
import { rougeCommand } from './commands/rouge';
import { dedupeCommand } from './commands/dedupe';
import { trainCommand } from './commands/train';
import { curateCommand } from './commands/curate';
import { runsCommand } from './commands/runs';
import { exportCommand } from './commands/export';
import { exportOnnxCommand } from './commands/exportOnnx';
import { demoCommand } from './commands/demo';

const commands: Record<string, { run: Command; summary: string }> = {
  validate: { run: validateCommand, summary: 'validate seed files (JSONL/JSON): syntax, schema, rule filters, duplicates' },
  answers: { run: answersCommand, summary: 'answers compare: stdin {"gold","pred"} lines → {"equal","gold","pred"}' },
  vote: { run: voteCommand, summary: 'stdin {"responses":[...]} lines → majority vote, agreement, rewards, groups' },
  rouge: { run: rougeCommand, summary: 'stdin {"a","b"} lines → {"f"}: ROUGE-L F1 (rouge_score semantics)' },
  dedupe: { run: dedupeCommand, summary: 'dedupe --against FILE: stdin seed items → {"keep","nearest"} (SeRL similarity filter)' },
  train: { run: trainCommand, summary: 'train --config FILE | --resume RUN: run SeRL training (worker in Python/PyTorch)' },
  curate: { run: curateCommand, summary: 'curate --config FILE | --resume RUN: curation only (no training) with the worker, ONNX or an OpenAI server' },
  runs: { run: runsCommand, summary: 'list the training runs of the workspace with their status' },
  demo: { run: demoCommand, summary: 'demo [--out DIR]: base → SeRL (no labels) on the arithmetic world, on CPU, with a report' },
  export: { run: exportCommand, summary: 'export --run RUN --format jsonl|openrlhf|trl: the curated instructions with answers' },
  'export-onnx': { run: exportOnnxCommand, summary: 'export-onnx --model DIR | --run RUN --out DIR: a tiny model or a run\'s checkpoint as an ONNX model folder' },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const rows = Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return ['usage: serl <command> [options]', '', 'commands:', ...rows, '', 'Run `serl <command> --help` for its options.'].join('\n');
}

export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(usage() + '\n');
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`serl: unknown command '${name}'\n\n${usage()}\n`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`serl ${name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

// Only when run as the CLI bundle, not when imported by tests.
if (require.main === module) {
  main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`serl: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_USAGE;
    },
  );
}
