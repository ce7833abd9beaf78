/**
 * Port: the decision log. Every automatic-switch decision is recorded, whether it acted or not:
 * the features, the model's answer, each guard's verdict, dry-run, and the switch it caused.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema } from "effect"
import { Decision, Features } from "./DecisionModel.js"
import type { StoreError } from "./EngineError.js"
import { AgentId, TenantId } from "./Ids.js"

/**
 * One guard's verdict as recorded.
 *
 * @since 0.1.0
 * @category models
 */
export class GuardVerdict extends Schema.Class<GuardVerdict>("GuardVerdict")({
  guard: Schema.String,
  passed: Schema.Boolean,
  detail: Schema.String
}) {}

/**
 * A logged decision.
 *
 * @since 0.1.0
 * @category models
 */
export class DecisionRecord extends Schema.Class<DecisionRecord>("DecisionRecord")({
  id: Schema.String,
  tenantId: TenantId,
  agentId: AgentId,
  model: Schema.String,
  modelVersion: Schema.String,
  /** "active" decisions may act; "shadow" ones are only logged. */
  mode: Schema.Literal("active", "shadow"),
  createdAt: Schema.Number,
  features: Features,
  decision: Decision,
  latencyMillis: Schema.Number,
  timedOut: Schema.Boolean,
  error: Schema.NullOr(Schema.String),
  verdicts: Schema.Array(GuardVerdict),
  /** Every guard passed (a SWITCH that may act). */
  allowed: Schema.Boolean,
  dryRun: Schema.Boolean,
  /** A switch was queued. */
  acted: Schema.Boolean,
  /** The switch flow it started. */
  flowId: Schema.NullOr(Schema.String),
  /** Why an allowed decision did not act (dry-run, a conflicting flow, …). */
  note: Schema.NullOr(Schema.String)
}) {}

/**
 * The decision log port.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecisionLogService {
  readonly append: (record: DecisionRecord) => Effect.Effect<void, StoreError>
  /** Newest first. */
  readonly list: (
    tenantId: TenantId,
    options?: { readonly agentId?: AgentId | undefined; readonly limit?: number | undefined; readonly since?: number | undefined }
  ) => Effect.Effect<ReadonlyArray<DecisionRecord>, StoreError>
}

/** @since 0.1.0 @category tags */
export class DecisionLog extends Context.Tag("@spotfleet/engine/DecisionLog")<DecisionLog, DecisionLogService>() {}

/**
 * The in-memory decision log.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): DecisionLogService => {
  const records: Array<DecisionRecord> = []
  return {
    append: (record) => Effect.sync(() => void records.push(record)),
    list: (tenantId, options = {}) =>
      Effect.sync(() => {
        const out: Array<DecisionRecord> = []
        for (let i = records.length - 1; i >= 0 && out.length < (options.limit ?? 100); i--) {
          const r = records[i]!
          if (r.tenantId !== tenantId) continue
          if (options.agentId !== undefined && r.agentId !== options.agentId) continue
          if (options.since !== undefined && r.createdAt < options.since) continue
          out.push(r)
        }
        return out
      })
  }
}

/** @since 0.1.0 @category layers */
export const layerMemory: Layer.Layer<DecisionLog> = Layer.sync(DecisionLog, makeMemory)
