/**
 * Guard rails of automatic switches (docs/DESIGN.md, "Switching"): every SWITCH decision is checked
 * against each guard, and acts only when all pass. Each verdict is logged with the decision.
 *
 * The risk guard: the target's risk is the higher of the model's and its interruption band's
 * (`DecisionModel.riskOfBand`); it passes when that is at most the agent's `riskThreshold`, or
 * when it is no higher than the current pool's risk (`currentRisk`): a switch is never refused for
 * a risk the workload already bears, and never moves it into a riskier band above the threshold.
 *
 * @since 0.1.0
 */
import type { AgentConfig } from "./Agent.js"
import { type Decision, riskOfBand } from "./DecisionModel.js"

/** @since 0.1.0 @category models */
export type GuardName =
  | "confidence"
  | "savings"
  | "risk"
  | "dailyCap"
  | "weeklyCap"
  | "minPoolDuration"
  | "enabled"
  | "noNotice"
  | "noFlowInProgress"

/**
 * One guard's verdict.
 *
 * @since 0.1.0
 * @category models
 */
export interface Verdict {
  readonly guard: GuardName
  readonly passed: boolean
  readonly detail: string
}

/**
 * What the guards look at besides the decision.
 *
 * @since 0.1.0
 * @category models
 */
export interface GuardContext {
  readonly config: AgentConfig
  /** Minimum model confidence (default 0.70; a model in the registry may set its own). */
  readonly confidenceThreshold?: number | undefined
  readonly switchesLastDay: number
  readonly switchesLastWeek: number
  readonly hoursInPool: number
  readonly noticeInProgress: boolean
  readonly flowInProgress: boolean
  /**
   * The target pool's interruption-frequency band from `InterruptionData` (null or absent when
   * unknown). The risk guard judges the higher of the model's risk and the band's
   * (`DecisionModel.riskOfBand`), so a model cannot talk a switch into a band-4 pool.
   */
  readonly targetBand?: number | null | undefined
  /** The band's label (`>20%`), for the verdict's detail. */
  readonly targetBandLabel?: string | null | undefined
  /**
   * The current pool's risk by `DecisionModel.riskOf` (its band and observed interruptions); null
   * or absent when unknown. A target no riskier than this passes the risk guard.
   */
  readonly currentRisk?: number | null | undefined
}

/** @since 0.1.0 @category constants */
export const DEFAULT_CONFIDENCE_THRESHOLD = 0.7

const verdict = (guard: GuardName, passed: boolean, detail: string): Verdict => ({ guard, passed, detail })

/**
 * Checks a decision against every guard. Only SWITCH decisions are guarded; anything else gets no
 * verdicts (it does nothing).
 *
 * @since 0.1.0
 * @category guards
 */
export const evaluate = (decision: Decision, ctx: GuardContext): ReadonlyArray<Verdict> => {
  if (decision.action !== "SWITCH") return []
  const c = ctx.config
  const threshold = ctx.confidenceThreshold ?? DEFAULT_CONFIDENCE_THRESHOLD
  const savings = decision.expectedSavingsPercent
  const bandRisk = riskOfBand(ctx.targetBand)
  const risk = decision.risk === null ? bandRisk : bandRisk === null ? decision.risk : Math.max(decision.risk, bandRisk)
  const current = ctx.currentRisk ?? null
  const band = ctx.targetBand === null || ctx.targetBand === undefined
    ? ""
    : ` (target in interruption band ${ctx.targetBand}${ctx.targetBandLabel ? ` "${ctx.targetBandLabel}"` : ""})`
  return [
    verdict("confidence", decision.confidence >= threshold, `confidence ${decision.confidence.toFixed(2)} vs threshold ${threshold}`),
    verdict("savings", savings !== null && savings >= c.minSavingsPercent, `savings ${savings?.toFixed(1) ?? "unknown"}% vs minimum ${c.minSavingsPercent}%`),
    verdict(
      "risk",
      risk !== null && (risk <= c.riskThreshold || (current !== null && risk <= current)),
      `risk ${risk?.toFixed(2) ?? "unknown"}${band} vs threshold ${c.riskThreshold}` +
        (current === null ? "" : `, current pool ${current.toFixed(2)}`)
    ),
    verdict("dailyCap", ctx.switchesLastDay < c.maxSwitchesPerDay, `${ctx.switchesLastDay} switches in 24 h, cap ${c.maxSwitchesPerDay}`),
    verdict("weeklyCap", ctx.switchesLastWeek < c.maxSwitchesPerWeek, `${ctx.switchesLastWeek} switches in 7 days, cap ${c.maxSwitchesPerWeek}`),
    verdict("minPoolDuration", ctx.hoursInPool >= c.minPoolDurationHours, `${ctx.hoursInPool.toFixed(2)} h in the current pool, minimum ${c.minPoolDurationHours} h`),
    verdict("enabled", c.enabled, c.enabled ? "agent enabled" : "agent disabled"),
    verdict("noNotice", !ctx.noticeInProgress, ctx.noticeInProgress ? "an interruption notice is in progress" : "no notice"),
    verdict("noFlowInProgress", !ctx.flowInProgress, ctx.flowInProgress ? "another role change is in progress" : "nothing in progress")
  ]
}

/**
 * Whether a decision may act: it is a SWITCH and every guard passed.
 *
 * @since 0.1.0
 * @category guards
 */
export const allows = (decision: Decision, verdicts: ReadonlyArray<Verdict>): boolean =>
  decision.action === "SWITCH" && verdicts.length > 0 && verdicts.every((v) => v.passed)
