// The dashboard's message validation (both directions) and its page's Content Security Policy.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentSecurityPolicy, dashboardHtml, newNonce } from '../../src/extension/dashboard/html';
import { parseHostMessage, parseWebviewMessage, type PoolRow } from '../../src/protocol/dashboard';

const row: PoolRow = {
  id: 's1-0',
  seq: 0,
  step: 1,
  text: '<script>alert(1)</script>',
  stage: 'kept',
  review: null,
  reason: null,
  detail: '',
  agreement: 0.5,
  majority: '42',
  label: null,
};

describe('dashboard messages', () => {
  it('accepts well-formed messages both ways', () => {
    assert.equal(parseHostMessage({ type: 'pool-rows', runId: 'r', upserts: [row], removed: [], total: 1 }).ok, true);
    assert.equal(parseWebviewMessage({ type: 'ready', runId: null }).ok, true);
    assert.equal(parseWebviewMessage({ type: 'decide', runId: 'r', requestId: 1, action: 'veto', itemIds: ['s1-0'], scope: '' }).ok, true);
  });

  it('names the message type and the field path of what is wrong', () => {
    const bad = parseHostMessage({ type: 'pool-rows', runId: 'r', upserts: [row, { ...row, stage: 'deleted', agreement: 2 }], removed: [], total: 1 });
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.error : '', /^pool-rows: upserts\[1\]\.stage: .*; upserts\[1\]\.agreement: /);
    const decide = parseWebviewMessage({ type: 'decide', runId: 'r', requestId: 1, action: 'veto', itemIds: [''], scope: '' });
    assert.match(!decide.ok ? decide.error : '', /^decide: itemIds\[0\]: /);
    const unknown = parseWebviewMessage({ type: 'eval', code: 'x' });
    assert.match(!unknown.ok ? unknown.error : '', /^unknown message type "eval" \(known: ready, select-run, /);
    assert.deepEqual(parseWebviewMessage(null), { ok: false, error: 'not an object' });
    assert.deepEqual(parseHostMessage([1]), { ok: false, error: 'not an object' });
  });
});

describe('dashboard page', () => {
  const page = {
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/dashboard.js',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/dashboard.css',
    layout: 'panel' as const,
    nonce: 'abc123',
  };

  it('has a strict CSP: nothing by default, scripts only with the nonce, styles from the extension or with the nonce', () => {
    assert.equal(
      contentSecurityPolicy(page.cspSource, 'abc123'),
      `default-src 'none'; script-src 'nonce-abc123'; style-src ${page.cspSource} 'nonce-abc123'`,
    );
    const html = dashboardHtml(page);
    assert.ok(html.includes(`content="default-src 'none'; script-src 'nonce-abc123'; style-src ${page.cspSource} 'nonce-abc123'"`));
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]);
    assert.deepEqual(scripts, [`<script nonce="abc123" src="${page.scriptUri}">`]);
    // Every resource comes from the extension's own webview origin.
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]*)"/g)) assert.ok(url.startsWith(`${page.cspSource}/`), url);
    assert.match(html, /<body data-layout="panel">/);
  });

  it('makes a fresh nonce per page and escapes what it puts in attributes', () => {
    const nonces = new Set(Array.from({ length: 50 }, newNonce));
    assert.equal(nonces.size, 50);
    for (const nonce of nonces) assert.match(nonce, /^[A-Za-z0-9+/]{22}$/);
    const html = dashboardHtml({ ...page, scriptUri: 'x"><script>alert(1)</script>' });
    assert.ok(!html.includes('<script>alert(1)</script>'));
    assert.ok(html.includes('x&quot;&gt;&lt;script&gt;'));
  });
});
