/**
 * Savings, net of all spend. The rule, in one place:
 *
 * - **Running time.** An instance runs from its confirmed launch (`launchConfirmedAt`, with a
 *   cloud id) until the cloud was seen no longer running it (`terminationConfirmedAt`). While
 *   that end is not observed it is still running — a live instance, a ZOMBIE, and also one the
 *   engine retired (TERMINATED) that the cloud may still run — up to now (or the window's end).
 * - **Spend** (`actualCost`): every running hour of every instance of the workload (agent) at its
 *   actual price (the pool's spot price, or the on-demand price for on-demand pools): PRIMARY,
 *   REPLICA, ZOMBIE, both sides of a switch, and retired instances not yet confirmed gone.
 * - **Baseline** (`baselineCost`): what the workload would have cost on demand — the on-demand
 *   price of its PRIMARY's instance type over the hours it had a PRIMARY. An instance's PRIMARY
 *   time runs from when it became PRIMARY (registration, or `promotedAt`) until it was demoted or
 *   retired (`demotedAt`, `terminatedAt`), within its running time.
 * - **Gross savings** = baseline − what the PRIMARYs cost (`primaryCost`); **net savings** =
 *   baseline − all spend. An instance's baseline is its PRIMARY-time baseline: a replica that
 *   never served has a baseline of 0 and a net saving of minus its spend.
 * - **Leaked spend** (`leakedCost`): the spend of instances while unreconciled — retired by the
 *   engine (TERMINATED) but still running (`Instance.isUnreconciled`).
 * - **Known prices.** Time counts where both the actual price and the on-demand price of the
 *   instance's pool are known. Prices are step functions (each point holds until the next), as
 *   spot price histories record changes only.
 *
 * Reported per instance, agent, pool and tenant (`accrue`).
 *
 * 1 PRIMARY + 1 ZOMBIE for 10 h at $0.40/h on demand and $0.10/h spot: baseline $4.00, spend
 * $2.00, gross savings $3.00, net savings $2.00.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import type { Instance } from "./Instance.js"
import * as Pool from "./Pool.js"
import type * as Product from "./Product.js"
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
 * When one instance was running, in which pool, and in which part of that time it served as the
 * PRIMARY or ran unreconciled (see the module's rule).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunningInterval {
  readonly instanceId: string
  readonly agentId: string
  readonly pool: Pool.PoolId
  /** When it started running (launch confirmed, with a cloud id). */
  readonly start: number
  /** When it stopped running: its end observed, else now (or the end of the window asked for). */
  readonly end: number
  /** The part of `[start, end)` in which it was the agent's PRIMARY; null when it never was. */
  readonly primary: Span | null
  /**
   * From when it ran unreconciled (retired by the engine, still running) until `end`; null when
   * it never did within `[start, end)`.
   */
  readonly unreconciledFrom: number | null
}

/**
 * A stretch of time `[start, end)`, in epoch milliseconds.
 *
 * @since 0.2.0
 * @category models
 */
export interface Span {
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
  /**
   * On-demand price history of an instance type in a region under a product (Linux/UNIX when
   * omitted), ascending by time.
   */
  readonly onDemand: (instanceType: string, region: string, product?: Product.Product) => ReadonlyArray<PricePoint>
}

/**
 * Savings of one instance, or a sum of several (see the module's rule). Dollars and hours count
 * only time with both prices known.
 *
 * @since 0.1.0
 * @category models
 */
export interface SavingsLine {
  /** Running hours counted (instance-hours: two instances for an hour are 2). */
  readonly hours: number
  /** Of those, the hours as PRIMARY: the hours the baseline is for. */
  readonly primaryHours: number
  /** On-demand price × PRIMARY hours: what the workload would have cost on demand. */
  readonly baselineCost: number
  /** What the PRIMARY hours cost. */
  readonly primaryCost: number
  /** Spend: what every running hour cost (PRIMARY, REPLICA, ZOMBIE, unreconciled). */
  readonly actualCost: number
  /** Of the spend, what instances cost while unreconciled (retired by the engine, still running). */
  readonly leakedCost: number
  /** baselineCost − primaryCost. */
  readonly grossSavings: number
  /** baselineCost − actualCost: what running on spot saved after everything it cost. */
  readonly netSavings: number
  /** grossSavings ÷ baselineCost × 100, or null without a baseline. */
  readonly grossSavingsPercent: number | null
  /** netSavings ÷ baselineCost × 100, or null without a baseline. */
  readonly netSavingsPercent: number | null
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
 * The running intervals of an agent's instances (see {@link runningInterval}). Instances that
 * never ran are left out.
 *
 * @since 0.1.0
 * @category savings
 */
export const runningIntervals = (aggregate: Pick<AgentAggregate, "instances">, now: number): ReadonlyArray<RunningInterval> =>
  aggregate.instances.flatMap((i) => {
    const interval = runningInterval(i, now)
    return interval === null ? [] : [interval]
  })

/**
 * The running interval of one instance as of `now`, null when it never ran: from its confirmed
 * launch (with a cloud id) to the observed end of its running (`terminationConfirmedAt`), or to
 * `now` while that end is not observed — retired instances included. Its PRIMARY time starts at
 * `promotedAt` (registration sets it; a PRIMARY without it counts from its launch) and ends at
 * `demotedAt` or `terminatedAt`; it runs unreconciled from `terminatedAt` while TERMINATED.
 *
 * @since 0.1.0
 * @category savings
 */
export const runningInterval = (i: Instance, now: number): RunningInterval | null => {
  const start = i.launchConfirmedAt
  if (start === null || i.cloudInstanceId === null) return null
  const end = i.terminationConfirmedAt ?? now
  if (end <= start) return null
  const primaryFrom = i.promotedAt ?? (i.role === "PRIMARY" ? start : null)
  const primary = primaryFrom === null ? null : clip({ start: primaryFrom, end: i.demotedAt ?? i.terminatedAt ?? end }, start, end)
  const unreconciledFrom = i.role === "TERMINATED" && i.terminatedAt !== null && i.terminatedAt < end
    ? Math.max(start, i.terminatedAt)
    : null
  return { instanceId: i.id, agentId: i.agentId, pool: i.pool, start, end, primary, unreconciledFrom }
}

/**
 * Whether the instance may have run after `at`: launched (a confirmed launch with a cloud id) and
 * not seen gone at or before `at` — what `AgentStore.ListInstancesOptions.runningAfter` selects.
 *
 * @since 0.2.0
 * @category savings
 */
export const mayRunAfter = (i: Instance, at: number): boolean =>
  i.launchConfirmedAt !== null && i.cloudInstanceId !== null && (i.terminationConfirmedAt === null || i.terminationConfirmedAt > at)

/** The part of a span within `[from, to)`, null when empty. */
const clip = (span: Span, from: number, to: number): Span | null => {
  const start = Math.max(span.start, from)
  const end = Math.min(span.end, to)
  return end > start ? { start, end } : null
}

const zero: SavingsLine = {
  hours: 0,
  primaryHours: 0,
  baselineCost: 0,
  primaryCost: 0,
  actualCost: 0,
  leakedCost: 0,
  grossSavings: 0,
  netSavings: 0,
  grossSavingsPercent: null,
  netSavingsPercent: null
}

/** A line from its sums; savings and percentages derived. */
const lineOf = (sums: Pick<SavingsLine, "hours" | "primaryHours" | "baselineCost" | "primaryCost" | "actualCost" | "leakedCost">): SavingsLine => {
  const grossSavings = sums.baselineCost - sums.primaryCost
  const netSavings = sums.baselineCost - sums.actualCost
  return {
    hours: sums.hours,
    primaryHours: sums.primaryHours,
    baselineCost: sums.baselineCost,
    primaryCost: sums.primaryCost,
    actualCost: sums.actualCost,
    leakedCost: sums.leakedCost,
    grossSavings,
    netSavings,
    grossSavingsPercent: sums.baselineCost > 0 ? (grossSavings / sums.baselineCost) * 100 : null,
    netSavingsPercent: sums.baselineCost > 0 ? (netSavings / sums.baselineCost) * 100 : null
  }
}

/** What a line sums; accumulated in place while accruing. */
interface Sums {
  hours: number
  primaryHours: number
  baselineCost: number
  primaryCost: number
  actualCost: number
  leakedCost: number
}

const emptySums = (): Sums => ({ hours: 0, primaryHours: 0, baselineCost: 0, primaryCost: 0, actualCost: 0, leakedCost: 0 })

const addInto = (into: Sums, more: Sums): void => {
  into.hours += more.hours
  into.primaryHours += more.primaryHours
  into.baselineCost += more.baselineCost
  into.primaryCost += more.primaryCost
  into.actualCost += more.actualCost
  into.leakedCost += more.leakedCost
}

const addTo = (sums: Map<string, Sums>, key: string, more: Sums): void => {
  const current = sums.get(key)
  if (current === undefined) {
    const fresh = emptySums()
    addInto(fresh, more)
    sums.set(key, fresh)
  } else {
    addInto(current, more)
  }
}

const linesOf = (sums: ReadonlyMap<string, Sums>): Map<string, SavingsLine> => {
  const lines = new Map<string, SavingsLine>()
  for (const [key, value] of sums) lines.set(key, lineOf(value))
  return lines
}

const add = (a: SavingsLine, b: SavingsLine): SavingsLine =>
  lineOf({
    hours: a.hours + b.hours,
    primaryHours: a.primaryHours + b.primaryHours,
    baselineCost: a.baselineCost + b.baselineCost,
    primaryCost: a.primaryCost + b.primaryCost,
    actualCost: a.actualCost + b.actualCost,
    leakedCost: a.leakedCost + b.leakedCost
  })

/**
 * The integral of a step price over any `[from, to)` at or after its first point, in two binary
 * searches: the dollars from the first point up to each point, summed once. Equal to
 * `integrate(series, from, to).dollars` up to rounding.
 */
const runningSums = (series: ReadonlyArray<PricePoint>): ((from: number, to: number) => number) => {
  const upTo = new Float64Array(series.length)
  for (let i = 1; i < series.length; i++) {
    upTo[i] = upTo[i - 1]! + (series[i - 1]!.price * (series[i]!.at - series[i - 1]!.at)) / HOUR
  }
  /** Dollars from the first point to `t`. */
  const at = (t: number): number => {
    let lo = 0
    let hi = series.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (series[mid]!.at <= t) lo = mid
      else hi = mid - 1
    }
    return upTo[lo]! + (series[lo]!.price * (t - series[lo]!.at)) / HOUR
  }
  // Most spans start and end at the same few times (the window's ends): remember those.
  const seen = new Map<number, number>()
  const memo = (t: number): number => {
    let dollars = seen.get(t)
    if (dollars === undefined) seen.set(t, dollars = at(t))
    return dollars
  }
  return (from, to) => memo(to) - memo(from)
}

/**
 * Accrues the savings of running intervals over a window (see the module's rule). An instance's
 * time is counted where both its actual price (the spot price of its pool, or the on-demand price
 * for on-demand pools) and the on-demand price of its instance type are known.
 *
 * Each price series is walked once (into running sums); each span of an instance then costs two
 * binary searches, whatever its length.
 *
 * @since 0.1.0
 * @category savings
 */
export const accrue = (
  intervals: Iterable<RunningInterval>,
  prices: PriceLookup,
  window: { readonly from: number; readonly to: number }
): SavingsReport => {
  const instances = new Map<string, Sums>()
  const agents = new Map<string, Sums>()
  const poolSums = new Map<string, Sums>()
  const total = emptySums()
  // A fleet's instances share a few pools: parse each pool once, and walk each price series once
  // into running sums, so that any span costs two binary searches (a large fleet reports tens of
  // thousands of points per pool and window, and an instance has up to three spans).
  const pools = new Map<string, ReturnType<typeof Pool.parse>>()
  const integrals = new Map<ReadonlyArray<PricePoint>, (from: number, to: number) => number>()
  const dollarsOf = (series: ReadonlyArray<PricePoint>, from: number, to: number): number => {
    let integral = integrals.get(series)
    if (integral === undefined) integrals.set(series, integral = runningSums(series))
    return integral(from, to)
  }
  for (const interval of intervals) {
    let parts = pools.get(interval.pool)
    if (parts === undefined) pools.set(interval.pool, parts = Pool.parse(interval.pool))
    if (Either.isLeft(parts)) continue
    const { instanceType, lifecycle, product, region } = parts.right
    // An AZ ID of an unknown region has no baseline.
    if (region === null) continue
    const baselineSeries = prices.onDemand(instanceType, region, product)
    const actualSeries = lifecycle === "on-demand" ? baselineSeries : prices.spot(interval.pool)
    if (baselineSeries.length === 0 || actualSeries.length === 0) continue
    // Count only time inside the window and covered by both series: from the later of their
    // first points.
    const from = Math.max(window.from, interval.start, baselineSeries[0]!.at, actualSeries[0]!.at)
    const to = Math.min(window.to, interval.end)
    if (to <= from) continue
    const primaryFrom = interval.primary === null ? to : Math.max(from, interval.primary.start)
    const primaryTo = interval.primary === null ? to : Math.min(to, interval.primary.end)
    const wasPrimary = primaryTo > primaryFrom
    const leakedFrom = interval.unreconciledFrom === null ? to : Math.max(from, interval.unreconciledFrom)
    const sums: Sums = {
      hours: (to - from) / HOUR,
      primaryHours: wasPrimary ? (primaryTo - primaryFrom) / HOUR : 0,
      baselineCost: wasPrimary ? dollarsOf(baselineSeries, primaryFrom, primaryTo) : 0,
      primaryCost: wasPrimary ? dollarsOf(actualSeries, primaryFrom, primaryTo) : 0,
      actualCost: dollarsOf(actualSeries, from, to),
      leakedCost: leakedFrom < to ? dollarsOf(actualSeries, leakedFrom, to) : 0
    }
    // `sums` is this interval's own object: the instances' map may keep it, the others copy it.
    const known = instances.get(interval.instanceId)
    if (known === undefined) instances.set(interval.instanceId, sums)
    else addInto(known, sums)
    addTo(agents, interval.agentId, sums)
    addTo(poolSums, interval.pool, sums)
    addInto(total, sums)
  }
  return { byInstance: linesOf(instances), byAgent: linesOf(agents), byPool: linesOf(poolSums), total: lineOf(total) }
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
