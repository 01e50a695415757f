// Run configs (`serl.config.json`, `*.serl.json`): strict JSON, then the core config schema, each finding
// on the exact key or value it is about.
import { findNodeAtLocation, getNodeValue, parseTree, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { parseRunConfig } from '../src/core/config';
import { JSON_PARSE_OPTIONS, jsonSyntaxProblems, MAX_JSON_DEPTH, tooDeepAt, type Range } from '../src/core/seeds';

export type RunConfigDiagnosticCode = 'json-syntax' | 'config-unknown-key' | 'config-invalid';

export interface RunConfigDiagnostic {
  range: Range;
  code: RunConfigDiagnosticCode;
  message: string;
}

export const RUN_CONFIG_CODES: Record<RunConfigDiagnosticCode, string> = {
  'json-syntax': 'The run config is not valid JSON; the range is the exact offending text.',
  'config-unknown-key': 'A key the run config schema does not know (an error: a misspelt hyper-parameter must not be ignored); the message suggests the closest known key.',
  'config-invalid': 'A value breaks the run config schema (wrong type, out of range, missing, inconsistent with another field); the message names the field path.',
};

/** Whether a file name is a run config's. */
export function isRunConfigPath(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return name === 'serl.config.json' || name.endsWith('.serl.json');
}

/** "optimizer.betas[1]" → ["optimizer", "betas", 1] (config keys are identifiers: no dots or brackets). */
function pathSegments(path: string): (string | number)[] {
  if (path === '(root)') return [];
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((match) => (match[2] !== undefined ? Number(match[2]) : match[1]!));
}

export function validateRunConfig(text: string, positionAt: (offset: number) => { line: number; character: number }): RunConfigDiagnostic[] {
  const rangeAt = (offset: number, length: number): Range => ({ start: positionAt(offset), end: positionAt(offset + length) });
  const deep = tooDeepAt(text);
  if (deep >= 0) return [{ range: rangeAt(deep, 1), code: 'json-syntax', message: `nested more than ${MAX_JSON_DEPTH} levels deep: not analysed` }];
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, JSON_PARSE_OPTIONS);
  if (errors.length > 0 || root === undefined) {
    return jsonSyntaxProblems(text, errors, rangeAt).map(({ range, message }) => ({ range, code: 'json-syntax', message }));
  }
  const result = parseRunConfig(getNodeValue(root), 'config');
  if (result.ok) return [];
  return result.errors.map(({ path, message }) => {
    const unknown = message.includes(': unknown key');
    const segments = pathSegments(path);
    return {
      range: rangeOfPath(root, segments, unknown, rangeAt),
      code: unknown ? 'config-unknown-key' : 'config-invalid',
      // parseRunConfig starts messages with the source, which the editor already shows.
      message: message.slice('config: '.length),
    };
  });
}

/** The key of the deepest existing node on `segments` (its value for a scalar that is itself at fault). */
function rangeOfPath(root: JsonNode, segments: (string | number)[], unknownKey: boolean, rangeAt: (offset: number, length: number) => Range): Range {
  for (let depth = segments.length; depth >= 0; depth--) {
    const node = findNodeAtLocation(root, segments.slice(0, depth));
    if (node === undefined) continue;
    const isTarget = depth === segments.length;
    const key = node.parent?.type === 'property' ? node.parent.children?.[0] : undefined;
    const scalar = node.type !== 'object' && node.type !== 'array';
    if (key !== undefined && (unknownKey || !isTarget || !scalar)) return rangeAt(key.offset, key.length);
    return rangeAt(node.offset, isTarget && scalar ? node.length : 1);
  }
  return rangeAt(root.offset, 1);
}
