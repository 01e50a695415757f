// The OpenAI backend's pure helpers: Retry-After parsing and splitting a usage total over n choices.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apportion, estimateTokens, parseRetryAfter } from '../../src/engine/backends/openai';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  it('reads seconds, an HTTP date and retry-after-ms (which wins)', () => {
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '3' }), now), 3000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '0.5' }), now), 500);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 25 Nov 2026 12:00:07 GMT' }), now), 7000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 25 Nov 2026 11:00:00 GMT' }), now), 0);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '3', 'retry-after-ms': '250' }), now), 250);
  });
  it('gives null when absent or unreadable', () => {
    assert.equal(parseRetryAfter(new Headers(), now), null);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now), null);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after-ms': '-5' }), now), null);
  });
});

describe('apportion', () => {
  it('splits a total in proportion to the weights, summing exactly to it', () => {
    assert.deepEqual(apportion(10, [1, 1]), [5, 5]);
    assert.deepEqual(apportion(10, [1, 1, 1]), [4, 3, 3]);
    assert.deepEqual(apportion(7, [0, 10, 30]), [0, 2, 5]);
    assert.deepEqual(apportion(3, [0, 0]), [2, 1]);
    assert.deepEqual(apportion(5, []), []);
    for (const [total, weights] of [[97, [3, 14, 15, 92, 65]], [1, [5, 5, 5]]] as const) {
      assert.equal(apportion(total, weights).reduce((a, b) => a + b, 0), total);
    }
  });
  it('estimates 4 characters per token', () => {
    assert.equal(estimateTokens(''), 0);
    assert.equal(estimateTokens('abcde'), 2);
  });
});
