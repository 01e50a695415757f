// The dashboard page in a real browser (Debian's Chromium through playwright-core): the bundled app under
// its real Content Security Policy, fed host messages the way VS Code delivers them. Checks that model text
// carrying HTML/script payloads renders as text and runs nothing, that 100k rows render only the visible
// ones, and that the keyboard sends decisions to the host. Skips (saying why) when Chromium is absent.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { dashboardHtml } from '../../src/extension/dashboard/html';
import type { HostMessage, ItemDetail, PoolRow, WebviewMessage } from '../../src/protocol/dashboard';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium); the browser tests of the dashboard page are skipped`;

const PAYLOADS = [
  '<script>window.__pwned = "script"</script>',
  '<img src=x onerror="window.__pwned = \'img\'">',
  '<svg onload="window.__pwned = \'svg\'"></svg>',
  '"><iframe srcdoc="<script>parent.__pwned=1</script>">',
  '${window.__pwned = "template"}',
];
const PAYLOAD = PAYLOADS.join(' ');

function row(seq: number, patch: Partial<PoolRow> = {}): PoolRow {
  return {
    id: `s1-${seq}`,
    seq,
    step: 1 + Math.floor(seq / 1000),
    text: `Problem ${seq}: what is ${seq} + ${seq}?`,
    stage: 'kept',
    review: null,
    reason: null,
    detail: '',
    agreement: 0.5,
    majority: String(2 * seq),
    label: null,
    ...patch,
  };
}

describe('dashboard page in Chromium', { skip }, () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let origin = '';
  const violations: string[] = [];

  before(async () => {
    const bundle = await esbuild.build({
      entryPoints: { dashboard: 'webview/src/main.ts' },
      bundle: true,
      platform: 'browser',
      target: 'chrome120',
      format: 'iife',
      mainFields: ['browser', 'module', 'main'],
      outdir: '/bundle',
      write: false,
      logLevel: 'silent',
    });
    const files = new Map(bundle.outputFiles.map((file) => [file.path.replace(/^.*\//, '/'), file.text]));
    const nonce = 'testnonce123';
    server = createServer((request, response) => {
      if (request.url === '/') {
        // What VS Code gives a webview: acquireVsCodeApi, here recording what the page posts and keeping
        // its saved state across reloads (in sessionStorage), as VS Code keeps it while a view is hidden.
        const api = `<script nonce="${nonce}">
          window.__posted = [];
          window.acquireVsCodeApi = () => ({
            postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
            getState: () => JSON.parse(sessionStorage.getItem('vscode-state') ?? 'null') ?? undefined,
            setState: (s) => sessionStorage.setItem('vscode-state', JSON.stringify(s)),
          });
        </script>`;
        const html = dashboardHtml({ cspSource: origin, scriptUri: `${origin}/dashboard.js`, styleUri: `${origin}/dashboard.css`, layout: 'panel', nonce });
        response.writeHead(200, { 'content-type': 'text/html' }).end(html.replace('<div id="app"', `${api}<div id="app"`));
        return;
      }
      const body = files.get(request.url ?? '');
      if (body === undefined) return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': request.url!.endsWith('.css') ? 'text/css' : 'text/javascript' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    page.on('pageerror', (error) => violations.push(`page error: ${error.message}`));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as unknown as { __posted: WebviewMessage[] }).__posted.some((m) => m.type === 'ready'));
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  const send = (messages: HostMessage[]) => page.evaluate((all) => all.forEach((message) => window.postMessage(message, '*')), messages);
  const posted = () => page.evaluate(() => (window as unknown as { __posted: WebviewMessage[] }).__posted);
  const pwned = () => page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned ?? null);

  it('renders payloads in rows and in the detail as text, and runs none of them', async () => {
    await send([
      { type: 'runs', runs: [{ runId: 'run-a', status: 'running', step: 1, rewardMean: 0.5 }], selected: 'run-a' },
      { type: 'pool-reset', runId: 'run-a' },
      { type: 'pool-rows', runId: 'run-a', upserts: [row(0, { text: PAYLOAD, majority: PAYLOADS[1], detail: PAYLOADS[0] }), row(1)], removed: [], total: 2 },
    ]);
    const first = page.locator('#pool-list [role="row"][data-item-id="s1-0"]');
    await first.waitFor();
    assert.equal(await first.locator('[data-column="text"]').textContent(), PAYLOAD);
    assert.equal(await first.locator('[data-column="majority"]').textContent(), PAYLOADS[1]);

    await first.click();
    const request = (await posted()).filter((m) => m.type === 'open-item').at(-1);
    assert.deepEqual(request && { itemId: request.itemId, runId: request.runId }, { itemId: 's1-0', runId: 'run-a' });
    const detail: ItemDetail = {
      row: row(0, { text: PAYLOAD }),
      origin: { kind: 'self-instruct', promptId: 'p1', sources: [{ kind: 'seed', index: 3, text: PAYLOADS[2] }, { kind: 'item', itemId: 's0-1', text: PAYLOADS[3] }] },
      vote: {
        step: 1,
        rewardSource: 'majority',
        majority: PAYLOADS[4],
        agreement: 0.5,
        difficulty: { status: 'kept', detail: PAYLOADS[0] },
        groups: [{ answer: PAYLOADS[4], count: 1, members: [0] }],
        responses: [
          { text: `${PAYLOAD} \\boxed{1}`, answer: PAYLOADS[4], reward: 1, trainedReward: null, tokens: 9, finishReason: 'stop' },
          { text: PAYLOADS[1], answer: null, reward: 0, trainedReward: null, tokens: 4, finishReason: 'length' },
        ],
      },
      nearestSeed: { seed: { kind: 'seed', index: 3, text: PAYLOADS[2] }, score: 0.4, recorded: false },
      nearestItem: null,
      trained: null,
      review: null,
      label: null,
      problems: [PAYLOADS[0]],
    };
    await send([{ type: 'item-detail', runId: 'run-a', requestId: request!.requestId, itemId: 's1-0', detail, error: null }]);
    const pane = page.locator('#item-detail');
    await pane.locator('[data-field="instruction"]').waitFor();
    assert.equal(await pane.locator('[data-field="instruction"]').textContent(), PAYLOAD);
    assert.equal(await pane.locator('[data-response-index="0"] pre').textContent(), `${PAYLOAD} \\boxed{1}`);
    assert.equal(await pane.locator('[data-group-index="0"] td.answer').first().textContent(), `${PAYLOADS[4]}majority`);
    assert.equal(await pane.locator('[data-group-index="1"] td.answer').first().textContent(), '(no answer)');
    assert.match((await pane.locator('[data-field="sources"]').textContent())!, /seed #3 <svg onload=/);

    // Nothing the payloads would have created exists, and nothing ran.
    // (Light DOM only: the vscode-elements' own icons live in their shadow roots.)
    assert.equal(await page.evaluate(() => document.querySelectorAll('img, svg, iframe, script:not([nonce])').length), 0);
    assert.equal(await pwned(), null);
    assert.deepEqual(violations, []);
  });

  it('renders only the visible rows of 100k, and scrolls to any of them', async () => {
    // Built in the page and posted in chunks of 2000, as the host sends them. (A source string: the test
    // runner's transpiler would add helpers to a function that the page does not have.)
    await page.evaluate(`
      window.postMessage({ type: 'pool-reset', runId: 'run-a' }, '*');
      for (let start = 0; start < 100000; start += 2000) {
        const upserts = [];
        for (let seq = start; seq < start + 2000; seq++) {
          upserts.push({ id: 's1-' + seq, seq, step: 1 + Math.floor(seq / 1000), text: 'Problem ' + seq + ': what is ' + seq + ' + ' + seq + '?',
            stage: 'kept', review: null, reason: null, detail: '', agreement: 0.5, majority: String(2 * seq), label: null });
        }
        window.postMessage({ type: 'pool-rows', runId: 'run-a', upserts, removed: [], total: 100000 }, '*');
      }
    `);
    await page.waitForFunction(() => document.getElementById('pool-count')?.textContent?.startsWith('100,000 of 100,000'));
    const rendered = await page.locator('#pool-list .rows [role="row"]').count();
    assert.ok(rendered > 10 && rendered < 80, `${rendered} row elements for 100k rows`);

    await page.locator('#pool-scroll').evaluate((element) => (element.scrollTop = 24 * 70_000));
    await page.locator('#pool-list [data-item-id="s1-70005"]').waitFor();
    assert.ok((await page.locator('#pool-list .rows [role="row"]').count()) < 80);

    // The search narrows 100k rows to the matches.
    await page.locator('#pool-search').evaluate((element: HTMLElement & { value: string }) => {
      element.value = 'problem 99999:';
      element.dispatchEvent(new Event('input'));
    });
    await page.waitForFunction(() => document.getElementById('pool-count')?.textContent?.startsWith('1 of 100,000'));
    assert.equal(await page.locator('#pool-list .rows [role="row"]').getAttribute('data-item-id'), 's1-99999');
  });

  const search = async (text: string, count: string) => {
    await page.locator('#pool-search').evaluate((element: HTMLElement & { value: string }, value) => {
      element.value = value;
      element.dispatchEvent(new Event('input'));
    }, text);
    await page.waitForFunction((prefix) => document.getElementById('pool-count')?.textContent?.startsWith(prefix), `${count} of 100,000`);
  };

  it('moves with j/k and sends accept, veto and relabel for the selected row; a bulk veto sends what the filter shows', async () => {
    await search('7:', '10,000');
    await page.locator('#pool-list').focus();
    const before = (await posted()).length;
    // One key at a time, each awaited: a key pressed while the page still renders the last one's move was
    // applied out of step under load (CI saw s1-27 here).
    for (const [key, selected] of [['j', 's1-7'], ['j', 's1-17'], ['j', 's1-27'], ['k', 's1-17']] as const) {
      await page.keyboard.press(key);
      await page.waitForFunction(
        (id) => document.querySelector('#pool-list [aria-selected="true"]')?.getAttribute('data-item-id') === id,
        selected,
        { timeout: 5000 },
      );
    }
    await page.keyboard.press('v');
    // Triage moves on: the next row is selected after a decision.
    await page.keyboard.press('a');
    await page.keyboard.press('r');
    await page.keyboard.press('Enter');
    const sent = (await posted()).slice(before);
    assert.deepEqual(
      sent.map((m) => (m.type === 'decide' ? [m.type, m.action, m.itemIds] : m.type === 'relabel' || m.type === 'open-item' ? [m.type, m.itemId] : [m.type])),
      [
        ['decide', 'veto', ['s1-17']],
        ['decide', 'accept', ['s1-27']],
        ['relabel', 's1-37'],
        ['open-item', 's1-37'],
      ],
    );
    // Keys typed into the search field stay there.
    await page.locator('#pool-search').focus();
    await page.keyboard.press('v');
    await page.waitForFunction(() => document.getElementById('pool-count')?.textContent?.startsWith('0 of 100,000'));
    assert.equal((await posted()).filter((m) => m.type === 'decide').length, 2);

    await search('7:', '10,000');
    await page.locator('#bulk-veto').click();
    const bulk = (await posted()).at(-1)!;
    assert.equal(bulk.type, 'decide');
    if (bulk.type === 'decide') {
      assert.equal(bulk.itemIds.length, 10_000);
      assert.ok(bulk.itemIds.every((id) => id.endsWith('7')));
      assert.equal(bulk.action, 'veto');
      assert.equal(bulk.scope, 'the current filter, search: "7:"');
    }
    assert.deepEqual(violations, []);
  });

  it('keeps its UI state with setState and asks the host for the data again after a reload', async () => {
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { __posted: WebviewMessage[] }).__posted.some((m) => m.type === 'ready'));
    assert.deepEqual((await posted()).find((m) => m.type === 'ready'), { type: 'ready', runId: 'run-a' });
    assert.equal(await page.locator('#pool-search').evaluate((element: HTMLElement & { value: string }) => element.value), '7:');
    // The host answers `ready` with the rows again; the saved query applies to them.
    await send([
      { type: 'runs', runs: [{ runId: 'run-a', status: 'running', step: 1, rewardMean: 0.5 }], selected: 'run-a' },
      { type: 'pool-reset', runId: 'run-a' },
      { type: 'pool-rows', runId: 'run-a', upserts: [row(7), row(8), row(17)], removed: [], total: 3 },
    ]);
    await page.waitForFunction(() => document.getElementById('pool-count')?.textContent?.startsWith('2 of 3'));
    assert.deepEqual(violations, []);
  });
});
