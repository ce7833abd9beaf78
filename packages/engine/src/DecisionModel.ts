/**
 * Port: the switch decision model (docs/DESIGN.md, "Decision models"). Features in, a decision out,
 * within a hard time budget: past it the engine decides WAIT and records a timeout, so a slow model
 * can never stall the decision loop. `ruleBased` is the default model until an ONNX model is
 * registered.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { PoolId } from "./Pool.js"

/**
 * Version of the feature layout; a model declares the layout it was trained on.
 *
 * @since 0.1.0
 * @category constants
 */
export const FEATURE_LAYOUT_VERSION = 1 as const

/**
 * A pool the workload could move to.
 *
 * @since 0.1.0
 * @category models
 */
export class Candidate extends Schema.Class<Candidate>("Candidate")({
  pool: PoolId,
  /** Current hourly price. */
  price: Schema.Number.pipe(Schema.nonNegative()),
  medianBootSeconds: Schema.NullOr(Schema.Number),
  /** Interruptions (notices and reclaims) per day observed recently. */
  interruptionsPerDay: Schema.Number.pipe(Schema.nonNegative()),
  /** The cloud's interruption-frequency band (0 lowest … 4 highest), when known. */
  interruptionBand: Schema.NullOr(Schema.Int.pipe(Schema.between(0, 4)))
}) {}

/**
 * The model's input.
 *
 * @since 0.1.0
 * @category models
 */
export class Features extends Schema.Class<Features>("Features")({
  layoutVersion: Schema.Literal(FEATURE_LAYOUT_VERSION),
  agentId: Schema.String,
  currentPool: PoolId,
  currentPrice: Schema.Number.pipe(Schema.nonNegative()),
  onDemandPrice: Schema.NullOr(Schema.Number),
  /** Relative standard deviation of the current pool's price over the last 24 h. */
  volatility: Schema.Number.pipe(Schema.nonNegative()),
  hoursInPool: Schema.Number.pipe(Schema.nonNegative()),
  noticeInProgress: Schema.Boolean,
  candidates: Schema.Array(Candidate)
}) {}

/** @since 0.1.0 @category models */
export const Action = Schema.Literal("STAY", "SWITCH", "CREATE_REPLICA", "WAIT")
/** @since 0.1.0 @category models */
export type Action = typeof Action.Type

/**
 * The model's output.
 *
 * @since 0.1.0
 * @category models
 */
export class Decision extends Schema.Class<Decision>("Decision")({
  action: Action,
  targetPool: Schema.NullOr(PoolId),
  confidence: Schema.Number.pipe(Schema.between(0, 1)),
  reasoning: Schema.String,
  /** (current price − target price) ÷ current price × 100. */
  expectedSavingsPercent: Schema.NullOr(Schema.Number),
  /** Interruption risk of the target, 0 (none) … 1. */
  risk: Schema.NullOr(Schema.Number.pipe(Schema.between(0, 1)))
}) {}

/** @since 0.1.0 @category errors */
export class ModelError extends Schema.TaggedError<ModelError>()("ModelError", {
  model: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `model ${this.model} failed: ${this.reason}`
  }
}

/**
 * A decision model.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecisionModelService {
  readonly name: string
  readonly version: string
  readonly decide: (features: Features) => Effect.Effect<Decision, ModelError>
}

/** @since 0.1.0 @category tags */
export class DecisionModel extends Context.Tag("@spotfleet/engine/DecisionModel")<DecisionModel, DecisionModelService>() {}

/**
 * The interruption risk of a cloud interruption-frequency band in [0, 1]: band ÷ 4, so band 0
 * (`<5%` of instances interrupted a month) is 0 and band 4 (`>20%`) is 1; `null` when unknown.
 * With the default `riskThreshold` 0.3 a target in band 2 or higher is refused by the risk guard.
 *
 * @since 0.2.0
 * @category features
 */
export const riskOfBand = (band: number | null | undefined): number | null =>
  band === null || band === undefined ? null : Math.min(1, Math.max(0, band / 4))

/**
 * The interruption risk of a candidate in [0, 1] — the one rule the models and the risk guard
 * use: the higher of its band's risk (`riskOfBand`, when the cloud gives one) and its observed
 * interruptions per day ÷ 4 (4 a day or more is the maximum), so a low band never hides a pool
 * that keeps being interrupted.
 *
 * @since 0.1.0
 * @category features
 */
export const riskOf = (c: Candidate): number =>
  Math.max(riskOfBand(c.interruptionBand) ?? 0, Math.min(1, c.interruptionsPerDay / 4))

/**
 * The default model: the candidate with the best savings weighted by (1 − risk), switched to when
 * it saves at least 5%; confidence grows with the savings and shrinks with the risk.
 *
 * @since 0.1.0
 * @category models
 */
export const ruleBased: DecisionModelService = {
  name: "rule-based",
  version: "1",
  decide: (f) =>
    Effect.sync(() => {
      if (f.noticeInProgress) {
        return Decision.make({ action: "WAIT", targetPool: null, confidence: 1, reasoning: "an interruption notice is being handled", expectedSavingsPercent: null, risk: null })
      }
      let best: { c: Candidate; savings: number; risk: number; score: number } | undefined
      for (const c of f.candidates) {
        if (c.pool === f.currentPool || f.currentPrice <= 0) continue
        const savings = ((f.currentPrice - c.price) / f.currentPrice) * 100
        const risk = riskOf(c)
        const score = savings * (1 - risk)
        if (best === undefined || score > best.score) best = { c, savings, risk, score }
      }
      if (best === undefined || best.savings < 5) {
        return Decision.make({
          action: "STAY",
          targetPool: null,
          confidence: 0.8,
          reasoning: best === undefined ? "no candidate pool" : `best candidate ${best.c.pool} saves only ${best.savings.toFixed(1)}%`,
          expectedSavingsPercent: best?.savings ?? null,
          risk: best?.risk ?? null
        })
      }
      const confidence = Math.min(0.99, (0.55 + 0.4 * Math.min(1, best.savings / 40)) * (1 - best.risk / 2))
      return Decision.make({
        action: "SWITCH",
        targetPool: best.c.pool,
        confidence,
        reasoning: `${best.c.pool} is ${best.savings.toFixed(1)}% cheaper at risk ${best.risk.toFixed(2)}`,
        expectedSavingsPercent: best.savings,
        risk: best.risk
      })
    })
}

/** @since 0.1.0 @category layers */
export const layerRuleBased: Layer.Layer<DecisionModel> = Layer.succeed(DecisionModel, ruleBased)

/**
 * A decision with how long it took and whether the budget ran out.
 *
 * @since 0.1.0
 * @category models
 */
export interface TimedDecision {
  readonly decision: Decision
  readonly latencyMillis: number
  readonly timedOut: boolean
  readonly error: string | null
}

/**
 * Asks a model within a time budget (default 450 ms; the product requires < 500 ms). A model
 * that runs out of time or fails yields WAIT, recorded as such.
 *
 * @since 0.1.0
 * @category combinators
 */
export const decideWithin = (
  model: DecisionModelService,
  features: Features,
  budget: Duration.DurationInput = Duration.millis(450)
): Effect.Effect<TimedDecision> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const outcome = yield* model.decide(features).pipe(Effect.timeoutOption(budget), Effect.either)
    const latencyMillis = (yield* Clock.currentTimeMillis) - start
    const wait = (reasoning: string) =>
      Decision.make({ action: "WAIT", targetPool: null, confidence: 0, reasoning, expectedSavingsPercent: null, risk: null })
    if (outcome._tag === "Left") {
      return { decision: wait(`model error: ${outcome.left.reason}`), latencyMillis, timedOut: false, error: outcome.left.reason }
    }
    return Option.match(outcome.right, {
      onNone: () => ({ decision: wait(`no answer within ${Duration.toMillis(budget)} ms`), latencyMillis, timedOut: true, error: null }),
      onSome: (decision) => ({ decision, latencyMillis, timedOut: false, error: null })
    })
  })
