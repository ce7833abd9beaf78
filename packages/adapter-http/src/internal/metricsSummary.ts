import type { MetricPair } from "effect"
import { MetricState } from "effect"
import type { HistogramSummary, LabelledValue, MetricsSummary } from "../MetricsSummaryApi.js"

type Labelled = typeof LabelledValue.Type
type Histogram = typeof HistogramSummary.Type

interface Series {
  readonly labels: Record<string, string>
  readonly state: MetricState.MetricState.Untyped
}

const byName = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>) => {
  const out = new Map<string, Array<Series>>()
  for (const pair of pairs) {
    const labels = Object.fromEntries(pair.metricKey.tags.map((t) => [t.key, t.value]))
    const list = out.get(pair.metricKey.name) ?? []
    list.push({ labels, state: pair.metricState })
    out.set(pair.metricKey.name, list)
  }
  return out
}

const valueOf = (state: MetricState.MetricState.Untyped): number =>
  MetricState.isCounterState(state)
    ? Number(state.count)
    : MetricState.isGaugeState(state)
    ? Number(state.value)
    : 0

/**
 * The PromQL `histogram_quantile` estimate over cumulative buckets: linear within the bucket
 * holding the rank; the highest finite bound when the rank falls in `+Inf`.
 */
export const quantile = (q: number, buckets: ReadonlyArray<readonly [number, number]>, count: number): number | null => {
  if (count === 0) return null
  const rank = q * count
  let lower = 0
  let below = 0
  for (const [le, cumulative] of buckets) {
    if (cumulative >= rank) {
      if (le === Infinity) return lower
      if (cumulative === below) return le
      return lower + ((le - lower) * (rank - below)) / (cumulative - below)
    }
    if (le !== Infinity) lower = le
    below = cumulative
  }
  return lower
}

const histogramOf = (series: ReadonlyArray<Series> | undefined, match: (labels: Record<string, string>) => boolean = () => true): Histogram => {
  // Series of one histogram with the same labels are merged bucket by bucket (same boundaries).
  const merged = new Map<number, number>()
  let count = 0
  let sum = 0
  for (const s of series ?? []) {
    if (!MetricState.isHistogramState(s.state) || !match(s.labels)) continue
    count += s.state.count
    sum += s.state.sum
    for (const [le, c] of s.state.buckets) merged.set(le, (merged.get(le) ?? 0) + c)
  }
  const buckets = [...merged].sort(([a], [b]) => a - b)
  if (!merged.has(Infinity)) buckets.push([Infinity, count])
  return { count, sum, p50: quantile(0.5, buckets, count), p95: quantile(0.95, buckets, count), p99: quantile(0.99, buckets, count) }
}

const bucketAt = (series: ReadonlyArray<Series> | undefined, le: number): number => {
  let n = 0
  for (const s of series ?? []) {
    if (!MetricState.isHistogramState(s.state)) continue
    for (const [bound, c] of s.state.buckets) if (bound === le) n += c
  }
  return n
}

/** Labelled series of a counter or gauge; the unlabelled placeholder (0 until first use) is left out. */
const labelled = (series: ReadonlyArray<Series> | undefined): Array<Labelled> =>
  (series ?? [])
    .filter((s) => Object.keys(s.labels).length > 0)
    .map((s) => ({ labels: s.labels, value: valueOf(s.state) }))
    .sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)))

const total = (series: ReadonlyArray<Series> | undefined, match: (labels: Record<string, string>) => boolean = () => true) =>
  (series ?? []).filter((s) => match(s.labels)).reduce((n, s) => n + valueOf(s.state), 0)

const byLabel = (series: ReadonlyArray<Series> | undefined, label: string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const s of series ?? []) {
    const key = s.labels[label]
    if (key !== undefined) out[key] = (out[key] ?? 0) + valueOf(s.state)
  }
  return out
}

/** The summary of a registry snapshot. */
export const summarize = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>, now: number): typeof MetricsSummary.Type => {
  const m = byName(pairs)
  const agents = byLabel(m.get("spotfleet_agents"), "status")
  const agentCount = Object.values(agents).reduce((a, b) => a + b, 0)
  const received = total(m.get("spotfleet_heartbeats_received_total"))
  const missed = total(m.get("spotfleet_heartbeats_missed_total"))
  const promotion = m.get("spotfleet_emergency_promotion_seconds")
  const promotionHistogram = histogramOf(promotion)
  const savingsDollars = total(m.get("spotfleet_savings_dollars_total"))
  const baselineCostDollars = total(m.get("spotfleet_baseline_cost_dollars_total"))
  const spendDollars = total(m.get("spotfleet_spend_dollars_total"))
  const netSavingsDollars = baselineCostDollars - spendDollars
  const downtime = m.get("spotfleet_switch_downtime_seconds")
  const sources = new Set((downtime ?? []).map((s) => s.labels.source).filter((x): x is string => x !== undefined))
  const lastSuccess = m.get("spotfleet_consolidation_last_success_timestamp_seconds")
  const lastSuccessValue = lastSuccess === undefined ? 0 : Math.max(0, ...lastSuccess.map((s) => valueOf(s.state)))
  return {
    generatedAt: now,
    fleet: {
      agents,
      instances: byLabel(m.get("spotfleet_instances"), "role"),
      zombies: total(m.get("spotfleet_zombies")),
      agentsWithMultiplePrimaries: total(m.get("spotfleet_agents_with_multiple_primaries")),
      agentUptimePercent: agentCount === 0 ? null : ((agents.online ?? 0) / agentCount) * 100,
      unreconciledInstances: total(m.get("spotfleet_instances_unreconciled")),
      oldestUnreconciledSeconds: total(m.get("spotfleet_instances_unreconciled_oldest_seconds")),
      orphansAdopted: labelled(m.get("spotfleet_orphans_adopted_total")),
      terminationsRetried: total(m.get("spotfleet_terminations_retried_total"))
    },
    heartbeats: { received, missed, missRate: received + missed === 0 ? null : missed / (received + missed) },
    commands: {
      byTypeAndStatus: labelled(m.get("spotfleet_commands_total")),
      deliverySeconds: histogramOf(m.get("spotfleet_command_delivery_seconds"))
    },
    switches: {
      byTriggerAndResult: labelled(m.get("spotfleet_switches_total")),
      downtimeSeconds: Object.fromEntries([...sources].sort().map((source) => [source, histogramOf(downtime, (l) => l.source === source)]))
    },
    emergencies: {
      events: labelled(m.get("spotfleet_emergency_events_total")),
      promotionSeconds: promotionHistogram,
      promotedWithin120s: promotionHistogram.count === 0 ? null : bucketAt(promotion, 120) / promotionHistogram.count,
      failures: total(m.get("spotfleet_emergency_events_total"), (l) => l.result === "failed")
    },
    savings: {
      savingsDollars,
      baselineCostDollars,
      spendDollars,
      leakedSpendDollars: total(m.get("spotfleet_leaked_spend_dollars_total")),
      netSavingsDollars,
      savingsPercent: baselineCostDollars > 0 ? (savingsDollars / baselineCostDollars) * 100 : null,
      netSavingsPercent: baselineCostDollars > 0 ? (netSavingsDollars / baselineCostDollars) * 100 : null
    },
    ml: {
      decisions: labelled(m.get("spotfleet_ml_decisions_total")),
      decisionSeconds: histogramOf(m.get("spotfleet_ml_decision_seconds"))
    },
    consolidation: {
      lastSuccessTimestampSeconds: lastSuccessValue > 0 ? lastSuccessValue : null,
      points: labelled(m.get("spotfleet_consolidation_points_total"))
    },
    optimisticConflicts: total(m.get("spotfleet_optimistic_conflicts_total"))
  }
}
