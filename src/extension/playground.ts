// The playground: "SeRL: Sample Seed Item (Playground)" and a code lens on each item of an open seed file.
// It samples n responses to the item with the backend of the workspace's run config, as a rollout would,
// and shows the majority-vote outcome in a read-only Markdown document beside the file. The logic lives in
// src/engine/playground.ts; this file is the VS Code side: picking the item and the config, the API key
// (secret storage, else the environment), trust, progress with cancellation, and the backend's lifetime
// (kept open between samples of one config, closed when idle, on a config change and on dispose).
import { stat } from 'node:fs/promises';
import * as vscode from 'vscode';
import type { RunConfig } from '../core/config';
import type { SamplingBackend } from '../engine/backend';
import { describeBackend, openBackend } from '../engine/backends';
import { loadRunConfigFile } from '../engine/controller';
import {
  playgroundItems,
  playgroundSettings,
  renderPlaygroundMarkdown,
  samplePlaygroundItem,
  type PlaygroundItem,
} from '../engine/playground';
import { requireTrust } from './trust';

export const SAMPLE_SEED_ITEM_COMMAND = 'serl.sampleSeedItem';
export const SET_API_KEY_COMMAND = 'serl.setOpenAIApiKey';
const API_KEY_SECRET = 'serl.openai.apiKey';
const SCHEME = 'serl-playground';
const RUN_CONFIG_GLOB = '**/{serl.config.json,*.serl.json}';
/** A backend unused this long is closed (a worker process or an ONNX session holds memory). */
const IDLE_CLOSE_MS = 5 * 60_000;

/** What the playground needs of the extension's Python resolution (PythonInterpreter): an interpreter with PyTorch. */
export interface PlaygroundPython {
  resolveWithTorch(resource?: vscode.Uri): Promise<{ path: string } | null>;
}

interface OpenBackend {
  /** Config file, its modification time, and the interpreter: a change of any reopens. */
  key: string;
  backend: SamplingBackend;
  description: string;
  idle: NodeJS.Timeout | null;
  users: number;
}

export function registerPlayground(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, python?: PlaygroundPython): vscode.Disposable {
  const playground = new Playground(context, log, python);
  return vscode.Disposable.from(
    playground,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, playground.documents),
    vscode.languages.registerCodeLensProvider(seedFileSelector(), playground.lenses),
    vscode.commands.registerCommand(SAMPLE_SEED_ITEM_COMMAND, (uri?: unknown, index?: unknown) =>
      playground.sample(uri instanceof vscode.Uri ? uri : undefined, typeof index === 'number' ? index : undefined),
    ),
    vscode.commands.registerCommand(SET_API_KEY_COMMAND, () => playground.setApiKey()),
  );
}

function seedFileSelector(): vscode.DocumentSelector {
  const globs = vscode.workspace.getConfiguration('serl').get<string[]>('seedFiles', ['**/*.seed.jsonl', '**/*.seed.json']);
  return globs.map((pattern) => ({ scheme: 'file', pattern }));
}

class PlaygroundDocuments implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private counter = 0;

  /** A new read-only document (a fresh URI per sample, so earlier results stay open as they were). */
  add(title: string, text: string): vscode.Uri {
    const safe = title.replace(/[^A-Za-z0-9._-]+/g, '-');
    const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${safe}.md`, query: String(++this.counter) });
    this.contents.set(uri.toString(), text);
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '(this playground result is gone: sample the item again)';
  }

  forget(uri: vscode.Uri): void {
    this.contents.delete(uri.toString());
  }

  dispose(): void {
    this.contents.clear();
  }
}

class PlaygroundLenses implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.getConfiguration('serl').get<boolean>('playground.codeLens', true)) return [];
    return playgroundItems(document.getText(), document.uri.fsPath).map(
      (item) =>
        new vscode.CodeLens(new vscode.Range(item.line, 0, item.line, 0), {
          title: '$(beaker) Sample (playground)',
          tooltip: 'Sample n responses with the run config\'s backend and show the majority vote',
          command: SAMPLE_SEED_ITEM_COMMAND,
          arguments: [document.uri, item.index],
        }),
    );
  }
}

class Playground implements vscode.Disposable {
  readonly documents = new PlaygroundDocuments();
  readonly lenses = new PlaygroundLenses();
  private open: OpenBackend | null = null;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly python: PlaygroundPython | undefined,
  ) {
    this.subscriptions = [vscode.workspace.onDidCloseTextDocument((document) => document.uri.scheme === SCHEME && this.documents.forget(document.uri))];
  }

  async sample(uri: vscode.Uri | undefined, index: number | undefined): Promise<void> {
    // The run config may start a process or send the API key to its base_url: only in a trusted workspace.
    if (!requireTrust('Sampling in the playground')) return;
    try {
      const target = await this.pickItem(uri, index);
      if (!target) return;
      const configFile = await this.pickConfig(target.document.uri);
      if (!configFile) return;
      const config = await loadRunConfigFile(configFile.fsPath);
      await this.run(target.document, target.item, configFile, config);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.error(`playground: ${message}`);
      void vscode.window.showErrorMessage(`SeRL playground: ${message}`);
    }
  }

  async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({
      title: 'SeRL: API key for OpenAI-compatible servers',
      prompt: 'Kept in VS Code\'s secret storage, used by the playground instead of the environment variable. Empty: forget it.',
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) return;
    if (key.trim() === '') await this.context.secrets.delete(API_KEY_SECRET);
    else await this.context.secrets.store(API_KEY_SECRET, key.trim());
    await this.closeBackend();
    void vscode.window.showInformationMessage(key.trim() === '' ? 'SeRL: API key forgotten.' : 'SeRL: API key stored.');
  }

  private async run(document: vscode.TextDocument, item: PlaygroundItem, configFile: vscode.Uri, config: RunConfig): Promise<void> {
    const settings = playgroundSettings(config);
    const relative = vscode.workspace.asRelativePath(document.uri);
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `SeRL playground: item ${item.index + 1}`, cancellable: true },
      async (progress, token) => {
        progress.report({ message: `opening ${describeBackend(config)}…` });
        const open = await this.backendFor(configFile, config, document.uri);
        if (!open) return null;
        const abort = new AbortController();
        const cancel = token.onCancellationRequested(() => abort.abort());
        open.users++;
        try {
          progress.report({ message: `sampling ${settings.n} responses…` });
          const result = await samplePlaygroundItem(open.backend, item, settings, abort.signal);
          return { result, description: open.description };
        } catch (error) {
          if (token.isCancellationRequested) return null;
          throw error;
        } finally {
          cancel.dispose();
          open.users--;
          this.scheduleIdleClose(open);
        }
      },
    );
    if (!outcome) return;
    const { result, description } = outcome;
    this.log.info(
      `playground: ${relative}:${item.line + 1}: ${settings.n} responses from ${description}, majority ${result.majority ?? '(none)'}, agreement ${result.agreement.toFixed(2)}, ${result.difficulty.status}`,
    );
    const uri = this.documents.add(`${relative}-item-${item.index + 1}`, renderPlaygroundMarkdown(result, { file: relative, backend: description }));
    const shown = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(shown, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
  }

  /** The open backend for this config, or a newly opened one (closing the one of another config). */
  private async backendFor(configFile: vscode.Uri, config: RunConfig, resource: vscode.Uri): Promise<OpenBackend | null> {
    let python: { path: string } | null = null;
    if (config.backend.kind === 'worker') {
      python = this.python ? await this.python.resolveWithTorch(resource) : null;
      if (this.python && !python) return null;
    }
    const modified = (await stat(configFile.fsPath)).mtimeMs;
    const key = JSON.stringify([configFile.fsPath, modified, python?.path ?? null]);
    if (this.open?.key === key) {
      if (this.open.idle) clearTimeout(this.open.idle);
      this.open.idle = null;
      return this.open;
    }
    await this.closeBackend();
    const apiKey = config.backend.kind === 'openai' ? await this.context.secrets.get(API_KEY_SECRET) : undefined;
    const opened = await openBackend(config, {
      ...(python ? { python: python.path } : {}),
      ...(apiKey ? { apiKey } : {}),
      log: (level, message) => {
        if (level === 'error') this.log.error(message);
        else if (level === 'warning') this.log.warn(message);
        else if (level === 'info') this.log.info(message);
        else this.log.debug(message);
      },
    });
    this.log.info(`playground: opened ${opened.description} for ${vscode.workspace.asRelativePath(configFile)}`);
    this.open = { key, backend: opened.backend, description: opened.description, idle: null, users: 0 };
    return this.open;
  }

  private scheduleIdleClose(open: OpenBackend): void {
    if (open.users > 0 || this.open !== open) return;
    if (open.idle) clearTimeout(open.idle);
    open.idle = setTimeout(() => {
      if (this.open === open && open.users === 0) void this.closeBackend();
    }, IDLE_CLOSE_MS);
  }

  private async closeBackend(): Promise<void> {
    const open = this.open;
    this.open = null;
    if (!open) return;
    if (open.idle) clearTimeout(open.idle);
    try {
      await open.backend.close();
      this.log.info(`playground: closed ${open.description}`);
    } catch (error) {
      this.log.warn(`playground: closing ${open.description}: ${(error as Error).message}`);
    }
  }

  /** From a code lens: that item. From the palette: an item of the active seed file (the one at the cursor first). */
  private async pickItem(uri: vscode.Uri | undefined, index: number | undefined): Promise<{ document: vscode.TextDocument; item: PlaygroundItem } | null> {
    const editor = vscode.window.activeTextEditor;
    const document = uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
    if (!document) {
      void vscode.window.showWarningMessage('SeRL playground: open a seed file (JSONL or JSON) and run the command again.');
      return null;
    }
    const items = playgroundItems(document.getText(), document.uri.fsPath);
    if (index !== undefined) {
      const item = items.find((candidate) => candidate.index === index);
      if (!item) throw new Error(`${vscode.workspace.asRelativePath(document.uri)}: item ${index + 1} is gone (the file changed)`);
      return { document, item };
    }
    if (items.length === 0) {
      void vscode.window.showWarningMessage(`SeRL playground: ${vscode.workspace.asRelativePath(document.uri)} has no seed items (objects with "problem", "question" or "instruction").`);
      return null;
    }
    const cursorLine = editor?.document === document ? editor.selection.active.line : -1;
    const atCursor = [...items].reverse().find((item) => item.line <= cursorLine);
    const picks = items.map((item) => ({
      label: `${item.index + 1}. ${item.instruction.replace(/\s+/g, ' ').slice(0, 120)}`,
      description: `line ${item.line + 1}${item.answer === null ? '' : ` · answer ${item.answer}`}`,
      item,
    }));
    const quickPick = vscode.window.createQuickPick<(typeof picks)[number]>();
    quickPick.title = 'SeRL: sample a seed item';
    quickPick.placeholder = 'Pick the item to sample n responses for';
    quickPick.items = picks;
    if (atCursor) quickPick.activeItems = picks.filter((pick) => pick.item === atCursor);
    const chosen = await new Promise<PlaygroundItem | null>((resolvePick) => {
      quickPick.onDidAccept(() => resolvePick(quickPick.selectedItems[0]?.item ?? null));
      quickPick.onDidHide(() => resolvePick(null));
      quickPick.show();
    });
    quickPick.dispose();
    return chosen ? { document, item: chosen } : null;
  }

  /** The run config of the seed file's workspace folder (one found: it; several: the user picks). */
  private async pickConfig(resource: vscode.Uri): Promise<vscode.Uri | null> {
    const folder = vscode.workspace.getWorkspaceFolder(resource);
    const pattern = folder ? new vscode.RelativePattern(folder, RUN_CONFIG_GLOB) : RUN_CONFIG_GLOB;
    const found = (await vscode.workspace.findFiles(pattern, '**/{node_modules,.serl}/**')).sort((a, b) => a.fsPath.localeCompare(b.fsPath));
    if (found.length === 0) {
      void vscode.window.showWarningMessage('SeRL playground: no run config (serl.config.json or *.serl.json) in the workspace: create one with "SeRL: New Run Config".');
      return null;
    }
    if (found.length === 1) return found[0];
    const pick = await vscode.window.showQuickPick(
      found.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
      { title: 'SeRL playground: which run config\'s backend and sampling?' },
    );
    return pick?.uri ?? null;
  }

  dispose(): void {
    void this.closeBackend();
    this.documents.dispose();
    vscode.Disposable.from(...this.subscriptions).dispose();
  }
}
