/**
 * Price reports, the write side of the price service: a report's prices validated, each
 * snapshot with its reporter's role (`reporterOf`, the rule both dialects share), a v5 report's
 * records classified (spot or on-demand, pool, region, skips: `classifyRecords`), and the whole
 * report — snapshots, on-demand prices, one `PriceReported` event and the key's record — written
 * as one `EventLog.commit`.
 */
import { Clock, Effect, Either, Option, Schema } from "effect"
import { AgentStore, type LiveInstance } from "../AgentStore.js"
import { Actor, EventDraft } from "../DomainEvent.js"
import { AgentNotFound, InvalidInput, type StoreError } from "../EngineError.js"
import { EventLog } from "../EventLog.js"
import { type IdempotencyRecord, IdempotencyStore } from "../IdempotencyStore.js"
import type { AgentId, TenantId } from "../Ids.js"
import * as Pool from "../Pool.js"
import type { IngestResult, PriceRecord, PriceServiceService, RecordReport } from "../PriceService.js"
import { PriceStore } from "../PriceStore.js"
import { OnDemandPrice, ReporterRole, SnapshotDraft } from "../Pricing.js"
import * as Idempotent from "./idempotent.js"

const decodePool = Schema.decodeUnknownEither(Pool.PoolId)
const decodePoolOption = Schema.decodeUnknownOption(Pool.PoolId)
const MAX_EVENT_PRICES = 200

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
      const region = nonEmpty(r.region) ?? agentRegion ?? (zone === undefined ? undefined : Pool.regionOfZone(zone) ?? undefined)
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

  return { ingest, ingestRecords, putOnDemand }
})
