// How zod validation problems are worded, shared so that configs, run logs, worker messages and run files
// name a bad field the same way.
import type { z } from 'zod';

/** A zod issue's field path, e.g. "results[0].samples[1].tokens"; "(root)" for the value itself. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

/** Each problem of a failed parse as "field: what is wrong". */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`);
}
