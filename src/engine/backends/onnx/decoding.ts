// One decoding step's choices for one sequence, with the semantics of the worker's sampling.py (so the ONNX
// backend and the PyTorch worker answer the same request the same way): presence penalty on the raw
// logits, temperature 0 = greedy (first maximum), top-p = the smallest set of most likely tokens whose mass
// reaches top_p (the most likely always kept), stop strings cut at their earliest match.
import type { Rng } from '../../../core/random';

export interface RowSettings {
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  presencePenalty: number;
}

/**
 * The next token from one row's last-position logits. `seen` holds the tokens already in this row's
 * response (the presence penalty subtracts `presencePenalty` once from each). Greedy rows use no randomness.
 */
export function chooseToken(logits: Float32Array, settings: RowSettings, seen: ReadonlySet<number>, rng: Rng): number {
  const scores = Float64Array.from(logits);
  if (settings.presencePenalty !== 0) for (const token of seen) scores[token]! -= settings.presencePenalty;
  if (settings.temperature === 0) return argmax(scores);

  const top = argmax(scores);
  const weights = new Float64Array(scores.length);
  let total = 0;
  for (let token = 0; token < scores.length; token++) {
    total += weights[token] = Math.exp((scores[token]! - scores[top]!) / settings.temperature);
  }
  if (settings.topP < 1) {
    const order = Array.from(weights.keys()).sort((a, b) => weights[b]! - weights[a]! || a - b);
    let before = 0;
    let kept = 0;
    for (const token of order) {
      if (before / total >= settings.topP) {
        weights[token] = 0;
      } else {
        before += weights[token]!;
        kept += weights[token]!;
      }
    }
    total = kept;
  }
  let target = rng.next() * total;
  let last = top;
  for (let token = 0; token < weights.length; token++) {
    if (weights[token] === 0) continue;
    last = token;
    target -= weights[token]!;
    if (target < 0) return token;
  }
  return last; // rounding left a sliver of mass: the last token with weight takes it
}

function argmax(values: Float64Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface Finished {
  /** The response without the eos and without the stop string (and what follows it). */
  text: string;
  finishReason: FinishReason;
}

/**
 * Whether a row is done after `response` (its generated tokens, the newest last): an eos token, a stop
 * string in the decoded text, or `limit` tokens. Null while it goes on.
 */
export function finishRow(
  response: readonly number[],
  eosIds: ReadonlySet<number>,
  stop: readonly string[],
  limit: number,
  decode: (ids: readonly number[]) => string,
): Finished | null {
  if (eosIds.has(response[response.length - 1]!)) return { text: decode(response.slice(0, -1)), finishReason: 'eos' };
  if (stop.length > 0) {
    const text = decode(response);
    const cut = Math.min(...stop.map((s) => text.indexOf(s)).filter((index) => index >= 0));
    if (Number.isFinite(cut)) return { text: text.slice(0, cut), finishReason: 'stop' };
  }
  if (response.length >= limit) return { text: decode(response), finishReason: 'length' };
  return null;
}
