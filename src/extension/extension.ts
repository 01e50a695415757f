// Extension host entry: the "SeRL" log, the seed-file language server, the run catalog and run manager
// (commands, Runs tree, status bar), the data commands, the dashboard that consumes the catalog, and the
// playground.
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { WorkspaceRunCatalog } from '../engine/runFeed';
import { SeedSummaryRequest, SeedSummarySchema, type SeedServerSettings } from '../protocol/seedServer';
import { registerDashboard } from './dashboard/index';
import { registerDataCommands } from './dataCommands';
import { registerPlayground } from './playground';
import { PythonInterpreter } from './python';
import { RunManager } from './runManager';
import { registerRunsView } from './runsView';

let client: LanguageClient | undefined;

/** Run configs, which the server checks against the config schema (VS Code's jsonValidation adds hovers). */
const RUN_CONFIG_GLOBS = ['**/serl.config.json', '**/*.serl.json'];

function seedFileGlobs(): string[] {
  return vscode.workspace.getConfiguration('serl').get<string[]>('seedFiles', ['**/*.seed.jsonl', '**/*.seed.json']);
}

function workspaceRoots(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((folder) => folder.uri.scheme === 'file').map((folder) => folder.uri.fsPath);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('SeRL', { log: true });
  const catalog = new WorkspaceRunCatalog(workspaceRoots(), { onError: (error) => log.error(`runs: ${(error as Error).message}`) });
  const python = new PythonInterpreter(log);
  const runs = new RunManager(context, catalog, python, log);
  context.subscriptions.push(
    log,
    { dispose: () => catalog.dispose() },
    python,
    runs,
    registerRunsView(catalog),
    registerDataCommands(context, catalog, runs, log),
    registerDashboard(context, catalog, log),
    registerPlayground(context, log, python),
    vscode.workspace.onDidChangeWorkspaceFolders(() => void catalog.setRoots(workspaceRoots())),
  );
  // The first scan's change event attaches the live runs of this host (started before a reload, or in a terminal).
  void catalog.start();

  const serverModule = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [...seedFileGlobs(), ...RUN_CONFIG_GLOBS].map((pattern) => ({ scheme: 'file', pattern })),
    initializationOptions: {
      nearDuplicateThreshold: vscode.workspace.getConfiguration('serl').get<number>('nearDuplicateThreshold', 0.7),
      seedFiles: seedFileGlobs(),
    } satisfies SeedServerSettings,
    // Setting changes reach the server, which re-reads serl.seedFiles and the threshold.
    synchronize: { configurationSection: 'serl' },
  };
  client = new LanguageClient('serl', 'SeRL Seed Files', serverOptions, clientOptions);

  context.subscriptions.push(
    vscode.commands.registerCommand('serl.validateSeeds', async () => {
      // Opening a document syncs it to the server, which validates it and fills the Problems view.
      const found = await Promise.all(seedFileGlobs().map((pattern) => vscode.workspace.findFiles(pattern, '**/node_modules/**')));
      const uris = [...new Map(found.flat().map((uri) => [uri.toString(), uri])).values()];
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'SeRL: validating seed files', cancellable: true },
        async (progress, token) => {
          for (const uri of uris) {
            if (token.isCancellationRequested) break;
            progress.report({ message: vscode.workspace.asRelativePath(uri), increment: 100 / uris.length });
            await vscode.workspace.openTextDocument(uri);
          }
        },
      );
      const summary = SeedSummarySchema.safeParse(await client!.sendRequest(SeedSummaryRequest, {}));
      const counts = summary.success
        ? summary.data.files.reduce(
            (sum, file) => ({ errors: sum.errors + file.bySeverity.error, warnings: sum.warnings + file.bySeverity.warning }),
            { errors: 0, warnings: 0 },
          )
        : null;
      if (!summary.success) log.warn(`serl/seedSummary answered with a bad summary: ${summary.error.message}`);
      const detail = counts ? `: ${counts.errors} error(s), ${counts.warnings} warning(s)` : '';
      void vscode.window.showInformationMessage(`SeRL: validated ${uris.length} seed file(s)${detail}; see the Problems view.`);
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
