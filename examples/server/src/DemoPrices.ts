/**
 * The demo fleet's prices (see examples/server/demo/README.md): the real AWS spot price history
 * of c5a.2xlarge in us-east-1 shipped beside the demo, shifted in time so that a point one week
 * before its end falls on the server's start; c5a.xlarge pools derived from it (× the ratio of
 * the on-demand prices); and the on-demand price table of the demo's instance types.
 *
 * The same series feeds the backfill of the demo's history, the prices its replayed agents
 * reported, and the market its live simulated agents quote, so the chart is one continuous
 * (real) series.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Pool, PriceHistorySource } from "@spotfleet/engine"
import type { PriceModel } from "@spotfleet/example-simulator"
import { Either } from "effect"

/** examples/server/demo. */
export const dataDir = fileURLToPath(new URL("../demo/", import.meta.url))

/** The shipped real series (MIT, see demo/spot-price-history.LICENSE). */
export const historyFile = "spot-price-history-c5a.2xlarge-us-east-1.csv"
/** The on-demand price table. */
export const onDemandFile = "on-demand-prices.json"

const REAL_TYPE = "c5a.2xlarge"
const DERIVED_TYPE = "c5a.xlarge"
const DAY = 86_400_000

/** The on-demand price table as shipped. */
export interface OnDemandTable {
  readonly source: string
  readonly region: string
  readonly prices: ReadonlyArray<{ readonly instanceType: string; readonly price: number }>
}

/** The demo's prices, shifted to the server's start. */
export interface DemoPrices {
  /** Every row, real and derived, with shifted times, ascending per pool. */
  readonly rows: ReadonlyArray<PriceHistorySource.HistoryRow>
  /** Pools with the real AWS series. */
  readonly realPools: ReadonlyArray<Pool.PoolId>
  /** Pools whose prices are derived from the real ones (labelled as such wherever shown). */
  readonly derivedPools: ReadonlyArray<Pool.PoolId>
  readonly onDemand: OnDemandTable
  /** Added to every original timestamp. */
  readonly shiftMillis: number
  /** The original time range of the series. */
  readonly original: { readonly from: number; readonly to: number }
  /** One line for the start-up banner. */
  readonly provenance: string
  /** The price of `pool` at `t` (the last change at or before it; the first one before the series). */
  readonly priceAt: (pool: string, t: number) => number | undefined
  /** The series as the live simulator's market. */
  readonly market: PriceModel.PriceModel
}

/** Loads the shipped files and shifts the series so that `now` falls one week before its end. */
export const load = (now: number): DemoPrices => {
  const text = readFileSync(new URL(historyFile, `file://${dataDir}`), "utf8")
  const parsed = PriceHistorySource.parse(text)
  if (Either.isLeft(parsed)) throw new Error(`${historyFile}: ${parsed.left.message}`)
  const real = parsed.right.filter((r) => r.instanceType === REAL_TYPE)
  const onDemand = JSON.parse(readFileSync(new URL(onDemandFile, `file://${dataDir}`), "utf8")) as OnDemandTable
  const odOf = (type: string) => onDemand.prices.find((p) => p.instanceType === type)?.price
  const realOd = odOf(REAL_TYPE)
  const derivedOd = odOf(DERIVED_TYPE)
  if (realOd === undefined || derivedOd === undefined) throw new Error(`${onDemandFile}: needs ${REAL_TYPE} and ${DERIVED_TYPE}`)
  const ratio = derivedOd / realOd

  let from = Infinity, to = -Infinity
  for (const r of real) {
    from = Math.min(from, r.observedAt)
    to = Math.max(to, r.observedAt)
  }
  const shiftMillis = now - (to - 7 * DAY)
  const rows: Array<PriceHistorySource.HistoryRow> = []
  for (const r of real) {
    const observedAt = r.observedAt + shiftMillis
    rows.push({ ...r, observedAt })
    rows.push({
      ...r,
      pool: Pool.make(DERIVED_TYPE, r.availabilityZone),
      instanceType: DERIVED_TYPE,
      price: Number((r.price * ratio).toFixed(6)),
      observedAt
    })
  }
  rows.sort((a, b) => a.observedAt - b.observedAt)
  const series = new Map<string, Array<{ at: number; price: number }>>()
  for (const r of rows) (series.get(r.pool) ?? series.set(r.pool, []).get(r.pool)!).push({ at: r.observedAt, price: r.price })
  const priceAt = (pool: string, t: number): number | undefined => {
    const points = series.get(pool)
    if (points === undefined || points.length === 0) return undefined
    let lo = 0, hi = points.length - 1, found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (points[mid]!.at <= t) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    return points[Math.max(0, found)]!.price
  }
  const pools = [...series.keys()].sort() as Array<Pool.PoolId>
  const realPools = pools.filter((p) => p.startsWith(`${REAL_TYPE}.`))
  const derivedPools = pools.filter((p) => p.startsWith(`${DERIVED_TYPE}.`))
  const day = (t: number) => new Date(t).toISOString().slice(0, 10)
  return {
    rows,
    realPools,
    derivedPools,
    onDemand,
    shiftMillis,
    original: { from, to },
    provenance: `${REAL_TYPE} ${realPools.map((p) => p.slice(-2)).join(" ")} real AWS spot prices of ${day(from)} … ${day(to)} ` +
      `(MIT, examples/server/demo), shifted to end a week from now; ${DERIVED_TYPE} prices derived (× ${ratio}); ` +
      `on-demand: ${onDemand.source}`,
    priceAt,
    market: {
      pools,
      quote: (pool, t) => priceAt(pool, t) ?? 0.1
    }
  }
}
