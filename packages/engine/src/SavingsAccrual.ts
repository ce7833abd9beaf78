/**
 * Periodic savings accrual for the Prometheus counters (docs/DESIGN.md, "Savings" and "Metrics and
 * alerts"): `spotfleet_baseline_cost_dollars_total`, `spotfleet_spend_dollars_total`,
 * `spotfleet_savings_dollars_total` (gross) and `spotfleet_leaked_spend_dollars_total`. Each run
 * accrues, with `Savings.accrue` (the rule: baseline = on-demand price × hours with a PRIMARY;
 * spend = every running instance, retired ones included until seen gone), the running time of every
 * instance since the previous run and advances the counters, so `(rate(baseline) − rate(spend)) /
 * rate(baseline)` is the net savings ratio over any range.
 *
 * Prices: the spot series of a pool is its consolidated points plus the raw agent points not yet
 * consolidated (`PriceService.spotPoints`), looked back far enough to know the price holding at the
 * start of the window; the baseline is the current on-demand price of the instance type (on-demand
 * prices change rarely, so it is taken to hold over the whole window). Time without a known price
 * is not counted (as in `Savings.accrue`).
 *
 * The counters live in the process that runs the accrual; run it as a singleton job
 * (`Jobs.runForever(SavingsAccrual.job(accrual), holder)`) so a fleet is counted once.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Metric, Option, Ref } from "effect"
import type { Agent } from "./Agent.js"
import { AgentStore, type TenantInstance } from "./AgentStore.js"
import type { StoreError } from "./EngineError.js"
import * as EngineMetrics from "./EngineMetrics.js"
import type { JobSpec } from "./Jobs.js"
import type { PoolId } from "./Pool.js"
import { PriceService } from "./PriceService.js"
import * as Savings from "./Savings.js"

const PAGE = 500

/**
 * Where the price holding at a window's start is looked for, nearest first: a large fleet
 * reports every pool many times a second (100,000 agents: about 170 points per pool and second),
 * a small one every few minutes.
 */
const nearLookbacks = [Duration.seconds(10), Duration.minutes(1), Duration.minutes(10)]

/** Instances accrued at once (each piece is followed by a rest, see `paced`). */
const ACCRUE_CHUNK = 5_000

/** Longest stretch of raw points read at once (each read is followed by a rest, see `paced`). */
const CHUNK_MILLIS = 60_000

/**
 * Runs a piece of the accrual, then rests as long as it took (at most a second): the accrual is
 * a background job, and at fleet scale its reads and decoding take seconds of the server's CPU
 * that must not be taken from the agents' requests all at once. Under `TestClock` no time passes,
 * so nothing rests.
 */
const paced = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const result = yield* effect
    const took = (yield* Clock.currentTimeMillis) - start
    if (took > 0) yield* Effect.sleep(Duration.millis(Math.min(took, 1_000)))
    return result
  })

/**
 * What one run accrued.
 *
 * @since 0.1.0
 * @category models
 */
export interface Accrued {
  readonly from: number
  readonly to: number
  readonly instances: number
  /** Baseline − what the PRIMARYs cost (`Savings.SavingsLine.grossSavings`). */
  readonly grossSavings: number
  /** Baseline − all spend (`Savings.SavingsLine.netSavings`). */
  readonly netSavings: number
  readonly baselineCost: number
  /** Spend of every running instance. */
  readonly actualCost: number
  /** Spend of instances retired but still running. */
  readonly leakedCost: number
}

/**
 * Accrual options.
 *
 * @since 0.1.0
 * @category models
 */
export interface AccrualOptions {
  /** How far before the window to look for the spot price holding at its start (default 1 day). */
  readonly priceLookback?: Duration.DurationInput | undefined
}

/**
 * Savings of every instance of every tenant over `[from, to)`, without touching the counters.
 *
 * @since 0.1.0
 * @category savings
 */
export const accrueWindow = (
  window: { readonly from: number; readonly to: number },
  options: AccrualOptions = {}
): Effect.Effect<Savings.SavingsReport, StoreError, AgentStore | PriceService> =>
  Effect.gen(function*() {
    const store = yield* AgentStore
    const prices = yield* PriceService
    const intervals: Array<Savings.RunningInterval> = []
    if (store.listInstances !== undefined) {
      // In bulk: only the instances, and only those that may have run after the window's start
      // (retired ones too while they are not seen gone: they still cost money).
      let afterId: TenantInstance["instance"]["id"] | undefined
      while (true) {
        const page = yield* paced(store.listInstances(null, { runningAfter: window.from, afterId, limit: PAGE }))
        for (const { instance } of page) {
          const interval = Savings.runningInterval(instance, window.to)
          if (interval !== null) intervals.push(interval)
        }
        if (page.length < PAGE) break
        afterId = page[page.length - 1]!.instance.id
      }
    } else {
      let afterId: Agent["id"] | undefined
      while (true) {
        const page = yield* store.list(null, { afterId, limit: PAGE })
        for (const agent of page) {
          const aggregate = yield* store.load(agent.id)
          if (Option.isSome(aggregate)) intervals.push(...Savings.runningIntervals(aggregate.value, window.to))
        }
        if (page.length < PAGE) break
        afterId = page[page.length - 1]!.id
      }
    }
    const inWindow = intervals.filter((i) => i.end > window.from && i.start < window.to)
    const lookbackFrom = window.from - Duration.toMillis(options.priceLookback ?? "1 day")
    /**
     * A pool's points over a range: consolidated slots, then the raw points not consolidated yet
     * (raw wins a tie); read in stretches of at most a minute, each followed by a rest.
     */
    const pointsOf = (pool: PoolId, from: number, to: number) =>
      Effect.gen(function*() {
        const points = new Map<number, number>()
        for (let start = from; start < to; start += CHUNK_MILLIS) {
          for (const [at, price] of yield* paced(prices.spotPoints(pool, { from: start, to: Math.min(to, start + CHUNK_MILLIS) }))) {
            points.set(at, price)
          }
        }
        return points
      })
    const spot = new Map<string, ReadonlyArray<Savings.PricePoint>>()
    for (const pool of new Set(inWindow.map((i) => i.pool as PoolId))) {
      const points = yield* pointsOf(pool, window.from, window.to)
      // Only the last point before the window matters (prices are steps): look for it close by
      // first, so a busy fleet's raw reports are not all read again on every run, then over the
      // whole lookback.
      if (!points.has(window.from)) {
        let before = new Map<number, number>()
        let searched = window.from
        for (const lookback of [...nearLookbacks.map(Duration.toMillis), Infinity]) {
          const start = Math.max(lookbackFrom, window.from - lookback)
          if (start >= searched) continue
          // The whole lookback (rarely needed) in one read: consolidated slots, few raw points.
          before = lookback === Infinity
            ? yield* prices.spotPoints(pool, { from: start, to: searched })
            : yield* pointsOf(pool, start, searched)
          searched = start
          if (before.size > 0) break
        }
        let last = -Infinity
        for (const at of before.keys()) if (at > last) last = at
        if (before.size > 0) points.set(last, before.get(last)!)
      }
      spot.set(pool, [...points].sort(([a], [b]) => a - b).map(([at, price]) => ({ at, price })))
    }
    const onDemand = new Map<string, ReadonlyArray<Savings.PricePoint>>()
    for (const p of yield* prices.onDemandPrices) onDemand.set(`${p.instanceType}|${p.region}`, [{ at: 0, price: p.price }])
    const lookup: Savings.PriceLookup = {
      spot: (pool) => spot.get(pool) ?? [],
      // Stored on-demand prices are Linux/UNIX prices (see PriceService).
      onDemand: (instanceType, region, product) =>
        product === undefined || product === "linux" ? onDemand.get(`${instanceType}|${region}`) ?? [] : []
    }
    // In pieces, each followed by a rest: at 100,000 instances one piece of work would hold the
    // event loop for a noticeable time.
    const reports: Array<Savings.SavingsReport> = []
    for (let i = 0; i < inWindow.length || i === 0; i += ACCRUE_CHUNK) {
      reports.push(yield* paced(Effect.sync(() => Savings.accrue(inWindow.slice(i, i + ACCRUE_CHUNK), lookup, window))))
    }
    return reports.length === 1 ? reports[0]! : Savings.combine(reports)
  })

/**
 * An accrual that remembers where it stopped: each run accrues from the end of the previous run
 * (the first from when it was made) to now and advances the counters. A window where the
 * PRIMARYs cost more than on demand adds its baseline and spend but no gross savings (a counter
 * never goes down); net savings come from baseline − spend, so they are exact over any range.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: AccrualOptions = {}
): Effect.Effect<Effect.Effect<Accrued, StoreError, AgentStore | PriceService>> =>
  Effect.gen(function*() {
    const mark = yield* Ref.make(yield* Clock.currentTimeMillis)
    const lock = yield* Effect.makeSemaphore(1)
    return lock.withPermits(1)(Effect.gen(function*() {
      const from = yield* Ref.get(mark)
      const to = yield* Clock.currentTimeMillis
      if (to <= from) return { from, to, instances: 0, grossSavings: 0, netSavings: 0, baselineCost: 0, actualCost: 0, leakedCost: 0 }
      const report = yield* accrueWindow({ from, to }, options)
      const total = report.total
      yield* Metric.incrementBy(EngineMetrics.savingsDollars, Math.max(0, total.grossSavings))
      yield* Metric.incrementBy(EngineMetrics.baselineCostDollars, total.baselineCost)
      yield* Metric.incrementBy(EngineMetrics.spendDollars, total.actualCost)
      yield* Metric.incrementBy(EngineMetrics.leakedSpendDollars, total.leakedCost)
      yield* Ref.set(mark, to)
      return {
        from,
        to,
        instances: report.byInstance.size,
        grossSavings: total.grossSavings,
        netSavings: total.netSavings,
        baselineCost: total.baselineCost,
        actualCost: total.actualCost,
        leakedCost: total.leakedCost
      }
    }))
  })

/**
 * The accrual as a job for `Jobs.runForever` (default every 5 minutes: each run reads every
 * running instance of every tenant — every agent's aggregate with a store without
 * `AgentStore.listInstances` — so running it often costs the most of the background jobs).
 *
 * @since 0.1.0
 * @category jobs
 */
export const job = (
  accrual: Effect.Effect<Accrued, StoreError, AgentStore | PriceService>,
  every: Duration.DurationInput = "5 minutes"
): JobSpec<AgentStore | PriceService> => ({
  name: "savings-accrual",
  every,
  run: Effect.map(accrual, (accrued): Readonly<Record<string, unknown>> => ({ ...accrued }))
})
