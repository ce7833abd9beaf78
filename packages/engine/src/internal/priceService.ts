import { Clock, Effect, Either, Option, Schema } from "effect"
import { AgentStore, type LiveInstance } from "../AgentStore.js"
import { Actor, EventDraft } from "../DomainEvent.js"
import { AgentNotFound, InvalidInput, type StoreError } from "../EngineError.js"
import { EventLog } from "../EventLog.js"
import { type IdempotencyRecord, IdempotencyStore } from "../IdempotencyStore.js"
import type { AgentId, TenantId } from "../Ids.js"
import * as Pool from "../Pool.js"
import type {
  ChartPoint,
  IngestResult,
  PoolOption,
  PriceHistory,
  PriceQuote,
  PriceRecord,
  PriceServiceService,
  RecordReport
} from "../PriceService.js"
import { PriceStore, type PriceStoreService } from "../PriceStore.js"
import { OnDemandPrice, ReporterRole, SnapshotDraft } from "../Pricing.js"
import type { PriceLookup, PricePoint } from "../Savings.js"
import * as Idempotent from "./idempotent.js"

const decodePool = Schema.decodeUnknownEither(Pool.PoolId)
const decodePoolOption = Schema.decodeUnknownOption(Pool.PoolId)
const MAX_EVENT_PRICES = 200
const HOUR = 3_600_000
/** Prices this far before a window still say what the price was at its start. */
const LOOKBACK_MILLIS = 7 * 24 * HOUR

const validPrice = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x > 0

/**
 * The answer of an ingestion as its idempotency record keeps it: `eventIds` is set by the store
 * (`EventLog.LogCommit`), so a replay answers the id of the `PriceReported` event too.
 */
const IngestAnswer = Schema.Struct({
  snapshots: Schema.Int,
  onDemand: Schema.Int,
  skipped: Schema.Int,
  role: Schema.NullOr(ReporterRole),
  eventIds: Schema.Array(Schema.Int)
})
type IngestAnswer = typeof IngestAnswer.Type

const resultOf = (answer: IngestAnswer): IngestResult => ({
  snapshots: answer.snapshots,
  onDemand: answer.onDemand,
  skipped: answer.skipped,
  role: answer.role,
  eventId: answer.eventIds[0] ?? 0
})

/**
 * Who observed a report's prices — the rule both dialects share:
 * - the instance the report names: its role while it is live, none otherwise;
 * - else the instance the agent runs on, when its dialect says so (a v5 agent's registration
 *   instance), while it is live;
 * - else, per pool, the agent's only live instance in that pool (none when it has zero or several).
 */
export const reporterOf = (
  live: ReadonlyArray<LiveInstance>,
  named: { readonly cloudInstanceId?: string | undefined; readonly hostInstanceId?: string | undefined }
): { readonly cloudInstanceId: string | null; readonly roleFor: (pool: Pool.PoolId) => ReporterRole | null } => {
  if (named.cloudInstanceId !== undefined) {
    const found = live.find((i) => i.cloudInstanceId === named.cloudInstanceId)
    return { cloudInstanceId: named.cloudInstanceId, roleFor: () => found?.role ?? null }
  }
  const host = named.hostInstanceId === undefined ? undefined : live.find((i) => i.cloudInstanceId === named.hostInstanceId)
  if (host !== undefined) return { cloudInstanceId: host.cloudInstanceId, roleFor: () => host.role }
  return {
    cloudInstanceId: null,
    roleFor: (pool) => {
      const inPool = live.filter((i) => i.pool === pool)
      return inPool.length === 1 ? inPool[0]!.role : null
    }
  }
}

/** What a report in records holds once classified: the spot and on-demand prices to keep, and how many records were not usable. */
export const classifyRecords = (
  report: RecordReport,
  live: ReadonlyArray<LiveInstance>,
  now: number
): {
  readonly spot: ReadonlyArray<{ readonly pool: Pool.PoolId; readonly price: number; readonly observedAt: number }>
  readonly onDemand: ReadonlyArray<{ readonly instanceType: string; readonly region: string; readonly price: number }>
  readonly skipped: number
} => {
  const spot: Array<{ pool: Pool.PoolId; price: number; observedAt: number }> = []
  const onDemand: Array<{ instanceType: string; region: string; price: number }> = []
  let skipped = 0
  // An on-demand record names no region: it is the agent's (its registration's, else that of its
  // live instances' pools), else the region of the record's zone.
  const liveRegion = live.map((i) => Pool.parse(i.pool)).find(Either.isRight)?.right.region
  const agentRegion = nonEmpty(report.region) ?? liveRegion
  for (const r of report.records) {
    if (r.lifecycle === "on-demand") {
      const zone = nonEmpty(r.az)
      const region = nonEmpty(r.region) ?? agentRegion ?? (zone === undefined ? undefined : zone.slice(0, -1))
      const instanceType = nonEmpty(r.instanceType)
      if (instanceType !== undefined && region !== undefined && validPrice(r.price)) onDemand.push({ instanceType, region, price: r.price })
      else skipped++
      continue
    }
    // A spot record names its pool, or the instance type and zone that make it.
    const pool = Option.orElse(
      nonEmpty(r.pool) === undefined ? Option.none() : decodePoolOption(r.pool),
      () => poolOfParts(r)
    )
    if (Option.isNone(pool) || Pool.lifecycleOf(pool.value) !== "spot" || !validPrice(r.price)) {
      skipped++
      continue
    }
    spot.push({ pool: pool.value, price: r.price, observedAt: r.observedAt ?? report.reportedAt ?? now })
  }
  return { spot, onDemand, skipped }
}

const nonEmpty = (s: string | null | undefined): string | undefined => (typeof s === "string" && s.length > 0 ? s : undefined)

const poolOfParts = (r: PriceRecord): Option.Option<Pool.PoolId> => {
  const instanceType = nonEmpty(r.instanceType)
  const az = nonEmpty(r.az)
  return instanceType === undefined || az === undefined ? Option.none() : decodePoolOption(`${instanceType}.${az}`)
}

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

const regionKey = (instanceType: string, region: string) => `${instanceType}|${region}`

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
      if (Either.isLeft(parts) || parts.right.lifecycle !== "on-demand") continue
      const key = regionKey(parts.right.instanceType, parts.right.region)
      baselines.set(key, [...(baselines.get(key) ?? []), ...series.get(pool)!])
    }
    for (const p of stored) {
      const key = regionKey(p.instanceType, p.region)
      const points = baselines.get(key) ?? []
      // The stored price covers the time before the first observed point.
      baselines.set(key, [{ at: 0, price: p.price }, ...points.filter((x) => x.at > 0)])
    }
    for (const [key, points] of baselines) baselines.set(key, stepSeries(points))
    const lookup: PriceLookup = {
      spot: (pool) => series.get(pool) ?? [],
      onDemand: (instanceType, region) => baselines.get(regionKey(instanceType, region)) ?? []
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
  return parts.right.lifecycle === "on-demand" ? prices.onDemand(parts.right.instanceType, parts.right.region) : prices.spot(pool)
}

const baselineSeries = (prices: PriceLookup, pool: Pool.PoolId): ReadonlyArray<PricePoint> => {
  const parts = Pool.parse(pool)
  return Either.isLeft(parts) ? [] : prices.onDemand(parts.right.instanceType, parts.right.region)
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

export const make = Effect.gen(function*() {
  const agents = yield* AgentStore
  const log = yield* EventLog
  const store = yield* PriceStore
  const idempotent = Idempotent.make(yield* IdempotencyStore)

  /** The reporter's PRIMARY and REPLICA instances: one read where the store offers it. */
  const liveInstances = (tenantId: TenantId, agentId: AgentId): Effect.Effect<Option.Option<ReadonlyArray<LiveInstance>>, StoreError> =>
    agents.liveInstances !== undefined
      ? agents.liveInstances(tenantId, agentId)
      : Effect.map(agents.load(agentId), (aggregate) =>
        Option.isNone(aggregate) || aggregate.value.agent.tenantId !== tenantId
          ? Option.none()
          : Option.some(aggregate.value.instances.flatMap((i): Array<LiveInstance> =>
            i.role === "PRIMARY" || i.role === "REPLICA" ? [{ role: i.role, cloudInstanceId: i.cloudInstanceId, pool: i.pool }] : []
          )))

  const liveOf = (tenantId: TenantId, agentId: AgentId) =>
    Effect.flatMap(liveInstances(tenantId, agentId), Option.match({
      onNone: () => Effect.fail(new AgentNotFound({ agentId })),
      onSome: Effect.succeed
    }))

  const onDemandRecords = (
    prices: ReadonlyArray<{ readonly instanceType: string; readonly region: string; readonly price: number }>,
    now: number
  ): Either.Either<Array<OnDemandPrice>, InvalidInput> => {
    const out: Array<OnDemandPrice> = []
    for (let i = 0; i < prices.length; i++) {
      const p = prices[i]!
      const decoded = Schema.decodeUnknownEither(OnDemandPrice)({ ...p, observedAt: now })
      if (Either.isLeft(decoded)) {
        return Either.left(new InvalidInput({ field: `onDemand[${i}]`, reason: "needs instanceType, region and a positive price" }))
      }
      out.push(decoded.right)
    }
    return Either.right(out)
  }

  const putOnDemand: PriceServiceService["putOnDemand"] = (prices) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const records = yield* onDemandRecords(prices, now)
      yield* store.putOnDemandPrices(records)
      return records
    })

  /** The snapshots of validated prices, each with its reporter's role. */
  const snapshotDrafts = (
    tenantId: TenantId,
    agentId: AgentId,
    prices: ReadonlyArray<{ readonly pool: string; readonly price: number; readonly observedAt?: number | undefined }>,
    roleFor: (pool: Pool.PoolId) => ReporterRole | null,
    now: number
  ): Either.Either<Array<SnapshotDraft>, InvalidInput> => {
    const drafts: Array<SnapshotDraft> = []
    for (let i = 0; i < prices.length; i++) {
      const p = prices[i]!
      const pool = decodePool(p.pool)
      if (Either.isLeft(pool)) return Either.left(new InvalidInput({ field: `prices[${i}].pool`, reason: `not a pool id: ${String(p.pool)}` }))
      if (!validPrice(p.price)) return Either.left(new InvalidInput({ field: `prices[${i}].price`, reason: "must be a positive number" }))
      const observedAt = p.observedAt ?? now
      if (typeof observedAt !== "number" || !Number.isFinite(observedAt)) {
        return Either.left(new InvalidInput({ field: `prices[${i}].observedAt`, reason: "must be epoch milliseconds" }))
      }
      drafts.push(
        new SnapshotDraft({
          tenantId,
          pool: pool.right,
          price: p.price,
          observedAt,
          reporterAgentId: agentId,
          reporterRole: roleFor(pool.right),
          source: "agent",
          receivedAt: now
        }, true)
      )
    }
    return Either.right(drafts)
  }

  /**
   * One report's write, all or nothing (`EventLog.commit`): its snapshots, on-demand prices,
   * one `PriceReported` event and, with a key, its idempotency record.
   */
  const commitReport = (
    tenantId: TenantId,
    agentId: AgentId,
    args: {
      readonly drafts: ReadonlyArray<SnapshotDraft>
      readonly onDemand: ReadonlyArray<OnDemandPrice>
      readonly cloudInstanceId: string | null
      readonly skipped: number
      readonly now: number
      readonly record: (answer: IngestAnswer, now: number) => IdempotencyRecord | undefined
    }
  ) =>
    Effect.gen(function*() {
      const { drafts, now, onDemand } = args
      const role = drafts[0]?.reporterRole ?? null
      const answer: IngestAnswer = { snapshots: drafts.length, onDemand: onDemand.length, skipped: args.skipped, role, eventIds: [] }
      const written = yield* log.commit({
        snapshots: drafts,
        onDemand,
        events: [
          EventDraft.make({
            tenantId,
            agentId,
            type: "PriceReported",
            at: now,
            actor: Actor.make({ kind: "agent", id: agentId }),
            data: {
              count: drafts.length,
              onDemand: onDemand.length,
              cloudInstanceId: args.cloudInstanceId,
              role,
              prices: drafts.slice(0, MAX_EVENT_PRICES).map((d) => ({ pool: d.pool, price: d.price, observedAt: d.observedAt, role: d.reporterRole })),
              truncated: drafts.length > MAX_EVENT_PRICES
            }
          })
        ],
        idempotency: args.record(answer, now)
      })
      return { ...answer, eventIds: written.map((e) => e.id) }
    })

  const ingest: PriceServiceService["ingest"] = (tenantId, agentId, report, options = {}) =>
    Effect.map(
      idempotent(tenantId, options.idempotencyKey, Idempotent.agentOperation("price-report", agentId), IngestAnswer, (record) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const live = yield* liveOf(tenantId, agentId)
          const reporter = reporterOf(live, { cloudInstanceId: report.cloudInstanceId })
          const drafts = yield* snapshotDrafts(tenantId, agentId, report.prices, reporter.roleFor, now)
          const onDemand = yield* onDemandRecords(report.onDemand ?? [], now)
          return yield* commitReport(tenantId, agentId, {
            drafts,
            onDemand,
            cloudInstanceId: report.cloudInstanceId ?? null,
            skipped: 0,
            now,
            record
          })
        })),
      resultOf
    )

  const ingestRecords: PriceServiceService["ingestRecords"] = (tenantId, agentId, report) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const live = yield* liveOf(tenantId, agentId)
      const { onDemand, skipped, spot } = classifyRecords(report, live, now)
      // Nothing usable: nothing is written, not even an event.
      if (spot.length === 0 && onDemand.length === 0) return { snapshots: 0, onDemand: 0, skipped, role: null, eventId: 0 }
      const reporter = reporterOf(live, { hostInstanceId: report.hostInstanceId })
      const drafts = yield* snapshotDrafts(tenantId, agentId, spot, reporter.roleFor, now)
      const records = yield* onDemandRecords(onDemand, now)
      return resultOf(yield* commitReport(tenantId, agentId, { drafts, onDemand: records, cloudInstanceId: reporter.cloudInstanceId, skipped, now, record: () => undefined }))
    })

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
      const seen = new Set<Pool.PoolId>()
      for (const source of ["agent", "backfill"] as const) {
        for (const p of yield* store.snapshotPools({ from, to, source })) seen.add(p)
      }
      const matching = [...seen].filter((pool) => {
        const parts = Pool.parse(pool)
        return Either.isRight(parts) && parts.right.instanceType === instanceType && parts.right.region === region
      })
      const latest = (pool: Pool.PoolId) => Effect.map(history(pool, { from, to }), (h) => chartPointsOf(h).at(-1))
      const stored = (yield* store.onDemandPrices).find((p) => p.instanceType === instanceType && p.region === region)
      // Without a stored baseline: the latest reported price of an on-demand pool of the type.
      let onDemandPrice = stored?.price ?? null
      if (onDemandPrice === null) {
        for (const pool of matching.filter((p) => Pool.lifecycleOf(p) === "on-demand")) {
          const last = yield* latest(pool)
          if (last !== undefined) onDemandPrice = last.price
        }
      }
      const options: Array<PoolOption> = []
      for (const pool of matching.filter((p) => Pool.lifecycleOf(p) === "spot").sort()) {
        const last = yield* latest(pool)
        if (last === undefined) continue
        const parts = Pool.parse(pool)
        options.push({
          pool,
          availabilityZone: Either.isRight(parts) ? parts.right.az : "",
          price: last.price,
          at: last.at,
          source: last.source,
          savingsPercent: onDemandPrice === null ? null : Math.round(((onDemandPrice - last.price) / onDemandPrice) * 10_000) / 100
        })
      }
      options.sort((a, b) => a.price - b.price || (a.pool < b.pool ? -1 : 1))
      return { onDemandPrice, options }
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

  const service: PriceServiceService = {
    spotPoints,
    ingest,
    ingestRecords,
    lookup,
    quote,
    chart,
    poolOptions,
    putOnDemand,
    onDemandPrices: store.onDemandPrices,
    history,
    runs: (options) => store.runs(options)
  }
  return service
})
