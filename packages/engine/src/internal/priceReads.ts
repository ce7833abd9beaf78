/**
 * Price reads, the read side of the price service: series of pools over a window with a
 * look-back and their on-demand baselines (`lookupIn`), quotes at a time (`quoteIn`), a pool's
 * history and chart (consolidated points up to the newest successful consolidation run, raw
 * reports after it: `chartPointsOf`), and the spot options of an instance type in a region.
 */
import { Effect, Either, Option } from "effect"
import type { InterruptionDataService } from "../InterruptionData.js"
import type { StoreError } from "../EngineError.js"
import * as Pool from "../Pool.js"
import * as Product from "../Product.js"
import type { ChartPoint, PoolOption, PriceHistory, PriceQuote, PriceServiceService } from "../PriceService.js"
import type { PriceStoreService } from "../PriceStore.js"
import type { PriceLookup, PricePoint } from "../Savings.js"

const HOUR = 3_600_000
/** Prices this far before a window still say what the price was at its start. */
const LOOKBACK_MILLIS = 7 * 24 * HOUR

/** Ascending by time; the last of equal times wins. */
const stepSeries = (points: Iterable<PricePoint>): Array<PricePoint> => {
  const sorted = [...points].sort((a, b) => a.at - b.at)
  const out: Array<PricePoint> = []
  for (const p of sorted) {
    if (out.length > 0 && out[out.length - 1]!.at === p.at) out[out.length - 1] = p
    else out.push(p)
  }
  return out
}

/** The key of an on-demand baseline: instance type, region and product. */
const regionKey = (instanceType: string, region: string, product: Product.Product = Product.defaultProduct) =>
  `${instanceType}|${region}|${product}`

/**
 * Price series of a set of pools over a window (plus the look-back), and on-demand baselines for
 * the instance types and regions of those pools: consolidated points up to the end of the newest
 * successful consolidation run, raw snapshots (not flagged duplicate) after it. The baseline of
 * an instance type in a region is the series of its `ondemand:` pools, and before their first
 * point the stored on-demand price.
 */
export const lookupIn = (
  store: PriceStoreService,
  pools: ReadonlyArray<Pool.PoolId>,
  window: { readonly from: number; readonly to: number }
): Effect.Effect<PriceLookup, StoreError> =>
  Effect.gen(function*() {
    const from = window.from - LOOKBACK_MILLIS
    const to = window.to + 1
    const wanted = new Set<Pool.PoolId>()
    for (const pool of pools) {
      wanted.add(pool)
      wanted.add(Pool.onDemandOf(pool))
    }
    const runs = yield* store.runs({ limit: 100 })
    let rawSince = from
    for (const r of runs) if (r.status === "succeeded" && r.windowEnd > rawSince) rawSince = Math.min(r.windowEnd, to)
    const series = new Map<Pool.PoolId, Array<PricePoint>>()
    const list = [...wanted]
    const consolidated = rawSince > from
      ? yield* Effect.forEach(list, (pool) => store.consolidated({ pool, from, to: rawSince }), { concurrency: 4 })
      : list.map(() => [])
    const raw = yield* store.snapshots({ from: rawSince, to, pools: list })
    list.forEach((pool, i) => {
      const points: Array<PricePoint> = consolidated[i]!.map((p) => ({ at: p.slotStart, price: p.price }))
      for (const s of raw) if (s.pool === pool && !s.duplicate) points.push({ at: s.observedAt, price: s.price })
      series.set(pool, stepSeries(points))
    })
    const stored = yield* store.onDemandPrices
    const baselines = new Map<string, Array<PricePoint>>()
    for (const pool of list) {
      const parts = Pool.parse(pool)
      if (Either.isLeft(parts) || parts.right.lifecycle !== "on-demand" || parts.right.region === null) continue
      const key = regionKey(parts.right.instanceType, parts.right.region, parts.right.product)
      baselines.set(key, [...(baselines.get(key) ?? []), ...series.get(pool)!])
    }
    // Stored on-demand prices are Linux/UNIX prices: other products' baselines come from their
    // own observed on-demand pools only (a Linux price would overstate a Windows pool's savings).
    for (const p of stored) {
      const key = regionKey(p.instanceType, p.region)
      const points = baselines.get(key) ?? []
      // The stored price covers the time before the first observed point.
      baselines.set(key, [{ at: 0, price: p.price }, ...points.filter((x) => x.at > 0)])
    }
    for (const [key, points] of baselines) baselines.set(key, stepSeries(points))
    const lookup: PriceLookup = {
      spot: (pool) => series.get(pool) ?? [],
      onDemand: (instanceType, region, product) => baselines.get(regionKey(instanceType, region, product)) ?? []
    }
    return lookup
  })

/** The price in effect at `at` (the last point at or before it). */
const priceAt = (series: ReadonlyArray<PricePoint>, at: number): number | null => {
  let price: number | null = null
  for (const p of series) {
    if (p.at > at) break
    price = p.price
  }
  return price
}

/** What running in a pool costs: its spot series, or for an on-demand pool its baseline. */
const actualSeries = (prices: PriceLookup, pool: Pool.PoolId): ReadonlyArray<PricePoint> => {
  const parts = Pool.parse(pool)
  if (Either.isLeft(parts)) return []
  if (parts.right.lifecycle === "spot") return prices.spot(pool)
  return parts.right.region === null ? [] : prices.onDemand(parts.right.instanceType, parts.right.region, parts.right.product)
}

const baselineSeries = (prices: PriceLookup, pool: Pool.PoolId): ReadonlyArray<PricePoint> => {
  const parts = Pool.parse(pool)
  return Either.isLeft(parts) || parts.right.region === null
    ? []
    : prices.onDemand(parts.right.instanceType, parts.right.region, parts.right.product)
}

/** A chart's points: consolidated before `rawSince`, raw (non-duplicate) reports from there on, by time. */
const chartPointsOf = (history: PriceHistory): Array<ChartPoint> => {
  const points: Array<ChartPoint> = []
  for (const p of history.consolidated) {
    if (p.slotStart >= history.rawSince) continue
    points.push({
      at: p.slotStart,
      price: p.price,
      source: p.source,
      confidence: p.confidence,
      runId: p.runId,
      snapshotsMerged: p.snapshotsMerged,
      reporterRole: null
    })
  }
  for (const r of history.raw) {
    if (r.duplicate) continue
    points.push({ at: r.observedAt, price: r.price, source: "raw", confidence: null, runId: null, snapshotsMerged: null, reporterRole: r.reporterRole })
  }
  return points.sort((a, b) => a.at - b.at)
}

export const quoteIn = (
  store: PriceStoreService,
  pools: ReadonlyArray<Pool.PoolId>,
  at: number
): Effect.Effect<ReadonlyMap<Pool.PoolId, PriceQuote>, StoreError> =>
  Effect.map(lookupIn(store, pools, { from: at, to: at }), (prices) => {
    const quotes = new Map<Pool.PoolId, PriceQuote>()
    for (const pool of pools) {
      quotes.set(pool, { price: priceAt(actualSeries(prices, pool), at), onDemandPrice: priceAt(baselineSeries(prices, pool), at) })
    }
    return quotes
  })

export const make = (store: PriceStoreService, interruptions: Option.Option<InterruptionDataService> = Option.none()) => {
  const lookup: PriceServiceService["lookup"] = (pools, window) => lookupIn(store, pools, window)

  const quote: PriceServiceService["quote"] = (pools, at) => quoteIn(store, pools, at)

  /** Where raw points start: the end of the latest succeeded consolidation run, at least `from`. */
  const consolidatedUntil = (from: number) =>
    Effect.map(store.runs({ limit: 100 }), (runs) => {
      let rawSince = from
      for (const r of runs) if (r.status === "succeeded" && r.windowEnd > rawSince) rawSince = r.windowEnd
      return rawSince
    })

  const history: PriceServiceService["history"] = (pool, { from, to }) =>
    Effect.gen(function*() {
      const rawSince = yield* consolidatedUntil(from)
      const consolidated = yield* store.consolidated({ pool, from, to })
      const raw = rawSince < to ? yield* store.snapshots({ pools: [pool], from: rawSince, to, source: "agent" }) : []
      return { pool, consolidated, raw, rawSince }
    })

  const chart: PriceServiceService["chart"] = (pool, window) =>
    Effect.map(history(pool, window), (h) => ({ rawSince: h.rawSince, points: chartPointsOf(h) }))

  const poolOptions: PriceServiceService["poolOptions"] = ({ from, instanceType, region, to }) =>
    Effect.gen(function*() {
      // Every tier: snapshots of either source, consolidated and canonical points.
      const matching = (yield* store.pricedPools({ from, to, instanceType, region })).filter((pool) => {
        const parts = Pool.parse(pool)
        return Either.isRight(parts) && parts.right.instanceType === instanceType && parts.right.region === region
      })
      const stored = (yield* store.onDemandPrices).find((p) => p.instanceType === instanceType && p.region === region)
      // The baseline of each product: a stored price is Linux/UNIX's; without one (and for every
      // other product) the latest reported price of an on-demand pool of the type and product.
      const baselines = new Map<Product.Product, number>()
      if (stored !== undefined) baselines.set(Product.defaultProduct, stored.price)
      for (const pool of matching.filter((p) => Pool.lifecycleOf(p) === "on-demand")) {
        const product = Pool.productOf(pool)
        if (product === Product.defaultProduct && stored !== undefined) continue
        const last = yield* latestIn(pool, { from, to })
        if (last !== undefined) baselines.set(product, last.price)
      }
      const options: Array<PoolOption> = []
      for (const pool of matching.filter((p) => Pool.lifecycleOf(p) === "spot").sort()) {
        const last = yield* latestIn(pool, { from, to })
        if (last === undefined) continue
        const parts = Pool.parse(pool)
        const product = Pool.productOf(pool)
        const onDemand = baselines.get(product) ?? null
        const band = Option.isSome(interruptions) ? yield* interruptions.value.forPool(pool) : Option.none()
        options.push({
          pool,
          availabilityZone: Either.isRight(parts) ? parts.right.az : "",
          product,
          price: last.price,
          at: last.at,
          source: last.source,
          savingsPercent: onDemand === null ? null : Math.round(((onDemand - last.price) / onDemand) * 10_000) / 100,
          interruptionBand: Option.isSome(band) ? band.value.band : null,
          interruptionLabel: Option.isSome(band) ? band.value.label : null
        })
      }
      options.sort((a, b) => a.price - b.price || (a.pool < b.pool ? -1 : 1))
      return { onDemandPrice: baselines.get(Product.defaultProduct) ?? null, options }
    })

  /**
   * A pool's latest point in a window over every tier: the chart's last point, unless a
   * consolidated, canonical or backfilled (not yet consolidated) point is later — a backfill
   * writes past the last consolidation run. At equal times the chart's point wins.
   */
  const latestIn = (pool: Pool.PoolId, window: { readonly from: number; readonly to: number }) =>
    Effect.gen(function*() {
      const h = yield* history(pool, window)
      let best: { readonly at: number; readonly price: number; readonly source: ChartPoint["source"] } | undefined = chartPointsOf(h).at(-1)
      const later = (at: number, price: number, source: ChartPoint["source"]) => {
        if (best === undefined || at > best.at) best = { at, price, source }
      }
      const consolidated = h.consolidated.at(-1)
      if (consolidated !== undefined) later(consolidated.slotStart, consolidated.price, consolidated.source)
      const canonical = (yield* store.canonical({ pool, ...window })).at(-1)
      if (canonical !== undefined) later(canonical.slotStart, canonical.price, canonical.source)
      for (const s of yield* store.snapshots({ pools: [pool], ...window, source: "backfill" })) {
        if (!s.duplicate) later(s.observedAt, s.price, "raw")
      }
      return best
    })

  const spotPoints: PriceServiceService["spotPoints"] = (pool, { from, to }) =>
    Effect.gen(function*() {
      const rawSince = yield* consolidatedUntil(from)
      const points = new Map<number, number>()
      for (const p of yield* store.consolidated({ pool, from, to })) points.set(p.slotStart, p.price)
      if (rawSince >= to) return points
      if (store.bulk !== undefined) {
        // Raw points after the last consolidation run are never flagged as duplicates.
        const { agent } = yield* store.bulk.snapshotColumns({ pools: [pool], from: rawSince, to })
        for (let i = 0; i < agent.length; i++) points.set(agent.observedAt[i]!, agent.price[i]!)
      } else {
        for (const p of yield* store.snapshots({ pools: [pool], from: rawSince, to, source: "agent" })) {
          if (!p.duplicate) points.set(p.observedAt, p.price)
        }
      }
      return points
    })

  return { lookup, quote, history, chart, poolOptions, spotPoints }
}
