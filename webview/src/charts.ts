/// <reference lib="dom" />
// The run's charts (uPlot), one per quantity, updated live as step metrics arrive. Collapse-monitor alerts
// are drawn as vertical lines at their step on every chart and listed below them.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { FILTER_REASONS, type FilterReason } from '../../src/core/filters';
import type { AlertPoint, StepPoint } from '../../src/protocol/dashboard';
import { h } from './dom';

interface SeriesSpec {
  label: string;
  value: (point: StepPoint) => number | null;
  /** A VS Code theme colour variable. */
  color: string;
  dash?: number[];
}

interface ChartSpec {
  id: string;
  title: string;
  series: (points: readonly StepPoint[]) => SeriesSpec[];
  /** Fixed y range for shares. */
  share?: boolean;
}

const COLORS = ['--vscode-charts-blue', '--vscode-charts-green', '--vscode-charts-orange', '--vscode-charts-purple', '--vscode-charts-yellow', '--vscode-charts-red'];

const single = (label: string, value: SeriesSpec['value']) => () => [{ label, value, color: COLORS[0] }];

const REASON_LABELS: Record<FilterReason, string> = {
  'too-short': 'too short',
  'too-long': 'too long',
  'blocked-keyword': 'blocked keyword',
  'write-a-program': 'write a program',
  'bad-first-character': 'bad first character',
  duplicate: 'duplicate',
  'similar-to-vetoed': 'similar to vetoed',
  'too-easy': 'too easy',
  'too-hard': 'too hard',
};

export const CHARTS: readonly ChartSpec[] = [
  {
    id: 'reward',
    title: 'Reward and agreement',
    share: true,
    series: () => [
      { label: 'reward mean', value: (p) => p.rewardMean, color: COLORS[0] },
      { label: 'agreement', value: (p) => p.agreementMean, color: COLORS[1] },
      { label: 'label accuracy', value: (p) => p.labelAccuracy, color: COLORS[2], dash: [4, 3] },
      { label: 'all-equal share', value: (p) => p.allEqualShare, color: COLORS[5], dash: [2, 2] },
      { label: 'probe accuracy', value: (p) => p.probeAccuracy, color: COLORS[3], dash: [6, 2] },
      { label: 'probe agreement', value: (p) => p.probeAgreement, color: COLORS[4], dash: [6, 2] },
    ],
  },
  {
    id: 'items',
    title: 'Kept and filtered items per step',
    // One series per reason that occurs, so the legend stays short.
    series: (points) => [
      { label: 'kept', value: (p) => p.kept, color: COLORS[1] },
      ...FILTER_REASONS.filter((reason) => points.some((p) => (p.filteredByReason[reason] ?? 0) > 0)).map((reason, i) => ({
        label: REASON_LABELS[reason],
        value: (p: StepPoint) => p.filteredByReason[reason] ?? 0,
        color: COLORS[(i + 2) % COLORS.length],
        dash: i >= COLORS.length - 2 ? [4, 3] : undefined,
      })),
    ],
  },
  { id: 'loss', title: 'Loss', series: single('loss', (p) => p.loss) },
  { id: 'kl', title: 'KL to the reference', series: single('KL', (p) => p.kl) },
  { id: 'entropy', title: 'Entropy', series: single('entropy', (p) => p.entropy) },
  { id: 'response-length', title: 'Response length (tokens)', series: single('tokens', (p) => p.responseLength) },
  { id: 'tokens-per-s', title: 'Sampling throughput (tokens/s)', series: single('tokens/s', (p) => p.tokensPerS) },
  { id: 'eval', title: 'Eval accuracy (pass@1)', share: true, series: single('accuracy', (p) => p.evalAccuracy) },
];

function themeColor(variable: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(variable).trim() || fallback;
}

/** Draws each alert's step as a vertical line over the plotting area. */
function alertLines(alerts: () => readonly AlertPoint[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (plot) => {
        const { ctx, bbox } = plot;
        ctx.save();
        ctx.strokeStyle = themeColor('--vscode-charts-red', '#f14c4c');
        ctx.lineWidth = Math.max(1, devicePixelRatio);
        ctx.setLineDash([6, 4]);
        for (const alert of alerts()) {
          const x = Math.round(plot.valToPos(alert.step, 'x', true));
          if (x < bbox.left || x > bbox.left + bbox.width) continue;
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

interface Mounted {
  spec: ChartSpec;
  card: HTMLElement;
  body: HTMLElement;
  plot: uPlot | null;
  labels: string;
}

export class Charts {
  private points: StepPoint[] = [];
  private alerts: AlertPoint[] = [];
  private readonly mounted: Mounted[];
  private readonly alertList: HTMLElement;
  private readonly empty: HTMLElement;
  private frame = 0;

  constructor(readonly root: HTMLElement) {
    this.empty = h('p', { class: 'charts-empty', id: 'charts-empty' }, 'No step has completed yet.');
    this.mounted = CHARTS.map((spec) => {
      const body = h('div', { class: 'chart-body' });
      const card = h('figure', { class: 'chart', 'data-chart': spec.id, role: 'figure', 'aria-label': spec.title }, h('figcaption', {}, spec.title), body);
      return { spec, card, body, plot: null, labels: '' };
    });
    this.alertList = h('ul', { id: 'alerts', class: 'alerts', role: 'list', 'aria-label': 'Collapse-monitor alerts' });
    root.append(
      this.empty,
      h('div', { class: 'chart-grid' }, ...this.mounted.map((chart) => chart.card)),
      h('h3', {}, 'Alerts'),
      this.alertList,
    );
    new ResizeObserver(() => this.schedule()).observe(root);
  }

  /** Adds or replaces steps (by step number) and appends alerts; `replace` starts over. */
  update(replace: boolean, steps: readonly StepPoint[], alerts: readonly AlertPoint[]): void {
    if (replace) {
      this.points = [];
      this.alerts = [];
    }
    const byStep = new Map(this.points.map((point) => [point.step, point]));
    for (const point of steps) byStep.set(point.step, point);
    this.points = [...byStep.values()].sort((a, b) => a.step - b.step);
    this.alerts.push(...alerts);
    this.renderAlerts();
    this.schedule();
  }

  /** Redraws on the next frame (several messages in one frame draw once). */
  schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    this.empty.hidden = this.points.length > 0;
    const width = this.mounted[0].body.clientWidth;
    // Hidden (another tab): draw when shown.
    if (width === 0) return;
    const steps = this.points.map((point) => point.step);
    for (const chart of this.mounted) {
      const series = chart.spec.series(this.points);
      const labels = series.map((s) => s.label).join('\n');
      const data: uPlot.AlignedData = [steps, ...series.map((s) => this.points.map((point) => s.value(point)))];
      const size = { width: chart.body.clientWidth, height: 180 };
      if (chart.plot && chart.labels === labels) {
        if (chart.plot.width !== size.width) chart.plot.setSize(size);
        chart.plot.setData(data);
        continue;
      }
      chart.plot?.destroy();
      chart.labels = labels;
      chart.plot = new uPlot(
        {
          ...size,
          scales: { x: { time: false }, ...(chart.spec.share ? { y: { range: [0, 1] as [number, number] } } : {}) },
          axes: [axis(), axis()],
          series: [
            { label: 'step' },
            ...series.map((s) => ({
              label: s.label,
              stroke: themeColor(s.color, '#3794ff'),
              width: 1.5,
              spanGaps: true,
              ...(s.dash ? { dash: s.dash } : {}),
              points: { show: this.points.length < 60 },
            })),
          ],
          plugins: [alertLines(() => this.alerts)],
        },
        data,
        chart.body,
      );
    }
  }

  private renderAlerts(): void {
    this.alertList.replaceChildren(
      ...this.alerts.map((alert) =>
        h('li', { class: 'alert', 'data-alert-kind': alert.kind, 'data-step': String(alert.step) }, h('strong', {}, `step ${alert.step} · ${alert.kind}`), ' ', alert.detail),
      ),
    );
    if (this.alerts.length === 0) this.alertList.append(h('li', { class: 'muted' }, 'No alerts.'));
  }
}

function axis(): uPlot.Axis {
  const color = themeColor('--vscode-foreground', '#ccc');
  const grid = themeColor('--vscode-editorWidget-border', '#444');
  return { stroke: color, grid: { stroke: grid, width: 0.5 }, ticks: { stroke: grid, width: 0.5 } };
}
