// The Runs tree (view `serl.runs` in the SeRL activity-bar container) and the status bar item shown while
// a run is live, both drawn from the run catalog. Tree nodes are the catalog's RunSummary objects: their
// id is the run id, and commands given a node read its `runId`.
import * as vscode from 'vscode';
import type { WorkspaceRunCatalog } from '../engine/runFeed';
import type { RunStatus, RunSummary } from '../engine/runStore';

export const RUNS_VIEW_ID = 'serl.runs';
const OPEN_DASHBOARD_COMMAND = 'serl.openDashboard';

const STATUS_ICONS: Record<RunStatus, vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue')),
  completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  stopped: new vscode.ThemeIcon('debug-pause'),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  interrupted: new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')),
  created: new vscode.ThemeIcon('circle-outline'),
};

function number(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined ? '–' : value.toFixed(digits);
}

/** "step 3/50" (or "step 3" when the total is unknown). */
function stepText(run: RunSummary, total: number | null): string {
  return `step ${run.state?.step ?? 0}${total === null ? '' : `/${total}`}`;
}

export function registerRunsView(catalog: WorkspaceRunCatalog): vscode.Disposable {
  const changed = new vscode.EventEmitter<void>();
  const totals = new Map<string, number | null>();

  const refresh = async () => {
    // Totals come from each run's config once; they are known before the tree and status bar redraw.
    await Promise.all(catalog.list().map(async (run) => totals.set(run.runId, await catalog.totalSteps(run.runId))));
    changed.fire();
    updateStatusBar();
  };

  const provider: vscode.TreeDataProvider<RunSummary> = {
    onDidChangeTreeData: changed.event,
    getChildren: (element) => (element ? [] : [...catalog.list()].reverse()),
    getTreeItem: (run) => {
      const item = new vscode.TreeItem(run.runId, vscode.TreeItemCollapsibleState.None);
      item.id = run.runId;
      item.iconPath = run.problems.length > 0 && run.status !== 'failed' ? new vscode.ThemeIcon('warning') : STATUS_ICONS[run.status];
      const reward = run.state?.reward_mean;
      item.description = [run.status, stepText(run, totals.get(run.runId) ?? null), ...(reward === null || reward === undefined ? [] : [`reward ${number(reward)}`])].join(' · ');
      item.tooltip = runTooltip(run, totals.get(run.runId) ?? null);
      item.contextValue = `serl.run.${run.status}`;
      item.command = { command: OPEN_DASHBOARD_COMMAND, title: 'Open Dashboard', arguments: [run.runId] };
      item.accessibilityInformation = { label: `run ${run.runId}, ${item.description}` };
      return item;
    },
  };

  const status = vscode.window.createStatusBarItem('serl.runStatus', vscode.StatusBarAlignment.Left, 50);
  status.name = 'SeRL Run';
  const updateStatusBar = () => {
    const live = catalog.list().filter((run) => run.status === 'running');
    const run = live.at(-1);
    if (!run) {
      status.hide();
      return;
    }
    const state = run.state;
    status.text = `$(sync~spin) SeRL ${stepText(run, totals.get(run.runId) ?? null).replace('step ', '')} · reward ${number(state?.reward_mean, 2)} · agreement ${number(state?.agreement_mean, 2)}`;
    status.tooltip = new vscode.MarkdownString(
      live.map((each) => `**${each.runId}** ${stepText(each, totals.get(each.runId) ?? null)}, reward ${number(each.state?.reward_mean)}, agreement ${number(each.state?.agreement_mean)}`).join('\n\n') +
        '\n\nClick to open the dashboard.',
    );
    status.command = { command: OPEN_DASHBOARD_COMMAND, title: 'Open Dashboard', arguments: [run.runId] };
    status.show();
  };

  const view = vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: provider, showCollapseAll: false });
  void refresh();
  return vscode.Disposable.from(view, status, changed, catalog.onDidChange(() => void refresh()));
}

function runTooltip(run: RunSummary, total: number | null): vscode.MarkdownString {
  const state = run.state;
  const lines = [
    `${stepText(run, total)}${state?.last_checkpoint ? `, checkpoint at step ${state.last_checkpoint.step}` : ''}`,
    `reward ${number(state?.reward_mean)}, agreement ${number(state?.agreement_mean)}`,
  ];
  if (state) {
    const counts = Object.entries(state.items).filter(([, count]) => count > 0).map(([stage, count]) => `${stage} ${count}`);
    if (counts.length > 0) lines.push(`items: ${counts.join(', ')}`);
  }
  if (run.controller) lines.push(`controller: pid ${run.controller.pid} on ${run.controller.hostname}, since ${run.controller.started_at}`);
  lines.push(`folder: ${run.dir}`);
  for (const problem of run.problems) lines.push(`⚠ ${problem}`);
  // Everything but the heading is file content: appended as text, never interpreted as Markdown.
  const markdown = new vscode.MarkdownString().appendMarkdown(`**${run.runId}** — ${run.status}\n\n`);
  return markdown.appendText(lines.join('\n'));
}
