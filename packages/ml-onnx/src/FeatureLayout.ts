/**
 * The feature tensor layout: one fixed-width float vector per (agent, candidate pool) pair, built
 * from the engine's `Features`. A model declares the layout version it reads; the tensor is
 * `[pairs, WIDTH]` float32 named `features`, and the model answers `[pairs, 1]` float32 named
 * `probability`: the chance that switching to that candidate pays off (docs/DESIGN.md, "Decision
 * models").
 *
 * Every value is scaled to roughly [-1, 1] (or [0, 1]) so that a linear model trains without
 * further normalisation; unknown values are 0 with a "known" flag beside them.
 *
 * @since 0.1.0
 */
import { DecisionModel } from "@spotfleet/engine"

/**
 * The layout version (the engine's `FEATURE_LAYOUT_VERSION`).
 *
 * @since 0.1.0
 * @category constants
 */
export const VERSION: typeof DecisionModel.FEATURE_LAYOUT_VERSION = DecisionModel.FEATURE_LAYOUT_VERSION

/**
 * The name of every column, in order.
 *
 * @since 0.1.0
 * @category constants
 */
export const NAMES = [
  /** (current − candidate) ÷ current, clipped to [-1, 1]. */
  "savingsFraction",
  /** ln(candidate ÷ current), clipped to [-2, 2], ÷ 2. */
  "logPriceRatio",
  /** current ÷ on-demand (0 when unknown). */
  "currentToOnDemand",
  /** candidate ÷ on-demand (0 when unknown). */
  "candidateToOnDemand",
  "onDemandKnown",
  /** Relative standard deviation of the current pool over 24 h, capped at 1. */
  "volatility",
  /** Hours in the current pool ÷ 168, capped at 1. */
  "hoursInPool",
  "noticeInProgress",
  /** The candidate's interruption risk in [0, 1] (engine `riskOf`). */
  "risk",
  /** Interruptions per day ÷ 4, capped at 1. */
  "interruptionsPerDay",
  "bandKnown",
  /** Median boot seconds ÷ 600, capped at 1 (0 when unknown). */
  "bootTime",
  "bootKnown",
  /** Candidates ÷ 10, capped at 1. */
  "candidateCount"
] as const

/**
 * Floats per (agent, candidate) pair.
 *
 * @since 0.1.0
 * @category constants
 */
export const WIDTH = NAMES.length

/**
 * The model's input and output names.
 *
 * @since 0.1.0
 * @category constants
 */
export const INPUT_NAME = "features"
/** @since 0.1.0 @category constants */
export const OUTPUT_NAME = "probability"

const clip = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x)

/**
 * Writes one pair's vector into `out` at `offset` (WIDTH floats).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeInto = (
  features: DecisionModel.Features,
  candidate: DecisionModel.Candidate,
  out: Float32Array | Array<number>,
  offset: number
): void => {
  const current = features.currentPrice
  const od = features.onDemandPrice
  const odKnown = od !== null && od > 0
  out[offset] = current > 0 ? clip((current - candidate.price) / current, -1, 1) : 0
  out[offset + 1] = current > 0 && candidate.price > 0 ? clip(Math.log(candidate.price / current), -2, 2) / 2 : 0
  out[offset + 2] = odKnown ? clip(current / od, 0, 2) : 0
  out[offset + 3] = odKnown ? clip(candidate.price / od, 0, 2) : 0
  out[offset + 4] = odKnown ? 1 : 0
  out[offset + 5] = clip(features.volatility, 0, 1)
  out[offset + 6] = clip(features.hoursInPool / 168, 0, 1)
  out[offset + 7] = features.noticeInProgress ? 1 : 0
  out[offset + 8] = DecisionModel.riskOf(candidate)
  out[offset + 9] = clip(candidate.interruptionsPerDay / 4, 0, 1)
  out[offset + 10] = candidate.interruptionBand === null ? 0 : 1
  out[offset + 11] = candidate.medianBootSeconds === null ? 0 : clip(candidate.medianBootSeconds / 600, 0, 1)
  out[offset + 12] = candidate.medianBootSeconds === null ? 0 : 1
  out[offset + 13] = clip(features.candidates.length / 10, 0, 1)
}

/**
 * The candidates a model scores: every candidate but the current pool.
 *
 * @since 0.1.0
 * @category encoding
 */
export const scoredCandidates = (features: DecisionModel.Features): ReadonlyArray<DecisionModel.Candidate> =>
  features.candidates.filter((c) => c.pool !== features.currentPool)

/**
 * One pair's vector.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (features: DecisionModel.Features, candidate: DecisionModel.Candidate): Array<number> => {
  const out = new Array<number>(WIDTH)
  encodeInto(features, candidate, out, 0)
  return out
}

/**
 * The tensor data for every scored candidate of an agent: `[candidates, WIDTH]` row-major.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeAll = (features: DecisionModel.Features): Float32Array => {
  const candidates = scoredCandidates(features)
  const out = new Float32Array(candidates.length * WIDTH)
  for (let i = 0; i < candidates.length; i++) encodeInto(features, candidates[i]!, out, i * WIDTH)
  return out
}
