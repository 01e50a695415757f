/// <reference lib="dom" />
// End to end in a real VS Code (code-server + Chromium): the arithmetic world in a fresh workspace, seed
// validation into the Problems view, a short training run started from the command palette, the dashboard's
// pool filling live, keyboard triage written to decisions.jsonl, the vote outcome, the charts, untrusted
// model text rendered inert, Stop Run, and (in a second window) restricted mode refusing to start a run.
// Run by `npm run test:e2e` (scripts/test-e2e.mjs); named *.e2e.ts so the default `npm test` does not collect it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { e2eSkipReason, eventually, processAlive, REPO_ROOT, VsCodeSession } from './harness';

const skip = e2eSkipReason();
if (skip) console.log(`# e2e skipped: ${skip}`);

/** Long enough to still be running when the test stops it; small batches so a step takes seconds on 2 cores. */
const SHORT_RUN = { max_steps: 40, n_samples_per_prompt: 4, rollout_batch_size: 4, train_batch_size: 16, micro_train_batch_size: 16, checkpoint_every: 2 };
const BROKEN_SEEDS = '{"problem": "What is 2+2?", "answer": "4"}\n{"problem": "broken\n{"answer": "5"}\n';
/** Model text is untrusted: these must show up as literal characters, creating no element. */
const PAYLOAD_ITEM_ID = 'e2e-html-payload';
const PAYLOAD_TEXT = '<img src=x onerror="document.title=\'pwned\'"><script>document.title=\'pwned\'</script><b id="e2e-bold">bold</b> & "quotes"';

function makeWorkspace(root: string, name: string): string {
  const workspace = path.join(root, name);
  cpSync(path.join(REPO_ROOT, 'examples', 'arithmetic'), workspace, { recursive: true });
  const configFile = path.join(workspace, 'serl.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8'));
  delete config.$schema;
  Object.assign(config, SHORT_RUN);
  config.self_instruction.batch_size = 8;
  writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
  writeFileSync(path.join(workspace, 'broken.seed.jsonl'), BROKEN_SEEDS);
  return workspace;
}

function readJsonLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

describe('SeRL Studio in VS Code (code-server)', { skip }, () => {
  let session: VsCodeSession;
  let workspace: string;
  let runDir: string;
  let controllerPid: number;
  let vetoedItemId: string;

  before(async () => {
    const root = VsCodeSession.makeRoot();
    workspace = makeWorkspace(root, 'ws');
    session = await VsCodeSession.start(root, workspace, 'trusted', {
      settings: { 'serl.pythonPath': '/usr/bin/python3', 'serl.stopGraceSeconds': 30 },
    });
    await session.screenshot('workbench');
  });

  after(async () => {
    if (!session) return;
    await session.screenshot('end');
    await session.stop();
  });

  const step = (name: string, body: () => Promise<void>) =>
    test(name, async () => {
      try {
        await body();
        await session.screenshot(name);
      } catch (error) {
        const file = await session.screenshot(`FAILED-${name}`);
        throw Object.assign(error as Error, { message: `${(error as Error).message}\n(screenshot: ${file})` });
      }
    });

  step('Validate Seed Files fills the Problems view', async () => {
    await session.runCommand('SeRL: Validate Seed Files');
    await session.notification(/validated \d+ seed file/);
    await session.page.keyboard.press('Control+Shift+M');
    const problems = session.page.locator('.markers-panel');
    await problems.getByText('unterminated string').first().waitFor({ timeout: 30_000 });
    await problems.getByText(/no instruction: expected a "problem"/).first().waitFor({ timeout: 10_000 });
    assert.match(await problems.innerText(), /broken\.seed\.jsonl/);
  });

  step('Start Training from the command palette starts a run and opens its dashboard', async () => {
    await session.runCommand('SeRL: Start Training');
    const runsRoot = path.join(workspace, '.serl', 'runs');
    const runId = await eventually('a run folder', () => (existsSync(runsRoot) ? readdirSync(runsRoot)[0] : undefined), 60_000);
    runDir = path.join(runsRoot, runId);
    await session.notification(`run ${runId} started`);
    controllerPid = (JSON.parse(readFileSync(path.join(runDir, 'controller.json'), 'utf8')) as { pid: number }).pid;
    assert.ok(processAlive(controllerPid), `the controller (pid ${controllerPid}) is running`);
    await session.webview().locator('[data-testid="serl-dashboard"]').waitFor({ timeout: 60_000 });
  });

  step('the pool fills as the run generates items', async () => {
    // Step 1's metrics mean its items were generated and voted.
    await eventually('step 1 metrics in events.jsonl', () => readJsonLines(path.join(runDir, 'events.jsonl')).find((event) => event.type === 'step-metrics'), 150_000);
    const rows = session.webview().locator('#pool-list [role=row][data-item-id]');
    await eventually('pool rows in the dashboard', async () => ((await rows.count()) >= 4 ? true : undefined), 30_000);
    assert.match(await session.webview().locator('#pool-count').innerText(), /\d/);
  });

  step('model text with HTML and script renders as literal text', async () => {
    const generated = readJsonLines(path.join(runDir, 'events.jsonl')).find((event) => event.type === 'item-generated')!;
    // One appended line (O_APPEND) while the controller also appends: the same way its own events arrive.
    appendFileSync(
      path.join(runDir, 'events.jsonl'),
      JSON.stringify({ ...generated, ts: new Date().toISOString(), item_id: PAYLOAD_ITEM_ID, text: PAYLOAD_TEXT }) + '\n',
    );
    const frame = session.webview();
    const row = frame.locator(`#pool-list [role=row][data-item-id="${PAYLOAD_ITEM_ID}"]`);
    await row.waitFor({ timeout: 30_000 });
    assert.ok((await row.innerText()).includes(PAYLOAD_TEXT), `the row shows the payload verbatim: ${await row.innerText()}`);
    assert.equal(await row.locator('img, script, b').count(), 0, 'no element was created from the payload');
    assert.equal(await frame.locator('#e2e-bold').count(), 0);
    await row.click();
    await session.page.keyboard.press('Enter');
    const detail = frame.locator(`#item-detail[data-item-id="${PAYLOAD_ITEM_ID}"]`);
    await detail.waitFor({ timeout: 10_000 });
    assert.ok((await detail.innerText()).includes(PAYLOAD_TEXT), 'the detail shows the payload verbatim');
    assert.equal(await detail.locator('img, script, #e2e-bold').count(), 0, 'no element was created from the payload in the detail');
    assert.notEqual(await frame.locator('body').evaluate(() => document.title), 'pwned');
    await session.page.keyboard.press('Escape');
  });

  step('keyboard triage: j selects, v vetoes, and decisions.jsonl records it', async () => {
    const frame = session.webview();
    await frame.locator('#pool-list').focus();
    await session.page.keyboard.press('Home');
    await session.page.keyboard.press('j');
    const selected = frame.locator('#pool-list [role=row][aria-selected="true"]');
    await selected.waitFor({ timeout: 10_000 });
    vetoedItemId = (await selected.getAttribute('data-item-id'))!;
    assert.ok(vetoedItemId, 'a row is selected');
    await session.page.keyboard.press('k');
    await session.page.keyboard.press('j');
    assert.equal(await frame.locator('#pool-list [role=row][aria-selected="true"]').getAttribute('data-item-id'), vetoedItemId, 'k then j comes back to the same row');
    await session.page.keyboard.press('v');
    const decision = await eventually(
      `a veto of ${vetoedItemId} in decisions.jsonl`,
      () => readJsonLines(path.join(runDir, 'decisions.jsonl')).find((line) => JSON.stringify(line).includes(vetoedItemId) && JSON.stringify(line).includes('veto')),
      20_000,
    );
    assert.ok(decision);
    await frame.locator(`#pool-list [role=row][data-item-id="${vetoedItemId}"]`).and(frame.locator('[data-status="vetoed"]')).waitFor({ timeout: 20_000 });
  });

  step('Enter opens the item with its vote outcome grouped by answer', async () => {
    // The dashboard alone on screen: hide the Problems panel (Ctrl+J) and the Explorer (Ctrl+B).
    await session.page.keyboard.press('Control+J');
    await session.page.keyboard.press('Control+B');
    const frame = session.webview();
    const voted = frame.locator('#pool-list [role=row][data-item-id^="s1-"]').first();
    const itemId = (await voted.getAttribute('data-item-id'))!;
    await voted.click();
    await session.page.keyboard.press('Enter');
    const detail = frame.locator(`#item-detail[data-item-id="${itemId}"]`);
    await detail.waitFor({ timeout: 10_000 });
    const vote = detail.locator('[data-section="vote"]');
    await vote.waitFor();
    assert.ok((await vote.locator('[data-group-index]').count()) >= 1, 'the vote shows at least one answer group');
    assert.ok((await vote.locator('[data-response-index]').count()) >= 1, 'the responses are listed');
    // The README's screenshot: the pool with an item's vote outcome open (scripts/screenshot.mjs sets this).
    if (process.env.SERL_README_SCREENSHOT) await session.page.screenshot({ path: process.env.SERL_README_SCREENSHOT });
  });

  step('the charts show the run', async () => {
    const frame = session.webview();
    await frame.locator('vscode-tab-header[data-tab="charts"]').click();
    const reward = frame.locator('#charts figure[data-chart="reward"]');
    await reward.waitFor({ state: 'visible', timeout: 10_000 });
    await reward.locator('canvas').first().waitFor({ timeout: 10_000 });
    for (const chart of ['items', 'loss', 'kl', 'entropy']) assert.equal(await frame.locator(`#charts figure[data-chart="${chart}"]`).count(), 1, `the ${chart} chart exists`);
    await frame.locator('vscode-tab-header[data-tab="pool"]').click();
  });

  step('Stop Run stops the controller and the run reads stopped', async () => {
    await session.runCommand('SeRL: Stop Run');
    await eventually(`the controller (pid ${controllerPid}) to exit`, () => (processAlive(controllerPid) ? undefined : true), 60_000);
    const summary = await eventually('the run to be listed as stopped', () => {
      const stdout = execFileSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), 'runs', '--workspace', workspace], { encoding: 'utf8' });
      return /\bstopped\b/.test(stdout) ? stdout : undefined;
    }, 20_000);
    assert.match(summary, new RegExp(`${path.basename(runDir)}\\s+stopped`));
  });
});

describe('SeRL Studio in an untrusted workspace', { skip }, () => {
  let session: VsCodeSession;
  let workspace: string;

  before(async () => {
    const root = VsCodeSession.makeRoot();
    workspace = makeWorkspace(root, 'untrusted');
    session = await VsCodeSession.start(root, workspace, 'untrusted', { workspaceTrust: true, settings: { 'serl.pythonPath': '/usr/bin/python3' } });
  });

  after(async () => {
    if (!session) return;
    await session.screenshot('end');
    await session.stop();
  });

  test('Start Training refuses in restricted mode and starts no process', async () => {
    try {
      await session.runCommand('SeRL: Start Training');
      const message = await session.notification(/needs a trusted workspace/);
      assert.match(message, /Starting training needs a trusted workspace/);
      assert.equal(existsSync(path.join(workspace, '.serl', 'runs')), false, 'no run was created');
      await session.screenshot('restricted-refusal');
    } catch (error) {
      await session.screenshot('FAILED-restricted');
      throw error;
    }
  });
});
