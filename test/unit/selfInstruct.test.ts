import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createRng } from '../../src/core/random';
import { MATH_SEEDS_FILE, QUESTION_PROMPT_FILE, readMathSeeds, skipUnlessPresent } from '../sharedData';
import {
  applyRuleFilters,
  buildFewShotPrompt,
  normalizeWhitespace,
  parseContinuation,
  SERL_QUESTION_GENERATION_PROMPT,
  type RuleVerdict,
} from '../../src/core/selfInstruct';


const SEEDS = Array.from({ length: 20 }, (_, i) => `Seed problem number ${i} asks for a value.`);
const GENERATED = ['Generated problem alpha asks something.', 'Generated problem beta asks something.', 'Generated gamma asks.'];

describe('buildFewShotPrompt', () => {
  it('uses 8 exemplars: 2 generated and 6 seeds when enough generated items exist', () => {
    const prompt = buildFewShotPrompt(SEEDS, GENERATED, createRng(1));
    assert.equal(prompt.exemplars.length, 8);
    assert.equal(prompt.exemplars.filter((e) => e.source === 'generated').length, 2);
    assert.equal(prompt.exemplars.filter((e) => e.source === 'seed').length, 6);
    assert.equal(prompt.nextNumber, 9);
  });

  it('uses only seeds when nothing has been generated yet, and only as many generated items as exist', () => {
    assert.ok(buildFewShotPrompt(SEEDS, [], createRng(2)).exemplars.every((e) => e.source === 'seed'));
    const one = buildFewShotPrompt(SEEDS, ['Only one generated problem here.'], createRng(2));
    assert.deepEqual(
      one.exemplars.filter((e) => e.source === 'generated').map((e) => e.index),
      [0],
    );
    assert.equal(one.exemplars.length, 8);
  });

  it('samples without replacement and records where every exemplar came from', () => {
    for (let seed = 0; seed < 50; seed++) {
      const prompt = buildFewShotPrompt(SEEDS, GENERATED, createRng(seed));
      const keys = prompt.exemplars.map((e) => `${e.source}:${e.index}`);
      assert.equal(new Set(keys).size, keys.length);
      for (const exemplar of prompt.exemplars) {
        const pool = exemplar.source === 'seed' ? SEEDS : GENERATED;
        assert.equal(exemplar.text, pool[exemplar.index]);
      }
    }
  });

  it('shuffles generated exemplars among the seeds rather than always placing them first', () => {
    const firstSources = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      firstSources.add(buildFewShotPrompt(SEEDS, GENERATED, createRng(seed)).exemplars[0]!.source);
    }
    assert.deepEqual([...firstSources].sort(), ['generated', 'seed']);
  });

  it('is deterministic for a given RNG seed and differs across seeds', () => {
    const a = buildFewShotPrompt(SEEDS, GENERATED, createRng(5));
    const b = buildFewShotPrompt(SEEDS, GENERATED, createRng(5));
    const c = buildFewShotPrompt(SEEDS, GENERATED, createRng(6));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.exemplars, c.exemplars);
  });

  it('writes the chat form and the plain form with SeRL text and a numbered list ending in "9."', () => {
    const prompt = buildFewShotPrompt(SEEDS, GENERATED, createRng(3));
    const list = prompt.exemplars.map((e, i) => `${i + 1}. ${e.text}\n`).join('') + '9.';
    assert.deepEqual(prompt.messages, [
      { role: 'system', content: SERL_QUESTION_GENERATION_PROMPT.system },
      { role: 'user', content: 'Come up with a series of questions:\n' + list },
    ]);
    assert.equal(prompt.text, `${SERL_QUESTION_GENERATION_PROMPT.system}\n\nCome up with a series of questions:\n${list}`);
    assert.match(prompt.text, /\n8\. [^\n]+\n9\.$/);
  });

  it('puts each exemplar on one line: whitespace collapsed, trailing colons removed', () => {
    const prompt = buildFewShotPrompt(['Solve for x:\n\n  $x + 1 = 2$.\tThen list:::'], [], createRng(1), { exemplars: 1 });
    assert.equal(prompt.exemplars[0]!.text, 'Solve for x: $x + 1 = 2$. Then list');
    assert.equal(prompt.messages[1].content, 'Come up with a series of questions:\n1. Solve for x: $x + 1 = 2$. Then list\n2.');
  });

  it('takes the template and the counts as options', () => {
    const prompt = buildFewShotPrompt(SEEDS, GENERATED, createRng(4), {
      exemplars: 4,
      maxGenerated: 1,
      template: { system: 'SYS', user: 'Write more:\n' },
    });
    assert.equal(prompt.exemplars.length, 4);
    assert.equal(prompt.exemplars.filter((e) => e.source === 'generated').length, 1);
    assert.equal(prompt.nextNumber, 5);
    assert.ok(prompt.text.startsWith('SYS\n\nWrite more:\n1. '));
    assert.ok(prompt.text.endsWith('\n5.'));
  });

  it('uses every seed when there are fewer seeds than slots', () => {
    const prompt = buildFewShotPrompt(['First seed problem text.', 'Second seed problem text.'], GENERATED, createRng(8));
    assert.equal(prompt.exemplars.length, 4);
    assert.equal(prompt.nextNumber, 5);
    assert.deepEqual(prompt.exemplars.filter((e) => e.source === 'seed').map((e) => e.index).sort(), [0, 1]);
  });

  it('rejects empty pools and impossible counts', () => {
    assert.throws(() => buildFewShotPrompt([], [], createRng(1)), /no exemplars/);
    assert.throws(() => buildFewShotPrompt(SEEDS, [], createRng(1), { exemplars: 0 }), /exemplars must be a positive integer/);
    assert.throws(() => buildFewShotPrompt(SEEDS, [], createRng(1), { exemplars: 4, maxGenerated: 5 }), /maxGenerated/);
    assert.throws(() => buildFewShotPrompt(SEEDS, [], createRng(1), { maxGenerated: -1 }), /maxGenerated/);
  });

  it('matches SeRL\'s question_generation.json exactly', { skip: skipUnlessPresent(QUESTION_PROMPT_FILE) }, () => {
    const file = JSON.parse(readFileSync(QUESTION_PROMPT_FILE, 'utf8'));
    assert.deepEqual(SERL_QUESTION_GENERATION_PROMPT, file);
  });
});

describe('parseContinuation', () => {
  const parse = (text: string, truncated = false) => parseContinuation(text, { firstNumber: 9, truncated });

  it('splits consecutive numbered items, item 9 being the text before "\\n10."', () => {
    const result = parse(' What is 2 + 3 times 4?\n10. How many primes are below 20?\n11. Find the sum of 1 to 100.');
    assert.deepEqual(result.items, [
      { number: 9, text: 'What is 2 + 3 times 4?' },
      { number: 10, text: 'How many primes are below 20?' },
      { number: 11, text: 'Find the sum of 1 to 100.' },
    ]);
    assert.equal(result.truncatedItem, null);
    assert.equal(result.ignoredTail, '');
  });

  it('accepts "10 ." like self-instruct and leading spaces before the number', () => {
    const result = parse(' A first question here?\n10 . A second question here?\n  11. A third one?');
    assert.deepEqual(result.items.map((i) => i.number), [9, 10, 11]);
    assert.equal(result.items[1]!.text, 'A second question here?');
  });

  it('does not take a line starting with a decimal for an item', () => {
    const result = parse(' A tank holds\n10.5 litres of water. How much is left?\n10. Next question?');
    assert.deepEqual(result.items, [
      { number: 9, text: 'A tank holds\n10.5 litres of water. How much is left?' },
      { number: 10, text: 'Next question?' },
    ]);
  });

  it('stops at a number out of sequence and reports the ignored tail', () => {
    const result = parse(' Q nine here?\n10. Q ten here?\n12. Q twelve?\n13. Q thirteen?');
    assert.deepEqual(result.items.map((i) => i.number), [9, 10]);
    assert.equal(result.ignoredTail, '12. Q twelve?\n13. Q thirteen?');
  });

  it('stops when the model restarts the list or repeats a number', () => {
    assert.deepEqual(parse(' Q nine?\n1. Restarted list?').items.map((i) => i.number), [9]);
    assert.deepEqual(parse(' Q nine?\n10. Q ten?\n10. Q ten again?').items.map((i) => i.number), [9, 10]);
  });

  it('skips blank lines between items but ends the list at prose after a blank line', () => {
    const spaced = parse(' Q nine?\n\n10. Q ten?\n\n\n11. Q eleven?\n');
    assert.deepEqual(spaced.items.map((i) => i.number), [9, 10, 11]);
    assert.equal(spaced.ignoredTail, '');
    const rambling = parse(' Q nine?\n10. Q ten?\n\nThese questions cover algebra.\n11. Q eleven?');
    assert.deepEqual(rambling.items.map((i) => i.number), [9, 10]);
    assert.equal(rambling.ignoredTail, 'These questions cover algebra.\n11. Q eleven?');
  });

  it('keeps a multi-line item together', () => {
    const result = parse(' Evaluate\n$$\\frac{1}{2} + \\frac{1}{3}$$\nas a fraction.\n10. Next?');
    assert.equal(result.items[0]!.text, 'Evaluate\n$$\\frac{1}{2} + \\frac{1}{3}$$\nas a fraction.');
  });

  it('tolerates a restated "9." at the start, also after leading blank lines', () => {
    assert.deepEqual(parse('9. Q nine?\n10. Q ten?').items, [
      { number: 9, text: 'Q nine?' },
      { number: 10, text: 'Q ten?' },
    ]);
    assert.deepEqual(parse('\n\n 9. Q nine?\n10. Q ten?').items.map((i) => i.text), ['Q nine?', 'Q ten?']);
  });

  it('drops the last item when the generation hit its token limit inside it', () => {
    const result = parse(' Q nine?\n10. Q ten?\n11. A question that was cut', true);
    assert.deepEqual(result.items.map((i) => i.number), [9, 10]);
    assert.deepEqual(result.truncatedItem, { number: 11, text: 'A question that was cut' });
  });

  it('keeps the last item when the token limit struck after its line ended', () => {
    const result = parse(' Q nine?\n10. Q ten?\n', true);
    assert.deepEqual(result.items.map((i) => i.number), [9, 10]);
    assert.equal(result.truncatedItem, null);
  });

  it('keeps the last list item when the list had already ended before the cut-off', () => {
    const result = parse(' Q nine?\n10. Q ten?\n\nSome commentary that was cut', true);
    assert.deepEqual(result.items.map((i) => i.number), [9, 10]);
    assert.equal(result.truncatedItem, null);
    assert.equal(result.ignoredTail, 'Some commentary that was cut');
  });

  it('keeps an untruncated last item even without a trailing newline', () => {
    assert.deepEqual(parse(' Q nine?\n10. Q ten?').items.map((i) => i.number), [9, 10]);
  });

  it('skips empty items and handles empty continuations', () => {
    assert.deepEqual(parse('').items, []);
    assert.deepEqual(parse('   \n  ').items, []);
    assert.deepEqual(parse('\n10. Q ten?\n11.\n12. Q twelve?').items.map((i) => i.number), [10, 12]);
    assert.deepEqual(parse('\n\nQ nine on its own line?\n10. Q ten?').items.map((i) => i.text), [
      'Q nine on its own line?',
      'Q ten?',
    ]);
  });

  it('handles CRLF line ends and another first number', () => {
    const result = parseContinuation(' Q five?\r\n6. Q six?\r\n', { firstNumber: 5, truncated: false });
    assert.deepEqual(result.items, [
      { number: 5, text: 'Q five?' },
      { number: 6, text: 'Q six?' },
    ]);
  });
});

describe('normalizeWhitespace', () => {
  it('collapses runs of whitespace of every kind and trims', () => {
    assert.equal(normalizeWhitespace('  a\n\n b\t\tc\u00a0 d  '), 'a b c d');
    assert.equal(normalizeWhitespace(''), '');
    assert.equal(normalizeWhitespace(' \n\t '), '');
  });
});

describe('applyRuleFilters', () => {
  const rejected = (verdict: RuleVerdict) => (verdict.ok ? null : [verdict.reason, verdict.detail]);

  it('accepts a normal problem and returns its normalised text', () => {
    assert.deepEqual(applyRuleFilters('  What is the sum\nof the first  ten primes?  '), {
      ok: true,
      text: 'What is the sum of the first ten primes?',
    });
  });

  it('drops items of 3 words or fewer, keeps 4', () => {
    assert.deepEqual(rejected(applyRuleFilters('Compute 2 + 3')), null);
    assert.deepEqual(rejected(applyRuleFilters('Compute  $2+3$.')), ['too-short', '2 words (minimum 4)']);
    assert.deepEqual(rejected(applyRuleFilters('Evaluate')), ['too-short', '1 word (minimum 4)']);
    assert.deepEqual(rejected(applyRuleFilters('   ')), ['too-short', '0 words (minimum 4)']);
  });

  it('drops items of more than 150 words, keeps exactly 150', () => {
    const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
    assert.equal(applyRuleFilters(`Find ${words(149)}`).ok, true);
    assert.deepEqual(rejected(applyRuleFilters(`Find ${words(150)}`)), ['too-long', '151 words (maximum 150)']);
  });

  it('drops every blocked keyword as a whole word, case-insensitively', () => {
    const cases: [string, string][] = [
      ['Look at the image and count the dots.', 'image'],
      ['The Images show a triangle with sides.', 'Images'],
      ['The graph of y equals x squared.', 'graph'],
      ['Two GRAPHS intersect at one point.', 'GRAPHS'],
      ['In the picture there are five apples.', 'picture'],
      ['The pictures above show ten shapes.', 'pictures'],
      ['Open the file and sum the numbers.', 'file'],
      ['Read the files and count the lines.', 'files'],
      ['On the map the distance is 5 cm.', 'map'],
      ['Two maps have scale 1 to 1000.', 'maps'],
      ['Draw a circle of radius 3 units.', 'Draw'],
      ['Plot the points and find the area.', 'Plot'],
      ['Go to the store and buy 3 apples.', 'Go to'],
    ];
    for (const [text, word] of cases) {
      assert.deepEqual(rejected(applyRuleFilters(text)), ['blocked-keyword', `contains '${word}'`], text);
    }
  });

  it('does not block words that merely contain a keyword', () => {
    for (const text of [
      'How many paragraphs are in the essay of 3 pages?',
      'She draws 3 cards from a deck; what is the probability?',
      'The plotted values sum to what number?',
      'A profile has 4 sides; find its perimeter.',
      'Bitmaps store pixels; how many bytes per row?',
      'Go together to the park with 3 friends.',
      'A mapping f from A to B is bijective; count them.',
      'The résuméimage field is six characters long here.',
    ]) {
      assert.equal(applyRuleFilters(text).ok, true, text);
    }
  });

  it('finds keywords next to punctuation and TeX', () => {
    assert.equal(rejected(applyRuleFilters('The $graph$ of a function has 3 zeros.'))?.[0], 'blocked-keyword');
    assert.equal(rejected(applyRuleFilters('Consider the (image) of f under g now.'))?.[0], 'blocked-keyword');
    assert.equal(rejected(applyRuleFilters('Please go\n to the board and solve it.'))?.[0], 'blocked-keyword');
  });

  it('drops items starting with "Write a program" in any case', () => {
    assert.deepEqual(rejected(applyRuleFilters('Write a program that adds two numbers.')), [
      'write-a-program',
      "starts with 'Write a program'",
    ]);
    assert.equal(rejected(applyRuleFilters('WRITE A PROGRAM that adds two numbers.'))?.[0], 'write-a-program');
    assert.equal(applyRuleFilters('Write a proof that root 2 is irrational.').ok, true);
  });

  it('drops items starting with ASCII punctuation, including $ and backslash', () => {
    assert.deepEqual(rejected(applyRuleFilters('$x$ is a positive integer; find x.')), [
      'bad-first-character',
      "starts with punctuation '$'",
    ]);
    assert.equal(rejected(applyRuleFilters('\\frac{1}{2} of a number is 6; find it.'))?.[0], 'bad-first-character');
    assert.equal(rejected(applyRuleFilters('(a) Find the sum of 2 and 3.'))?.[0], 'bad-first-character');
    assert.equal(rejected(applyRuleFilters('- Find the sum of 2 and 3.'))?.[0], 'bad-first-character');
  });

  it('drops items starting with a non-ASCII character and names its code point', () => {
    assert.deepEqual(rejected(applyRuleFilters('Étant donné x = 3, find x squared.')), [
      'bad-first-character',
      "starts with non-ASCII character 'É' (U+00C9)",
    ]);
    assert.deepEqual(rejected(applyRuleFilters('𝑥 plus 3 equals 5; find x.')), [
      'bad-first-character',
      "starts with non-ASCII character '𝑥' (U+1D465)",
    ]);
    assert.equal(applyRuleFilters('3 apples cost é 6; find one.').ok, true);
  });

  it('checks length before keywords, as self-instruct does', () => {
    assert.equal(rejected(applyRuleFilters('Draw a map'))?.[0], 'too-short');
  });

  it('takes word limits as options', () => {
    assert.equal(applyRuleFilters('Find x now', { minWords: 3, maxWords: 5 }).ok, true);
    assert.deepEqual(rejected(applyRuleFilters('Find x if x plus one is two', { minWords: 3, maxWords: 5 })), [
      'too-long',
      '8 words (maximum 5)',
    ]);
    assert.equal(rejected(applyRuleFilters(' ', { minWords: 0, maxWords: 5 }))?.[0], 'too-short');
  });

  it('gives the same verdicts as self-instruct on the 500 MATH seeds', { skip: skipUnlessPresent(MATH_SEEDS_FILE) }, () => {
    // Counts from self-instruct's post_process_gpt3_response logic run with Python on the same file.
    const problems = readMathSeeds().map((seed) => seed.problem);
    const counts: Record<string, number> = {};
    for (const problem of problems) {
      const verdict = applyRuleFilters(problem);
      const key = verdict.ok ? 'ok' : verdict.reason;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    assert.deepEqual(counts, { ok: 419, 'blocked-keyword': 53, 'too-short': 20, 'too-long': 7, 'bad-first-character': 1 });
    assert.deepEqual(rejected(applyRuleFilters(problems[2]!)), ['too-short', '2 words (minimum 4)']);
  });
});
