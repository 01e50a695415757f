// Commands about files rather than processes: New Run Config, Copy the Arithmetic Example (the
// walkthrough's first step), Export Curated Dataset (`serl export`) and Promote Accepted Items to Seeds.
// Each takes optional arguments so that automation (the end-to-end test) runs it without prompts.
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import * as vscode from 'vscode';
import { applyEdits, modify } from 'jsonc-parser';
import { EXPORT_FORMATS, type ExportFormat } from '../engine/exportItems';
import { promoteAcceptedItems } from '../engine/promoteSeeds';
import { RUN_CONFIG_TEMPLATES, runConfigTemplate, type TemplateMode } from '../engine/runConfigTemplate';
import type { WorkspaceRunCatalog } from '../engine/runFeed';
import { readRunConfig, replayRun, runPaths } from '../engine/runStore';
import { EXCLUDED_FOLDERS_GLOB, runIdArgument, type RunManager } from './runManager';
import { requireTrust } from './trust';

const EXPORT_FORMAT_DETAILS: Record<ExportFormat, string> = {
  jsonl: 'SeRL Studio: item id, instruction, answer, answer source, agreement, step, origin',
  openrlhf: 'OpenRLHF / SeRL prompt data: {"problem", "answer"} (--input_key problem --label_key answer)',
  trl: 'TRL conversational prompt-only: {"prompt": [{"role": "user", "content"}], "answer"}',
};

export function registerDataCommands(
  context: vscode.ExtensionContext,
  catalog: WorkspaceRunCatalog,
  runs: RunManager,
  log: vscode.LogOutputChannel,
): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.commands.registerCommand('serl.newRunConfig', (options?: { mode?: TemplateMode; folder?: string; name?: string }) => newRunConfig(options ?? {})),
    vscode.commands.registerCommand('serl.copyArithmeticExample', (folder?: string) => copyArithmeticExample(context, folder)),
    vscode.commands.registerCommand('serl.exportCuratedData', (target?: unknown, options?: { format?: ExportFormat; out?: string }) =>
      exportCuratedData(context, catalog, runs, log, runIdArgument(target), options ?? {}),
    ),
    vscode.commands.registerCommand('serl.promoteAcceptedItems', (target?: unknown, seedFile?: string) =>
      promoteToSeeds(catalog, runs, log, runIdArgument(target), seedFile),
    ),
  );
}

function seedFileGlobs(): string[] {
  return vscode.workspace.getConfiguration('serl').get<string[]>('seedFiles', ['**/*.seed.jsonl', '**/*.seed.json']);
}

async function findSeedFiles(folder?: vscode.WorkspaceFolder): Promise<vscode.Uri[]> {
  const found = await Promise.all(
    seedFileGlobs().map((pattern) => vscode.workspace.findFiles(folder ? new vscode.RelativePattern(folder, pattern) : pattern, EXCLUDED_FOLDERS_GLOB)),
  );
  return [...new Map(found.flat().map((uri) => [uri.toString(), uri])).values()].sort((a, b) => a.fsPath.localeCompare(b.fsPath));
}

async function pickWorkspaceFolder(folder: string | undefined, title: string): Promise<vscode.Uri | undefined> {
  if (folder) return vscode.Uri.file(folder);
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    const choice = await vscode.window.showInformationMessage('SeRL: open a folder first.', 'Open Folder');
    if (choice) void vscode.commands.executeCommand('workbench.action.files.openFolder');
    return undefined;
  }
  if (folders.length === 1) return folders[0]!.uri;
  return (await vscode.window.showWorkspaceFolderPick({ placeHolder: title }))?.uri;
}

// ---------------------------------------------------------------------------------------------------------
// New Run Config

async function newRunConfig(options: { mode?: TemplateMode; folder?: string; name?: string }): Promise<vscode.Uri | undefined> {
  const mode =
    options.mode ??
    (
      await vscode.window.showQuickPick(
        RUN_CONFIG_TEMPLATES.map((template) => ({ label: template.label, detail: template.detail, mode: template.mode })),
        { title: 'SeRL: New Run Config — which kind of run?' },
      )
    )?.mode;
  if (!mode) return undefined;
  const folder = await pickWorkspaceFolder(options.folder, 'Create the run config in which folder?');
  if (!folder) return undefined;

  let fileName = options.name ? configFileName(options.name) : 'serl.config.json';
  if (!options.name && existsSync(join(folder.fsPath, fileName))) {
    const name = await vscode.window.showInputBox({
      title: 'SeRL: serl.config.json exists; name the new config',
      prompt: 'The file will be <name>.serl.json',
      value: mode,
      validateInput: (value) =>
        !/^[\w.-]+$/.test(value.trim()) ? 'Letters, digits, ".", "_" and "-" only.' : existsSync(join(folder.fsPath, configFileName(value.trim()))) ? 'That file exists.' : null,
    });
    if (!name) return undefined;
    fileName = configFileName(name.trim());
  }
  const file = join(folder.fsPath, fileName);

  const seedFiles = await findSeedFiles(vscode.workspace.getWorkspaceFolder(folder));
  let seeds = 'seeds.seed.jsonl';
  if (seedFiles.length === 1) seeds = relativeSeedPath(file, seedFiles[0]!.fsPath);
  if (seedFiles.length > 1 && !options.mode) {
    const pick = await vscode.window.showQuickPick(
      seedFiles.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
      { title: 'SeRL: which seed file does the run start from?' },
    );
    if (!pick) return undefined;
    seeds = relativeSeedPath(file, pick.uri.fsPath);
  } else if (seedFiles.length > 1) {
    seeds = relativeSeedPath(file, seedFiles[0]!.fsPath);
  }
  try {
    await writeFile(file, runConfigTemplate(mode, seeds), { flag: 'wx' });
  } catch (error) {
    void vscode.window.showErrorMessage(`SeRL: cannot write ${file}: ${(error as Error).message}`);
    return undefined;
  }
  const uri = vscode.Uri.file(file);
  await vscode.window.showTextDocument(uri);
  if (seedFiles.length === 0) {
    void vscode.window.showWarningMessage(`SeRL: no seed file in the workspace yet; ${fileName} points at "${seeds}". Create it or change "seeds".`);
  }
  return uri;
}

function configFileName(name: string): string {
  return name.endsWith('.serl.json') ? name : `${name}.serl.json`;
}

function relativeSeedPath(configFile: string, seedFile: string): string {
  return relative(dirname(configFile), seedFile).split(sep).join('/');
}

// ---------------------------------------------------------------------------------------------------------
// The arithmetic example

async function copyArithmeticExample(context: vscode.ExtensionContext, folder?: string): Promise<vscode.Uri | undefined> {
  const target = await pickWorkspaceFolder(folder, 'Copy the arithmetic world into which folder?');
  if (!target) return undefined;
  let destination = join(target.fsPath, 'arithmetic');
  for (let n = 2; existsSync(destination); n++) destination = join(target.fsPath, `arithmetic-${n}`);
  const source = context.asAbsolutePath(join('examples', 'arithmetic'));
  // The data, the config and the base model; not the scripts that generated them (they import the repository's sources).
  await cp(source, destination, { recursive: true, filter: (path) => !path.endsWith('.ts') });
  const config = join(destination, 'serl.config.json');
  const text = await readFile(config, 'utf8');
  // Its "$schema" points into the repository; in a workspace the extension's schema applies by file name.
  await writeFile(config, applyEdits(text, modify(text, ['$schema'], undefined, {})));
  const uri = vscode.Uri.file(config);
  await vscode.window.showTextDocument(uri);
  void vscode.window.showInformationMessage(
    `SeRL: copied the arithmetic world to ${vscode.workspace.asRelativePath(destination)}: seeds, a tiny base model and this run config. Next: validate the seeds, then start training.`,
  );
  return uri;
}

// ---------------------------------------------------------------------------------------------------------
// Export

async function exportCuratedData(
  context: vscode.ExtensionContext,
  catalog: WorkspaceRunCatalog,
  runs: RunManager,
  log: vscode.LogOutputChannel,
  runId: string | undefined,
  options: { format?: ExportFormat; out?: string },
): Promise<void> {
  if (!requireTrust('Exporting a curated dataset')) return;
  const run = runId ? catalog.find(runId) : await runs.pickRun('Export the curated items of which run?', { accepts: (each) => each.status !== 'created', none: 'no run has items yet' });
  if (!run) {
    if (runId) void vscode.window.showErrorMessage(`SeRL: no run ${runId} in this workspace.`);
    return;
  }
  const format =
    options.format ??
    (
      await vscode.window.showQuickPick(
        EXPORT_FORMATS.map((each) => ({ label: each, detail: EXPORT_FORMAT_DETAILS[each] })),
        { title: `SeRL: export run ${run.runId} as` },
      )
    )?.label;
  if (!format) return;
  const workspace = catalog.workspaceOf(run.runId)!;
  const out =
    options.out ??
    (
      await vscode.window.showSaveDialog({
        title: `SeRL: export run ${run.runId} (${format})`,
        defaultUri: vscode.Uri.file(join(workspace, `${run.runId}.${format}.jsonl`)),
        filters: { 'JSON Lines': ['jsonl'] },
      })
    )?.fsPath;
  if (!out) return;
  const args = [context.asAbsolutePath(join('dist', 'cli.js')), 'export', '--run', run.runId, '--format', format, '--out', out, '--workspace', workspace];
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `SeRL: exporting run ${run.runId} as ${format}…` },
    () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, maxBuffer: 16 << 20 }, (error, _stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr });
        });
        child.stdin?.end();
      }),
  );
  const lines = result.stderr.trim().split('\n').filter((line) => line !== '');
  for (const line of lines) log.info(`export ${run.runId}: ${line}`);
  if (result.code !== 0) {
    void vscode.window.showErrorMessage(`SeRL: export of run ${run.runId} failed: ${lines.slice(-2).join(' ')}`, 'Show Output').then((choice) => choice && log.show());
    return;
  }
  const choice = await vscode.window.showInformationMessage(`SeRL: ${lines.at(-1) ?? `exported run ${run.runId}`}`, 'Open File');
  if (choice) await vscode.window.showTextDocument(vscode.Uri.file(out));
}

// ---------------------------------------------------------------------------------------------------------
// Promote

async function promoteToSeeds(
  catalog: WorkspaceRunCatalog,
  runs: RunManager,
  log: vscode.LogOutputChannel,
  runId: string | undefined,
  seedFileArgument: string | undefined,
): Promise<void> {
  const run = runId ? catalog.find(runId) : await runs.pickRun('Promote the accepted items of which run?', { accepts: (each) => each.status !== 'created', none: 'no run has items yet' });
  if (!run) {
    if (runId) void vscode.window.showErrorMessage(`SeRL: no run ${runId} in this workspace.`);
    return;
  }
  const paths = runPaths(catalog.workspaceOf(run.runId)!, run.runId);
  const replay = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `SeRL: reading run ${run.runId}…` },
    () => replayRun(paths),
  );
  for (const problem of replay.problems) log.warn(`run ${run.runId}: ${problem}`);
  const accepted = replay.pool.acceptedItems().length;
  if (accepted === 0) {
    void vscode.window.showInformationMessage(`SeRL: run ${run.runId} has no accepted items; accept items in the dashboard first.`);
    return;
  }

  let seedFile = seedFileArgument;
  if (!seedFile) {
    const runSeeds = await readRunConfig(paths).then((config) => config.seeds, () => null);
    const candidates = await findSeedFiles();
    const ordered = [...candidates].sort((a, b) => Number(b.fsPath === runSeeds) - Number(a.fsPath === runSeeds));
    const pick = await vscode.window.showQuickPick(
      [
        ...ordered.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), description: uri.fsPath === runSeeds ? 'the run\'s seed file' : undefined, path: uri.fsPath })),
        { label: '$(new-file) New seed file…', path: '' },
      ],
      { title: `SeRL: append ${accepted} accepted item(s) of run ${run.runId} to which seed file?` },
    );
    if (!pick) return;
    seedFile =
      pick.path ||
      (
        await vscode.window.showSaveDialog({
          title: 'SeRL: new seed file',
          defaultUri: vscode.Uri.file(join(dirname(runSeeds ?? paths.dir), `${run.runId}.seed.jsonl`)),
          filters: { 'Seed files': ['jsonl', 'json'] },
        })
      )?.fsPath;
    if (!seedFile) return;
  }
  const open = vscode.workspace.textDocuments.find((document) => document.uri.fsPath === seedFile);
  if (open?.isDirty) {
    void vscode.window.showWarningMessage(`SeRL: ${basename(seedFile)} has unsaved changes; save it first.`);
    return;
  }
  try {
    await mkdir(dirname(seedFile), { recursive: true });
    const result = await promoteAcceptedItems(replay.pool, run.runId, seedFile);
    const notes = [
      ...(result.duplicates.length ? [`${result.duplicates.length} already there`] : []),
      ...(result.withoutAnswer.length ? [`${result.withoutAnswer.length} without an answer left out (the file declares answers)`] : []),
    ];
    const message = `SeRL: added ${result.added.length} item(s) of run ${run.runId} to ${vscode.workspace.asRelativePath(seedFile)}${notes.length ? ` (${notes.join('; ')})` : ''}.`;
    log.info(message);
    const choice = await vscode.window.showInformationMessage(message, 'Open Seed File');
    if (choice) await vscode.window.showTextDocument(vscode.Uri.file(seedFile));
  } catch (error) {
    log.error(`promote ${run.runId}: ${(error as Error).message}`);
    void vscode.window.showErrorMessage(`SeRL: ${(error as Error).message}`);
  }
}
