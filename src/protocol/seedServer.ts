// The seed-file language server's own LSP messages, defined once: the settings it reads (initialization
// options and the `serl` configuration section) and the `serl/seedSummary` request the extension's views
// use. Both sides import these schemas; the server validates what it receives and the client validates
// the summary it gets back.
import { RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';
import { DIAGNOSTIC_CODES, type DiagnosticCode } from '../core/validate';

export const DEFAULT_SEED_FILE_GLOBS = ['**/*.seed.jsonl', '**/*.seed.json'];

/**
 * What the client passes as `initializationOptions` and as the `serl` configuration section. Every field
 * is optional, so older clients (which sent only nearDuplicateThreshold) keep working.
 */
export const SeedServerSettingsSchema = z.object({
  /** ROUGE-L F1 above which two instructions are near duplicates (setting serl.nearDuplicateThreshold). */
  nearDuplicateThreshold: z.number().min(0).max(1).optional(),
  /** Glob patterns of seed files, relative to each workspace folder (setting serl.seedFiles). */
  seedFiles: z.array(z.string().min(1)).optional(),
  /** Delay before diagnostics are published after an edit; computation itself is immediate. */
  publishDebounceMs: z.number().int().min(0).max(10_000).optional(),
  /** Scan the workspace folders for seed files at start (default true). */
  scanWorkspace: z.boolean().optional(),
});
export type SeedServerSettings = z.infer<typeof SeedServerSettingsSchema>;

const SEVERITIES = ['error', 'warning', 'information', 'hint'] as const;
const DIAGNOSTIC_CODE_NAMES = Object.keys(DIAGNOSTIC_CODES) as [DiagnosticCode, ...DiagnosticCode[]];
const count = () => z.int().min(0);

export const SeedSummaryParamsSchema = z.object({
  /** One file's summary; absent: every seed file the server knows (open or found in the workspace). */
  uri: z.string().optional(),
});
export type SeedSummaryParams = z.infer<typeof SeedSummaryParamsSchema>;

export const SeedFileSummarySchema = z.object({
  uri: z.string(),
  /** True when the client has the file open; false for files read from disk by the workspace scan. */
  open: z.boolean(),
  lines: count(),
  items: count(),
  /** Items with an "answer". */
  answered: count(),
  bySeverity: z.record(z.enum(SEVERITIES), count()),
  byCode: z.partialRecord(z.enum(DIAGNOSTIC_CODE_NAMES), count()),
  duplicates: count(),
  nearDuplicates: count(),
});
export type SeedFileSummary = z.infer<typeof SeedFileSummarySchema>;

export const SeedSummarySchema = z.object({
  files: z.array(SeedFileSummarySchema),
  /** The near-duplicate threshold the findings were computed with. */
  nearDuplicateThreshold: z.number(),
  /** False while the workspace scan is still reading files (the figures then cover fewer files). */
  complete: z.boolean(),
  /** True while near-duplicate findings are still being computed (the figures then lack some). */
  nearDuplicatesPending: z.boolean(),
});
export type SeedSummary = z.infer<typeof SeedSummarySchema>;

export const SeedSummaryRequest = new RequestType<SeedSummaryParams, SeedSummary, void>('serl/seedSummary');
