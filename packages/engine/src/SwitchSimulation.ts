/**
 * What a switch of an agent to another pool would bring, computed from what the engine knows
 * (current quotes, measured downtimes, the pool ledger) without queueing anything: the expected
 * savings, the downtime to expect, the interruption risk of the target pool, and what would block
 * the switch now. Pure: the caller gathers the inputs.
 *
 * @since 0.2.0
 */
import { Priority } from "./Command.js"
import * as DecisionModel from "./DecisionModel.js"
import type { AgentView } from "./Engine.js"
import type { AgentId } from "./Ids.js"
import type { PoolId } from "./Pool.js"
import * as PoolLedger from "./PoolLedger.js"
import type { PriceQuote } from "./PriceService.js"
import * as SwitchGuards from "./SwitchGuards.js"
import * as SwitchHistory from "./SwitchHistory.js"

const DAY = 86_400_000

/**
 * Hours in an average month (365 × 24 ÷ 12), for monthly figures.
 *
 * @since 0.2.0
 * @category constants
 */
export const hoursPerMonth = 730

/**
 * What goes into a simulation.
 *
 * @since 0.2.0
 * @category models
 */
export interface Inputs {
  readonly view: AgentView
  readonly pool: PoolId
  /** Current quotes of the agent's pool and the target pool. */
  readonly quotes: ReadonlyMap<PoolId, PriceQuote>
  /** The tenant's switch records of the last 60 days (the downtime to expect). */
  readonly history: ReadonlyArray<SwitchHistory.SwitchRecord>
  readonly ledger: PoolLedger.Ledger
  readonly quarantined: ReadonlySet<PoolId>
  readonly now: number
}

/**
 * The expected outcome of a switch.
 *
 * @since 0.2.0
 * @category models
 */
export interface Simulation {
  readonly agentId: AgentId
  readonly fromPool: string
  readonly toPool: PoolId
  readonly currentPrice: number | null
  readonly targetPrice: number | null
  readonly onDemandPrice: number | null
  readonly hourlySavings: number | null
  readonly dailySavings: number | null
  readonly monthlySavings: number | null
  readonly savingsPercent: number | null
  readonly expectedDowntime: { readonly samples: number; readonly avgSeconds: number | null; readonly p95Seconds: number | null }
  readonly risk: {
    readonly score: number
    readonly interruptionsPerDay: number
    readonly terminationNotices: number
    readonly reclaims: number
    readonly medianBootSeconds: number | null
    readonly quarantined: boolean
  }
  /** What would block a manual switch now: the state machine's own guards, in words. */
  readonly blockers: ReadonlyArray<string>
}

/**
 * The pools a simulation needs quotes for.
 *
 * @since 0.2.0
 * @category simulation
 */
export const poolsToQuote = (view: AgentView, pool: PoolId): ReadonlyArray<PoolId> => {
  const from = view.instances.find((i) => i.role === "PRIMARY")?.pool
  return from === undefined ? [pool] : [from, pool]
}

/**
 * Simulates a manual switch of the agent to `pool`.
 *
 * @since 0.2.0
 * @category simulation
 */
export const simulate = (inputs: Inputs): Simulation => {
  const { ledger, now, pool, quotes, view } = inputs
  const fromPool = view.instances.find((i) => i.role === "PRIMARY")?.pool ?? null
  const blockers = SwitchGuards.blockers(view, { pool, priority: Priority.manual }).map(SwitchGuards.describe)
  const currentPrice = fromPool === null ? null : quotes.get(fromPool)?.price ?? null
  const targetPrice = quotes.get(pool)?.price ?? null
  const onDemandPrice = quotes.get(pool)?.onDemandPrice ?? null
  const hourly = currentPrice === null || targetPrice === null ? null : currentPrice - targetPrice
  const downtime = SwitchHistory.downtimeAnalytics(inputs.history, { from: now - 30 * DAY, to: now + 1 })
  const record = ledger.pools.get(pool)
  const interruptionsPerDay = record === undefined ? 0 : PoolLedger.interruptionsPerDay(record, now)
  const score = DecisionModel.riskOf(DecisionModel.Candidate.make({
    pool,
    price: targetPrice ?? 0,
    medianBootSeconds: record?.medianBootSeconds ?? null,
    interruptionsPerDay,
    interruptionBand: null
  }))
  return {
    agentId: view.agent.id,
    fromPool: fromPool ?? "",
    toPool: pool,
    currentPrice,
    targetPrice,
    onDemandPrice,
    hourlySavings: hourly,
    dailySavings: hourly === null ? null : hourly * 24,
    monthlySavings: hourly === null ? null : hourly * hoursPerMonth,
    savingsPercent: hourly === null || currentPrice === null || currentPrice === 0 ? null : (hourly / currentPrice) * 100,
    expectedDowntime: { samples: downtime.count, avgSeconds: downtime.avgSeconds, p95Seconds: downtime.p95Seconds },
    risk: {
      score,
      interruptionsPerDay,
      terminationNotices: record?.terminationNotices ?? 0,
      reclaims: record?.reclaims ?? 0,
      medianBootSeconds: record?.medianBootSeconds ?? null,
      quarantined: inputs.quarantined.has(pool)
    },
    blockers
  }
}
