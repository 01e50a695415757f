// The training worker's Python interpreter: the `serl.pythonPath` setting (machine scope: a workspace cannot
// point it at a program of its own), else the Python extension's active interpreter, else `python3`; and
// "SeRL: Select Python Interpreter". A start checks that the interpreter imports PyTorch first.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { checkTorch, type TorchCheck } from '../engine/pythonCheck';
import { DEFAULT_PYTHON } from '../engine/worker';
import { requireTrust } from './trust';

export const SELECT_PYTHON_COMMAND = 'serl.selectPythonInterpreter';
const PYTHON_EXTENSION_ID = 'ms-python.python';
/** Debian's python3-torch goes with the system interpreter. */
const SYSTEM_PYTHON = '/usr/bin/python3';

export interface ResolvedPython {
  path: string;
  source: 'setting' | 'python extension' | 'default';
}

/** The part of the Python extension's API used here (`@vscode/python-extension`'s PythonExtension). */
interface PythonExtensionApi {
  environments: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(environment: { id: string; path: string }): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
}

export class PythonInterpreter implements vscode.Disposable {
  /** Interpreters known to import torch, so that each start does not pay for importing it again. */
  private readonly verified = new Map<string, TorchCheck & { ok: true }>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('serl.pythonPath')) this.verified.clear();
      }),
      vscode.commands.registerCommand(SELECT_PYTHON_COMMAND, (path?: unknown) => this.select(typeof path === 'string' ? path : undefined)),
    );
  }

  async resolve(resource?: vscode.Uri): Promise<ResolvedPython> {
    const setting = vscode.workspace.getConfiguration('serl').get<string>('pythonPath', '').trim();
    if (setting !== '') return { path: setting.replace(/^~(?=$|[/\\])/, homedir()), source: 'setting' };
    const fromExtension = await this.fromPythonExtension(resource);
    if (fromExtension) return { path: fromExtension, source: 'python extension' };
    return { path: DEFAULT_PYTHON, source: 'default' };
  }

  /** Resolves the interpreter and checks it imports torch; null after telling the user why not and how to fix it. */
  async resolveWithTorch(resource?: vscode.Uri): Promise<ResolvedPython | null> {
    const python = await this.resolve(resource);
    const check = await this.verify(python);
    if (check.ok) return python;
    const choice = await vscode.window.showErrorMessage(`SeRL: ${check.message}`, 'Select Python Interpreter');
    if (choice) void vscode.commands.executeCommand(SELECT_PYTHON_COMMAND);
    return null;
  }

  /** `checkTorch` behind a progress notification, remembered when it passes. */
  private async verify(python: ResolvedPython): Promise<TorchCheck> {
    const known = this.verified.get(python.path);
    if (known) return known;
    const check = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `SeRL: checking that ${python.path} has PyTorch…` },
      () => checkTorch(python.path),
    );
    if (check.ok) {
      this.verified.set(python.path, check);
      this.log.info(`${python.path} (${python.source}): PyTorch ${check.torchVersion}${check.cuda ? ', CUDA available' : ', CPU only'}`);
    } else {
      this.log.error(`${python.path} (${python.source}): ${check.message}`);
    }
    return check;
  }

  dispose(): void {
    vscode.Disposable.from(...this.subscriptions).dispose();
  }

  private async fromPythonExtension(resource?: vscode.Uri): Promise<string | null> {
    const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
    if (!extension) return null;
    try {
      const api = extension.isActive ? extension.exports : await extension.activate();
      const active = api.environments.getActiveEnvironmentPath(resource);
      const resolved = await api.environments.resolveEnvironment(active);
      return resolved?.executable.uri?.fsPath ?? active.path;
    } catch (error) {
      this.log.warn(`the Python extension did not name an interpreter: ${(error as Error).message}`);
      return null;
    }
  }

  /** "SeRL: Select Python Interpreter"; with a path argument (automation), sets it without asking. */
  private async select(path?: string): Promise<void> {
    let chosen: string | null | undefined = path;
    if (chosen === undefined) {
      const current = await this.resolve();
      const fromExtension = await this.fromPythonExtension();
      type Pick = vscode.QuickPickItem & { value: () => Promise<string | null | undefined> };
      const picks: Pick[] = [
        ...(fromExtension
          ? [{ label: '$(symbol-misc) Use the Python extension\'s interpreter', description: fromExtension, value: async () => null }]
          : []),
        ...(existsSync(SYSTEM_PYTHON) && current.path !== SYSTEM_PYTHON
          ? [{ label: `$(terminal) ${SYSTEM_PYTHON}`, description: 'the system Python (Debian/Ubuntu: apt-get install python3-torch)', value: async () => SYSTEM_PYTHON }]
          : []),
        { label: '$(edit) Enter interpreter path…', value: () => this.askPath(current.path) },
        { label: '$(folder-opened) Browse…', value: () => this.browse() },
        ...(fromExtension ? [] : [{ label: `$(close) Use ${DEFAULT_PYTHON} from PATH`, value: async () => null }]),
      ];
      const pick = await vscode.window.showQuickPick(picks, {
        title: 'SeRL: Python interpreter of the training worker (needs PyTorch)',
        placeHolder: `Now: ${current.path} (${current.source})`,
      });
      if (!pick) return;
      chosen = await pick.value();
      if (chosen === undefined) return;
    }
    // User settings: the setting is machine-scoped, so no workspace can hold it.
    await vscode.workspace.getConfiguration('serl').update('pythonPath', chosen ?? undefined, vscode.ConfigurationTarget.Global);
    this.verified.clear();
    const python = await this.resolve();
    if (!requireTrust(`Checking that ${python.path} has PyTorch`)) return;
    const check = await this.verify(python);
    if (check.ok) {
      void vscode.window.showInformationMessage(`SeRL: training will use ${python.path} (PyTorch ${check.torchVersion}${check.cuda ? ', CUDA' : ', CPU only'}).`);
    } else {
      void vscode.window.showWarningMessage(`SeRL: ${check.message}`);
    }
  }

  private async askPath(current: string): Promise<string | undefined> {
    const value = await vscode.window.showInputBox({
      title: 'SeRL: Python interpreter path',
      value: current,
      prompt: 'A Python 3 with PyTorch, e.g. /usr/bin/python3 or ~/venvs/torch/bin/python',
      ignoreFocusOut: true,
      validateInput: (text) => (text.trim() === '' ? 'Enter a path, or pick another option.' : null),
    });
    return value?.trim();
  }

  private async browse(): Promise<string | undefined> {
    const [uri] = (await vscode.window.showOpenDialog({ title: 'SeRL: Python interpreter', canSelectMany: false, openLabel: 'Use this interpreter' })) ?? [];
    return uri?.fsPath;
  }
}
