/**
 * Savings (DESIGN.md §5): accrued per instance over its running time as
 * (on-demand baseline price − actual price) × running hours, and summed per agent, pool and
 * tenant. Prices are step functions (each point holds until the next), as spot price histories
 * record changes only.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import type { Instance } from "./Instance.js"
import * as Pool from "./Pool.js"
import type { AgentAggregate } from "./StateMachine.js"

/**
 * One price change: `price` dollars per hour from `at` until the next point.
 *
 * @since 0.1.0
 * @category models
 */
export interface PricePoint {
  readonly at: number
  readonly price: number
}

/**
 * When one instance was running, in which pool.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunningInterval {
  readonly instanceId: string
  readonly agentId: string
  readonly pool: Pool.PoolId
  readonly start: number
  readonly end: number
}

/**
 * Where prices come from.
 *
 * @since 0.1.0
 * @category models
 */
export interface PriceLookup {
  /** Spot price history of a pool, ascending by time. */
  readonly spot: (pool: Pool.PoolId) => ReadonlyArray<PricePoint>
  /** On-demand price history of an instance type in a region, ascending by time. */
  readonly onDemand: (instanceType: string, region: string) => ReadonlyArray<PricePoint>
}

/**
 * Savings of one instance, or a sum of several.
 *
 * @since 0.1.0
 * @category models
 */
export interface SavingsLine {
  /** Hours for which both prices were known (only those are counted). */
  readonly hours: number
  readonly baselineCost: number
  readonly actualCost: number
  readonly savings: number
  /** savings ÷ baseline × 100, or null without a baseline. */
  readonly savingsPercent: number | null
}

/**
 * The savings of a set of instances over a window.
 *
 * @since 0.1.0
 * @category models
 */
export interface SavingsReport {
  readonly byInstance: ReadonlyMap<string, SavingsLine>
  readonly byAgent: ReadonlyMap<string, SavingsLine>
  readonly byPool: ReadonlyMap<string, SavingsLine>
  readonly total: SavingsLine
}

const HOUR = 3_600_000

/**
 * Integrates a step price over `[from, to)`: dollars, and how much of the span had a known price.
 *
 * @since 0.1.0
 * @category pricing
 */
export const integrate = (series: ReadonlyArray<PricePoint>, from: number, to: number): { readonly dollars: number; readonly knownMillis: number } => {
  let dollars = 0
  let knownMillis = 0
  for (let i = 0; i < series.length; i++) {
    const start = Math.max(from, series[i]!.at)
    const end = Math.min(to, i + 1 < series.length ? series[i + 1]!.at : Infinity)
    if (end <= start) continue
    dollars += (series[i]!.price * (end - start)) / HOUR
    knownMillis += end - start
  }
  return { dollars, knownMillis }
}

/**
 * The running intervals of an agent's instances: from launch confirmation (or registration) to
 * the end of service (or `now`). Instances that never ran are left out.
 *
 * @since 0.1.0
 * @category savings
 */
export const runningIntervals = (aggregate: AgentAggregate, now: number): ReadonlyArray<RunningInterval> =>
  aggregate.instances.flatMap((i) => {
    const interval = runningInterval(i, now)
    return interval === null ? [] : [interval]
  })

/**
 * The running interval of one instance (see {@link runningIntervals}), null when it never ran.
 *
 * @since 0.1.0
 * @category savings
 */
export const runningInterval = (i: Instance, now: number): RunningInterval | null => {
  const start = i.launchConfirmedAt
  if (start === null || i.cloudInstanceId === null) return null
  const end = i.terminatedAt ?? now
  return end > start ? { instanceId: i.id, agentId: i.agentId, pool: i.pool, start, end } : null
}

const zero: SavingsLine = { hours: 0, baselineCost: 0, actualCost: 0, savings: 0, savingsPercent: null }
const add = (a: SavingsLine, b: SavingsLine): SavingsLine => {
  const baselineCost = a.baselineCost + b.baselineCost
  const savings = a.savings + b.savings
  return {
    hours: a.hours + b.hours,
    baselineCost,
    actualCost: a.actualCost + b.actualCost,
    savings,
    savingsPercent: baselineCost > 0 ? (savings / baselineCost) * 100 : null
  }
}

/**
 * Accrues savings of running intervals over a window. Time is counted where both the actual price
 * (spot price of the pool, or the on-demand price for on-demand pools) and the on-demand baseline
 * of the instance type are known; the actual and baseline costs integrate over exactly that time.
 *
 * @since 0.1.0
 * @category savings
 */
export const accrue = (
  intervals: Iterable<RunningInterval>,
  prices: PriceLookup,
  window: { readonly from: number; readonly to: number }
): SavingsReport => {
  const byInstance = new Map<string, SavingsLine>()
  const byAgent = new Map<string, SavingsLine>()
  const byPool = new Map<string, SavingsLine>()
  let total = zero
  // A fleet's instances share a few pools and mostly run through the whole window: parse each
  // pool once and integrate each series over each span once (a large fleet reports thousands of
  // points per pool and window, so integrating per instance was instances × points).
  const pools = new Map<string, ReturnType<typeof Pool.parse>>()
  const integrals = new Map<ReadonlyArray<PricePoint>, Map<string, ReturnType<typeof integrate>>>()
  const integrateOnce = (series: ReadonlyArray<PricePoint>, from: number, to: number) => {
    let spans = integrals.get(series)
    if (spans === undefined) integrals.set(series, spans = new Map())
    const key = `${from}|${to}`
    let result = spans.get(key)
    if (result === undefined) spans.set(key, result = integrate(series, from, to))
    return result
  }
  for (const interval of intervals) {
    let parts = pools.get(interval.pool)
    if (parts === undefined) pools.set(interval.pool, parts = Pool.parse(interval.pool))
    if (Either.isLeft(parts)) continue
    const { instanceType, lifecycle, region } = parts.right
    const baselineSeries = prices.onDemand(instanceType, region)
    const actualSeries = lifecycle === "on-demand" ? baselineSeries : prices.spot(interval.pool)
    const from = Math.max(window.from, interval.start)
    const to = Math.min(window.to, interval.end)
    if (to <= from || baselineSeries.length === 0 || actualSeries.length === 0) continue
    // Count only time covered by both series: from the later of their first points.
    const known = Math.max(from, baselineSeries[0]!.at, actualSeries[0]!.at)
    if (to <= known) continue
    const baseline = integrateOnce(baselineSeries, known, to)
    const actual = integrateOnce(actualSeries, known, to)
    const line: SavingsLine = {
      hours: (to - known) / HOUR,
      baselineCost: baseline.dollars,
      actualCost: actual.dollars,
      savings: baseline.dollars - actual.dollars,
      savingsPercent: baseline.dollars > 0 ? ((baseline.dollars - actual.dollars) / baseline.dollars) * 100 : null
    }
    byInstance.set(interval.instanceId, add(byInstance.get(interval.instanceId) ?? zero, line))
    byAgent.set(interval.agentId, add(byAgent.get(interval.agentId) ?? zero, line))
    byPool.set(interval.pool, add(byPool.get(interval.pool) ?? zero, line))
    total = add(total, line)
  }
  return { byInstance, byAgent, byPool, total }
}

/**
 * Sums reports over disjoint sets of instances (the same window), as one `accrue` over all of
 * them would answer.
 *
 * @since 0.1.0
 * @category savings
 */
export const combine = (reports: ReadonlyArray<SavingsReport>): SavingsReport => {
  const byInstance = new Map<string, SavingsLine>()
  const byAgent = new Map<string, SavingsLine>()
  const byPool = new Map<string, SavingsLine>()
  let total = zero
  for (const report of reports) {
    for (const [k, line] of report.byInstance) byInstance.set(k, add(byInstance.get(k) ?? zero, line))
    for (const [k, line] of report.byAgent) byAgent.set(k, add(byAgent.get(k) ?? zero, line))
    for (const [k, line] of report.byPool) byPool.set(k, add(byPool.get(k) ?? zero, line))
    total = add(total, report.total)
  }
  return { byInstance, byAgent, byPool, total }
}

/**
 * Rounds dollars to cents (half away from zero), for reports.
 *
 * @since 0.1.0
 * @category pricing
 */
export const cents = (dollars: number): number =>
  // Shift the decimal point in the text form, so 1.005 (1.00499… in binary) rounds as written.
  Math.sign(dollars) * Number(`${Math.round(Number(`${Math.abs(dollars)}e2`))}e-2`)
