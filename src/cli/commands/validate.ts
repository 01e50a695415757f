// `serl validate [--format text|json] [--threshold T] FILE...`: diagnostics for seed files.
// Exit 0 when no error was found (warnings, information and hints do not fail), 1 when any error was
// found, 2 on a usage error or when a file could not be read (the readable files are still reported).
import { z } from 'zod';
import type { ParsedSeedFile, Severity } from '../../core/seeds';
import { DEFAULT_NEAR_DUPLICATE_THRESHOLD, validateSeeds, type Diagnostic } from '../../core/validate';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, parseArgsOrUsage, thresholdOption, type Command, type CommandIO } from '../io';
import { describeIoError, readSeedFile } from '../seedFiles';

const HELP = `usage: serl validate [--format text|json] [--threshold T] FILE...

Validates seed files: .json files hold an array of items, any other file is JSONL (one item per line).
Checks JSON syntax, the item schema, missing answers where the file declares them, answers against
solutions, SeRL's rule filters, and exact and near duplicates (ROUGE-L > T) within and across the files.

  --format text|json  text (default): "file:line:column: severity code: message" lines and a summary;
                      json: an array of {file, line, column, endLine, endColumn, severity, code, message}
                      with 1-based lines and columns (UTF-16 code units); endColumn is exclusive.
  --threshold T       near-duplicate ROUGE-L F1 threshold in [0, 1] (default ${DEFAULT_NEAR_DUPLICATE_THRESHOLD})

Exit status: 0 no errors (warnings and hints allowed), 1 errors found, 2 usage error or unreadable file.
`;

const optionsSchema = z.object({
  format: z.enum(['text', 'json'], { error: (issue) => `--format must be text or json, got '${String(issue.input)}'` }).default('text'),
  threshold: thresholdOption(DEFAULT_NEAR_DUPLICATE_THRESHOLD),
});

/** One diagnostic as `--format json` writes it: 1-based lines and columns, end column exclusive. */
export interface JsonDiagnostic {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  code: string;
  message: string;
}

function parseCommandLine(args: string[]): { help: boolean; format: 'text' | 'json'; threshold: number; files: string[] } {
  const parsed = parseArgsOrUsage(
    {
      args,
      allowPositionals: true,
      options: { format: { type: 'string' }, threshold: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    },
    HELP,
  );
  const options = optionsSchema.safeParse(parsed.values);
  if (!options.success) throw new UsageError(options.error.issues.map((issue) => issue.message).join('; '));
  const help = parsed.values.help === true;
  if (!help && parsed.positionals.length === 0) throw new UsageError(`no files given\n\n${HELP}`);
  return { help, ...options.data, files: parsed.positionals };
}

function toJson(file: string, diagnostic: Diagnostic): JsonDiagnostic {
  const { start, end } = diagnostic.range;
  return {
    file,
    line: start.line + 1,
    column: start.character + 1,
    endLine: end.line + 1,
    endColumn: end.character + 1,
    severity: diagnostic.severity,
    code: diagnostic.code,
    message: diagnostic.message,
  };
}

function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

function summary(counts: Record<Severity, number>, files: number): string {
  return (
    `${plural(files, 'file')} checked: ${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ` +
    `${counts.information} information, ${plural(counts.hint, 'hint')}`
  );
}

async function write(io: CommandIO, text: string): Promise<void> {
  if (!io.stdout.write(text)) await new Promise((resolve) => io.stdout.once('drain', resolve));
}

export const validateCommand: Command = async (args, io) => {
  const { help, format, threshold, files } = parseCommandLine(args);
  if (help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }

  const inputs: { file: string; parsed: ParsedSeedFile }[] = [];
  let unreadable = 0;
  for (const file of files) {
    try {
      inputs.push({ file, parsed: await readSeedFile(file) });
    } catch (error) {
      unreadable++;
      io.stderr.write(`serl validate: cannot read '${file}': ${describeIoError(error)}\n`);
    }
  }
  const results = validateSeeds(
    inputs.map(({ file, parsed }) => ({ file, ...parsed })),
    { nearDuplicateThreshold: threshold },
  );

  const counts: Record<Severity, number> = { error: 0, warning: 0, information: 0, hint: 0 };
  const lines: string[] = [];
  results.forEach((diagnostics, index) => {
    const { file } = inputs[index]!;
    for (const diagnostic of diagnostics) {
      counts[diagnostic.severity]++;
      if (format === 'json') {
        lines.push(JSON.stringify(toJson(file, diagnostic)));
      } else {
        const { line, character } = diagnostic.range.start;
        lines.push(`${file}:${line + 1}:${character + 1}: ${diagnostic.severity} ${diagnostic.code}: ${diagnostic.message}`);
      }
    }
  });
  // One diagnostic per line inside the JSON array keeps the output greppable.
  const output = format === 'json' ? (lines.length === 0 ? '[]\n' : `[\n${lines.join(',\n')}\n]\n`) : lines.map((line) => line + '\n').join('') + summary(counts, inputs.length) + '\n';
  await write(io, output);

  if (unreadable > 0) return EXIT_USAGE;
  return counts.error > 0 ? EXIT_FINDINGS : EXIT_OK;
};
