/**
 * The price tiers of docs/DESIGN.md ("Domain", "Pricing pipeline"): raw `PriceSnapshot`s as agents
 * report them, `ConsolidatedPrice`s (one per pool per grid slot), `CanonicalPrice`s (confidence ≥
 * 0.9, with training features), on-demand baselines and the consolidation run ledger.
 *
 * Timestamps are epoch milliseconds.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { AgentId, TenantId } from "./Ids.js"
import { PoolId } from "./Pool.js"

/**
 * The grid slot of the consolidated tier: 5 minutes.
 *
 * @since 0.1.0
 * @category constants
 */
export const SLOT_MILLIS = 5 * 60 * 1000

/**
 * The start of the grid slot containing `t` (slots are aligned to the epoch).
 *
 * @since 0.1.0
 * @category utils
 */
export const slotOf = (t: number, slotMillis: number = SLOT_MILLIS): number => Math.floor(t / slotMillis) * slotMillis

/**
 * A positive, finite price in dollars per hour.
 *
 * @since 0.1.0
 * @category models
 */
export const Price = Schema.Number.pipe(Schema.finite(), Schema.positive())

/**
 * The role of the instance that reported a price, when known. PRIMARY reports win over
 * REPLICA ones in the same slot.
 *
 * @since 0.1.0
 * @category models
 */
export const ReporterRole = Schema.Literal("PRIMARY", "REPLICA")
/** @since 0.1.0 @category models */
export type ReporterRole = typeof ReporterRole.Type

/**
 * Where a raw snapshot came from: an agent report, or a backfill from a price history export.
 *
 * @since 0.1.0
 * @category models
 */
export const SnapshotSource = Schema.Literal("agent", "backfill")
/** @since 0.1.0 @category models */
export type SnapshotSource = typeof SnapshotSource.Type

const snapshotFields = {
  tenantId: Schema.NullOr(TenantId),
  pool: PoolId,
  price: Price,
  observedAt: Schema.Number,
  reporterAgentId: Schema.NullOr(AgentId),
  reporterRole: Schema.NullOr(ReporterRole),
  source: SnapshotSource,
  /** When the server received it. */
  receivedAt: Schema.Number
}

/**
 * A raw snapshot before the store assigns its id.
 *
 * @since 0.1.0
 * @category models
 */
export class SnapshotDraft extends Schema.Class<SnapshotDraft>("SnapshotDraft")(snapshotFields) {}

/**
 * A raw price as reported (the snapshot tier). `id` is assigned by the store and increases in
 * append order. `duplicate` is set by consolidation when another snapshot of the same pool and
 * slot won; duplicates are flagged, never deleted.
 *
 * @since 0.1.0
 * @category models
 */
export class PriceSnapshot extends Schema.Class<PriceSnapshot>("PriceSnapshot")({
  id: Schema.Int.pipe(Schema.positive()),
  ...snapshotFields,
  duplicate: Schema.Boolean
}) {}

/**
 * Where a consolidated point came from.
 *
 * - `agent`: an agent report in that slot (confidence 1.0)
 * - `interpolated`: filled between two agent points by the fill policy (confidence 0.8)
 * - `backfilled`: taken from a `PriceHistorySource` where no agent data exists (confidence 0.9)
 *
 * @since 0.1.0
 * @category models
 */
export const ConsolidatedSource = Schema.Literal("agent", "interpolated", "backfilled")
/** @since 0.1.0 @category models */
export type ConsolidatedSource = typeof ConsolidatedSource.Type

/**
 * The confidence of each consolidated source.
 *
 * @since 0.1.0
 * @category constants
 */
export const confidenceOf: { readonly [S in ConsolidatedSource]: number } = {
  agent: 1.0,
  interpolated: 0.8,
  backfilled: 0.9
}

/**
 * Points with at least this confidence are promoted to the canonical tier.
 *
 * @since 0.1.0
 * @category constants
 */
export const CANONICAL_MIN_CONFIDENCE = 0.9

/**
 * The consolidated tier: one point per pool per grid slot.
 *
 * @since 0.1.0
 * @category models
 */
export class ConsolidatedPrice extends Schema.Class<ConsolidatedPrice>("ConsolidatedPrice")({
  pool: PoolId,
  slotStart: Schema.Number,
  price: Price,
  source: ConsolidatedSource,
  confidence: Schema.Literal(1, 0.8, 0.9),
  /** The run that last wrote this point. */
  runId: Schema.String,
  /** Snapshots in the slot (the winner plus its flagged duplicates); 0 for filled points. */
  snapshotsMerged: Schema.Int.pipe(Schema.nonNegative())
}) {}

/**
 * Training features of a canonical point.
 *
 * @since 0.1.0
 * @category models
 */
export class PriceFeatures extends Schema.Class<PriceFeatures>("PriceFeatures")({
  /** Mean price over the rolling window ending at this slot (consolidated points only). */
  rollingMean: Schema.Number,
  /** Population standard deviation of the price over the same window. */
  volatility: Schema.Number,
  /** `(onDemand − price) / onDemand`: the saving against on-demand; null when no baseline is known. */
  spreadToOnDemand: Schema.NullOr(Schema.Number),
  /** Interruption notices (rebalance or termination) received in this pool in the context window before the slot. */
  notices: Schema.Int.pipe(Schema.nonNegative()),
  /** Instances the cloud reclaimed in this pool in the context window before the slot. */
  interruptions: Schema.Int.pipe(Schema.nonNegative())
}) {}

/**
 * The canonical tier: consolidated points with confidence ≥ 0.9, with features for training.
 *
 * @since 0.1.0
 * @category models
 */
export class CanonicalPrice extends Schema.Class<CanonicalPrice>("CanonicalPrice")({
  pool: PoolId,
  slotStart: Schema.Number,
  price: Price,
  source: Schema.Literal("agent", "backfilled"),
  confidence: Schema.Number.pipe(Schema.greaterThanOrEqualTo(CANONICAL_MIN_CONFIDENCE)),
  runId: Schema.String,
  features: PriceFeatures
}) {}

/**
 * An on-demand price per instance type and region (the savings baseline) for Linux/UNIX: pools of
 * another product take their baseline from their own on-demand pool's reported prices only
 * (docs/DESIGN.md, "Pool identity").
 *
 * @since 0.1.0
 * @category models
 */
export class OnDemandPrice extends Schema.Class<OnDemandPrice>("OnDemandPrice")({
  instanceType: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  region: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  price: Price,
  observedAt: Schema.Number
}) {}

/**
 * The status of a consolidation run.
 *
 * @since 0.1.0
 * @category models
 */
export const RunStatus = Schema.Literal("running", "succeeded", "failed")
/** @since 0.1.0 @category models */
export type RunStatus = typeof RunStatus.Type

/**
 * The gap fill policy: `linear` interpolation between the two real points, or `step` (carry
 * the last price forward — right for AWS, whose history records changes only).
 *
 * @since 0.1.0
 * @category models
 */
export const FillPolicy = Schema.Literal("linear", "step")
/** @since 0.1.0 @category models */
export type FillPolicy = typeof FillPolicy.Type

/**
 * One entry of the consolidation run ledger.
 *
 * @since 0.1.0
 * @category models
 */
export class ConsolidationRun extends Schema.Class<ConsolidationRun>("ConsolidationRun")({
  id: Schema.String,
  /** Slots in `[windowStart, windowEnd)` were consolidated (the overlap included). */
  windowStart: Schema.Number,
  windowEnd: Schema.Number,
  fillPolicy: FillPolicy,
  status: RunStatus,
  startedAt: Schema.Number,
  finishedAt: Schema.NullOr(Schema.Number),
  durationMillis: Schema.NullOr(Schema.Number),
  /** Pools that got at least one consolidated point in the window. */
  pools: Schema.Int.pipe(Schema.nonNegative()),
  /** Agent snapshots read in the window (an export given to a backfill is read in place, not counted here). */
  snapshots: Schema.Int.pipe(Schema.nonNegative()),
  /** Snapshots that lost their slot to another one (flagged). */
  duplicates: Schema.Int.pipe(Schema.nonNegative()),
  /** Consolidated points from agent reports. */
  agentPoints: Schema.Int.pipe(Schema.nonNegative()),
  /** Points filled by the fill policy. */
  filled: Schema.Int.pipe(Schema.nonNegative()),
  /** Points backfilled from the price history source. */
  backfilled: Schema.Int.pipe(Schema.nonNegative()),
  /** Consolidated points inserted or changed in the store (0 when a run repeats a window). */
  written: Schema.Int.pipe(Schema.nonNegative()),
  /** Canonical points inserted or changed in the store. */
  canonical: Schema.Int.pipe(Schema.nonNegative()),
  error: Schema.NullOr(Schema.String)
}) {}
