// The host's view of one run for the dashboard: folds the run feed's records into core/pool.ts's RunPool
// (the one fold of a run's logs) and turns what changed into pool rows, step points and item details.
// It remembers which items and steps changed since the last `takeChanges`/`takeMetrics`, so the webview
// gets deltas rather than the whole pool per event.
import { itemStage, RunPool, type PoolItem } from '../../core/pool';
import { rougeL } from '../../core/rouge';
import { RULE_REJECT_REASONS, type RuleRejectReason } from '../../core/selfInstruct';
import { loadLabelledSet } from '../../engine/controller';
import { readJsonlRecordAt } from '../../engine/jsonl';
import type { AlertPoint, ItemDetail, PoolRow, PoolStage, ReviewState, RunHeader, StepPoint, TextRef } from '../../protocol/dashboard';
import {
  parseRunEvent,
  type Alert,
  type Decision,
  type ItemRef,
  type ItemVoted,
  type LogRecord,
  type Neighbour,
  type RunEvent,
  type StepMetrics,
} from '../../protocol/events';

export type Curation = 'auto' | 'review';

function poolStage(item: PoolItem): PoolStage {
  const stage = itemStage(item);
  if (stage !== 'filtered') return stage;
  return RULE_REJECT_REASONS.includes(item.filtered!.reason as RuleRejectReason) ? 'rule-rejected' : 'duplicate';
}

function reviewState(item: PoolItem, stage: PoolStage, curation: Curation): ReviewState | null {
  if (item.review) return item.review.decision;
  return curation === 'review' && stage === 'kept' ? 'awaiting-review' : null;
}

/** An item as the pool table shows it. `seq` is its position in generation order. */
export function poolRow(item: PoolItem, seq: number, curation: Curation): PoolRow {
  const stage = poolStage(item);
  const vote = item.vote;
  const difficultyReason = vote && vote.difficulty.status !== 'kept' ? vote.difficulty.status : null;
  const vetoReason = item.review?.decision === 'vetoed' ? item.review.reason : null;
  return {
    id: item.item_id,
    seq,
    step: item.step,
    text: item.text,
    stage,
    review: reviewState(item, stage, curation),
    reason: item.filtered?.reason ?? difficultyReason,
    detail: vetoReason ?? item.filtered?.detail ?? vote?.difficulty.detail ?? '',
    agreement: vote?.agreement ?? null,
    majority: vote?.majority ?? null,
    label: item.label?.answer ?? null,
  };
}

export function stepPoint(metrics: StepMetrics): StepPoint {
  return {
    step: metrics.step,
    generated: metrics.generated,
    kept: metrics.kept,
    trained: metrics.trained,
    filteredByReason: metrics.filtered_by_reason,
    rewardMean: metrics.reward_mean,
    agreementMean: metrics.agreement_mean,
    loss: metrics.loss,
    kl: metrics.kl,
    entropy: metrics.entropy,
    responseLength: metrics.response_length,
    tokensPerS: metrics.tokens_per_s,
    allEqualShare: metrics.all_equal_share,
    labelAccuracy: metrics.label_accuracy,
    probeAccuracy: metrics.probe_accuracy ?? null,
    probeAgreement: metrics.probe_agreement ?? null,
    evalAccuracy: metrics.eval?.accuracy ?? null,
  };
}

function alertPoint(alert: Alert): AlertPoint {
  return { step: alert.step, kind: alert.kind, detail: alert.detail };
}

export interface RowChanges {
  upserts: PoolRow[];
  /** Items that left the pool (superseded by a resume). */
  removed: string[];
}

export interface MetricChanges {
  /** Drop earlier steps first (a resume rolled the timeline back). */
  replace: boolean;
  steps: StepPoint[];
  alerts: AlertPoint[];
}

/** Reads seed texts by file; the detail view's few-shot sources and nearest seeds come from it. */
export type SeedTexts = (file: string) => Promise<readonly string[]>;

/** Seed files read once per host (they do not change under a run), errors included. */
export function cachedSeedTexts(): SeedTexts {
  const cache = new Map<string, Promise<readonly string[]>>();
  return (file) => {
    let texts = cache.get(file);
    if (!texts) {
      texts = loadLabelledSet(file).then((set) => set.texts);
      cache.set(file, texts);
    }
    return texts;
  };
}

export class DashboardRunModel {
  private readonly pool = new RunPool();
  private readonly seqs = new Map<string, number>();
  /** The rewards of each item's RL update (item-trained), which the pool does not keep. */
  private readonly trainedRewards = new Map<string, number[]>();
  private readonly changedItems = new Set<string>();
  private readonly changedSteps = new Set<number>();
  private replaceMetrics = false;
  private alertsSent = 0;
  private problemsSent = 0;
  private readonly feedProblems: string[] = [];
  private liveCount = 0;

  constructor(
    readonly runId: string,
    private readonly seedTexts: SeedTexts,
  ) {}

  applyEvents(records: readonly LogRecord<RunEvent>[]): void {
    for (const record of records) {
      const event = record.value;
      this.pool.applyEvent(record);
      switch (event.type) {
        case 'run-started':
          // A new session may change the curation mode (awaiting review) or supersede items: redo all rows.
          for (const id of this.pool.items.keys()) this.changedItems.add(id);
          if (event.resumed_from) {
            this.replaceMetrics = true;
            this.liveCount = this.pool.liveItems().length;
          }
          break;
        case 'item-generated':
          if (!this.seqs.has(event.item_id)) {
            this.seqs.set(event.item_id, this.seqs.size);
            this.liveCount += 1;
          }
          this.changedItems.add(event.item_id);
          break;
        case 'item-trained':
          this.trainedRewards.set(event.item_id, event.rewards);
          this.changedItems.add(event.item_id);
          break;
        case 'item-filtered':
        case 'item-voted':
          this.changedItems.add(event.item_id);
          break;
        case 'step-metrics':
          this.changedSteps.add(event.step);
          break;
        default:
          break;
      }
    }
  }

  applyDecisions(records: readonly LogRecord<Decision>[]): void {
    for (const record of records) {
      this.pool.applyDecision(record);
      this.changedItems.add(record.value.item_id);
    }
  }

  /** A bad line the feed skipped ("file:line: …"). */
  addProblem(message: string): void {
    this.feedProblems.push(message);
  }

  get curation(): Curation {
    return this.pool.sessions.at(-1)?.config.curation ?? 'auto';
  }

  /** Live items (not superseded by a resume). */
  get size(): number {
    return this.liveCount;
  }

  has(itemId: string): boolean {
    const item = this.pool.items.get(itemId);
    return item !== undefined && !item.superseded;
  }

  row(itemId: string): PoolRow | null {
    const item = this.pool.items.get(itemId);
    return item && !item.superseded ? poolRow(item, this.seqs.get(itemId)!, this.curation) : null;
  }

  /** Every live row in generation order (a reload); clears pending changes, which it includes. */
  allRows(): PoolRow[] {
    this.changedItems.clear();
    const curation = this.curation;
    return this.pool.liveItems().map((item) => poolRow(item, this.seqs.get(item.item_id)!, curation));
  }

  /** Rows changed since the last call (or `allRows`), in generation order. */
  takeChanges(): RowChanges {
    const changes: RowChanges = { upserts: [], removed: [] };
    if (this.changedItems.size === 0) return changes;
    const curation = this.curation;
    const ids = [...this.changedItems].sort((a, b) => (this.seqs.get(a) ?? -1) - (this.seqs.get(b) ?? -1));
    this.changedItems.clear();
    for (const id of ids) {
      const item = this.pool.items.get(id);
      // A decision on an item not generated (yet): its row comes with its item-generated.
      if (!item) continue;
      if (item.superseded) changes.removed.push(id);
      else changes.upserts.push(poolRow(item, this.seqs.get(id)!, curation));
    }
    return changes;
  }

  /** Every step point and alert (a reload); clears pending metric changes. */
  allMetrics(): MetricChanges {
    this.changedSteps.clear();
    this.replaceMetrics = false;
    this.alertsSent = this.pool.alerts.length;
    return {
      replace: true,
      steps: [...this.pool.steps.values()].sort((a, b) => a.step - b.step).map(stepPoint),
      alerts: this.pool.alerts.map(alertPoint),
    };
  }

  /** Steps and alerts since the last call; null when nothing changed. */
  takeMetrics(): MetricChanges | null {
    if (this.replaceMetrics) return this.allMetrics();
    if (this.changedSteps.size === 0 && this.alertsSent === this.pool.alerts.length) return null;
    const steps = [...this.changedSteps]
      .sort((a, b) => a - b)
      .flatMap((step) => {
        const metrics = this.pool.steps.get(step);
        return metrics ? [stepPoint(metrics)] : [];
      });
    this.changedSteps.clear();
    const alerts = this.pool.alerts.slice(this.alertsSent).map(alertPoint);
    this.alertsSent = this.pool.alerts.length;
    return { replace: false, steps, alerts };
  }

  /** Problems found since the last call: bad lines and the fold's inconsistencies. */
  takeProblems(): string[] {
    const all = [...this.feedProblems, ...this.pool.problems.map((problem) => problem.message)];
    const fresh = all.slice(this.problemsSent);
    this.problemsSent = all.length;
    return fresh;
  }

  /** Problems so far (a reload). */
  allProblems(): string[] {
    this.problemsSent = 0;
    return this.takeProblems();
  }

  header(): RunHeader | null {
    const session = this.pool.sessions.at(-1);
    if (!session) return null;
    const { config } = session;
    const finished = this.pool.finished;
    return {
      mode: config.mode,
      algorithm: config.algorithm,
      curation: config.curation,
      samplesPerPrompt: config.n_samples_per_prompt,
      difficultyBounds: config.reward_difficulty_bounds,
      step: this.pool.lastCompletedStep,
      maxSteps: config.max_steps ?? null,
      finished: finished && { status: finished.status, detail: finished.detail ?? null },
    };
  }

  /** Everything the detail pane shows; reads the item's responses back from events.jsonl. */
  async detail(itemId: string): Promise<ItemDetail> {
    const item = this.pool.items.get(itemId);
    if (!item || item.superseded) throw new Error(`no item ${itemId} in run ${this.runId}`);
    const problems: string[] = [];
    const seeds = await this.seeds(problems);
    const textOf = (ref: ItemRef): TextRef =>
      ref.kind === 'seed'
        ? { kind: 'seed', index: ref.index, text: seeds?.[ref.index] ?? null }
        : { kind: 'item', itemId: ref.item_id, text: this.pool.items.get(ref.item_id)?.text ?? null };

    let voted: ItemVoted | null = null;
    if (item.vote) {
      try {
        const event = await readJsonlRecordAt(item.vote.responsesAt, parseRunEvent);
        if (event.type !== 'item-voted' || event.item_id !== itemId) throw new Error(`${item.vote.responsesAt.file}:${item.vote.responsesAt.line}: not this item's vote`);
        voted = event;
      } catch (error) {
        problems.push(`responses unavailable: ${(error as Error).message}`);
      }
    }
    const trainedRewards = item.trained ? (this.trainedRewards.get(itemId) ?? null) : null;
    const recorded: Neighbour | null = item.vote?.nearest ?? item.filtered?.nearest ?? null;

    return {
      row: poolRow(item, this.seqs.get(itemId)!, this.curation),
      origin:
        item.origin.kind === 'self-instruct'
          ? { kind: 'self-instruct', promptId: item.origin.prompt_id, sources: item.origin.sources.map(textOf) }
          : { kind: 'seed', seed: textOf({ kind: 'seed', index: item.origin.seed_index }), answer: item.origin.answer ?? null },
      vote:
        item.vote &&
        (() => {
          const vote = item.vote;
          return {
            step: vote.step,
            rewardSource: vote.reward_source,
            majority: vote.majority,
            agreement: vote.agreement,
            difficulty: vote.difficulty,
            groups: vote.groups.map((group) => ({ answer: group.answer, count: group.count, members: group.members })),
            responses: (voted?.responses ?? []).map((response, index) => ({
              text: response.text,
              answer: response.answer,
              reward: response.reward,
              trainedReward: trainedRewards?.[index] ?? null,
              tokens: response.tokens,
              finishReason: response.finish_reason,
            })),
          };
        })(),
      nearestSeed:
        recorded?.ref.kind === 'seed'
          ? { seed: textOf(recorded.ref), score: recorded.score, recorded: true }
          : nearestSeed(item.text, seeds, textOf),
      nearestItem: recorded && recorded.pool !== 'seed' ? { pool: recorded.pool, item: textOf(recorded.ref), score: recorded.score } : null,
      trained: item.trained && { step: item.trained.step, rewardSource: item.trained.reward_source },
      review: item.review && { decision: item.review.decision, reason: item.review.reason, ts: item.review.ts },
      label: item.label && { answer: item.label.answer, ts: item.label.ts },
      problems,
    };
  }

  private async seeds(problems: string[]): Promise<readonly string[] | null> {
    const file = this.pool.sessions.at(-1)?.config.seeds;
    if (!file) return null;
    try {
      return await this.seedTexts(file);
    } catch (error) {
      problems.push(`seed texts unavailable: ${(error as Error).message}`);
      return null;
    }
  }
}

/** The seed closest to `text` by ROUGE-L F1 (the filter recorded none: it compared against other texts). */
function nearestSeed(text: string, seeds: readonly string[] | null, textOf: (ref: ItemRef) => TextRef): ItemDetail['nearestSeed'] {
  let best: { index: number; score: number } | null = null;
  for (const [index, seed] of (seeds ?? []).entries()) {
    const score = rougeL(text, seed);
    if (!best || score > best.score) best = { index, score };
  }
  return best && { seed: textOf({ kind: 'seed', index: best.index }), score: best.score, recorded: false };
}
