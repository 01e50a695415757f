// The run manager's commands: Start Training, Start Curation Only, Stop Run, Resume Run, and the run
// helpers of the Runs tree (reveal folder, show log). Processes live in src/engine/runProcess.ts; this file
// picks configs and runs, checks trust and Python, and tells the user how things went.
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { parse as parseJsonc } from 'jsonc-parser';
import { readJsonl, JSONL_START } from '../engine/jsonl';
import type { WorkspaceRunCatalog } from '../engine/runFeed';
import { CONTROLLER_LOG, ControllerProcess, ControllerStartError, EXIT_STOPPED, type RunStart } from '../engine/runProcess';
import { isRunConfigName } from '../engine/runConfigTemplate';
import { runPaths, type RunStatus, type RunSummary } from '../engine/runStore';
import type { PythonInterpreter } from './python';
import { requireTrust } from './trust';

export const RUN_CONFIG_GLOB = '**/{serl.config.json,*.serl.json}';
export const EXCLUDED_FOLDERS_GLOB = '**/{node_modules,.serl,.git}/**';
const OPEN_DASHBOARD_COMMAND = 'serl.openDashboard';
const RESUMABLE: readonly RunStatus[] = ['stopped', 'interrupted', 'failed', 'created'];

/** A command argument that names a run: a run id, or a Runs tree node (a RunSummary). */
export function runIdArgument(target: unknown): string | undefined {
  if (typeof target === 'string' && target !== '') return target;
  const runId = (target as { runId?: unknown } | null | undefined)?.runId;
  return typeof runId === 'string' ? runId : undefined;
}

export class RunManager implements vscode.Disposable {
  private readonly controllers = new Map<string, ControllerProcess>();
  /** Controllers this window asked to stop: a kill after the grace period is reported by `stop`, not as a failure. */
  private readonly stopping = new Set<ControllerProcess>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly catalog: WorkspaceRunCatalog,
    private readonly python: PythonInterpreter,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const command = (id: string, run: (...args: unknown[]) => unknown) => vscode.commands.registerCommand(id, run);
    this.subscriptions.push(
      command('serl.startTraining', (target) => this.start('train', target)),
      command('serl.startCuration', (target) => this.start('curate', target)),
      command('serl.stopRun', (target) => this.stop(runIdArgument(target))),
      command('serl.resumeRun', (target) => this.resume(runIdArgument(target))),
      command('serl.revealRunFolder', (target) => this.revealFolder(runIdArgument(target))),
      command('serl.showRunLog', (target) => this.showLog(runIdArgument(target))),
      command('serl.refreshRuns', () => this.catalog.refresh()),
      catalog.onDidChange(() => this.attachLiveRuns()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.attachLiveRuns()),
    );
  }

  /**
   * Takes charge of live controllers of this host that this window did not start (started before a reload,
   * or from a terminal), so that Stop works on them and their end is reported. Not in an untrusted
   * workspace: there, nothing is signalled.
   */
  attachLiveRuns(): void {
    if (!vscode.workspace.isTrusted) return;
    for (const run of this.catalog.list()) {
      if (run.status !== 'running' || this.controllers.has(run.runId)) continue;
      const workspace = this.catalog.workspaceOf(run.runId);
      const controller = workspace && ControllerProcess.attach(runPaths(workspace, run.runId), run.controller);
      if (!controller) continue;
      this.log.info(`run ${run.runId}: attached to its controller (pid ${controller.pid})`);
      this.track(controller);
    }
  }

  dispose(): void {
    // The controllers go on: they are detached so that a window reload does not stop a run.
    for (const controller of this.controllers.values()) controller.dispose();
    vscode.Disposable.from(...this.subscriptions).dispose();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Start, resume, stop

  private async start(command: 'train' | 'curate', target: unknown): Promise<void> {
    const what = command === 'train' ? 'Starting training' : 'Starting a curation-only run';
    if (!requireTrust(what)) return;
    const config = await this.pickConfig(target, command);
    if (!config) return;
    const document = vscode.workspace.textDocuments.find((open) => open.uri.toString() === config.toString());
    if (document?.isDirty) await document.save();
    const workspace = vscode.workspace.getWorkspaceFolder(config)?.uri.fsPath ?? dirname(config.fsPath);
    const needsTorch = command === 'train' || (await usesWorkerBackend(config));
    await this.launch({ command, config: config.fsPath }, workspace, config, needsTorch);
  }

  private async resume(runId: string | undefined): Promise<void> {
    if (!requireTrust('Resuming a run')) return;
    const run = runId ? this.knownRun(runId) : await this.pickRun('Resume which run?', { accepts: (candidate) => RESUMABLE.includes(candidate.status), none: 'no stopped, interrupted or failed run to resume' });
    if (!run) return;
    if (!RESUMABLE.includes(run.status)) {
      void vscode.window.showInformationMessage(`SeRL: run ${run.runId} is ${run.status}; only a stopped, interrupted, failed or never started run can be resumed.`);
      return;
    }
    const workspace = this.catalog.workspaceOf(run.runId)!;
    const command = (await isCurationRun(runPaths(workspace, run.runId).events)) ? 'curate' : 'train';
    await this.launch({ command, resume: run.runId }, workspace, vscode.Uri.file(run.dir), command === 'train' || (await usesWorkerBackend(vscode.Uri.file(join(run.dir, 'config.json')))));
  }

  private async launch(start: RunStart, workspace: string, resource: vscode.Uri, needsTorch: boolean): Promise<void> {
    const python = needsTorch ? await this.python.resolveWithTorch(resource) : await this.python.resolve(resource);
    if (!python) return;
    const description = 'resume' in start ? `resuming run ${start.resume}` : `starting ${start.command === 'train' ? 'training' : 'curation'} from ${vscode.workspace.asRelativePath(start.config)}`;
    let controller: ControllerProcess;
    try {
      controller = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `SeRL: ${description}…` },
        () =>
          ControllerProcess.launch(start, {
            node: process.execPath,
            cli: this.context.asAbsolutePath(join('dist', 'cli.js')),
            workspace,
            python: python.path,
            // Inside VS Code, process.execPath is the editor's own executable, which runs as Node.js with this.
            env: { ELECTRON_RUN_AS_NODE: '1' },
          }),
      );
    } catch (error) {
      const output = error instanceof ControllerStartError ? error.output : '';
      this.log.error(`${description}: ${(error as Error).message}${output ? `\n${output}` : ''}`);
      const reason = output.trim().split('\n').filter((line) => line.trim() !== '').slice(-3).join(' ') || (error as Error).message;
      void vscode.window.showErrorMessage(`SeRL: ${description} failed: ${reason}`, 'Show Output').then((choice) => choice && this.log.show());
      return;
    }
    this.log.info(`run ${controller.runId}: ${description} (pid ${controller.pid}, python ${python.path}, log ${controller.logFile})`);
    this.track(controller);
    await this.catalog.refresh();
    if (vscode.workspace.getConfiguration('serl').get<boolean>('openDashboardOnStart', true)) {
      void vscode.commands.executeCommand(OPEN_DASHBOARD_COMMAND, controller.runId);
    }
    void vscode.window.showInformationMessage(`SeRL: run ${controller.runId} started.`, 'Open Dashboard', 'Show Log').then((choice) => {
      if (choice === 'Open Dashboard') void vscode.commands.executeCommand(OPEN_DASHBOARD_COMMAND, controller.runId);
      if (choice === 'Show Log') void this.showLog(controller.runId);
    });
  }

  /** Remembers a controller (one per run) and reports its end. */
  private track(controller: ControllerProcess): void {
    const existing = this.controllers.get(controller.runId);
    // The same process found twice (attached by a rescan while its launch was returning): one watcher is enough.
    if (existing?.pid === controller.pid) existing.dispose();
    this.controllers.set(controller.runId, controller);
    void controller.exited.then(async (exit) => {
      if (this.controllers.get(controller.runId) !== controller) return;
      this.controllers.delete(controller.runId);
      await this.catalog.refresh();
      const status = this.catalog.find(controller.runId)?.status;
      const how = exit.code !== null ? `exit status ${exit.code}` : exit.signal ? `signal ${exit.signal}` : 'no exit status';
      this.log.info(`run ${controller.runId}: controller ended (${how}), run ${status ?? 'unknown'}`);
      const stopRequested = this.stopping.delete(controller);
      if (status === 'completed') {
        void vscode.window.showInformationMessage(`SeRL: run ${controller.runId} completed.`, 'Open Dashboard').then((choice) => {
          if (choice) void vscode.commands.executeCommand(OPEN_DASHBOARD_COMMAND, controller.runId);
        });
      } else if (status === 'stopped' || exit.code === EXIT_STOPPED) {
        void vscode.window.showInformationMessage(`SeRL: run ${controller.runId} stopped; resume it with "SeRL: Resume Run".`);
      } else if (!stopRequested) {
        void vscode.window
          .showErrorMessage(`SeRL: run ${controller.runId} ended ${status ?? ''} (${how}); see its log.`, 'Show Log')
          .then((choice) => choice && this.showLog(controller.runId));
      }
    });
  }

  private async stop(runId: string | undefined): Promise<void> {
    const run = runId ? this.knownRun(runId) : await this.pickRun('Stop which run?', { accepts: (candidate) => candidate.status === 'running', none: 'no run is running' });
    if (!run) return;
    if (!requireTrust('Stopping a run')) return;
    const workspace = this.catalog.workspaceOf(run.runId);
    const controller = this.controllers.get(run.runId) ?? (workspace && ControllerProcess.attach(runPaths(workspace, run.runId), run.controller));
    if (!controller || !controller.alive) {
      const holder = run.controller ? ` (pid ${run.controller.pid} on ${run.controller.hostname})` : '';
      void vscode.window.showInformationMessage(
        run.status === 'running'
          ? `SeRL: run ${run.runId} is held by a controller this window cannot signal${holder}; stop it where it was started.`
          : `SeRL: run ${run.runId} is not running (${run.status}).`,
      );
      return;
    }
    if (this.controllers.get(run.runId) !== controller) this.track(controller);
    this.stopping.add(controller);
    const graceSeconds = vscode.workspace.getConfiguration('serl').get<number>('stopGraceSeconds', 60);
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `SeRL: stopping run ${run.runId} after the current worker call (killed after ${graceSeconds} s)…` },
      () => controller.stop({ graceMs: graceSeconds * 1000 }),
    );
    this.log.info(`run ${run.runId}: stop → ${outcome}`);
    if (outcome === 'killed') {
      void vscode.window.showWarningMessage(`SeRL: run ${run.runId} did not stop within ${graceSeconds} s and was killed; resuming redoes its last step.`);
    }
    await this.catalog.refresh();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Folder and log

  private async revealFolder(runId: string | undefined): Promise<void> {
    const run = runId ? this.knownRun(runId) : await this.pickRun('Reveal which run folder?');
    if (!run) return;
    const uri = vscode.Uri.file(run.dir);
    const inWorkspace = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
    await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
  }

  private async showLog(runId: string | undefined): Promise<void> {
    const run = runId ? this.knownRun(runId) : await this.pickRun('Show the controller log of which run?');
    if (!run) return;
    const log = vscode.Uri.file(join(run.dir, CONTROLLER_LOG));
    try {
      await vscode.window.showTextDocument(log, { preview: true });
    } catch {
      void vscode.window.showInformationMessage(`SeRL: run ${run.runId} has no ${CONTROLLER_LOG} (it was not started from VS Code).`);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Picking

  private knownRun(runId: string): RunSummary | undefined {
    const run = this.catalog.find(runId);
    if (!run) void vscode.window.showErrorMessage(`SeRL: no run ${runId} in this workspace.`);
    return run;
  }

  /** The only matching run, or the user's pick among them (newest first). */
  async pickRun(title: string, filter?: { accepts: (run: RunSummary) => boolean; none: string }): Promise<RunSummary | undefined> {
    await this.catalog.refresh();
    const runs = this.catalog.list().filter((run) => filter?.accepts(run) ?? true).reverse();
    if (runs.length === 0) {
      void vscode.window.showInformationMessage(`SeRL: ${filter?.none ?? 'no runs in this workspace yet'}.`);
      return undefined;
    }
    if (runs.length === 1) return runs[0];
    const pick = await vscode.window.showQuickPick(
      runs.map((run) => ({
        label: run.runId,
        description: run.status,
        detail: run.state ? `step ${run.state.step}${run.state.reward_mean === null ? '' : ` · reward ${run.state.reward_mean.toFixed(3)}`}` : undefined,
        run,
      })),
      { title: `SeRL: ${title}` },
    );
    return pick?.run;
  }

  /** The config a start uses: the argument, the active editor's config, the only one, or the user's pick. */
  private async pickConfig(target: unknown, command: 'train' | 'curate'): Promise<vscode.Uri | undefined> {
    if (target instanceof vscode.Uri) return target;
    if (typeof target === 'string' && target !== '') return vscode.Uri.file(target);
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active && isRunConfigName(active.path)) return active;
    const configs = await vscode.workspace.findFiles(RUN_CONFIG_GLOB, EXCLUDED_FOLDERS_GLOB);
    if (configs.length === 1) return configs[0];
    if (configs.length === 0) {
      const choice = await vscode.window.showInformationMessage(
        'SeRL: no run config (serl.config.json or *.serl.json) in this workspace.',
        'New Run Config',
        'Copy the Arithmetic Example',
      );
      if (choice === 'New Run Config') void vscode.commands.executeCommand('serl.newRunConfig');
      if (choice === 'Copy the Arithmetic Example') void vscode.commands.executeCommand('serl.copyArithmeticExample');
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      configs.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })).sort((a, b) => a.label.localeCompare(b.label)),
      { title: `SeRL: ${command === 'train' ? 'train' : 'curate'} with which run config?` },
    );
    return pick?.uri;
  }
}

/** Whether a config samples with the Python worker (its `backend.kind`, 'worker' when absent): then PyTorch is needed. */
async function usesWorkerBackend(config: vscode.Uri): Promise<boolean> {
  try {
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(config));
    const kind = (parseJsonc(text) as { backend?: { kind?: unknown } } | undefined)?.backend?.kind;
    return kind === undefined || kind === 'worker';
  } catch {
    return true; // the controller reports the unreadable config itself
  }
}

/** Whether the run's first session was a curation-only one (`run-started` marks it), read from line 1 only. */
async function isCurationRun(events: string): Promise<boolean> {
  const first = await readJsonl(events, (value) => ({ ok: true, value }), JSONL_START, { maxBytes: 1 });
  const record = first.records[0]?.value as { type?: unknown; config?: { curation_only?: unknown } } | undefined;
  return record?.type === 'run-started' && record.config?.curation_only === true;
}
