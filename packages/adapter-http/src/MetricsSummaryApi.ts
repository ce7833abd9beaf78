/**
 * The operational metrics summary (DESIGN.md §10) as JSON for the dashboard: the figures that
 * `/metrics` exports, read from the same registry, with the derived ones (heartbeat miss rate,
 * p95 of the latency histograms, emergency promotions within 2 minutes, savings %) computed the
 * way the recording rules of examples/monitoring compute them. Counters are totals since the
 * process started (Prometheus takes rates over them); gauges are current.
 *
 * Group `metricsSummary` (admin token: the figures span every tenant), added to {@link Api.Api}.
 *
 * @since 0.1.0
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { AdminAuth } from "./Security.js"

const NullableNumber = Schema.NullOr(Schema.Number)

/**
 * A counter or gauge series: its labels and value.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LabelledValue = Schema.Struct({
  labels: Schema.Record({ key: Schema.String, value: Schema.String }),
  value: Schema.Number
}).annotations({ identifier: "LabelledValue" })

/**
 * A histogram: observations, their sum, and quantiles estimated from the buckets (linear
 * interpolation within a bucket, as PromQL's `histogram_quantile`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const HistogramSummary = Schema.Struct({
  count: Schema.Number,
  sum: Schema.Number,
  /** null without observations. */
  p50: NullableNumber,
  p95: NullableNumber,
  p99: NullableNumber
}).annotations({ identifier: "HistogramSummary" })

/**
 * The summary.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MetricsSummary = Schema.Struct({
  generatedAt: Schema.Number,
  fleet: Schema.Struct({
    agents: Schema.Record({ key: Schema.String, value: Schema.Number }),
    instances: Schema.Record({ key: Schema.String, value: Schema.Number }),
    zombies: Schema.Number,
    agentsWithMultiplePrimaries: Schema.Number,
    /** online ÷ all agents × 100; null without agents. */
    agentUptimePercent: NullableNumber,
    /** Instances running but not wanted (retired by the engine, not yet seen gone). */
    unreconciledInstances: Schema.Number,
    /** Seconds since the longest-unreconciled instance was retired (0 when none). */
    oldestUnreconciledSeconds: Schema.Number,
    /** Orphans adopted, by what they became (`as`: replica, zombie, terminated). */
    orphansAdopted: Schema.Array(LabelledValue),
    /** TERMINATE commands queued again for retired instances still running. */
    terminationsRetried: Schema.Number
  }),
  heartbeats: Schema.Struct({
    received: Schema.Number,
    missed: Schema.Number,
    /** missed ÷ (received + missed); null before any heartbeat. */
    missRate: NullableNumber
  }),
  commands: Schema.Struct({
    byTypeAndStatus: Schema.Array(LabelledValue),
    deliverySeconds: HistogramSummary
  }),
  switches: Schema.Struct({
    byTriggerAndResult: Schema.Array(LabelledValue),
    /** Downtime by source: `derived` (promote delivered → acknowledged) and `agent` (switch-report). */
    downtimeSeconds: Schema.Record({ key: Schema.String, value: HistogramSummary })
  }),
  emergencies: Schema.Struct({
    events: Schema.Array(LabelledValue),
    promotionSeconds: HistogramSummary,
    /** Share of emergency promotions inside 120 s (target 0.99); null without promotions. */
    promotedWithin120s: NullableNumber,
    failures: Schema.Number
  }),
  savings: Schema.Struct({
    /** Gross savings: baseline − what the PRIMARYs cost. */
    savingsDollars: Schema.Number,
    /** The on-demand price of each PRIMARY over the hours it was PRIMARY. */
    baselineCostDollars: Schema.Number,
    /** What every running instance cost (replicas, zombies, retired but still running included). */
    spendDollars: Schema.Number,
    /** Of the spend, instances retired by the engine but still running. */
    leakedSpendDollars: Schema.Number,
    /** baseline − spend: the savings net of all spend. */
    netSavingsDollars: Schema.Number,
    /** gross savings ÷ baseline × 100; null before any baseline accrued. */
    savingsPercent: NullableNumber,
    /** net savings ÷ baseline × 100; null before any baseline accrued. */
    netSavingsPercent: NullableNumber
  }),
  ml: Schema.Struct({
    decisions: Schema.Array(LabelledValue),
    decisionSeconds: HistogramSummary
  }),
  consolidation: Schema.Struct({
    /** Unix seconds of the last successful run; null before the first. */
    lastSuccessTimestampSeconds: NullableNumber,
    points: Schema.Array(LabelledValue)
  }),
  optimisticConflicts: Schema.Number
}).annotations({ identifier: "MetricsSummary" })

/**
 * The summary group (admin token).
 *
 * @since 0.1.0
 * @category groups
 */
export class MetricsSummaryApi extends HttpApiGroup.make("metricsSummary")
  .add(
    HttpApiEndpoint.get("metricsSummary", "/admin/metrics/summary")
      .addSuccess(MetricsSummary)
      .annotate(OpenApi.Summary, "Operational metrics as JSON: the /metrics figures with miss rate, p95s and savings % derived")
  )
  .middleware(AdminAuth)
  .prefix("/api")
{}
