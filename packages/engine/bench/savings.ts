/**
 * `npm run bench:savings`: what `Savings.accrue` costs on one accrual window of a large fleet, now
 * (baseline of the PRIMARY hours, spend of every instance, leaked spend: up to three spans per
 * instance) against the rule before it (one span per instance, `previousAccrue` below, kept here
 * only as the baseline of this comparison), in one process over the same input. Pure engine, no
 * store: input generation is not timed.
 *
 * The fleet (BENCH_INSTANCES, default 100,000) runs in 3 pools through a 5-minute window with
 * BENCH_POINTS spot points per pool in it (default 50,000: about what 100,000 agents report in
 * 5 minutes). Almost every instance is a PRIMARY for the whole window; 0.1 % each are replicas
 * launched in the window, zombies, PRIMARYs promoted in it and retired instances still running, so
 * a few hundred distinct spans are integrated. Then the same fleet with 10× the points: with each
 * series integrated once per span, the time must not grow with instances × points.
 */
import { Pool, Savings } from "@spotfleet/engine"
import { Either } from "effect"

const HOUR = 3_600_000
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 100_000)
const POINTS = Number(process.env.BENCH_POINTS ?? 50_000)
const ROUNDS = 5
const pools = [Pool.make("t3.medium", "us-east-1a"), Pool.make("m5.large", "us-east-1b"), Pool.make("c5.large", "us-east-1c")]
const window = { from: 10 * HOUR, to: 10 * HOUR + 300_000 }

/** A step series of `n` points inside the window, plus the one holding at its start. */
const seriesOf = (n: number, seed: number): Array<Savings.PricePoint> => {
  const points = [{ at: window.from - 1_000, price: 0.01 + seed / 100 }]
  const step = (window.to - window.from) / n
  for (let k = 0; k < n; k++) points.push({ at: Math.floor(window.from + k * step) + 1, price: 0.01 + ((k * 7919 + seed) % 1000) / 100_000 })
  return points
}

const fleet = (): Array<Savings.RunningInterval> => {
  const out: Array<Savings.RunningInterval> = []
  for (let n = 0; n < INSTANCES; n++) {
    const pool = pools[n % pools.length]!
    const kind = n % 1000
    const base = { instanceId: `inst-${n}`, agentId: `agent-${n}`, pool }
    const inWindow = window.from + ((n * 104_729) % 300_000)
    if (kind === 1) out.push({ ...base, start: inWindow, end: window.to, primary: null, unreconciledFrom: null }) // replica launched
    else if (kind === 2) out.push({ ...base, start: 0, end: window.to, primary: { start: 0, end: HOUR }, unreconciledFrom: null }) // zombie
    else if (kind === 3) out.push({ ...base, start: HOUR, end: window.to, primary: { start: inWindow, end: window.to }, unreconciledFrom: null }) // promoted
    else if (kind === 4) out.push({ ...base, start: 0, end: window.to, primary: { start: 0, end: inWindow }, unreconciledFrom: inWindow }) // retired, still running
    else out.push({ ...base, start: 0, end: window.to, primary: { start: 0, end: window.to }, unreconciledFrom: null })
  }
  return out
}

/** The rule before: every running hour saved (on-demand − actual). The performance baseline only. */
const previousAccrue = (intervals: Iterable<Savings.RunningInterval>, prices: Savings.PriceLookup, w: typeof window) => {
  type Line = { hours: number; baselineCost: number; actualCost: number; savings: number; savingsPercent: number | null }
  const zero: Line = { hours: 0, baselineCost: 0, actualCost: 0, savings: 0, savingsPercent: null }
  const add = (a: Line, b: Line): Line => {
    const baselineCost = a.baselineCost + b.baselineCost
    const savings = a.savings + b.savings
    return { hours: a.hours + b.hours, baselineCost, actualCost: a.actualCost + b.actualCost, savings, savingsPercent: baselineCost > 0 ? (savings / baselineCost) * 100 : null }
  }
  const byInstance = new Map<string, Line>()
  const byAgent = new Map<string, Line>()
  const byPool = new Map<string, Line>()
  let total = zero
  const parsed = new Map<string, ReturnType<typeof Pool.parse>>()
  const integrals = new Map<ReadonlyArray<Savings.PricePoint>, Map<string, ReturnType<typeof Savings.integrate>>>()
  const integrateOnce = (series: ReadonlyArray<Savings.PricePoint>, from: number, to: number) => {
    let spans = integrals.get(series)
    if (spans === undefined) integrals.set(series, spans = new Map())
    const key = `${from}|${to}`
    let result = spans.get(key)
    if (result === undefined) spans.set(key, result = Savings.integrate(series, from, to))
    return result
  }
  for (const interval of intervals) {
    let parts = parsed.get(interval.pool)
    if (parts === undefined) parsed.set(interval.pool, parts = Pool.parse(interval.pool))
    if (Either.isLeft(parts)) continue
    const { instanceType, lifecycle, region } = parts.right
    const baselineSeries = prices.onDemand(instanceType, region)
    const actualSeries = lifecycle === "on-demand" ? baselineSeries : prices.spot(interval.pool)
    const from = Math.max(w.from, interval.start)
    const to = Math.min(w.to, interval.end)
    if (to <= from || baselineSeries.length === 0 || actualSeries.length === 0) continue
    const known = Math.max(from, baselineSeries[0]!.at, actualSeries[0]!.at)
    if (to <= known) continue
    const baseline = integrateOnce(baselineSeries, known, to)
    const actual = integrateOnce(actualSeries, known, to)
    const line: Line = {
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

const lookupOf = (points: number): Savings.PriceLookup => {
  const spot = new Map(pools.map((p, k) => [p as string, seriesOf(points, k)]))
  const onDemand = [{ at: 0, price: 0.1 }]
  return { spot: (pool) => spot.get(pool) ?? [], onDemand: () => onDemand }
}

const median = (f: () => void): number => {
  f() // warm-up
  const times: Array<number> = []
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now()
    f()
    times.push(performance.now() - t0)
  }
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!
}

const intervals = fleet()
const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
console.log(`savings bench: ${fmt(INSTANCES)} instances, 3 pools, 5-minute window; median of ${ROUNDS} runs (Node ${process.version})`)
console.log("")
console.log("| spot points per pool in the window | previous rule ms | now ms | now ÷ previous |")
console.log("|---:|---:|---:|---:|")
const rows: Array<number> = []
for (const points of [POINTS, POINTS * 10]) {
  const lookup = lookupOf(points)
  const previous = median(() => previousAccrue(intervals, lookup, window))
  const now = median(() => Savings.accrue(intervals, lookup, window))
  rows.push(now)
  console.log(`| ${fmt(points)} | ${previous.toFixed(1)} | ${now.toFixed(1)} | ${(now / previous).toFixed(2)} |`)
}
console.log("")
console.log(`now with 10× the points ÷ now: ${(rows[1]! / rows[0]!).toFixed(2)} (instances × points would be 10)`)
// The two rules agree where they must: for the PRIMARYs that ran through the window.
const check = Savings.accrue(intervals, lookupOf(POINTS), window)
const old = previousAccrue(intervals, lookupOf(POINTS), window)
const steady = "inst-0"
if (Math.abs(check.byInstance.get(steady)!.netSavings - old.byInstance.get(steady)!.savings) > 1e-12) throw new Error("the rules disagree on a steady PRIMARY")
console.log(`net ${check.total.netSavings.toFixed(2)} $, gross ${check.total.grossSavings.toFixed(2)} $, leaked ${check.total.leakedCost.toFixed(4)} $; the previous rule said ${old.total.savings.toFixed(2)} $`)
