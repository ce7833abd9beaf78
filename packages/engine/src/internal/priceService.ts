import { Clock, Effect, Either, Option, Schema } from "effect"
import { AgentStore, type LiveInstance } from "../AgentStore.js"
import { Actor, EventDraft } from "../DomainEvent.js"
import { AgentNotFound, InvalidInput, type StoreError } from "../EngineError.js"
import type { AgentId, TenantId } from "../Ids.js"
import { EventLog } from "../EventLog.js"
import * as Pool from "../Pool.js"
import type { IngestResult, PriceServiceService } from "../PriceService.js"
import { PriceStore } from "../PriceStore.js"
import { OnDemandPrice, type ReporterRole, SnapshotDraft } from "../Pricing.js"

const decodePool = Schema.decodeUnknownEither(Pool.PoolId)
const MAX_EVENT_PRICES = 200

const validPrice = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x > 0

export const make = Effect.gen(function*() {
  const agents = yield* AgentStore
  const log = yield* EventLog
  const store = yield* PriceStore

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

  const ingest: PriceServiceService["ingest"] = (tenantId, agentId, report) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const found = yield* liveInstances(tenantId, agentId)
      if (Option.isNone(found)) return yield* new AgentNotFound({ agentId })
      const live = found.value
      const named = report.cloudInstanceId === undefined
        ? undefined
        : live.find((i) => i.cloudInstanceId === report.cloudInstanceId)
      const roleFor = (pool: Pool.PoolId): ReporterRole | null => {
        if (report.cloudInstanceId !== undefined) return named === undefined ? null : (named.role as ReporterRole)
        const inPool = live.filter((i) => i.pool === pool)
        return inPool.length === 1 ? (inPool[0]!.role as ReporterRole) : null
      }

      const drafts: Array<SnapshotDraft> = []
      for (let i = 0; i < report.prices.length; i++) {
        const p = report.prices[i]!
        const pool = decodePool(p.pool)
        if (Either.isLeft(pool)) return yield* new InvalidInput({ field: `prices[${i}].pool`, reason: `not a pool id: ${String(p.pool)}` })
        if (!validPrice(p.price)) return yield* new InvalidInput({ field: `prices[${i}].price`, reason: "must be a positive number" })
        if (typeof p.observedAt !== "number" || !Number.isFinite(p.observedAt)) {
          return yield* new InvalidInput({ field: `prices[${i}].observedAt`, reason: "must be epoch milliseconds" })
        }
        drafts.push(
          new SnapshotDraft({
            tenantId,
            pool: pool.right,
            price: p.price,
            observedAt: p.observedAt,
            reporterAgentId: agentId,
            reporterRole: roleFor(pool.right),
            source: "agent",
            receivedAt: now
          }, true)
        )
      }
      const onDemand = yield* onDemandRecords(report.onDemand ?? [], now)

      yield* store.appendSnapshots(drafts)
      if (onDemand.length > 0) yield* store.putOnDemandPrices(onDemand)
      const role = drafts[0]?.reporterRole ?? null
      const [event] = yield* log.append([
        EventDraft.make({
          tenantId,
          agentId,
          type: "PriceReported",
          at: now,
          actor: Actor.make({ kind: "agent", id: agentId }),
          data: {
            count: drafts.length,
            onDemand: onDemand.length,
            cloudInstanceId: report.cloudInstanceId ?? null,
            role,
            prices: drafts.slice(0, MAX_EVENT_PRICES).map((d) => ({ pool: d.pool, price: d.price, observedAt: d.observedAt, role: d.reporterRole })),
            truncated: drafts.length > MAX_EVENT_PRICES
          }
        })
      ])
      const result: IngestResult = { snapshots: drafts.length, onDemand: onDemand.length, role, eventId: event?.id ?? 0 }
      return result
    })

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
    putOnDemand,
    onDemandPrices: store.onDemandPrices,
    history,
    runs: (options) => store.runs(options)
  }
  return service
})
