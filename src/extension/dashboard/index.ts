// Registers the dashboard: the `serl.dashboard` webview view (sidebar) and the `serl.openDashboard` command,
// which opens it in an editor tab. Each page gets its own DashboardController; the page keeps its UI state
// with getState/setState and asks for the data again (`ready`) whenever it is re-created, so nothing
// depends on retainContextWhenHidden.
import * as vscode from 'vscode';
import type { RunCatalog } from '../runFeed';
import { DashboardController, type DashboardUi } from './controller';
import { dashboardHtml, type DashboardLayout } from './html';
import { cachedSeedTexts } from './runModel';

export const DASHBOARD_VIEW_ID = 'serl.dashboard';
export const DASHBOARD_PANEL_TYPE = 'serl.dashboardPanel';
export const OPEN_DASHBOARD_COMMAND = 'serl.openDashboard';

export function registerDashboard(context: vscode.ExtensionContext, catalog: RunCatalog, log: vscode.LogOutputChannel): vscode.Disposable {
  const bundleRoot = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
  const seedTexts = cachedSeedTexts();
  const ui: DashboardUi = {
    async confirm(message, action) {
      return (await vscode.window.showWarningMessage(message, { modal: true }, action)) === action;
    },
    askAnswer(itemId, text, suggestion) {
      return Promise.resolve(
        vscode.window.showInputBox({
          title: `SeRL: relabel ${itemId}`,
          prompt: text.length > 200 ? `${text.slice(0, 200)}…` : text,
          placeHolder: 'The correct final answer, e.g. 42 or \\frac{1}{2}',
          value: suggestion ?? '',
          ignoreFocusOut: true,
          validateInput: (value) => (value.trim() === '' ? 'An answer is required.' : null),
        }),
      );
    },
    openPanel(runId) {
      void vscode.commands.executeCommand(OPEN_DASHBOARD_COMMAND, runId ?? undefined);
    },
    async withProgress(title, total, task) {
      // One item needs no progress notification.
      if (total <= 1) return task(() => false);
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) =>
        task(() => {
          progress.report({ increment: 100 / total });
          return token.isCancellationRequested;
        }),
      );
    },
  };

  /** Serves the app in `webview` and connects it to a controller; disposing undoes both. */
  function bind(webview: vscode.Webview, layout: DashboardLayout): { controller: DashboardController; disposable: vscode.Disposable } {
    webview.options = { enableScripts: true, localResourceRoots: [bundleRoot] };
    webview.html = dashboardHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(bundleRoot, 'dashboard.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(bundleRoot, 'dashboard.css')).toString(),
      layout,
    });
    const controller = new DashboardController({ catalog, post: (message) => webview.postMessage(message), ui, log, seedTexts });
    const listener = webview.onDidReceiveMessage((message: unknown) => controller.receive(message));
    return { controller, disposable: vscode.Disposable.from(listener, controller) };
  }

  let panel: { panel: vscode.WebviewPanel; controller: DashboardController } | null = null;

  function adoptPanel(webviewPanel: vscode.WebviewPanel): DashboardController {
    const { controller, disposable } = bind(webviewPanel.webview, 'panel');
    panel = { panel: webviewPanel, controller };
    webviewPanel.onDidDispose(() => {
      disposable.dispose();
      if (panel?.panel === webviewPanel) panel = null;
    });
    return controller;
  }

  const viewProvider: vscode.WebviewViewProvider = {
    resolveWebviewView(view) {
      const { disposable } = bind(view.webview, 'sidebar');
      view.onDidDispose(() => disposable.dispose());
    },
  };

  return vscode.Disposable.from(
    vscode.window.registerWebviewViewProvider(DASHBOARD_VIEW_ID, viewProvider),
    vscode.window.registerWebviewPanelSerializer(DASHBOARD_PANEL_TYPE, {
      // A panel restored after a reload: its page sends `ready` with the run it showed.
      async deserializeWebviewPanel(webviewPanel) {
        adoptPanel(webviewPanel);
      },
    }),
    vscode.commands.registerCommand(OPEN_DASHBOARD_COMMAND, async (target?: unknown) => {
      const runId = runIdOf(target);
      if (target !== undefined && runId === null) log.warn(`${OPEN_DASHBOARD_COMMAND}: ignored an argument that names no run`);
      if (panel) {
        panel.panel.reveal();
        // No run named: keep showing what the panel shows.
        if (runId !== null) await panel.controller.show(runId);
        return;
      }
      const created = vscode.window.createWebviewPanel(DASHBOARD_PANEL_TYPE, 'SeRL Dashboard', vscode.ViewColumn.Active, {
        enableScripts: true,
        localResourceRoots: [bundleRoot],
      });
      // The page's `ready` picks the run; a named run is shown first.
      const controller = adoptPanel(created);
      if (runId !== null) await controller.show(runId);
    }),
  );
}

/** A run id from a command argument: a string, or an object with a `runId` string (a Runs tree node). */
function runIdOf(target: unknown): string | null {
  if (typeof target === 'string' && target !== '') return target;
  if (typeof target === 'object' && target !== null && typeof (target as { runId?: unknown }).runId === 'string') {
    return (target as { runId: string }).runId;
  }
  return null;
}
