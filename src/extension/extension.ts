// Extension host entry: the "SeRL" log, the seed-file language server, the run catalog and run manager
// (commands, Runs tree, status bar), the data commands, the dashboard that consumes the catalog, and the
// playground.
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { WorkspaceRunCatalog } from '../engine/runFeed';
import { registerDashboard } from './dashboard/index';
import { registerDataCommands } from './dataCommands';
import { registerPlayground } from './playground';
import { PythonInterpreter } from './python';
import { RunManager } from './runManager';
import { registerRunsView } from './runsView';

let client: LanguageClient | undefined;

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
    documentSelector: seedFileGlobs().map((pattern) => ({ scheme: 'file', pattern })),
    initializationOptions: {
      nearDuplicateThreshold: vscode.workspace.getConfiguration('serl').get<number>('nearDuplicateThreshold', 0.7),
    },
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
      void vscode.window.showInformationMessage(`SeRL: validated ${uris.length} seed file(s); see the Problems view.`);
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
