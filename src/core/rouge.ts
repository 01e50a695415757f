// ROUGE-L F1 with google-research rouge_score semantics (`RougeScorer(['rougeL'], use_stemmer=False)`), fast:
// tokens interned to integers without a string per token, LCS by a bit-parallel algorithm, and a
// near-duplicate index that finds the most similar stored text without scoring every pair when a bound
// proves a pair cannot qualify.

/**
 * rouge_score's tokenizer: text.lower(), then every run outside [a-z0-9] becomes a space, then split.
 * Lowercasing comes first, so "É" is a separator while "İ" (→ "i̇") and the Kelvin sign (→ "k") yield ASCII
 * letters. DIGIT maps an ASCII code to its token character's digit in base 37 (0-9 → 1…10, a-z and A-Z →
 * 11…36) or 0 for a separator; NON_ASCII marks codes ≥ 128, for which the scan restarts on
 * String.prototype.toLowerCase's output (the same full Unicode mapping as Python's str.lower(); the unit
 * test checks every code point against the set Python 3 gives).
 */
const NON_ASCII = 0xff;
const DIGIT = new Uint8Array(0x10000).fill(NON_ASCII);
DIGIT.fill(0, 0, 0x80);
for (let code = 0x30; code <= 0x39; code++) DIGIT[code] = code - 0x30 + 1;
for (let code = 0x61; code <= 0x7a; code++) DIGIT[code] = code - 0x61 + 11;
for (let code = 0x41; code <= 0x5a; code++) DIGIT[code] = code - 0x41 + 11;

/** Tokens this long or shorter are keyed exactly by their base-37 number (37^10 < 2^53). */
const EXACT_KEY_LENGTH = 10;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/**
 * The tokens of one text as ranges of `source`, each with a key, so tokens can be compared and interned
 * without creating a string per token: a token of at most EXACT_KEY_LENGTH characters is keyed by its
 * base-37 number (> 0, equal keys ⇔ equal tokens), a longer one by −1 − a 32-bit hash of its characters
 * (equal keys must then be checked character by character). `source` is the text itself when it is ASCII
 * (token characters are then compared case-folded), else the text lowercased.
 */
class TokenRanges {
  source = '';
  count = 0;
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  keys = new Float64Array(64);

  scan(text: string): this {
    return this.scanRange(text, 0, text.length);
  }

  /** Scans the text source[from … to). */
  scanRange(source: string, from: number, to: number): this {
    if (this.scanSource(source, from, to, true)) return this;
    const lowered = source.slice(from, to).toLowerCase();
    this.scanSource(lowered, 0, lowered.length, false);
    return this;
  }

  /** Token k as a lowercase string. */
  token(k: number): string {
    return this.source.slice(this.starts[k], this.ends[k]).toLowerCase();
  }

  /** Scans source[from … to); with `asciiOnly`, gives up (returning false) at the first non-ASCII character. */
  private scanSource(source: string, from: number, to: number, asciiOnly: boolean): boolean {
    this.source = source;
    this.count = 0;
    let i = from;
    while (i < to) {
      let digit = DIGIT[source.charCodeAt(i)];
      if (digit === 0 || digit === NON_ASCII) {
        if (digit === NON_ASCII && asciiOnly) return false;
        i++;
        continue;
      }
      const start = i;
      let key = 0;
      do {
        key = key * 37 + digit;
        digit = ++i < to ? DIGIT[source.charCodeAt(i)] : 0;
      } while (digit !== 0 && digit !== NON_ASCII);
      this.push(start, i, key);
    }
    return true;
  }

  private push(start: number, end: number, key: number): void {
    const k = this.count++;
    if (k === this.starts.length) {
      this.starts = grown(this.starts, k * 2);
      this.ends = grown(this.ends, k * 2);
      const keys = new Float64Array(k * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    this.starts[k] = start;
    this.ends[k] = end;
    if (end - start <= EXACT_KEY_LENGTH) {
      this.keys[k] = key;
      return;
    }
    let hash = FNV_OFFSET;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ (this.source.charCodeAt(i) | 0x20), FNV_PRIME);
    this.keys[k] = -1 - (hash >>> 0);
  }
}

/** Bucket of a token key in a table of 2^(32 − shift) buckets (Fibonacci hashing of both halves). */
function bucketOf(key: number, shift: number): number {
  const low = key >>> 0;
  const high = (key * 2 ** -32) | 0;
  return Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1) >>> shift;
}

/**
 * Interns tokens (ranges of scanned texts) to ids 0, 1, …: open addressing with linear probing, at most half
 * full. A table that `copies` keeps a lowercase copy of each long token (a vocabulary that outlives the
 * texts); otherwise it refers to the scanned source, and `clear` empties it in O(1) between uses.
 */
class TokenTable {
  size = 0;
  private buckets = new Int32Array(64); // id + 1 when bucketStamps[b] === stamp, else empty
  private bucketKeys = new Float64Array(64);
  private bucketStamps = new Int32Array(64);
  private stamp = 1;
  private shift = 32 - 6;
  // Characters of the long tokens (keys < 0), to tell apart those whose hashes collide.
  private texts: string[] = [];
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);

  constructor(private readonly copies: boolean) {}

  /** The id of token k of `ranges`, or −1 when it is not in the table. */
  find(ranges: TokenRanges, k: number): number {
    const key = ranges.keys[k];
    const mask = this.buckets.length - 1;
    for (let b = bucketOf(key, this.shift); ; b = (b + 1) & mask) {
      if (this.bucketStamps[b] !== this.stamp) return -1;
      if (this.bucketKeys[b] === key && (key > 0 || this.holds(this.buckets[b] - 1, ranges, k))) return this.buckets[b] - 1;
    }
  }

  /** The id of token k of `ranges`, added to the table when it is new. */
  intern(ranges: TokenRanges, k: number): number {
    const found = this.find(ranges, k);
    if (found >= 0) return found;
    const id = this.size++;
    if (this.size * 2 > this.buckets.length) this.rehash(this.buckets.length * 2);
    const key = ranges.keys[k];
    if (key < 0) {
      if (id >= this.starts.length) {
        this.starts = grown(this.starts, id * 2);
        this.ends = grown(this.ends, id * 2);
      }
      const start = ranges.starts[k];
      const end = ranges.ends[k];
      this.texts[id] = this.copies ? ranges.token(k) : ranges.source;
      this.starts[id] = this.copies ? 0 : start;
      this.ends[id] = this.copies ? end - start : end;
    }
    this.place(id, key);
    return id;
  }

  clear(): void {
    this.size = 0;
    if (++this.stamp === 0x7fffffff) {
      this.bucketStamps.fill(0);
      this.stamp = 1;
    }
  }

  private holds(id: number, ranges: TokenRanges, k: number): boolean {
    const text = this.texts[id];
    const start = this.starts[id];
    const length = this.ends[id] - start;
    const otherStart = ranges.starts[k];
    if (ranges.ends[k] - otherStart !== length) return false;
    const other = ranges.source;
    // Both ranges hold only token characters, for which | 0x20 is exactly ASCII lowercasing.
    for (let i = 0; i < length; i++) {
      if ((text.charCodeAt(start + i) | 0x20) !== (other.charCodeAt(otherStart + i) | 0x20)) return false;
    }
    return true;
  }

  private place(id: number, key: number): void {
    const mask = this.buckets.length - 1;
    let b = bucketOf(key, this.shift);
    while (this.bucketStamps[b] === this.stamp) b = (b + 1) & mask;
    this.buckets[b] = id + 1;
    this.bucketKeys[b] = key;
    this.bucketStamps[b] = this.stamp;
  }

  private rehash(capacity: number): void {
    const { buckets, bucketKeys, bucketStamps, stamp } = this;
    this.buckets = new Int32Array(capacity);
    this.bucketKeys = new Float64Array(capacity);
    this.bucketStamps = new Int32Array(capacity);
    this.stamp = 1;
    this.shift = 32 - Math.log2(capacity);
    for (let b = 0; b < buckets.length; b++) if (bucketStamps[b] === stamp) this.place(buckets[b] - 1, bucketKeys[b]);
  }
}

/**
 * rouge_score's F-measure of an LCS of `lcs` tokens between sequences of `m` and `n` tokens, computed with
 * its exact float operations (precision, recall, then 2PR/(P+R)) so scores match it bit for bit. Symmetric
 * in m and n even in floating point: 2·p is exact, so (2p)·r and (2r)·p round the same product.
 */
function lcsF1(lcs: number, m: number, n: number): number {
  if (lcs === 0) return 0;
  const precision = lcs / m;
  const recall = lcs / n;
  return (2 * precision * recall) / (precision + recall);
}

const ALL_ONES = 0xffffffff;
let rowScratch = new Uint32Array(8);

/**
 * LCS length of a pattern of `length` tokens and a text, by the bit-parallel algorithm of Allison–Dix /
 * Hyyrö ("Bit-parallel LCS-length computation revisited", 2004): V has one bit per pattern position, a 0 bit
 * marking a position where the DP row steps up; for each text token with match mask M,
 * V ← (V + (V & M)) | (V & ~M), and the LCS is the number of 0 bits. Bits above the pattern length only
 * receive carries, never pass any down, so they are ignored at the end. Mask row `slot` of `masks` is
 * `words` 32-bit words with bit i set where pattern token i has that slot. The text is `text[start..end)`,
 * token ids whose slot is `slotOf[id]` (−1: not in the pattern, which leaves V unchanged and is skipped).
 */
function bitParallelLcs(
  masks: Uint32Array,
  words: number,
  length: number,
  text: Int32Array,
  start: number,
  end: number,
  slotOf: Int32Array,
): number {
  if (words === 1) {
    // Int32 arithmetic is addition mod 2^32, which is all the recurrence needs.
    let v = -1;
    for (let k = start; k < end; k++) {
      const slot = slotOf[text[k]];
      if (slot < 0) continue;
      const match = masks[slot] | 0;
      v = (v + (v & match)) | (v & ~match);
    }
    const lowBits = length === 32 ? -1 : (1 << length) - 1;
    return length - popcount(v & lowBits);
  }
  if (rowScratch.length < words) rowScratch = new Uint32Array(words * 2);
  const row = rowScratch;
  row.fill(ALL_ONES, 0, words);
  for (let k = start; k < end; k++) {
    const slot = slotOf[text[k]];
    if (slot < 0) continue;
    const base = slot * words;
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const v = row[w];
      const match = masks[base + w];
      const sum = v + ((v & match) >>> 0) + carry;
      carry = sum > ALL_ONES ? 1 : 0;
      row[w] = sum | (v & ~match);
    }
  }
  let ones = 0;
  const fullWords = length >>> 5;
  for (let w = 0; w < fullWords; w++) ones += popcount(row[w] | 0);
  const rest = length & 31;
  if (rest !== 0) ones += popcount(row[fullWords] & ((1 << rest) - 1));
  return length - ones;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Room for `slots` mask rows of `words` words, zeroed; reuses `scratch` when it is large enough. */
function zeroedMasks(scratch: Uint32Array<ArrayBuffer>, slots: number, words: number): Uint32Array<ArrayBuffer> {
  const needed = slots * words;
  if (scratch.length < needed) return new Uint32Array(Math.max(needed, scratch.length * 2));
  scratch.fill(0, 0, needed);
  return scratch;
}

/**
 * Scratch state of the pairwise functions, reused across calls (JS runs one call at a time). The pattern's
 * distinct tokens get slots 0…k−1; the text is written as slot + 1 (0: not in the pattern), so bitParallelLcs
 * reads it through `shiftedIdentity`.
 */
const pairRanges = [new TokenRanges(), new TokenRanges()] as const;
const pairTable = new TokenTable(false);
const tokenSlots = new Map<string, number>();
let pairMasks = new Uint32Array(256);
let pairText = new Int32Array(256);
let pairSlotOf = new Int32Array(256);

/** slotOf for a text written as slot + 1: maps s + 1 → s and 0 → −1. */
function shiftedIdentity(slots: number): Int32Array {
  if (pairSlotOf.length <= slots) pairSlotOf = new Int32Array((slots + 1) * 2);
  pairSlotOf[0] = -1;
  for (let s = 0; s < slots; s++) pairSlotOf[s + 1] = s;
  return pairSlotOf;
}

/** rouge_score's tokens of `text` (lowercased runs of [a-z0-9]; no stemming). */
export function rougeTokens(text: string): string[] {
  const ranges = pairRanges[0].scan(text);
  return Array.from({ length: ranges.count }, (_, k) => ranges.token(k));
}

/** ROUGE-L F1 of two texts with rouge_score semantics (0 when either has no tokens). Symmetric. */
export function rougeL(a: string, b: string): number {
  const first = pairRanges[0].scan(a);
  const second = pairRanges[1].scan(b);
  if (first.count === 0 || second.count === 0) return 0;
  // The shorter sequence is the pattern: fewer mask words per text token.
  const swap = first.count > second.count;
  const pattern = swap ? second : first;
  const text = swap ? first : second;
  const m = pattern.count;
  const n = text.count;
  const words = (m + 31) >>> 5;
  pairTable.clear();
  pairMasks = zeroedMasks(pairMasks, m, words);
  for (let i = 0; i < m; i++) pairMasks[pairTable.intern(pattern, i) * words + (i >>> 5)] |= 1 << (i & 31);
  if (pairText.length < n) pairText = new Int32Array(n * 2);
  for (let k = 0; k < n; k++) pairText[k] = pairTable.find(text, k) + 1;
  return lcsF1(bitParallelLcs(pairMasks, words, m, pairText, 0, n, shiftedIdentity(pairTable.size)), m, n);
}

/** ROUGE-L F1 of two token sequences, e.g. from rougeTokens (0 when either is empty). Symmetric. */
export function rougeLFromTokens(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const [pattern, text] = a.length <= b.length ? [a, b] : [b, a];
  const m = pattern.length;
  const n = text.length;
  const words = (m + 31) >>> 5;
  tokenSlots.clear();
  pairMasks = zeroedMasks(pairMasks, m, words);
  for (let i = 0; i < m; i++) {
    let slot = tokenSlots.get(pattern[i]);
    if (slot === undefined) tokenSlots.set(pattern[i], (slot = tokenSlots.size));
    pairMasks[slot * words + (i >>> 5)] |= 1 << (i & 31);
  }
  if (pairText.length < n) pairText = new Int32Array(n * 2);
  for (let k = 0; k < n; k++) pairText[k] = (tokenSlots.get(text[k]) ?? -1) + 1;
  return lcsF1(bitParallelLcs(pairMasks, words, m, pairText, 0, n, shiftedIdentity(tokenSlots.size)), m, n);
}

/** A stored text found by NearDuplicateIndex, with its ROUGE-L F1 against the query. */
export interface NearDuplicateMatch<T> {
  ref: T;
  score: number;
}

export interface NearDuplicateIndexOptions {
  /**
   * The lowest threshold `nearestAbove` answers through the prefix index (default 0.5). Lower thresholds
   * are answered exactly too, by scoring every stored text. The lower it is, the longer the indexed prefixes.
   */
  minThreshold?: number;
}

/**
 * Bounds are exact rationals while scores are floats (a few ulps off): a pair is pruned against threshold t
 * only when its bound is ≤ t − SLACK, far above that error and far below any gap between distinct scores
 * (≥ 1/(m+n)² for texts shorter than millions of tokens).
 */
const SLACK = 1e-9;

/** Marks query elements absent from the index; sorts before every known element (see `orderedElements`). */
const UNKNOWN_ELEMENT = -0x80000000;

/** The index reorders its elements by frequency at 1024 texts, then each time it has grown 4-fold. */
const FIRST_REORDER = 1024;
const REORDER_GROWTH = 4;

/** ℓ of the ℓ-prefix filter (see NearDuplicateIndex): longer prefixes, but far fewer texts met ℓ times than once. */
const SHARED_IN_PREFIX = 3;

/**
 * The pair-key filter of nearestEarlierAbove (see there): from this threshold up, pairs whose least overlap is
 * at least `shared` are found through pairs of prefix elements of the same one of `classes` classes; such
 * pairs share at least leastPairsWithinClasses(shared, classes) of those keys. Which shape pays depends on
 * the texts (short templated texts: small ℓ, whose prefixes stay among rare elements; long ones: large ℓ
 * spread over classes, which lists far fewer keys per text), so each join picks one from a sample.
 */
const PAIR_KEY_MIN_THRESHOLD = 0.5;
export const PAIR_KEY_SHAPES: readonly PairKeyShape[] = [
  { shared: 3, classes: 1 },
  { shared: 4, classes: 2 },
  { shared: 8, classes: 4 },
  { shared: 12, classes: 6 },
];
/** The shape is chosen from every PAIR_SHAPE_SAMPLE_STRIDE-th text (in visit order). */
const PAIR_SHAPE_SAMPLE_STRIDE = 16;
/** A key looked up costs about as much as this many list entries read (a cache miss in the directory). */
const KEY_LOOKUP_COST = 8;
/**
 * Bits of a candidate's state word that count the keys it met (at most 15; the shapes need at most 6); the
 * other 28 hold the probing visit's stamp, enough for 268 M texts, far beyond what fits in memory.
 */
const KEY_COUNT_BITS = 4;
const KEY_COUNT_MASK = (1 << KEY_COUNT_BITS) - 1;

/** A pair-key filter: the ℓ of its ℓ-prefixes, and the classes its keys pair elements within. */
export interface PairKeyShape {
  shared: number;
  classes: number;
}

/** The fewest same-class pairs among `elements` elements spread over `classes` classes (spread evenly). */
function leastPairsWithinClasses(elements: number, classes: number): number {
  const per = Math.floor(elements / classes);
  const fuller = elements % classes;
  return (fuller * (per + 1) * per) / 2 + ((classes - fuller) * per * (per - 1)) / 2;
}

/** Sets each element's class (a hash of its rank) for a shape of `classes` classes. */
function fillClasses(classOf: Int8Array, classes: number): void {
  for (let element = 0; element < classOf.length; element++) classOf[element] = (Math.imul(element, 0x9e3779b1) >>> 0) % classes;
}

/**
 * Writes the pair keys of a text's first `prefix` ordered elements, `elements[from …]` (the pairs of
 * positions i < j whose elements share a class), to `keys` from `at` on, each a 32-bit hash shifted right by
 * `shift`, and when `depths` is given the later position j of each; returns the new end. Keys come by
 * increasing j, so a shorter prefix's keys come first. `keys` needs room for prefix·(prefix − 1)/2 more.
 */
function writePairKeys(elements: Int32Array, from: number, prefix: number, classOf: Int8Array, shift: number, keys: Int32Array, at: number, depths?: Int32Array): number {
  for (let j = 1; j < prefix; j++) {
    const second = elements[from + j]!;
    const secondClass = classOf[second]!;
    const mixed = Math.imul(second, 0x85ebca6b);
    for (let i = 0; i < j; i++) {
      const first = elements[from + i]!;
      if (classOf[first] !== secondClass) continue;
      if (depths !== undefined) depths[at] = j;
      keys[at++] = Math.imul(Math.imul(first, 0x9e3779b1) ^ mixed, 0xc2b2ae35) >>> shift;
    }
  }
  return at;
}

interface JoinTexts {
  /** Per text, its elements as ranks, sorted; text i's are elements[start[i] … start[i + 1]). */
  elements: Int32Array;
  start: Int32Array;
  /** Texts by visit, and their token counts. */
  order: Int32Array;
  lengthOf: Int32Array;
  /** Scratch for the classes of a shape. */
  classOf: Int8Array;
  prefixFor: (n: number, shared: number) => number;
  leastAlone: (n: number) => number;
}

/**
 * The pair-key shape whose lists cost least to read, estimated on every PAIR_SHAPE_SAMPLE_STRIDE-th visit:
 * texts sharing a key (a pair key, or an element for the texts a shape leaves to the element lists) are
 * read once per shared key, so a bucket of c sampled texts stands for (c·stride)²/2 entries read, and each
 * key listed costs KEY_LOOKUP_COST entries more. Only speed depends on the choice: every shape is exact.
 */
function choosePairKeyShape(texts: JoinTexts): PairKeyShape {
  const { elements, start, order, lengthOf, classOf, prefixFor, leastAlone } = texts;
  const stride = PAIR_SHAPE_SAMPLE_STRIDE;
  let bestShape = PAIR_KEY_SHAPES[0]!;
  let bestCost = Infinity;
  const counts = new KeyCounts();
  let sampleKeys = new Int32Array(0);
  for (const shape of PAIR_KEY_SHAPES) {
    fillClasses(classOf, shape.classes);
    counts.clear();
    let keys = 0;
    for (let v = 0; v < lengthOf.length; v += stride) {
      const from = start[order[v]!]!;
      const n = lengthOf[v]!;
      if (leastAlone(n) < shape.shared) {
        // The element lists (ℓ = SHARED_IN_PREFIX); element keys are negative, pair keys are not.
        const prefix = prefixFor(n, SHARED_IN_PREFIX);
        for (let j = 0; j < prefix; j++) counts.add(-1 - elements[from + j]!);
        keys += prefix;
        continue;
      }
      const prefix = prefixFor(n, shape.shared);
      if (sampleKeys.length < (prefix * (prefix - 1)) / 2) sampleKeys = new Int32Array(prefix * prefix);
      const listed = writePairKeys(elements, from, prefix, classOf, 1, sampleKeys, 0);
      for (let k = 0; k < listed; k++) counts.add(sampleKeys[k]!);
      keys += listed;
    }
    const cost = (counts.sumOfSquares() * stride * stride) / 2 + keys * stride * KEY_LOOKUP_COST;
    if (cost < bestCost) {
      bestCost = cost;
      bestShape = shape;
    }
  }
  return bestShape;
}

/** Counts of integer keys (open addressing, at most half full), for choosePairKeyShape's sample. */
class KeyCounts {
  private keys = new Int32Array(1 << 12);
  private counts = new Int32Array(1 << 12);
  private used = 0;

  clear(): void {
    this.counts.fill(0);
    this.used = 0;
  }

  add(key: number, count = 1): void {
    const mask = this.keys.length - 1;
    let b = (Math.imul(key, 0x9e3779b1) >>> 0) & mask;
    while (this.counts[b] !== 0 && this.keys[b] !== key) b = (b + 1) & mask;
    const before = this.counts[b]!;
    this.counts[b] = before + count;
    if (before !== 0) return;
    this.keys[b] = key;
    if (++this.used * 2 > this.keys.length) this.grow();
  }

  sumOfSquares(): number {
    let sum = 0;
    for (const count of this.counts) sum += count * count;
    return sum;
  }

  private grow(): void {
    const { keys, counts } = this;
    this.keys = new Int32Array(keys.length * 2);
    this.counts = new Int32Array(keys.length * 2);
    this.used = 0;
    for (let b = 0; b < keys.length; b++) if (counts[b] !== 0) this.add(keys[b]!, counts[b]!);
  }
}

/**
 * Answers "which stored text is most similar to this one" by ROUGE-L F1, exactly as scoring every stored
 * text would (ties: the earliest added wins), while scoring few of them.
 *
 * Why the pruning is exact. F1 = 2L/(m+n) for LCS length L of token sequences of lengths m and n, and L is
 * at most the multiset overlap O (tokens in common, with multiplicity). Each text is turned into a set of
 * occurrence elements — (token, 1st), (token, 2nd), … — so that O is the size of a set intersection. A pair
 * with F1 > t has L > t(m+n)/2, and since L ≤ n this forces n > tm/(2−t) and O ≥ L > tm/(2−t) =: β(m).
 *
 * Prefix filtering (as in set-similarity joins, with the ℓ-prefix variant of AdaptJoin): fix a total order on
 * elements and sort each text's elements by it. Let z1 < z2 < … be the O common elements of two texts; z_ℓ
 * has at least O − ℓ + 1 common elements at or after it in each text, so z1…z_ℓ (ℓ ≤ O) lie within the first
 * m − O + ℓ elements of one text and the first n − O + ℓ of the other. As O > β, a stored text indexes its
 * first n − ⌊β(n)⌋ − 1 + ℓ elements (β at minThreshold), a query probes its first m − ⌊β(m)⌋ − 1 + ℓ (β at
 * its threshold t ≥ minThreshold, so the stored prefixes are long enough), and a text met fewer than
 * min(ℓ, O_min) times, O_min the least overlap its length allows, cannot qualify.
 *
 * Positional filter (PPJoin). Common elements appear in the same order in both texts, so when the probe meets
 * a stored text through an element at query position i and stored position j, every common element before
 * it lies in both prefixes and has been met already: with A elements met so far, O ≤ A + min(m−1−i, n−1−j).
 * A text whose bound cannot beat the threshold (or the best score so far) is never scored.
 *
 * The order must be the one every stored prefix was cut with. Rare elements first keeps the lists to probe
 * short, but frequencies drift as texts are added. So ranks stay fixed between reorders: an element created
 * since the last reorder ranks before all older ones (newest first; elements seen late are rarely frequent),
 * and a reorder, at 1024 texts and then at every 4-fold growth (amortised cost: a third more indexing),
 * ranks all elements by frequency and indexes every stored text again under the new order. Elements unknown
 * to the index (only a query has them) belong to no stored text; they sort first, as they would if created.
 *
 * Texts with the same token sequence score the same against every query, and the earliest one wins ties,
 * so they share one item, represented by its earliest live addition; a query with the sequence of a stored
 * text scores 1 against it, which no other text reaches.
 *
 * Removal (`remove(handle)`, for editors that update the index line by line): an item whose last addition
 * is removed dies; its postings stay in the lists and are skipped, and once dead items outnumber the live
 * ones (and at least FIRST_REORDER), the live items are copied out and indexed again. Ties go to the item
 * whose earliest live addition came first, so answers are those of scoring every live addition in order.
 */
export class NearDuplicateIndex<T> {
  private readonly minThreshold: number;
  private readonly vocabulary = new TokenTable(true);
  private readonly ranges = new TokenRanges();
  /** Element id of a token's first occurrence within a text (−1: none yet), and of its later ones. */
  private firstElement = new Int32Array(256).fill(-1);
  private readonly laterElements: (number[] | undefined)[] = [];
  /** List `element`: (item, position of the element in the item's ordered elements), items holding it in their prefix. */
  private postings = new PostingLists();
  private elementCount = 0;
  /**
   * The order: elements sort by increasing rank. Ranks ≥ 0 were given by the last reorder (elementOfRank
   * inverts them), ranks −1, −2, … to the elements created since (elementOfNewRank[−rank − 1]).
   */
  private rank = new Int32Array(256);
  private elementOfRank = new Int32Array(0);
  private elementOfNewRank = new Int32Array(256);
  private newElements = 0;
  /** Stored texts holding each element. */
  private frequency = new Int32Array(256);
  private nextReorder = FIRST_REORDER;
  /** First live item of each hash of token-id sequences; `sameHashNext` chains the items sharing a hash. */
  private readonly itemOfSequenceHash = new Map<number, number>();
  private sameHashNext = new Int32Array(256);
  private tokenPool = new Int32Array(4096);
  private poolUsed = 0;
  /** Items 0…itemCount−1, dead ones included (itemFirst −1). */
  private itemCount = 0;
  private liveItems = 0;
  private itemStart = new Int32Array(256);
  private itemLength = new Int32Array(256);
  /** The earliest live handle of each item (−1: dead), and its later live handles in order when it has some. */
  private itemFirst = new Int32Array(256);
  private readonly itemLaterHandles = new Map<number, number[]>();
  /** Per handle (the add's ordinal): its item (−1: removed) and its ref. */
  private handleItem = new Int32Array(256);
  private readonly handleRefs: (T | undefined)[] = [];
  private liveHandles = 0;
  // Query scratch, sized to the vocabulary or the item count. `overlap[item]` holds the common elements met
  // (−1: ruled out) and `bound[item]` the overlap bound, both valid while `seen[item]` is the query's stamp.
  private seen = new Int32Array(256);
  private overlap = new Int32Array(256);
  private bound = new Int32Array(256);
  private candidates = new Int32Array(256);
  private stamp = 0;
  private slotOf = new Int32Array(256).fill(-1);
  private occurrenceCount = new Int32Array(256);
  private queryIds = new Int32Array(256);
  private elementKeys = new Int32Array(256);
  private masks = new Uint32Array(256);

  constructor(options: NearDuplicateIndexOptions = {}) {
    const minThreshold = options.minThreshold ?? 0.5;
    if (!(minThreshold >= 0 && minThreshold <= 1)) {
      throw new RangeError(`minThreshold must be in [0, 1], got ${minThreshold}`);
    }
    this.minThreshold = minThreshold;
  }

  /** Number of texts added and not removed (texts with identical tokens included). */
  get size(): number {
    return this.liveHandles;
  }

  /** Adds a text; returns its handle for `remove` (handles count adds from 0 and are never reused). */
  add(text: string, ref: T): number {
    const handle = this.handleRefs.length;
    this.handleRefs.push(ref);
    if (handle === this.handleItem.length) this.handleItem = grown(this.handleItem, handle * 2);
    this.liveHandles++;
    const ranges = this.ranges.scan(text);
    const n = ranges.count;
    // The ids go to the free end of the pool; they stay there only if the sequence is new.
    if (this.poolUsed + n > this.tokenPool.length) this.tokenPool = grown(this.tokenPool, (this.poolUsed + n) * 2);
    const start = this.poolUsed;
    for (let k = 0; k < n; k++) {
      this.tokenPool[start + k] = this.vocabulary.intern(ranges, k);
    }
    const sequenceHash = this.sequenceHash(start, n);
    const stored = this.storedSequence(sequenceHash, start, n);
    if (stored >= 0) {
      this.handleItem[handle] = stored;
      const later = this.itemLaterHandles.get(stored);
      if (later === undefined) this.itemLaterHandles.set(stored, [handle]);
      else later.push(handle);
      return handle;
    }
    this.poolUsed += n;
    const item = this.newItem(start, n, sequenceHash, handle);
    this.handleItem[handle] = item;
    this.fitVocabularyScratch();
    const elements = this.orderedElements(this.tokenPool, start, n, true);
    for (let j = 0; j < n; j++) this.frequency[elements[j]]++;
    if (this.liveItems === this.nextReorder) {
      this.nextReorder *= REORDER_GROWTH;
      this.reorder();
      return handle;
    }
    const prefix = prefixLength(n, this.minThreshold);
    for (let j = 0; j < prefix; j++) this.postings.append(elements[j], item, j);
    return handle;
  }

  /**
   * Removes the text added with `handle`; false when it was removed already. Throws a RangeError for a
   * handle this index never gave.
   */
  remove(handle: number): boolean {
    if (!(Number.isInteger(handle) && handle >= 0 && handle < this.handleRefs.length)) {
      throw new RangeError(`no text was added with handle ${handle} (handles so far: 0…${this.handleRefs.length - 1})`);
    }
    const item = this.handleItem[handle];
    if (item < 0) return false;
    this.handleItem[handle] = -1;
    this.handleRefs[handle] = undefined;
    this.liveHandles--;
    const later = this.itemLaterHandles.get(item);
    if (this.itemFirst[item] !== handle) {
      later!.splice(later!.indexOf(handle), 1);
      if (later!.length === 0) this.itemLaterHandles.delete(item);
      return true;
    }
    if (later !== undefined) {
      this.itemFirst[item] = later.shift()!;
      if (later.length === 0) this.itemLaterHandles.delete(item);
      return true;
    }
    this.killItem(item);
    return true;
  }

  private newItem(start: number, length: number, sequenceHash: number, first: number): number {
    const item = this.itemCount++;
    this.liveItems++;
    if (item === this.itemStart.length) {
      const capacity = item * 2;
      this.itemStart = grown(this.itemStart, capacity);
      this.itemLength = grown(this.itemLength, capacity);
      this.itemFirst = grown(this.itemFirst, capacity);
      this.sameHashNext = grown(this.sameHashNext, capacity);
      this.seen = grown(this.seen, capacity);
      this.overlap = grown(this.overlap, capacity);
      this.bound = grown(this.bound, capacity);
      this.candidates = grown(this.candidates, capacity);
    }
    this.itemStart[item] = start;
    this.itemLength[item] = length;
    this.itemFirst[item] = first;
    this.sameHashNext[item] = this.itemOfSequenceHash.get(sequenceHash) ?? -1;
    this.itemOfSequenceHash.set(sequenceHash, item);
    return item;
  }

  /** Marks an item without live handles dead: out of the sequence chains and the frequencies, skipped by queries. */
  private killItem(item: number): void {
    this.itemFirst[item] = -1;
    this.liveItems--;
    const start = this.itemStart[item];
    const n = this.itemLength[item];
    const hash = this.sequenceHash(start, n);
    const head = this.itemOfSequenceHash.get(hash)!;
    if (head === item) {
      if (this.sameHashNext[item] < 0) this.itemOfSequenceHash.delete(hash);
      else this.itemOfSequenceHash.set(hash, this.sameHashNext[item]);
    } else {
      let previous = head;
      while (this.sameHashNext[previous] !== item) previous = this.sameHashNext[previous];
      this.sameHashNext[previous] = this.sameHashNext[item];
    }
    const elements = this.orderedElements(this.tokenPool, start, n, false);
    for (let j = 0; j < n; j++) this.frequency[elements[j]]--;
    const dead = this.itemCount - this.liveItems;
    if (dead >= FIRST_REORDER && dead > this.liveItems) this.compact();
  }

  /** Copies the live items out (tokens, chains, handles) and indexes them again. */
  private compact(): void {
    const oldPool = this.tokenPool;
    const oldStart = this.itemStart;
    const oldLength = this.itemLength;
    const oldFirst = this.itemFirst;
    const oldCount = this.itemCount;
    const oldLater = new Map(this.itemLaterHandles);
    const capacity = Math.max(256, this.liveItems * 2);
    let poolSize = 0;
    for (let item = 0; item < oldCount; item++) if (oldFirst[item] >= 0) poolSize += oldLength[item];
    this.tokenPool = new Int32Array(Math.max(4096, poolSize * 2));
    this.poolUsed = 0;
    this.itemStart = new Int32Array(capacity);
    this.itemLength = new Int32Array(capacity);
    this.itemFirst = new Int32Array(capacity);
    this.sameHashNext = new Int32Array(capacity);
    this.seen = new Int32Array(capacity);
    this.overlap = new Int32Array(capacity);
    this.bound = new Int32Array(capacity);
    this.candidates = new Int32Array(capacity);
    this.stamp = 0;
    this.itemCount = 0;
    this.liveItems = 0;
    this.itemOfSequenceHash.clear();
    this.itemLaterHandles.clear();
    for (let old = 0; old < oldCount; old++) {
      const first = oldFirst[old];
      if (first < 0) continue;
      const n = oldLength[old];
      const start = this.poolUsed;
      this.tokenPool.set(oldPool.subarray(oldStart[old], oldStart[old] + n), start);
      this.poolUsed += n;
      const item = this.newItem(start, n, this.sequenceHash(start, n), first);
      this.handleItem[first] = item;
      const later = oldLater.get(old);
      if (later !== undefined) {
        this.itemLaterHandles.set(item, later);
        for (const handle of later) this.handleItem[handle] = item;
      }
    }
    this.reorder();
  }

  /** Ranks elements rarest first (the newest first among equals) and indexes every live item again under that order. */
  private reorder(): void {
    const count = this.elementCount;
    // frequency · count + (count − 1 − element) stays exact in a double far beyond any realistic index.
    const keys = new Float64Array(count);
    for (let element = 0; element < count; element++) keys[element] = this.frequency[element] * count + (count - 1 - element);
    keys.sort();
    this.elementOfRank = new Int32Array(count);
    for (let rank = 0; rank < count; rank++) {
      const element = count - 1 - (keys[rank] % count);
      this.rank[element] = rank;
      this.elementOfRank[rank] = element;
    }
    this.newElements = 0;
    this.postings = new PostingLists();
    this.postings.reserve(count);
    for (let item = 0; item < this.itemCount; item++) {
      if (this.itemFirst[item] < 0) continue;
      const n = this.itemLength[item];
      const elements = this.orderedElements(this.tokenPool, this.itemStart[item], n, false);
      const prefix = prefixLength(n, this.minThreshold);
      for (let j = 0; j < prefix; j++) this.postings.append(elements[j], item, j);
    }
  }

  /**
   * The best match with score > threshold (ties: earliest added), or null. When threshold ≥ minThreshold,
   * scores only the texts that the prefix and positional filters cannot rule out.
   */
  nearestAbove(text: string, threshold: number): NearDuplicateMatch<T> | null {
    if (Number.isNaN(threshold)) throw new RangeError('threshold must be a number, got NaN');
    // Every score is in [0, 1]: all texts qualify below 0, none at 1 or above.
    if (threshold < 0) return this.nearest(text);
    if (threshold >= 1 || this.liveItems === 0) return null;
    return this.withQuery(text, (query) =>
      threshold >= this.minThreshold ? this.probe(query, threshold) : this.scan(query, threshold),
    );
  }

  /** The best match over everything added (ties: earliest added), or null when nothing was added. */
  nearest(text: string): NearDuplicateMatch<T> | null {
    if (this.liveItems === 0) return null;
    return this.withQuery(text, (query) => {
      // When some text scores above minThreshold, the best one above it is the best overall.
      const above = this.minThreshold < 1 ? this.probe(query, this.minThreshold) : null;
      return above ?? this.scan(query, -1);
    });
  }

  private withQuery(text: string, answer: (query: Query) => Found | null): NearDuplicateMatch<T> | null {
    const ranges = this.ranges.scan(text);
    const m = ranges.count;
    if (this.queryIds.length < m) this.queryIds = new Int32Array(m * 2);
    const ids = this.queryIds;
    let known = 0;
    for (let k = 0; k < m; k++) if ((ids[k] = this.vocabulary.find(ranges, k)) >= 0) known++;
    if (m > 0 && known === m) {
      const item = this.storedSequence(this.sequenceHash(0, m, ids), 0, m, ids);
      if (item >= 0) return { ref: this.refOf(item), score: 1 };
    }
    const words = Math.max(1, (m + 31) >>> 5);
    // Mask rows for the query's known tokens; unknown tokens match nothing stored, so need none.
    let slots = 0;
    for (let i = 0; i < m; i++) if (ids[i] >= 0 && this.slotOf[ids[i]] < 0) this.slotOf[ids[i]] = slots++;
    this.masks = zeroedMasks(this.masks, slots, words);
    for (let i = 0; i < m; i++) {
      if (ids[i] >= 0) this.masks[this.slotOf[ids[i]] * words + (i >>> 5)] |= 1 << (i & 31);
    }
    try {
      const elements = this.orderedElements(ids, 0, m, false);
      let unknown = 0;
      while (unknown < m && elements[unknown] === UNKNOWN_ELEMENT) unknown++;
      const found = answer({ length: m, elements, unknown, words });
      return found === null ? null : { ref: this.refOf(found.item), score: found.score };
    } finally {
      for (let i = 0; i < m; i++) if (ids[i] >= 0) this.slotOf[ids[i]] = -1;
    }
  }

  /** The ref of an item's earliest live addition. */
  private refOf(item: number): T {
    return this.handleRefs[this.itemFirst[item]] as T;
  }

  /** Best item with score > threshold among those sharing prefix elements with the query (threshold ≥ minThreshold). */
  private probe(query: Query, threshold: number): Found | null {
    const { length: m, elements } = query;
    if (m === 0) return null;
    const lowered = threshold - SLACK;
    if (++this.stamp === 0x7fffffff) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    const { seen, overlap, bound, candidates, stamp, itemLength, itemFirst, postings } = this;
    const pool = postings.pool;
    let count = 0;
    // Every qualifying text has more than β(m) elements in common with the query (see the class comment).
    const prefix = prefixLength(m, threshold);
    // Unknown elements are known to no stored text; they only take up prefix positions.
    for (let i = query.unknown; i < prefix; i++) {
      const element = elements[i];
      const tail = postings.tails[element];
      for (let block = postings.heads[element]; block >= 0; block = pool[block]) {
        const end = block + 2 + 2 * (block === tail ? postings.tailUsed[element] : pool[block + 1]);
        for (let p = block + 2; p < end; p += 2) {
          const item = pool[p];
          if (itemFirst[item] < 0) continue;
          const n = itemLength[item];
          if (seen[item] !== stamp) {
            seen[item] = stamp;
            overlap[item] = 0;
            candidates[count++] = item;
          } else if (overlap[item] < 0) {
            continue;
          }
          const met = overlap[item] + 1;
          const overlapBound = met + Math.min(m - 1 - i, n - 1 - pool[p + 1]);
          if (2 * overlapBound <= lowered * (m + n)) {
            overlap[item] = -1;
          } else {
            overlap[item] = met;
            bound[item] = overlapBound;
          }
        }
      }
    }
    let best = -1;
    let bestScore = 0;
    let bestLcs = 0;
    let bestLength = 0;
    for (let c = 0; c < count; c++) {
      const item = candidates[c];
      const n = itemLength[item];
      // A qualifying text shares at least this many elements with the query, and so met it that many times
      // in the prefixes, up to SHARED_IN_PREFIX.
      const least = Math.max(1, Math.floor((lowered * (m + n)) / 2) + 1);
      if (overlap[item] < Math.min(SHARED_IN_PREFIX, least)) continue;
      if (best >= 0) {
        // Exact comparison of the bound 2·O/(m+n) with the best score 2·L/(m+n_best). On equality with the
        // same length, the candidate can at most tie the best float, and loses the tie when added later.
        const order = bound[item] * (m + bestLength) - bestLcs * (m + n);
        if (order < 0 || (order === 0 && n === bestLength && itemFirst[item] > itemFirst[best])) continue;
      }
      const lcs = this.lcsWith(query, item);
      const score = lcsF1(lcs, m, n);
      if (score > threshold && (best < 0 || score > bestScore || (score === bestScore && itemFirst[item] < itemFirst[best]))) {
        best = item;
        bestScore = score;
        bestLcs = lcs;
        bestLength = n;
      }
    }
    return best < 0 ? null : { item: best, score: bestScore };
  }

  /** Best item with score > threshold, scoring every item the length bound L ≤ min(m, n) cannot rule out. */
  private scan(query: Query, threshold: number): Found | null {
    const m = query.length;
    const lowered = threshold - SLACK;
    let best = -1;
    let bestScore = 0;
    let bestLcs = 0;
    let bestLength = 0;
    const itemFirst = this.itemFirst;
    for (let item = 0; item < this.itemCount; item++) {
      if (itemFirst[item] < 0) continue;
      const n = this.itemLength[item];
      const lcsBound = Math.min(m, n);
      // Below 0 every item qualifies (scores are ≥ 0), texts without tokens included.
      if (lowered >= 0 && 2 * lcsBound <= lowered * (m + n)) continue;
      if (best >= 0) {
        const order = lcsBound * (m + bestLength) - bestLcs * (m + n);
        if (order < 0 || (order === 0 && n === bestLength && itemFirst[item] > itemFirst[best])) continue;
      }
      const lcs = lcsBound === 0 ? 0 : this.lcsWith(query, item);
      const score = lcsF1(lcs, m, n);
      if (score > threshold && (best < 0 || score > bestScore || (score === bestScore && itemFirst[item] < itemFirst[best]))) {
        best = item;
        bestScore = score;
        bestLcs = lcs;
        bestLength = n;
      }
    }
    return best < 0 ? null : { item: best, score: bestScore };
  }

  private lcsWith(query: Query, item: number): number {
    const start = this.itemStart[item];
    return bitParallelLcs(this.masks, query.words, query.length, this.tokenPool, start, start + this.itemLength[item], this.slotOf);
  }

  /**
   * The occurrence elements of the `length` token ids at `start` of `ids`, in the index's order: unknown ones
   * (UNKNOWN_ELEMENT) first, then by decreasing element id. With `create`, elements not seen before get new
   * ids. The result is scratch space, valid until the next call.
   */
  private orderedElements(ids: Int32Array, start: number, length: number, create: boolean): Int32Array {
    if (this.elementKeys.length < length) this.elementKeys = new Int32Array(length * 2);
    const keys = this.elementKeys;
    const counts = this.occurrenceCount;
    for (let k = 0; k < length; k++) {
      const id = ids[start + k];
      if (id < 0) {
        keys[k] = UNKNOWN_ELEMENT;
        continue;
      }
      const occurrence = counts[id]++;
      let element: number;
      if (occurrence === 0) {
        element = this.firstElement[id];
        if (element < 0 && create) this.firstElement[id] = element = this.newElement();
      } else {
        const later = (this.laterElements[id] ??= []);
        element = occurrence <= later.length ? later[occurrence - 1] : -1;
        if (element < 0 && create) later.push((element = this.newElement()));
      }
      keys[k] = element < 0 ? UNKNOWN_ELEMENT : this.rank[element];
    }
    for (let k = 0; k < length; k++) if (ids[start + k] >= 0) counts[ids[start + k]] = 0;
    keys.subarray(0, length).sort();
    for (let k = 0; k < length; k++) {
      const rank = keys[k];
      if (rank !== UNKNOWN_ELEMENT) keys[k] = rank >= 0 ? this.elementOfRank[rank] : this.elementOfNewRank[-rank - 1];
    }
    return keys;
  }

  private newElement(): number {
    const element = this.elementCount++;
    if (element === this.rank.length) {
      this.rank = grown(this.rank, element * 2);
      this.frequency = grown(this.frequency, element * 2);
    }
    if (this.newElements === this.elementOfNewRank.length) this.elementOfNewRank = grown(this.elementOfNewRank, this.newElements * 2);
    this.rank[element] = -1 - this.newElements;
    this.elementOfNewRank[this.newElements++] = element;
    this.postings.reserve(this.elementCount);
    return element;
  }

  /** FNV-1a over `length` token ids at `start` of `ids` (default: the pool). */
  private sequenceHash(start: number, length: number, ids: Int32Array = this.tokenPool): number {
    let hash = FNV_OFFSET;
    for (let k = start; k < start + length; k++) hash = Math.imul(hash ^ ids[k], FNV_PRIME);
    return hash;
  }

  /** The stored item with the `length` token ids at `start` of `ids` (default: the pool), or −1. */
  private storedSequence(hash: number, start: number, length: number, ids: Int32Array = this.tokenPool): number {
    for (let item = this.itemOfSequenceHash.get(hash) ?? -1; item >= 0; item = this.sameHashNext[item]) {
      if (this.itemLength[item] !== length) continue;
      const itemStart = this.itemStart[item];
      let k = 0;
      while (k < length && this.tokenPool[itemStart + k] === ids[start + k]) k++;
      if (k === length) return item;
    }
    return -1;
  }

  private fitVocabularyScratch(): void {
    const vocabulary = this.vocabulary.size;
    if (vocabulary <= this.slotOf.length) return;
    const size = vocabulary * 2;
    this.slotOf = new Int32Array(size).fill(-1);
    this.occurrenceCount = new Int32Array(size);
    const firstElement = new Int32Array(size).fill(-1);
    firstElement.set(this.firstElement);
    this.firstElement = firstElement;
  }
}

/**
 * Posting lists of (item, position) pairs in one Int32Array, so that millions of them make no garbage to
 * collect: a list is a chain of blocks [next block or −1, capacity, pairs…] with capacities doubling from 2.
 */
class PostingLists {
  pool = new Int32Array(1 << 14);
  heads = new Int32Array(256);
  tails = new Int32Array(256);
  tailUsed = new Int32Array(256);
  private count = 0;
  private top = 0;

  /** Makes lists 0…count−1 exist (new ones empty). */
  reserve(count: number): void {
    if (count > this.heads.length) {
      const capacity = Math.max(count, this.heads.length * 2);
      this.heads = grown(this.heads, capacity);
      this.tails = grown(this.tails, capacity);
      this.tailUsed = grown(this.tailUsed, capacity);
    }
    if (count > this.count) this.heads.fill(-1, this.count, count);
    this.count = Math.max(this.count, count);
  }

  append(list: number, item: number, position: number): void {
    let tail = this.tails[list];
    let used = this.tailUsed[list];
    const empty = this.heads[list] < 0;
    if (empty || used === this.pool[tail + 1]) {
      const capacity = empty ? 2 : Math.min(this.pool[tail + 1] * 2, 1024);
      const block = this.top;
      this.top += 2 + 2 * capacity;
      if (this.top > this.pool.length) this.pool = grown(this.pool, this.top * 2);
      this.pool[block] = -1;
      this.pool[block + 1] = capacity;
      if (empty) this.heads[list] = block;
      else this.pool[tail] = block;
      this.tails[list] = tail = block;
      used = 0;
    }
    this.pool[tail + 2 + 2 * used] = item;
    this.pool[tail + 3 + 2 * used] = position;
    this.tailUsed[list] = used + 1;
  }
}

interface Query {
  length: number;
  /** Occurrence elements in the index's order; the first `unknown` ones are UNKNOWN_ELEMENT. */
  elements: Int32Array;
  unknown: number;
  /** Mask words per row of the index's `masks`, which hold the query's pattern. */
  words: number;
}

interface Found {
  item: number;
  score: number;
}

/** Elements of a text of n elements that the index holds or probes for threshold t: n − ⌊β(n)⌋ − 1 + ℓ, at most n. */
function prefixLength(length: number, threshold: number): number {
  const lowered = threshold - SLACK;
  const least = lowered <= 0 ? 1 : Math.floor((lowered * length) / (2 - lowered)) + 1;
  return Math.min(length, length - least + SHARED_IN_PREFIX);
}

/** Up to this many values, sortRange sorts in place without a call into the engine's sort (per call ~1 µs). */
const INSERTION_SORT_MAX = 64;

/** Sorts array[from … to) ascending. */
function sortRange(array: Int32Array, from: number, to: number): void {
  if (to - from > INSERTION_SORT_MAX) {
    array.subarray(from, to).sort();
    return;
  }
  for (let k = from + 1; k < to; k++) {
    const value = array[k]!;
    let j = k - 1;
    while (j >= from && array[j]! > value) {
      array[j + 1] = array[j]!;
      j--;
    }
    array[j + 1] = value;
  }
}

/** Bits of the key that one pass of sortByKey sorts by: 2^11 places written at once stay in cache. */
const RADIX_BITS = 11;

/**
 * Sorts the first `length` of `keys` (each below 2^bits) and `values` by key, equal keys in their order (an LSD
 * radix sort: each pass reads in order and writes to at most 2^RADIX_BITS places at once, where writing each
 * value straight to its final place misses the cache on nearly every write). The values go to `sortedValues`;
 * returns the sorted keys. `keys` and `values` are used as scratch.
 */
function sortByKey(keys: Int32Array, values: Int32Array, length: number, bits: number, sortedValues: Int32Array): Int32Array {
  const passes = Math.max(1, Math.ceil(bits / RADIX_BITS));
  const passBits = Math.ceil(bits / passes);
  const places = new Int32Array((1 << passBits) + 1);
  let keysFrom = keys;
  let valuesFrom = values;
  let keysTo: Int32Array = new Int32Array(length);
  let valuesTo: Int32Array = new Int32Array(length);
  for (let pass = 0, shift = 0; pass < passes; pass++, shift += passBits) {
    const mask = (1 << passBits) - 1;
    places.fill(0);
    for (let k = 0; k < length; k++) places[((keysFrom[k]! >>> shift) & mask) + 1]++;
    for (let d = 1; d <= mask; d++) places[d + 1] += places[d]!;
    for (let k = 0; k < length; k++) {
      const at = places[(keysFrom[k]! >>> shift) & mask]!++;
      keysTo[at] = keysFrom[k]!;
      valuesTo[at] = valuesFrom[k]!;
    }
    [keysFrom, keysTo] = [keysTo, keysFrom];
    [valuesFrom, valuesTo] = [valuesTo, valuesFrom];
  }
  sortedValues.set(valuesFrom.subarray(0, length));
  return keysFrom;
}

function grown(array: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(size);
  bigger.set(array);
  return bigger;
}

/**
 * For every text, the most similar earlier text with ROUGE-L F1 > threshold (ties: the earliest), or null:
 * exactly what NearDuplicateIndex answers when each text is queried with `nearestAbove(text, threshold)` and
 * then added, but for a whole list known up front, which allows a cheaper join.
 *
 * Why it is exact. Texts are visited by increasing token count (ties: list order), each probing the texts
 * visited before it, so every pair is met once, with the longer (or equal) text x of m elements probing the
 * shorter y of n ≤ m. A qualifying pair has L > t(m+n)/2 ≥ t·n, so its overlap O ≥ L exceeds t·n, and also
 * exceeds β(m) = tm/(2−t) (see NearDuplicateIndex). With elements ordered rarest first over the whole list
 * (frequencies are known up front, so the order never changes), the prefix filter then needs only the first
 * n − ⌊t·n⌋ elements of y in the index — about 0.3n at t = 0.7, against 0.46n for the online index, which
 * must allow the stored text to be the longer one — and the first m − ⌊β(m)⌋ of x as probes. The positional
 * filter is NearDuplicateIndex's. Every pair the filters leave is scored exactly, and each text keeps the
 * best score over the pairs with an earlier text (ties: the earlier text of lower index).
 *
 * Pair keys. On templated text every prefix reaches elements held by thousands of texts (names, numbers,
 * template words), and single-element lists make the join quadratic. From threshold 0.5 up, a pair whose
 * least overlap (least[n] below) is at least ℓ (the shape's `shared`) shares its ℓ first common elements
 * z1…zℓ within both ℓ-prefixes (the same argument with ℓ for the ℓ-prefix filter). Elements fall into the
 * shape's fixed classes by a hash of their rank, so some classes hold several of z1…zℓ: at least
 * leastPairsWithinClasses(ℓ, classes) pairs (zi, zj) of one class, each a key that both texts list, as every
 * text lists the same-class pairs of its prefix. Pair keys are held by few texts, and a text must meet that
 * many of them. Keys are hashed to buckets; a collision only adds a count, so only adds a candidate. Short
 * pairs (least overlap below ℓ) go through the single-element lists, which then hold only short texts.
 * Every shape is exact; the join takes the one whose lists a sample of the texts predicts to be cheapest to
 * read (see choosePairKeyShape).
 */

/**
 * A share of nearestEarlierAbove's work, for threads that run one join together: each pair is scored by
 * the visit of its longer text, so visits v ≡ part (mod parts) score disjoint sets of pairs, and the
 * shares' answers merged by mergeNearestEarlier are the whole join's answer.
 */
export interface JoinShare {
  part: number;
  parts: number;
}

/**
 * `pairKeyShape` forces the pair-key filter's shape (one of PAIR_KEY_SHAPES; tests check each is exact);
 * by default the join picks the cheapest for the texts.
 */
export function nearestEarlierAbove(
  texts: readonly string[],
  threshold: number,
  share: JoinShare = { part: 0, parts: 1 },
  pairKeyShape?: PairKeyShape,
): (NearDuplicateMatch<number> | null)[] {
  const plan = prepareJoin(texts, threshold, { pairKeyShape });
  if (plan !== null) return joinShare(plan, share);
  const result: (NearDuplicateMatch<number> | null)[] = new Array<NearDuplicateMatch<number> | null>(texts.length).fill(null);
  if (threshold < 0) {
    // Every earlier text qualifies (tokenless ones included): the online index answers that case.
    const index = new NearDuplicateIndex<number>();
    texts.forEach((text, i) => {
      result[i] = index.nearestAbove(text, threshold);
      index.add(text, i);
    });
  }
  return result;
}

/**
 * What every share of a join reads and none changes: the texts' tokens, their elements, the visit order and
 * the filters' lists, all typed arrays, so that threads can share one copy (see JoinPlanOptions.shared).
 */
export interface JoinPlan {
  count: number;
  threshold: number;
  vocabularySize: number;
  elementCount: number;
  /** Token ids of text i at tokens[start[i] … start[i + 1]); its elements as sorted ranks at the same places of elements. */
  tokens: Int32Array;
  start: Int32Array;
  elements: Int32Array;
  /** Texts with tokens by visit, their token counts, and firstVisit[n]: the first visit of at least n tokens. */
  order: Int32Array;
  lengthOf: Int32Array;
  firstVisit: Int32Array;
  pairKeys: boolean;
  shape: PairKeyShape;
  classOf: Int8Array;
  /** The element lists (compressed rows): list e at postVisit/postPosition[head[e] … head[e + 1]). */
  head: Int32Array;
  postVisit: Int32Array;
  postPosition: Int32Array;
  /** The pair-key lists: bucket b at pairVisit[bucketRange[2b] … bucketRange[2b + 1]); keys hashed >>> bucketShift. */
  bucketRange: Int32Array;
  pairVisit: Int32Array;
  bucketShift: number;
}

export interface JoinPlanOptions {
  /** Forces the pair-key filter's shape (one of PAIR_KEY_SHAPES); by default the cheapest for the texts. */
  pairKeyShape?: PairKeyShape;
  /**
   * The plan's arrays in SharedArrayBuffers, written in place: posted to worker threads, every thread reads
   * the same memory (a copy afterwards cost ~0.15–0.2 s at 100k texts, mostly fresh pages).
   */
  shared?: boolean;
}

/**
 * Texts as one string, text i at source[offsets[i] … offsets[i + 1]): posted to a thread, one string is copied
 * in one piece, where an array of strings is cloned string by string (~0.25 s for 100k texts).
 */
export interface PackedTexts {
  source: string;
  offsets: Int32Array;
}

export function packTexts(texts: readonly string[]): PackedTexts {
  const offsets = new Int32Array(texts.length + 1);
  for (let i = 0; i < texts.length; i++) offsets[i + 1] = offsets[i]! + texts[i]!.length;
  return { source: texts.join(''), offsets };
}

export function unpackTexts({ source, offsets }: PackedTexts): string[] {
  return Array.from({ length: offsets.length - 1 }, (_, i) => source.slice(offsets[i], offsets[i + 1]));
}

/**
 * The part of nearestEarlierAbove that every share needs, built once; null where the join has no work for
 * the filters (threshold ≥ 1 or below 0, fewer than two texts: nearestEarlierAbove answers those itself).
 */
export function prepareJoin(texts: readonly string[] | PackedTexts, threshold: number, options: JoinPlanOptions = {}): JoinPlan | null {
  if (Number.isNaN(threshold)) throw new RangeError('threshold must be a number, got NaN');
  const packed = 'source' in texts ? texts : null;
  const count = packed === null ? (texts as readonly string[]).length : packed.offsets.length - 1;
  if (threshold >= 1 || threshold < 0 || count < 2) return null;
  const lowered = threshold - SLACK;
  const newInts = options.shared ? (length: number) => new Int32Array(new SharedArrayBuffer(4 * length)) : (length: number) => new Int32Array(length);

  // Token ids of every text, then occurrence elements: (token, 1st), (token, 2nd), … as in the online index.
  const vocabulary = new TokenTable(true);
  const ranges = new TokenRanges();
  const start = newInts(count + 1);
  let tokens = new Int32Array(1 << 16);
  for (let i = 0; i < count; i++) {
    if (packed === null) ranges.scan((texts as readonly string[])[i]!);
    else ranges.scanRange(packed.source, packed.offsets[i]!, packed.offsets[i + 1]!);
    const from = start[i]!;
    if (from + ranges.count > tokens.length) tokens = grown(tokens, (from + ranges.count) * 2);
    for (let k = 0; k < ranges.count; k++) tokens[from + k] = vocabulary.intern(ranges, k);
    start[i + 1] = from + ranges.count;
  }
  const total = start[count]!;
  const elements = newInts(total);
  const firstElement = new Int32Array(vocabulary.size).fill(-1);
  const laterElements: (number[] | undefined)[] = [];
  const occurrences = new Int32Array(vocabulary.size);
  let elementCount = 0;
  let frequency = new Int32Array(1024);
  for (let i = 0; i < count; i++) {
    for (let k = start[i]!; k < start[i + 1]!; k++) {
      const id = tokens[k]!;
      const occurrence = occurrences[id]!++;
      let element: number;
      if (occurrence === 0) {
        element = firstElement[id]!;
        if (element < 0) firstElement[id] = element = elementCount++;
      } else {
        const later = (laterElements[id] ??= []);
        if (occurrence > later.length) later.push(elementCount++);
        element = later[occurrence - 1]!;
      }
      if (element >= frequency.length) frequency = grown(frequency, element * 2);
      frequency[element]!++;
      elements[k] = element;
    }
    for (let k = start[i]!; k < start[i + 1]!; k++) occurrences[tokens[k]!] = 0;
  }
  // Rank elements rarest first (ties: by id); each text's elements become its sorted ranks.
  const keys = new Float64Array(elementCount);
  for (let element = 0; element < elementCount; element++) keys[element] = frequency[element]! * elementCount + element;
  keys.sort();
  const rank = new Int32Array(elementCount);
  for (let r = 0; r < elementCount; r++) rank[keys[r]! % elementCount] = r;
  for (let k = 0; k < total; k++) elements[k] = rank[elements[k]!]!;
  for (let i = 0; i < count; i++) sortRange(elements, start[i]!, start[i + 1]!);

  // Texts with tokens by increasing length, ties in list order (texts without tokens score 0 against all):
  // a counting sort, as lengths are small integers.
  let longest = 0;
  for (let i = 0; i < count; i++) longest = Math.max(longest, start[i + 1]! - start[i]!);
  // Per length n ≥ 1, the texts of that length counted, then turned into the visit the first of them takes.
  const nextVisit = new Int32Array(longest + 1);
  for (let i = 0; i < count; i++) nextVisit[start[i + 1]! - start[i]!]++;
  let withTokens = 0;
  for (let n = 1; n <= longest; n++) {
    const ofLength = nextVisit[n]!;
    nextVisit[n] = withTokens;
    withTokens += ofLength;
  }
  const order = newInts(withTokens);
  for (let i = 0; i < count; i++) {
    const n = start[i + 1]! - start[i]!;
    if (n > 0) order[nextVisit[n]!++] = i;
  }

  // From here texts are numbered by visit: lists hold visits in increasing order, so the scratch arrays
  // indexed by visit are read roughly in order, and "earlier than x" and "long enough" are visit ranges.
  const visits = order.length;
  const lengthOf = newInts(visits);
  for (let v = 0; v < visits; v++) lengthOf[v] = start[order[v]! + 1]! - start[order[v]!]!;
  const maxLength = visits > 0 ? lengthOf[visits - 1]! : 0;
  // firstVisit[n]: the first visit of a text with at least n tokens (visits when there is none).
  const firstVisit = newInts(maxLength + 2).fill(visits);
  for (let v = visits - 1; v >= 0; v--) firstVisit[lengthOf[v]!] = v;
  for (let n = maxLength; n >= 0; n--) firstVisit[n] = Math.min(firstVisit[n]!, firstVisit[n + 1]!);
  // The least overlap of a text of n tokens with any partner of m ≥ n tokens is leastAlone(n) (at m = n).
  const leastAlone = (n: number) => (lowered <= 0 ? 1 : Math.floor(lowered * n) + 1);
  const prefixFor = (n: number, shared: number) => Math.min(n, n - leastAlone(n) + shared);
  const pairKeys = lowered >= PAIR_KEY_MIN_THRESHOLD;
  const classOf = options.shared ? new Int8Array(new SharedArrayBuffer(elementCount)) : new Int8Array(elementCount);
  const shape = options.pairKeyShape ?? (pairKeys ? choosePairKeyShape({ elements, start, order, lengthOf, classOf, prefixFor, leastAlone }) : PAIR_KEY_SHAPES[0]!);
  const pairShared = shape.shared;
  fillClasses(classOf, shape.classes);
  // Texts that can be in a pair of least overlap below the shape's ℓ: the element lists need no others.
  const elementIndexed = (n: number) => !pairKeys || leastAlone(n) < pairShared;

  // The element lists, all built at once (compressed rows): list e holds (visit, position of e in the
  // visit's ordered elements) for every text with e in its indexed prefix, by increasing visit.
  const head = newInts(elementCount + 1);
  for (let v = 0; v < visits; v++) {
    if (!elementIndexed(lengthOf[v]!)) continue;
    const from = start[order[v]!]!;
    for (let j = prefixFor(lengthOf[v]!, SHARED_IN_PREFIX) - 1; j >= 0; j--) head[elements[from + j]! + 1]++;
  }
  for (let e = 0; e < elementCount; e++) head[e + 1] += head[e]!;
  const postVisit = newInts(head[elementCount]!);
  const postPosition = newInts(head[elementCount]!);
  const fill = head.slice(0, elementCount);
  for (let v = 0; v < visits; v++) {
    if (!elementIndexed(lengthOf[v]!)) continue;
    const from = start[order[v]!]!;
    const indexed = prefixFor(lengthOf[v]!, SHARED_IN_PREFIX);
    for (let j = 0; j < indexed; j++) {
      const at = fill[elements[from + j]!]!++;
      postVisit[at] = v;
      postPosition[at] = j;
    }
  }

  // The pair-key lists: bucket b holds the visits listing a key that hashes to b, by increasing visit, at
  // pairVisit[bucketRange[2b] … bucketRange[2b + 1]) (start and end side by side: one cache line per lookup).
  let keyCount = 0;
  if (pairKeys) {
    for (let v = 0; v < visits; v++) {
      const prefix = prefixFor(lengthOf[v]!, pairShared);
      keyCount += (prefix * (prefix - 1)) / 2 / shape.classes;
    }
  }
  // One bucket per two to four keys listed: a smaller directory misses the cache less often, which
  // saves more than the lists that share a bucket cost.
  const bucketBits = pairKeys ? Math.min(23, Math.max(10, 30 - Math.clz32(keyCount))) : 0;
  const bucketShift = 32 - bucketBits;
  const buckets = pairKeys ? 1 << bucketBits : 0;
  const bucketRange = newInts(2 * buckets);
  // Each text's keys (buckets) are listed with its visit, in visit order, then sorted by bucket (stable, so
  // each bucket's visits stay in order) and the directory filled in one sequential pass.
  let listedKeys = new Int32Array(pairKeys ? Math.max(1024, keyCount) : 0);
  let listedVisits = new Int32Array(listedKeys.length);
  let keysListed = 0;
  for (let v = 0; v < visits && pairKeys; v++) {
    const from = start[order[v]!]!;
    const prefix = prefixFor(lengthOf[v]!, pairShared);
    const most = (prefix * (prefix - 1)) / 2;
    if (keysListed + most > listedKeys.length) {
      listedKeys = grown(listedKeys, (keysListed + most) * 2);
      listedVisits = grown(listedVisits, listedKeys.length);
    }
    const listed = writePairKeys(elements, from, prefix, classOf, bucketShift, listedKeys, keysListed);
    listedVisits.fill(v, keysListed, listed);
    keysListed = listed;
  }
  const pairVisit = newInts(keysListed);
  const sortedBuckets = sortByKey(listedKeys, listedVisits, keysListed, bucketBits, pairVisit);
  for (let b = 0, k = 0; b < buckets; b++) {
    bucketRange[2 * b] = k;
    while (k < keysListed && sortedBuckets[k] === b) k++;
    bucketRange[2 * b + 1] = k;
  }
  // The token list grew while the texts were scanned, so it is the one array copied into shared memory.
  const planTokens = options.shared ? newInts(total) : tokens.subarray(0, total);
  if (options.shared) planTokens.set(tokens.subarray(0, total));
  return {
    count,
    threshold,
    vocabularySize: vocabulary.size,
    elementCount,
    tokens: planTokens,
    start,
    elements,
    order,
    lengthOf,
    firstVisit,
    pairKeys,
    shape,
    classOf,
    head,
    postVisit,
    postPosition,
    bucketRange,
    pairVisit,
    bucketShift,
  };
}

/** One share of the join (see JoinShare) over a prepared plan, which it leaves as it is. */
export function joinShare(plan: JoinPlan, share: JoinShare): (NearDuplicateMatch<number> | null)[] {
  const { count, threshold, elementCount, tokens, start, elements, order, lengthOf, firstVisit, pairKeys, shape, classOf, head, postVisit, postPosition, pairVisit, bucketShift } = plan;
  const lowered = threshold - SLACK;
  const visits = order.length;
  const maxLength = visits > 0 ? lengthOf[visits - 1]! : 0;
  const pairShared = shape.shared;
  const keysNeeded = leastPairsWithinClasses(pairShared, shape.classes);
  // Per list, the first entry not yet known to be too short for the current visit (lengths only grow), and per
  // bucket the same as the start of its range: the share's own copies, as they move.
  const cursor = head.slice(0, elementCount);
  const bucketRange = plan.bucketRange.slice();

  const bestScore = new Float64Array(count);
  const best = new Int32Array(count).fill(-1);
  const bestLcs = new Int32Array(count);
  const bestSum = new Int32Array(count);
  const seen = new Int32Array(visits);
  // Per candidate met through the element lists: elements met (−1: ruled out) and the overlap bound.
  const overlap = new Int32Array(visits);
  const bound = new Int32Array(visits);
  // Per candidate met through the pair keys: the probing visit's stamp, then the keys met (up to keysNeeded).
  const keyState = new Int32Array(visits);
  const candidates = new Int32Array(visits);
  const slotOf = new Int32Array(plan.vocabularySize).fill(-1);
  let masks = new Uint32Array(256);
  // Per visit, for the partner lengths n ≤ m: least[n], the least LCS (so overlap) a qualifying pair needs.
  const least = new Int32Array(maxLength + 1);
  // Per probe position i: the visits before probeEnd[i] are the partners position i may meet (see below).
  const probeEnd = new Int32Array(maxLength + 1);
  const pairProbeEnd = new Int32Array(maxLength + 1);
  // Per key of the visit's probe: its bucket, its position j (partners come before pairProbeEnd[j]), its list.
  let probeKeys = new Int32Array(0);
  let probeKeyDepth = new Int32Array(0);
  let listStart = new Int32Array(0);
  let listEnd = new Int32Array(0);
  let listHead = new Int32Array(0);

  for (let v = share.part; v < visits; v += share.parts) {
    const x = order[v]!;
    const from = start[x]!;
    const m = lengthOf[v]!;
    const stamp = v + 1;
    // A partner of n ≤ m tokens qualifies only if L > t(m+n)/2, so needs n ≥ least[n] (as L ≤ n).
    let shortest = 0;
    // Partners of at least pairFrom tokens (least overlap ≥ ℓ) are found through pair keys.
    let pairFrom = pairKeys ? 0 : m + 1;
    for (let n = 1; n <= m; n++) {
      least[n] = lowered <= 0 ? 1 : Math.max(1, Math.floor((lowered * (m + n)) / 2) + 1);
      if (shortest === 0 && n >= least[n]!) shortest = n;
      if (pairFrom === 0 && shortest > 0 && least[n]! >= pairShared) pairFrom = n;
    }
    if (shortest === 0) continue;
    if (pairFrom === 0) pairFrom = m + 1;
    let candidateCount = 0;

    // Length-aware probing (PPJoin): against a partner of n tokens only the first m − least[n] + ℓ elements
    // of x are probes, and least[n] grows with n, so position i meets partners up to the longest n it
    // allows; lists are in visit order, so by length, and those partners are the visits before probeEnd[i].
    // Lists start with the texts too short for x, a run that only grows as m does: skipped for good.
    if (shortest < pairFrom) {
      const probes = Math.min(m, m - least[shortest]! + SHARED_IN_PREFIX);
      for (let i = 0, n = pairFrom - 1; i < probes; i++) {
        while (n >= shortest && m - least[n]! + SHARED_IN_PREFIX <= i) n--;
        probeEnd[i] = Math.min(v, firstVisit[n + 1]!);
      }
      const tooShort = firstVisit[shortest]!;
      for (let i = 0; i < probes; i++) {
        const element = elements[from + i]!;
        const end = head[element + 1]!;
        const visitEnd = probeEnd[i]!;
        let p = cursor[element]!;
        while (p < end && postVisit[p]! < tooShort) p++;
        cursor[element] = p;
        for (; p < end; p++) {
          const y = postVisit[p]!;
          if (y >= visitEnd) break;
          if (seen[y] !== stamp) {
            seen[y] = stamp;
            overlap[y] = 0;
            candidates[candidateCount++] = y;
          } else if (overlap[y]! < 0) {
            continue;
          }
          // Positional filter: the elements of x after i and of y after its position bound what is left to share.
          const n = lengthOf[y]!;
          const met = overlap[y]! + 1;
          const overlapBound = met + Math.min(m - 1 - i, n - 1 - postPosition[p]!);
          if (overlapBound < least[n]!) {
            overlap[y] = -1;
          } else {
            overlap[y] = met;
            bound[y] = overlapBound;
          }
        }
      }
    }
    if (pairFrom <= m) {
      // The key (first, second) of positions i < j counts for partners whose prefix in x reaches j.
      const probes = Math.min(m, m - least[pairFrom]! + pairShared);
      for (let j = 0, n = m; j < probes; j++) {
        while (n >= pairFrom && m - least[n]! + pairShared <= j) n--;
        pairProbeEnd[j] = Math.min(v, firstVisit[n + 1]!);
      }
      // pairFrom shrinks as m grows, so the skipped run stops at the too short texts, as for elements.
      const tooShort = firstVisit[shortest]!;
      const elementPartners = firstVisit[pairFrom]!;
      // The probe's keys first, then their directory ranges, then their lists' first entries, then the lists:
      // the reads of different keys, cache misses in large arrays, then do not wait for each other (each loop
      // has no branch that depends on a miss; reading the first entries apart made a share of the 100k bench
      // file's join ~1.45x faster).
      if (probeKeys.length < (probes * (probes - 1)) / 2) {
        const capacity = probes * probes;
        probeKeys = new Int32Array(capacity);
        probeKeyDepth = new Int32Array(capacity);
        listStart = new Int32Array(capacity);
        listEnd = new Int32Array(capacity);
        listHead = new Int32Array(capacity);
      }
      const keyTotal = writePairKeys(elements, from, probes, classOf, bucketShift, probeKeys, 0, probeKeyDepth);
      for (let k = 0; k < keyTotal; k++) {
        listStart[k] = bucketRange[2 * probeKeys[k]!]!;
        listEnd[k] = bucketRange[2 * probeKeys[k]! + 1]!;
      }
      for (let k = 0; k < keyTotal; k++) listHead[k] = listStart[k]! < listEnd[k]! ? pairVisit[listStart[k]!]! : visits;
      const fresh = (stamp << KEY_COUNT_BITS) | 1;
      for (let k = 0; k < keyTotal; k++) {
        const visitEnd = pairProbeEnd[probeKeyDepth[k]!]!;
        // No partner in reach, and none too short to skip (tooShort ≤ visitEnd).
        if (listHead[k]! >= visitEnd) continue;
        const end = listEnd[k]!;
        let p = listStart[k]!;
        while (p < end && pairVisit[p]! < tooShort) p++;
        // A key listed twice by x reads the same start twice, so skips the same run.
        bucketRange[2 * probeKeys[k]!] = p;
        for (; p < end; p++) {
          const y = pairVisit[p]!;
          if (y >= visitEnd) break;
          if (y < elementPartners) continue;
          // A candidate joins the list once, when it has met keysNeeded keys; later keys are not counted.
          const state = keyState[y]!;
          if (state >>> KEY_COUNT_BITS !== stamp) {
            keyState[y] = fresh;
            if (keysNeeded === 1) candidates[candidateCount++] = y;
          } else if ((state & KEY_COUNT_MASK) < keysNeeded) {
            keyState[y] = state + 1;
            if ((state & KEY_COUNT_MASK) + 1 === keysNeeded) candidates[candidateCount++] = y;
          }
        }
      }
    }
    if (candidateCount === 0) continue;

    // x is the pattern: its distinct tokens get mask rows.
    const words = (m + 31) >>> 5;
    let slots = 0;
    for (let k = 0; k < m; k++) if (slotOf[tokens[from + k]!]! < 0) slotOf[tokens[from + k]!] = slots++;
    masks = zeroedMasks(masks, slots, words);
    for (let k = 0; k < m; k++) masks[slotOf[tokens[from + k]!]! * words + (k >>> 5)]! |= 1 << (k & 31);
    for (let c = 0; c < candidateCount; c++) {
      const visit = candidates[c]!;
      const n = lengthOf[visit]!;
      // A qualifying pair shares least[n] elements, so met them that many times in the prefixes, up to ℓ
      // (element lists); pair-key candidates are listed only once they met keysNeeded keys.
      const throughElements = n < pairFrom;
      if (throughElements && overlap[visit]! < Math.min(SHARED_IN_PREFIX, least[n]!)) continue;
      const y = order[visit]!;
      const later = Math.max(x, y);
      const earlier = Math.min(x, y);
      if (best[later]! >= 0) {
        // Exact comparison of the bound 2·O/(m+n) (pair keys: O ≤ L ≤ n) with the later text's best score
        // so far, as in probe().
        const comparison = (throughElements ? bound[visit]! : n) * bestSum[later]! - bestLcs[later]! * (m + n);
        if (comparison < 0 || (comparison === 0 && m + n === bestSum[later]! && earlier > best[later]!)) continue;
      }
      const lcs = bitParallelLcs(masks, words, m, tokens, start[y]!, start[y + 1]!, slotOf);
      const score = lcsF1(lcs, m, n);
      if (!(score > threshold)) continue;
      if (best[later]! < 0 || score > bestScore[later]! || (score === bestScore[later]! && earlier < best[later]!)) {
        best[later] = earlier;
        bestScore[later] = score;
        bestLcs[later] = lcs;
        bestSum[later] = m + n;
      }
    }
    for (let k = 0; k < m; k++) slotOf[tokens[from + k]!] = -1;
  }
  const result: (NearDuplicateMatch<number> | null)[] = new Array<NearDuplicateMatch<number> | null>(count).fill(null);
  for (let i = 0; i < count; i++) if (best[i]! >= 0) result[i] = { ref: best[i]!, score: bestScore[i]! };
  return result;
}

/**
 * The answer of a whole join from its shares' answers (see JoinShare): per text, the best score over the
 * shares, ties to the earliest text, as within one join.
 */
export function mergeNearestEarlier(shares: readonly (readonly (NearDuplicateMatch<number> | null)[])[]): (NearDuplicateMatch<number> | null)[] {
  const merged = [...(shares[0] ?? [])];
  for (const answer of shares.slice(1)) {
    answer.forEach((match, i) => {
      const best = merged[i];
      if (match !== null && (best == null || match.score > best.score || (match.score === best.score && match.ref < best.ref))) merged[i] = match;
    });
  }
  return merged;
}
