// Seeded pseudo-random numbers for everything in a run that must replay identically (exemplar sampling,
// shuffles). xoshiro128** seeded through splitmix32: only 32-bit integer arithmetic (Math.imul, >>>),
// so every platform and JS engine produces the same stream for the same seed.

export interface Rng {
  /** A float in [0, 1) with 32 random bits. */
  next(): number;
  /** An integer in [0, n), without modulo bias. */
  int(n: number): number;
  /** A shuffled copy (Fisher–Yates); the input is left untouched. */
  shuffle<T>(items: readonly T[]): T[];
  /** One element chosen uniformly; throws on an empty list. */
  pick<T>(items: readonly T[]): T;
  /** `count` distinct positions' elements, without replacement, in random order. */
  sample<T>(items: readonly T[], count: number): T[];
  /** The generator's state, to checkpoint a run and resume it with `restoreRng`. */
  state(): RngState;
}

/** The four 32-bit words of xoshiro128**. */
export type RngState = [number, number, number, number];

const TWO_POW_32 = 0x1_0000_0000;

/** splitmix32 step: turns any seed (even 0 or consecutive seeds) into well-mixed state words. */
function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator for `seed`, any safe integer (negative included). Equal seeds give equal streams. */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`RNG seed must be a safe integer, got ${seed}`);
  // Both halves of a 53-bit seed feed the mixer so seeds that differ only above bit 32 still differ.
  const low = seed >>> 0;
  const high = Math.floor(seed / TWO_POW_32) >>> 0;
  const mix = splitmix32(low ^ Math.imul(high, 0x27d4eb2d));
  const words: RngState = [mix(), (mix() ^ high) >>> 0, mix(), mix()];
  return restoreRng(words);
}

/** A generator continuing exactly where the one that produced `state` stood. */
export function restoreRng(state: readonly number[]): Rng {
  if (state.length !== 4 || !state.every((word) => Number.isInteger(word) && word >= 0 && word < TWO_POW_32)) {
    throw new RangeError('RNG state must be four unsigned 32-bit integers');
  }
  if (state.every((word) => word === 0)) throw new RangeError('RNG state must not be all zeros');
  let [s0, s1, s2, s3] = state;

  function nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  }

  function int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new RangeError(`int(n) needs an integer n in [1, 2^32], got ${n}`);
    }
    // Reject the top partial block of the 2^32 range so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let value = nextUint32();
    while (value >= limit) value = nextUint32();
    return value % n;
  }

  function shuffle<T>(items: readonly T[]): T[] {
    const copy = items.slice();
    for (let i = copy.length - 1; i > 0; i--) {
      const j = int(i + 1);
      const held = copy[i];
      copy[i] = copy[j];
      copy[j] = held;
    }
    return copy;
  }

  function sample<T>(items: readonly T[], count: number): T[] {
    if (!Number.isInteger(count) || count < 0 || count > items.length) {
      throw new RangeError(`cannot sample ${count} of ${items.length} items without replacement`);
    }
    // Partial Fisher–Yates: only the first `count` slots are settled.
    const copy = items.slice();
    for (let i = 0; i < count; i++) {
      const j = i + int(copy.length - i);
      const held = copy[i];
      copy[i] = copy[j];
      copy[j] = held;
    }
    return copy.slice(0, count);
  }

  return {
    next: () => nextUint32() / TWO_POW_32,
    int,
    shuffle,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('cannot pick from an empty list');
      return items[int(items.length)];
    },
    sample,
    state: () => [s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0],
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
