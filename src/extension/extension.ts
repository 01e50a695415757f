// Extension host entry: starts the seed-file language server and registers the SeRL commands.
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

let client: LanguageClient | undefined;

function seedFileGlobs(): string[] {
  return vscode.workspace.getConfiguration('serl').get<string[]>('seedFiles', ['**/*.seed.jsonl', '**/*.seed.json']);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
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
