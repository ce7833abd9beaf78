import { Cause, Clock, Effect, Fiber, Metric, Option } from "effect"
import * as Consolidation from "../Consolidation.js"
import type { ConsolidationJobService, ContextProvider, JobOptions, Progress, RunRequest } from "../ConsolidationJob.js"
import { ConsolidationBusy } from "../ConsolidationJob.js"
import type { StoreError } from "../EngineError.js"
import { EventLog } from "../EventLog.js"
import { randomIds } from "../Ids.js"
import * as Pool from "../Pool.js"
import type { PoolId } from "../Pool.js"
import { PriceHistorySource } from "../PriceHistorySource.js"
import { PriceStore, type SnapshotColumnsRead } from "../PriceStore.js"
import { ConsolidationRun, SLOT_MILLIS } from "../Pricing.js"
import { bulkFromRecords } from "./priceStore.js"
import { DEFAULT_CONTEXT_MILLIS, DEFAULT_MAX_GAP_MILLIS, DEFAULT_ROLLING_SLOTS } from "./consolidation.js"

const HOUR = 60 * 60 * 1000
/** Duplicates flagged per call while a run goes on (the rest after its last batch). */
const FLAG_IDS = 10_000

export const pointsTotal = Metric.counter("spotfleet_consolidation_points_total", {
  description: "Points written by consolidation runs, by kind",
  incremental: true
})
export const lastSuccess = Metric.gauge("spotfleet_consolidation_last_success_timestamp_seconds", {
  description: "When the last consolidation run succeeded"
})

export const eventLogContext = Effect.gen(function*() {
  const log = yield* EventLog
  let cursor = 0
  const notices = new Map<PoolId, Array<number>>()
  const interruptions = new Map<PoolId, Array<number>>()
  const push = (m: Map<PoolId, Array<number>>, pool: unknown, at: number) => {
    if (typeof pool !== "string") return
    const list = m.get(pool as PoolId)
    if (list === undefined) m.set(pool as PoolId, [at])
    else list.push(at)
  }
  const provider: ContextProvider = (pools, from, to) =>
    Effect.gen(function*() {
      for (;;) {
        const page = yield* log.read({ tenantId: null, afterId: cursor, limit: 1000 })
        if (page.length === 0) break
        for (const e of page) {
          if (e.type === "NoticeReceived") push(notices, e.data.pool, e.at)
          else if (e.type === "InstanceTerminated" && e.data.reclaimed === true) push(interruptions, e.data.pool, e.at)
        }
        cursor = page[page.length - 1]!.id
      }
      const inRange = (xs: ReadonlyArray<number> | undefined) => (xs ?? []).filter((t) => t >= from && t < to)
      const out = new Map<PoolId, Consolidation.PoolContext>()
      for (const pool of pools) {
        const n = inRange(notices.get(pool))
        const i = inRange(interruptions.get(pool))
        if (n.length > 0 || i.length > 0) out.set(pool, { notices: n, interruptions: i })
      }
      return out as ReadonlyMap<PoolId, Consolidation.PoolContext>
    })
  return provider
})

export const make = (options: JobOptions = {}) =>
  Effect.gen(function*() {
    const store = yield* PriceStore
    const bulk = store.bulk ?? bulkFromRecords(store)
    const defaultContext = yield* eventLogContext
    const context = options.context ?? defaultContext
    const ids = options.ids ?? randomIds
    const slotMillis = options.slotMillis ?? SLOT_MILLIS
    const windowMillis = options.windowMillis ?? 12 * HOUR
    const overlapMillis = options.overlapMillis ?? HOUR
    const fillPolicy = options.fillPolicy ?? "step"
    const maxGapMillis = options.maxGapMillis ?? DEFAULT_MAX_GAP_MILLIS
    const rollingSlots = options.rollingSlots ?? DEFAULT_ROLLING_SLOTS
    const contextMillis = options.contextMillis ?? DEFAULT_CONTEXT_MILLIS
    const poolsPerBatch = Math.max(1, options.poolsPerBatch ?? 200)
    const lookback = Math.max(maxGapMillis, rollingSlots * slotMillis)
    const semaphore = yield* Effect.makeSemaphore(1)

    const onDemandByPool = Effect.map(store.onDemandPrices, (prices) => {
      const byKey = new Map<string, number>()
      for (const p of prices) byKey.set(`${p.instanceType}\u0000${p.region}`, p.price)
      return (pool: PoolId) => {
        const parts = Pool.parse(pool)
        // Stored on-demand prices are Linux/UNIX prices: other products have no stored baseline.
        return parts._tag === "Right" && parts.right.product === "linux"
          ? byKey.get(`${parts.right.instanceType}\u0000${parts.right.region}`)
          : undefined
      }
    })

    const execute = (request: RunRequest) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        // The window is every slot that overlaps [from, to): `from` rounds down, an explicit `to`
        // rounds up (a record at 21:17 lands in the 21:15 slot, which a window ending at 21:17 + 1 ms
        // includes). Without `to` the run ends at the start of the current slot, which is not over.
        const to = request.to === undefined ? Math.floor(now / slotMillis) * slotMillis : Math.ceil(request.to / slotMillis) * slotMillis
        const from = Math.floor((request.from ?? to - windowMillis - overlapMillis) / slotMillis) * slotMillis
        const contextFrom = from - Math.ceil(lookback / slotMillis) * slotMillis
        const source = yield* Effect.serviceOption(PriceHistorySource)
        const runId = ids.next("run")
        const base = {
          id: runId,
          windowStart: from,
          windowEnd: to,
          fillPolicy,
          startedAt: now,
          pools: 0,
          snapshots: 0,
          duplicates: 0,
          agentPoints: 0,
          filled: 0,
          backfilled: 0,
          written: 0,
          canonical: 0
        }
        yield* store.recordRun(ConsolidationRun.make({ ...base, status: "running", finishedAt: null, durationMillis: null, error: null }))

        const counts = { ...base }
        const body = Effect.scoped(Effect.gen(function*() {
          const [agentPools, backfillPools] = yield* Effect.all([
            store.snapshotPools({ from: contextFrom, to, source: "agent" }),
            store.snapshotPools({ from: contextFrom, to, source: "backfill" })
          ], { concurrency: 2 })
          const poolSet = new Set<PoolId>([...agentPools, ...backfillPools])
          for (const p of request.pools ?? []) poolSet.add(p)
          if (Option.isSome(source)) for (const p of yield* source.value.pools) poolSet.add(p)
          const pools = [...poolSet].sort()
          const onDemandOf = yield* onDemandByPool
          const ctx = yield* context(pools, contextFrom - contextMillis, to)

          // Pipelined in three lanes: while the next batch is read and consolidated, the
          // previous one is upserted and the duplicates found so far are flagged. At most one
          // upsert and one flagging are in flight at a time, so batches commit, and progress is
          // reported, in order. Duplicates are flagged in id order, in runs of at least
          // `FLAG_IDS` (a batch's snapshots are spread over the whole window, as reports arrive
          // in time order, so small runs would visit every page of it again and again). A run
          // that fails part-way may have flagged some duplicates: flags are facts about the
          // snapshots (the same on every run over them), not results of the run.
          const duplicateIds: Array<number> = []
          let flagging: Fiber.RuntimeFiber<number, StoreError> | undefined
          const flag = (force: boolean) =>
            Effect.gen(function*() {
              if (duplicateIds.length === 0 || (!force && duplicateIds.length < FLAG_IDS)) return
              const ids = duplicateIds.splice(0).sort((x, y) => x - y)
              if (flagging !== undefined) yield* Fiber.join(flagging)
              flagging = yield* Effect.forkScoped(store.flagDuplicates(ids))
            })
          const write = (b: number, read: SnapshotColumnsRead, result: Consolidation.Result) =>
            Effect.gen(function*() {
              const { canonical, consolidated: written } = yield* bulk.upsertResult(result, runId)
              counts.pools += result.counts.pools
              counts.snapshots += result.counts.snapshots
              counts.duplicates += result.counts.duplicates
              counts.agentPoints += result.counts.agentPoints
              counts.filled += result.counts.filled
              counts.backfilled += result.counts.backfilled
              counts.written += written.inserted + written.updated
              counts.canonical += canonical.inserted + canonical.updated
              if (request.onProgress !== undefined) {
                const progress: Progress = {
                  runId,
                  poolsDone: Math.min(pools.length, b + poolsPerBatch),
                  poolsTotal: pools.length,
                  poolsWithPoints: counts.pools,
                  snapshots: counts.snapshots,
                  points: counts.agentPoints + counts.filled + counts.backfilled,
                  written: counts.written
                }
                yield* request.onProgress(progress)
              }
            })
          let writing: Fiber.RuntimeFiber<void, StoreError> | undefined
          for (let b = 0; b < pools.length; b += poolsPerBatch) {
            const batch = pools.slice(b, b + poolsPerBatch)
            const read = yield* bulk.snapshotColumns({ pools: batch, from: contextFrom, to })
            const history = new Map<PoolId, Array<Consolidation.HistoryRecord>>()
            for (const [pool, records] of read.backfill) history.set(pool, [...records])
            if (Option.isSome(source)) {
              for (const pool of batch) {
                const records = yield* source.value.history(pool, contextFrom, to)
                if (records.length > 0) history.set(pool, [...(history.get(pool) ?? []), ...records])
              }
            }
            const onDemand = new Map<PoolId, number>()
            for (const pool of batch) {
              const od = onDemandOf(pool)
              if (od !== undefined) onDemand.set(pool, od)
            }
            const result = Consolidation.consolidate(read.agent, {
              from,
              to,
              contextFrom,
              slotMillis,
              fillPolicy,
              maxGapMillis,
              rollingSlots,
              contextMillis,
              history,
              pools: batch,
              onDemand,
              context: ctx
            })
            for (const i of result.duplicates) duplicateIds.push(read.agentIds[i]!)
            yield* flag(false)
            if (writing !== undefined) yield* Fiber.join(writing)
            // Scoped to the body: a run that fails stops its write before it is recorded as failed.
            writing = yield* Effect.forkScoped(write(b, read, result))
          }
          yield* flag(true)
          if (writing !== undefined) yield* Fiber.join(writing)
          if (flagging !== undefined) yield* Fiber.join(flagging)
        }))

        const finish = (status: "succeeded" | "failed", error: string | null) =>
          Effect.gen(function*() {
            const finishedAt = yield* Clock.currentTimeMillis
            const run = ConsolidationRun.make({ ...counts, status, finishedAt, durationMillis: finishedAt - now, error })
            yield* store.recordRun(run)
            return run
          })

        return yield* body.pipe(
          Effect.onError((cause) => finish("failed", Cause.pretty(cause)).pipe(Effect.ignore)),
          Effect.zipRight(finish("succeeded", null)),
          Effect.tap((run) =>
            Effect.all([
              Metric.update(Metric.tagged(pointsTotal, "kind", "agent"), run.agentPoints),
              Metric.update(Metric.tagged(pointsTotal, "kind", "filled"), run.filled),
              Metric.update(Metric.tagged(pointsTotal, "kind", "backfilled"), run.backfilled),
              Metric.update(Metric.tagged(pointsTotal, "kind", "duplicate"), run.duplicates),
              Metric.set(lastSuccess, (run.finishedAt ?? now) / 1000)
            ], { discard: true })
          )
        )
      })

    const run: ConsolidationJobService["run"] = (request = {}) => {
      const guarded = options.lease === undefined
        ? execute(request)
        : options.lease.withLease("consolidation", execute(request)).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(new ConsolidationBusy({ holder: "lease" })),
            onSome: Effect.succeed
          }))
        )
      return semaphore.withPermitsIfAvailable(1)(guarded).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new ConsolidationBusy({ holder: "process" })),
          onSome: Effect.succeed
        }))
      )
    }

    const service: ConsolidationJobService = { run }
    return service
  })
