import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerKey, answersEquivalent, extractAnswer } from '../../src/core/answers';
import { MATH_SEEDS_FILE, readMathSeeds, skipUnlessPresent } from '../sharedData';

const seedsSkip = skipUnlessPresent(MATH_SEEDS_FILE);

function assertEquivalent(a: string, b: string): void {
  assert.equal(answersEquivalent(a, b), true, `${JSON.stringify(a)} ≡ ${JSON.stringify(b)}`);
  assert.equal(answersEquivalent(b, a), true, `${JSON.stringify(b)} ≡ ${JSON.stringify(a)}`);
}

function assertNotEquivalent(a: string, b: string): void {
  assert.equal(answersEquivalent(a, b), false, `${JSON.stringify(a)} ≢ ${JSON.stringify(b)}`);
  assert.equal(answersEquivalent(b, a), false, `${JSON.stringify(b)} ≢ ${JSON.stringify(a)}`);
}

function assertSameKey(variants: string[]): void {
  const keys = variants.map(answerKey);
  for (const [index, key] of keys.entries()) assert.equal(key, keys[0], `key of ${JSON.stringify(variants[index])} vs ${JSON.stringify(variants[0])}`);
}

// First, before anything else in this file runs an equivalence: keys must not need the CAS.
describe('answerKey without the Compute Engine', () => {
  it('computes keys of every kind without loading @cortex-js/compute-engine', () => {
    for (const answer of ['\\sqrt{8}', 'x^2+1', '(1,2)', '\\frac{\\pi}{2}', 'x = 11', '\\text{odd}', '50\\%']) answerKey(answer);
    const loaded = Object.keys(require.cache).filter((file) => file.includes('compute-engine'));
    assert.deepEqual(loaded, []);
  });
});

describe('extractAnswer: \\boxed and \\fbox', () => {
  const cases: [string, string][] = [
    ['The sum is $\\boxed{26}$.', '26'],
    ['so $x = \\boxed{\\frac{1}{2}}$', '\\frac{1}{2}'],
    ['nested: \\boxed{\\frac{\\sqrt{3}}{2}} done', '\\frac{\\sqrt{3}}{2}'],
    ['first \\boxed{3}, then corrected: \\boxed{4}', '4'],
    ['\\fbox{7} is the answer', '7'],
    ['\\boxed{1} and finally \\fbox{2}', '2'],
    ['$\\boxed 5$', '5'],
    ['The answer: \\boxed 12 apples', '12'],
    ['\\boxed {9}', '9'],
    ['\\boxed{\\text{(B)}}', '\\text{(B)}'],
    ['\\boxed{\\{1, 2\\}}', '\\{1, 2\\}'],
    ['\\boxed{ 42 }', '42'],
    ['an empty \\boxed{3} then \\boxed{}', '3'],
    ['\\boxed{1} then an unclosed \\boxed{2', '1'],
    ['\\boxed{\\frac{1}{\\boxed{2}}}', '2'],
    ['\\boxed{(1,2)} \\text{ and } $\\boxed{[3,4)}$', '[3,4)'],
    ['Thus \\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}.', '\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}'],
    ['The answer is 7, so \\boxed{8}', '8'],
  ];
  for (const [response, expected] of cases) {
    it(`${JSON.stringify(response)} → ${JSON.stringify(expected)}`, () => assert.equal(extractAnswer(response), expected));
  }

  it('does not take \\boxedx or \\fboxes for a box', () => {
    assert.equal(extractAnswer('\\boxedx{3} and the result 4'), '4');
  });
});

describe('extractAnswer: "the answer is" cues', () => {
  const cases: [string, string][] = [
    ['After simplifying, the answer is 5.', '5'],
    ['The final answer is $\\frac{1}{2}$. I hope it is correct.', '\\frac{1}{2}'],
    ['Final Answer: The final answer is $7$. I hope it is correct.', '7'],
    ['**Answer:** (C)', '(C)'],
    ['Answer: 3.5.', '3.5'],
    ['so our answer = -2', '-2'],
    ['Natalia sold 48 + 24 = 72 clips.\n#### 72', '72'],
    ['The answer is:\n\n$$42$$', '42'],
    ['Therefore the answer is \\(x^2 + 1\\).', 'x^2 + 1'],
    ['The answer is \\[\\frac{3}{4}\\]', '\\frac{3}{4}'],
    ['The answer is: **12**', '12'],
    ['The answer is that there are 12 apples in the basket.', '12'],
    ['We computed 3 and 4. The answer is 21 dogs.', '21 dogs'],
    ['The answer is $5$ apples, not 6.', '5'],
    ['the ANSWER IS 6\nsome trailing text 99', '6'],
  ];
  for (const [response, expected] of cases) {
    it(`${JSON.stringify(response)} → ${JSON.stringify(expected)}`, () => assert.equal(extractAnswer(response), expected));
  }
});

describe('extractAnswer: bare answers stand for themselves', () => {
  const bare = ['1/2', 'x = 11', '\\frac{1}{2}', '(1, 2)', '[1,2)', 'B', '(B)', 'Monday', '21 dogs', '\\text{Evelyn}', '-3,-1,1,3', '50\\%', '\\$1.17', 'y = 2x - 13', '4\\!:\\!51\\!:\\!06 \\text{ p.m.}', 'New York City', 'x=1, y=2'];
  for (const answer of bare) {
    it(`${JSON.stringify(answer)} extracts to itself`, () => assert.equal(extractAnswer(answer), answer));
  }

  it('drops math delimiters around the whole answer and surrounding spaces', () => {
    assert.equal(extractAnswer('$\\frac{1}{2}$'), '\\frac{1}{2}');
    assert.equal(extractAnswer('$$42$$'), '42');
    assert.equal(extractAnswer('\\(x+1\\)'), 'x+1');
    assert.equal(extractAnswer('  315 '), '315');
  });

  it('drops a final period', () => {
    assert.equal(extractAnswer('5.'), '5');
    assert.equal(extractAnswer('3.5.'), '3.5');
  });

  it('keeps two math spans as they are', () => {
    assert.equal(extractAnswer('$a$ or $b$'), '$a$ or $b$');
  });
});

describe('extractAnswer: last-number fallback', () => {
  const cases: [string, string][] = [
    ['I think it is 5', '5'],
    ['It is 5', '5'],
    ['So we have 1,000 apples in total and that is all we have', '1,000'],
    ['The temperature dropped to -12 degrees overnight, which is quite cold for the season here.', '-12'],
    ['we get x=-5 here', '-5'],
    ['we compute 3-5 here', '5'],
    ['About 3.75 of them were left after we shared the remaining ones with everybody else.', '3.75'],
    ['So 3/4 of the cake remains after the party for the family to share tomorrow morning.', '3/4'],
    ['We get .5 this time', '.5'],
    ['In total there are 12,345,678 grains, then 7 more were found after we counted twice.', '7'],
    ['so the total is 12,345,678 grains', '12,345,678'],
    ['Prices are 1,2 and 3 but we need 4 so we get 10', '10'],
    ['(-5) is what we get', '-5'],
  ];
  for (const [response, expected] of cases) {
    it(`${JSON.stringify(response)} → ${JSON.stringify(expected)}`, () => assert.equal(extractAnswer(response), expected));
  }

  it('finds the last number of a long chain of thought', () => {
    const response = `${'We keep reasoning about 7 and 8 here. '.repeat(2000)}Finally we get 314.`;
    assert.equal(extractAnswer(response), '314');
  });

  it('does not cut a long number at the search window', () => {
    const digits = '1234567890'.repeat(1000);
    assert.equal(extractAnswer(`${'text '.repeat(100)} ${digits}`), digits);
  });
});

describe('extractAnswer: nothing to extract', () => {
  const cases = ['', '   ', '\n\n', 'We are stuck and cannot find it, so we give up here.', '\\boxed{', '\\boxed{}', 'The answer is.', '...'];
  for (const response of cases) {
    it(`${JSON.stringify(response)} → null`, () => assert.equal(extractAnswer(response), null));
  }
});

describe('extractAnswer: hostile input', () => {
  it('handles 200k unbalanced \\boxed{ without a deep stack', () => {
    assert.equal(extractAnswer('\\boxed{'.repeat(200_000)), null);
    assert.equal(extractAnswer(`\\boxed{9}${'\\boxed{'.repeat(200_000)}`), '9');
  });

  it('handles 200k boxes and deep brace nesting', () => {
    assert.equal(extractAnswer('\\boxed{1}'.repeat(200_000)), '1');
    const deep = `${'{'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    assert.equal(extractAnswer(`\\boxed{${deep}}`), deep);
  });

  it('handles a megabyte of prose and of numbers', () => {
    assert.equal(extractAnswer('We think. '.repeat(100_000)), null);
    assert.equal(extractAnswer('1 2 3 4 '.repeat(100_000)), '4');
    assert.equal(extractAnswer(`${'the answer is '.repeat(50_000)}`), null);
    assert.equal(extractAnswer(`${'Long reasoning. '.repeat(100_000)}\\boxed{42}`), '42');
  });

  it('handles stray backslashes, braces and lone surrogates', () => {
    for (const text of ['\\', '}{', '\\boxed}', '\ud800', '\\fbox', '$$', '$', '\\boxed{\ud800}']) {
      assert.doesNotThrow(() => extractAnswer(text), JSON.stringify(text));
    }
    assert.equal(extractAnswer('\\boxed{\ud800}'), '\ud800');
  });
});

describe('answerKey: common surface variants share a key', () => {
  const families: string[][] = [
    ['1000', '1,000', '1000.0', '\\$1000', '1{,}000', '1\\,000', '1,\\!000', '\\$1,000.00', '1000 dollars', '+1000'],
    ['1/2', '\\frac{1}{2}', '\\frac12', '\\dfrac{1}{2}', '\\tfrac12', '0.5', '.5', '0,5', '\\left(\\frac{1}{2}\\right)', '\\frac 1 2', '{1/2}'],
    ['-\\frac{3}{2}', '-1.5', '\\frac{-3}{2}', '\\frac{3}{-2}', '-3/2', '−1.5'],
    ['50', '50\\%', '50%', '50 \\text{ percent}', '50.0'],
    ['90', '90^\\circ', '90^{\\circ}', '90°', '90 degrees', '90\\text{ degrees}'],
    ['5', '5 cm', '5\\text{ cm}', '5\\mbox{ cm}', '5cm', '5 \\text{cm}^2', '5 square units', '5\\ \\text{inches}', 'x = 5', 'x=5'],
    ['2\\sqrt{2}', '2\\sqrt2', '2 \\sqrt{2}', '2\\sqrt {2}'],
    ['\\frac{\\pi}{2}', '\\dfrac{\\pi}{2}', '\\frac\\pi2', '\\frac{\\pi}2'],
    ['(1,2)', '(1, 2)', '\\left(1,2\\right)', '\\left( 1, 2 \\right)', '(1.0, 2)'],
    ['\\{1,2\\}', '\\{2,1\\}', '\\left\\{1, 2\\right\\}', '1, 2', '2, 1', '2 , 1', '\\lbrace 1,2\\rbrace', 'x = 1 \\text{ or } x = 2', '1 and 2'],
    ['b', 'B', '(B)', '\\text{(B)}', '\\textbf{B}', '(B) 12', '\\mathrm{(B)}'],
    ['odd', '\\text{odd}', 'Odd', '\\text{ odd }', '\\mathrm{odd}'],
    ['new york', 'New York', '\\text{New York}', 'NewYork'],
    ['x^2+1', 'x^{2}+1', 'x^2 + 1', 'X^2+1'],
    ['\\sin x', 'sin x', '\\sin{x}'],
    ['5/2', '2\\frac12', '2\\frac{1}{2}', '2.5'],
    ['35280', '35,\\!280', '35,280'],
    ['(-\\infty, 3]', '(-\\infty,3]', '\\left(-\\infty, 3\\right]', '(-\\inf, 3]', '(-infinity, 3]'],
    ['\\{\\}', '\\emptyset', '\\varnothing'],
    ['x \\leq 5', 'x \\le 5', 'x<=5', 'x \\leqslant 5'],
    ['\\frac{1}{2}', '$\\frac{1}{2}$', '\\(\\frac{1}{2}\\)', '\\displaystyle\\frac{1}{2}', '\\frac{1}{2}.'],
  ];
  for (const family of families) {
    it(family.map((variant) => JSON.stringify(variant)).join(' '), () => assertSameKey(family));
  }

  it('keeps different answers apart', () => {
    const distinct = ['2', '2.1', '1/2', '(1,2)', '[1,2]', '[1,2)', '(2,1)', '\\{1,2\\}', '1, 2, 3', 'x', 'y', 'odd', 'even', 'a', 'b', '-5', '5', '0', '\\sqrt{2}', '\\sqrt{3}'];
    const keys = distinct.map(answerKey);
    assert.equal(new Set(keys).size, distinct.length, keys.join(' | '));
  });

  it('is deterministic and compact', () => {
    assert.equal(answerKey('\\frac{1}{2}'), '1/2');
    assert.equal(answerKey('1,000'), '1000');
    assert.equal(answerKey('-0'), '0');
    assert.equal(answerKey('\\pi r'), '\\pi r');
    assert.equal(answerKey('(1, \\frac12)'), '(1,1/2)');
  });

  it('never throws on hostile strings', () => {
    const hostile = ['', '\\', '}{', '\\frac', '\\sqrt', '\\text{', '\\left(', '$$', '((]', '\\begin{pmatrix}', '\ud800', '('.repeat(5000), '\\frac{'.repeat(500), '1,'.repeat(900), 'x='.repeat(900), '\\pm'.repeat(600), 'a'.repeat(100_000), '{'.repeat(990) + '}'.repeat(990)];
    for (const text of hostile) assert.equal(typeof answerKey(text), 'string', JSON.stringify(text.slice(0, 20)));
  });
});

describe('answersEquivalent: equal answers', () => {
  const pairs: [string, string][] = [
    // numbers
    ['1,000', '1000'],
    ['1000.0', '1000'],
    ['0,5', '0.5'],
    ['3,14', '3.14'],
    ['2,1', '2.1'],
    ['\\infty', 'infinity'],
    ['(1, 2)', '(1, 2.0000001)'],
    ['1,000.5', '1000.5'],
    ['0.3333333', '\\frac{1}{3}'],
    ['2.0000001', '2'],
    ['1e3', '1000'],
    ['1.5 \\times 10^{3}', '1500'],
    // fractions
    ['\\frac{2}{4}', '\\frac{1}{2}'],
    ['\\frac12', '0.5'],
    ['\\dfrac{3}{8}', '\\dfrac38'],
    ['-\\frac 32', '-\\frac{3}{2}'],
    ['\\tfrac{9}{2}', '4.5'],
    // percent, units, currency
    ['50\\%', '50'],
    ['12.5\\%', '12.5'],
    ['\\$18.90', '18.9'],
    ['\\$ 1500', '1500'],
    ['40\\text{ feet}', '40'],
    ['20\\text{ miles}', '20'],
    ['2 \\text{ euros}', '2'],
    ['22.5^{\\circ}', '22.5'],
    ['10\\text{ inches}', '10'],
    ['€5', '5'],
    // surds, pi, powers
    ['\\sqrt{8}', '2\\sqrt{2}'],
    ['\\sqrt{27}', '3\\sqrt{3}'],
    ['\\frac{\\sqrt{2}}{2}', '\\frac{1}{\\sqrt{2}}'],
    ['\\frac{\\sqrt{6}-\\sqrt{2}}{4}', '0.2588190451'],
    ['\\frac{\\pi}{2}', '\\pi/2'],
    ['2\\pi', '\\pi \\cdot 2'],
    ['2^{10}', '1024'],
    ['3^{-1}', '\\frac13'],
    ['\\sqrt[3]{8}', '2'],
    ['e^{0}', '1'],
    ['\\log_2 8', '3'],
    ['9!', '362880'],
    ['\\binom{5}{2}', '10'],
    ['√2 × π', '\\sqrt{2}\\pi'],
    // complex numbers
    ['18+10i', '10i+18'],
    ['\\frac{1}{4} - \\frac{3}{7} i', '0.25-\\frac{3i}{7}'],
    ['-i', '\\frac{1}{i}'],
    // expressions with variables
    ['x^2+2x+1', '(x+1)^2'],
    ['2x - 13', '-13 + 2x'],
    ['\\sin^2 x + \\cos^2 x', '1'],
    ['\\tan x', '\\frac{\\sin x}{\\cos x}'],
    ['\\frac{x}{2}', '0.5x'],
    ['13a^2(a+7)', '13a^3 + 91a^2'],
    ['\\frac{\\pi r}{h+r}', '\\frac{r\\pi}{r+h}'],
    ['\\sqrt{a^2 + b^2}', '\\sqrt{b^2+a^2}'],
    // tuples, intervals, vectors
    ['(\\frac12, 3)', '(0.5, 3)'],
    ['\\left( -2, \\frac{1}{19} \\right)', '(-2, 1/19)'],
    ['(-\\infty, 3]', '(-\\infty,3]'],
    ['[\\sqrt{4}, 3)', '[2, 3)'],
    ['\\begin{pmatrix} 6/7 \\\\ -4/7 \\\\ 12/7 \\end{pmatrix}', '\\begin{pmatrix} \\frac67 \\\\ -\\frac47 \\\\ \\frac{12}{7} \\end{pmatrix}'],
    ['\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}', '\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}'],
    // sets and lists
    ['\\{1,2\\}', '\\{2,1\\}'],
    ['\\{\\sqrt{4}, 1\\}', '\\{1, 2\\}'],
    ['{1, 2}', '\\{2, 1\\}'],
    ['\\emptyset', '\\{\\}'],
    ['-3,-1,1,3', '3, 1, -1, -3'],
    ['0,\\tfrac32, 2i, -2i', '-2i, 2i, 1.5, 0'],
    ['1 \\pm \\sqrt{2}', '1+\\sqrt2, 1-\\sqrt2'],
    ['\\pm 2', '2, -2'],
    ['x = 2 \\text{ or } x = 3', '3, 2'],
    ['(-\\infty, 1) \\cup (2, \\infty)', '(2, \\infty) \\cup (-\\infty, 1)'],
    // equations and assignments
    ['x = 11', '11'],
    ['x=11', 'y = 11'],
    ['y = \\frac{63}{32}', '\\frac{63}{32}'],
    ['r=6.2', '6.2'],
    ['f(x) = x^2', 'x^2'],
    ['y = 2x - 13', '2x - 13'],
    ['x = y = 5', '5'],
    ['x=1, y=2', 'y=2, x=1'],
    ['a = \\frac12, b = 3', 'b = 3, a = 0.5'],
    ['x^2 + y^2 = 1', 'y^2 + x^2 = 1'],
    ['x^2 + y^2 = 1', '1 = x^2 + y^2'],
    // multiple choice and text
    ['(B)', 'B'],
    ['\\text{(B)}', 'b'],
    ['\\textbf{(C)} 5', 'C'],
    ['\\text{Monday}', 'monday'],
    ['\\text{ odd }', 'Odd'],
    ['Tom and Jerry', 'Jerry and Tom'],
    ['4\\!:\\!51\\!:\\!06 \\text{ p.m.}', '4:51:06 p.m.'],
    ['28_9', '28_{9}'],
  ];
  for (const [a, b] of pairs) {
    it(`${JSON.stringify(a)} ≡ ${JSON.stringify(b)}`, () => assertEquivalent(a, b));
  }
});

describe('answersEquivalent: different answers', () => {
  const pairs: [string, string][] = [
    ['2', '2.1'],
    ['1/2', '2/1'],
    ['1000000', '1000001'],
    ['123456789012345678901234567890', '123456789012345678901234567891'],
    ['0.333', '\\frac{1}{3}'],
    ['1,5', '1, 5'],
    ['1,000', '1.000'],
    ['[5]', '5'],
    ['\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}', '\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}'],
    ['\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}', '(1, 2)'],
    ['\\begin{pmatrix} 1 & 2 \\end{pmatrix}', '\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}'],
    ['-5', '5'],
    ['0', '0.0000001'],
    ['50\\%', '0.5'],
    ['\\frac{\\pi}{6}', '30^\\circ'],
    ['\\sqrt{2}', '1.414'],
    ['\\pi', '3.14'],
    ['2^{60}', '2^{61}'],
    ['(1,2)', '[1,2]'],
    ['(1,2)', '(2,1)'],
    ['[1,2)', '[1,2]'],
    ['(1,2)', '(1,2,3)'],
    ['(1, 2)', '1, 2'],
    ['\\{1,2\\}', '\\{1,2,3\\}'],
    ['\\{1,2\\}', '\\{1,3\\}'],
    ['1, 1, 2', '1, 2, 2'],
    ['x^2+2x+1', '(x-1)^2'],
    ['2x', '2y'],
    ['x+1', 'x'],
    ['\\sin x', '\\cos x'],
    ['x = 11', 'x = 12'],
    ['x=1, y=2', 'x=2, y=1'],
    ['x=1, y=2', 'x=1, z=2'],
    ['x=1, y=2', '(1,2)'],
    ['x^2 + y^2 = 1', 'x^2 + y^2 = 2'],
    ['(B)', '(C)'],
    ['A', 'B'],
    ['odd', 'even'],
    ['even', 'neve'],
    ['Monday', 'Tuesday'],
    ['\\text{yes}', '\\text{no}'],
    ['4:51 p.m.', '4:51 a.m.'],
    ['18+10i', '18-10i'],
    ['\\infty', '-\\infty'],
    ['1/0', '2/0'],
    ['5 \\text{ cm}', '6 \\text{ cm}'],
    ['x < 5', 'x > 5'],
  ];
  for (const [a, b] of pairs) {
    it(`${JSON.stringify(a)} ≢ ${JSON.stringify(b)}`, () => assertNotEquivalent(a, b));
  }
});

describe('answersEquivalent: hostile input', () => {
  it('never throws, and rejects what the CAS must not evaluate', () => {
    const hostile: [string, string][] = [
      ['('.repeat(1500) + '1' + ')'.repeat(1500), '1'],
      ['\\frac{'.repeat(400) + '1' + '}{2}'.repeat(400), '0'],
      ['\\sqrt{'.repeat(300) + '2' + '}'.repeat(300), '1'],
      ['100000!', '5'],
      ['(10^6)!', '5'],
      ['\\sum_{n=1}^{1000000} n', '500000500000'],
      ['\\binom{100000}{50000}', '5'],
      ['2^{2^{2^{2^{2^{2}}}}}', '3'],
      ['10^{10^{10}}+1', '10^{10^{10}}'],
      ['1.5e99999', '3'],
      ['\\frac{', '\\frac{'],
      ['\\frac', '\\sqrt'],
      ['\ud800', '1'],
      ['', '1'],
    ];
    for (const [a, b] of hostile) assert.equal(typeof answersEquivalent(a, b), 'boolean', JSON.stringify(a.slice(0, 30)));
    assert.equal(answersEquivalent('100000!', '5'), false);
    assert.equal(answersEquivalent('\\sum_{n=1}^{1000000} n', '500000500000'), false);
    assert.equal(answersEquivalent('10^{10^{10}}+1', '10^{10^{10}}'), false);
  });

  it('does not let an answer change the CAS state for later answers', () => {
    assert.equal(answersEquivalent('x:=5', '5'), false);
    assert.equal(answersEquivalent('\\operatorname{Assign}(y,5)', '5'), false);
    assert.equal(answersEquivalent('x', '5'), false);
    assert.equal(answersEquivalent('y', '5'), false);
    assert.equal(answersEquivalent('x + 1', '6'), false);
  });

  it('compares unparseable answers by key only', () => {
    assert.equal(answersEquivalent('\\frac{', '\\frac{'), true);
    assert.equal(answersEquivalent('\\frac{', '\\frac{1'), false);
  });
});

describe('MATH seeds (real data)', () => {
  it("extracts every solution's boxed answer, equal in key to the labelled answer", { skip: seedsSkip }, () => {
    const seeds = readMathSeeds();
    assert.equal(seeds.length, 500);
    const mismatched = seeds.filter((seed) => {
      const extracted = extractAnswer(seed.solution);
      return extracted === null || answerKey(extracted) !== answerKey(seed.answer);
    });
    assert.deepEqual(mismatched.map((seed) => seed.answer), []);
    const notThemselves = seeds.filter((seed) => extractAnswer(seed.answer) !== seed.answer.trim());
    assert.deepEqual(notThemselves.map((seed) => seed.answer), []);
  });

  it('finds no two distinct labelled answers equivalent', { skip: seedsSkip }, () => {
    const answers = new Map<string, string>();
    for (const { answer } of readMathSeeds()) {
      if (!answers.has(answerKey(answer))) answers.set(answerKey(answer), answer);
    }
    const distinct = [...answers.values()];
    const equivalent: string[] = [];
    for (let i = 0; i < distinct.length; i++) {
      for (let j = i + 1; j < distinct.length; j++) {
        if (answersEquivalent(distinct[i]!, distinct[j]!)) equivalent.push(`${distinct[i]} ≡ ${distinct[j]}`);
      }
    }
    assert.deepEqual(equivalent, []);
  });
});
