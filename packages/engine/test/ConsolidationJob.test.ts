import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Either, Exit, Fiber, Layer, Metric, Option, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  ConsolidationJob,
  EngineError,
  DomainEvent,
  EventLog,
  Ids,
  JobLease,
  Jobs,
  MemoryStore,
  Pool,
  PriceHistorySource,
  PriceStore,
  Pricing
} from "../src/index.js"

const SLOT = Pricing.SLOT_MILLIS
const HOUR = 3600_000
const T0 = 1_000_000 * SLOT

/** mulberry32: a small seeded PRNG, so every run injects the same faults. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const jobLayer = (options: ConsolidationJob.JobOptions = {}) =>
  ConsolidationJob.layer({ ids: Ids.sequentialIds(), ...options }).pipe(Layer.provideMerge(MemoryStore.layer))

const snap = (pool: Pool.PoolId, observedAt: number, price: number, role: Pricing.ReporterRole | null = "PRIMARY") =>
  Pricing.SnapshotDraft.make({
    tenantId: null,
    pool,
    price,
    observedAt,
    reporterAgentId: null,
    reporterRole: role,
    source: "agent",
    receivedAt: observedAt
  })

const pools = [Pool.make("m5.large", "us-east-1a"), Pool.make("m5.large", "us-east-1b"), Pool.make("c5.xlarge", "us-east-1a")]

/** A day of reports for three pools with gaps and conflicting duplicates. */
const syntheticDay = () => {
  const rand = prng(42)
  const out: Array<Pricing.SnapshotDraft> = []
  for (const pool of pools) {
    let price = 0.05 + rand() * 0.1
    for (let s = 0; s < 288; s++) {
      if (rand() < 0.15) continue
      if (rand() < 0.05) price = Math.round(price * (0.9 + rand() * 0.2) * 1e4) / 1e4
      const at = T0 + s * SLOT + Math.floor(rand() * (SLOT - 2))
      out.push(snap(pool, at, price))
      if (rand() < 0.1) out.push(snap(pool, at + 1, price * 2, "REPLICA"))
    }
  }
  return out
}

/** Everything the tiers hold for the test pools. */
const tiers = Effect.gen(function*() {
  const store = yield* PriceStore.PriceStore
  const out: Array<unknown> = []
  for (const pool of pools) {
    out.push(yield* store.consolidated({ pool, from: 0, to: Number.MAX_SAFE_INTEGER }))
    out.push(yield* store.canonical({ pool, from: 0, to: Number.MAX_SAFE_INTEGER }))
  }
  out.push((yield* store.snapshots({ from: 0, to: Number.MAX_SAFE_INTEGER })).map((s) => s.duplicate))
  return out
})

describe("ConsolidationJob", () => {
  it.effect("running twice over the same window changes nothing", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore.PriceStore
      const job = yield* ConsolidationJob.ConsolidationJob
      yield* store.appendSnapshots(syntheticDay())
      const first = yield* job.run({ from: T0, to: T0 + 24 * HOUR })
      assert.strictEqual(first.status, "succeeded")
      assert.isAbove(first.written, 0)
      assert.isAbove(first.duplicates, 0)
      assert.isAbove(first.filled, 0)
      assert.strictEqual(first.written, first.agentPoints + first.filled + first.backfilled)
      const before = yield* tiers
      const second = yield* job.run({ from: T0, to: T0 + 24 * HOUR })
      assert.deepStrictEqual(yield* tiers, before)
      assert.strictEqual(second.written, 0)
      assert.strictEqual(second.canonical, 0)
      assert.deepStrictEqual(
        [second.snapshots, second.duplicates, second.agentPoints, second.filled],
        [first.snapshots, first.duplicates, first.agentPoints, first.filled]
      )
      const ledger = yield* store.runs()
      assert.deepStrictEqual(ledger.map((r) => r.id).sort(), [first.id, second.id].sort())
    }).pipe(Effect.provide(jobLayer())))

  it.effect("overlapping windows give the same tiers as one run over the whole range", () =>
    Effect.gen(function*() {
      const data = syntheticDay()
      const inOneRun = yield* Effect.gen(function*() {
        yield* (yield* PriceStore.PriceStore).appendSnapshots(data)
        yield* (yield* ConsolidationJob.ConsolidationJob).run({ from: T0, to: T0 + 24 * HOUR })
        return yield* tiers
      }).pipe(Effect.provide(jobLayer()))
      const inWindows = yield* Effect.gen(function*() {
        const job = yield* ConsolidationJob.ConsolidationJob
        yield* (yield* PriceStore.PriceStore).appendSnapshots(data)
        yield* job.run({ from: T0, to: T0 + 12 * HOUR })
        const overlap = yield* job.run({ from: T0 + 11 * HOUR, to: T0 + 24 * HOUR })
        // the overlap hour was recomputed identically: only slots after 12h were new
        const expectedNew = (yield* (yield* PriceStore.PriceStore).runs()).length
        assert.strictEqual(expectedNew, 2)
        assert.isAbove(overlap.written, 0)
        const again = yield* job.run({ from: T0 + 11 * HOUR, to: T0 + 24 * HOUR })
        assert.strictEqual(again.written + again.canonical, 0)
        return yield* tiers
      }).pipe(Effect.provide(jobLayer()))
      assert.deepStrictEqual(
        inWindows.map((t) => (Array.isArray(t) ? t.map((p) => (typeof p === "object" && p !== null ? { ...p, runId: "" } : p)) : t)),
        inOneRun.map((t) => (Array.isArray(t) ? t.map((p) => (typeof p === "object" && p !== null ? { ...p, runId: "" } : p)) : t))
      )
    }))

  it.effect("a scheduled run covers the last window plus the overlap, ending at the current slot", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0 + 30 * HOUR + 123)
      const job = yield* ConsolidationJob.ConsolidationJob
      const run = yield* job.run()
      assert.strictEqual(run.windowEnd, T0 + 30 * HOUR)
      assert.strictEqual(run.windowStart, T0 + 30 * HOUR - 13 * HOUR)
    }).pipe(Effect.provide(jobLayer())))

  it.effect("only one run at a time in a process", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore.PriceStore
      const job = yield* ConsolidationJob.ConsolidationJob
      yield* store.appendSnapshots(syntheticDay())
      const entered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const first = yield* Effect.fork(job.run({
        from: T0,
        to: T0 + 24 * HOUR,
        onProgress: () => Deferred.succeed(entered, undefined).pipe(Effect.zipRight(Deferred.await(release)))
      }))
      yield* Deferred.await(entered)
      const second = yield* Effect.flip(job.run({ from: T0, to: T0 + 24 * HOUR }))
      assert.deepStrictEqual(second, new ConsolidationJob.ConsolidationBusy({ holder: "process" }))
      const running = yield* store.runs()
      assert.deepStrictEqual(running.map((r) => r.status), ["running"])
      yield* Deferred.succeed(release, undefined)
      const done = yield* Fiber.join(first)
      assert.strictEqual(done.status, "succeeded")
      assert.strictEqual((yield* job.run({ from: T0, to: T0 + 24 * HOUR })).status, "succeeded")
    }).pipe(Effect.provide(jobLayer({ poolsPerBatch: 1 }))))

  it.effect("a lease held elsewhere stops the run before anything is written", () =>
    Effect.gen(function*() {
      const job = yield* ConsolidationJob.ConsolidationJob
      const error = yield* Effect.flip(job.run({ from: T0, to: T0 + HOUR }))
      assert.deepStrictEqual(error, new ConsolidationJob.ConsolidationBusy({ holder: "lease" }))
      assert.deepStrictEqual(yield* (yield* PriceStore.PriceStore).runs(), [])
    }).pipe(Effect.provide(jobLayer({ lease: { withLease: () => Effect.succeed(Option.none()) } }))))

  it.effect("reports progress per batch of pools and records a failed run in the ledger", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore.PriceStore
      const job = yield* ConsolidationJob.ConsolidationJob
      yield* store.appendSnapshots(syntheticDay())
      const seen: Array<[number, number]> = []
      const ok = yield* job.run({
        from: T0,
        to: T0 + 24 * HOUR,
        onProgress: (p) => Effect.sync(() => void seen.push([p.poolsDone, p.poolsTotal]))
      })
      assert.deepStrictEqual(seen, [[2, 3], [3, 3]])
      assert.strictEqual(ok.pools, 3)
      const failing = PriceHistorySource.PriceHistorySource.of({
        pools: Effect.succeed([]),
        history: () => Effect.fail(new PriceHistorySource.PriceHistoryError({ reason: "export unreadable" }))
      })
      const exit = yield* Effect.exit(job.run({ from: T0, to: T0 + 24 * HOUR }).pipe(
        Effect.provideService(PriceHistorySource.PriceHistorySource, failing)
      ))
      assert.isTrue(Exit.isFailure(exit))
      const [latest] = (yield* store.runs()).filter((r) => r.status === "failed")
      assert.strictEqual(latest!.status, "failed")
      assert.include(latest!.error!, "export unreadable")
      assert.isNotNull(latest!.finishedAt)
    }).pipe(Effect.provide(jobLayer({ poolsPerBatch: 2 }))))

  it.live("pipelined: a batch is read while the previous one is written; a failed write stops the run", () =>
    Effect.gen(function*() {
      const memory = PriceStore.makeMemory()
      const bulk = PriceStore.bulkFromRecords(memory)
      const log: Array<string> = []
      let upserts = 0
      const store: PriceStore.PriceStoreService = {
        ...memory,
        flagDuplicates: (ids) => Effect.sync(() => log.push("flag")).pipe(Effect.zipRight(memory.flagDuplicates(ids))),
        bulk: {
          snapshotColumns: (q) => Effect.sync(() => log.push(`read ${q.pools.join()}`)).pipe(Effect.zipRight(bulk.snapshotColumns(q))),
          upsertResult: (result, runId) =>
            Effect.gen(function*() {
              const n = ++upserts
              log.push(`write ${result.pools.join()} start`)
              // Slow writes: the next batch's read starts before this one ends.
              yield* Effect.sleep("10 millis")
              if (n === 2) return yield* Effect.fail(new EngineError.StoreError({ operation: "upsertResult", reason: "disk full" }))
              const out = yield* bulk.upsertResult(result, runId)
              log.push(`write ${result.pools.join()} end`)
              return out
            })
        }
      }
      yield* store.appendSnapshots(syntheticDay())
      const job = yield* ConsolidationJob.make({ ids: Ids.sequentialIds(), poolsPerBatch: 1, context: () => Effect.succeed(new Map()) }).pipe(
        Effect.provideService(PriceStore.PriceStore, store),
        Effect.provide(MemoryStore.layer)
      )
      const [a, b, c] = [...pools].sort()
      const exit = yield* Effect.exit(job.run({ from: T0, to: T0 + 24 * HOUR }))
      assert.isTrue(Exit.isFailure(exit))
      const at = (entry: string) => log.indexOf(entry)
      // The next batch is read while the previous one is being written...
      assert.isBelow(at(`read ${b}`), at(`write ${a} end`))
      assert.include(log, `read ${c}`)
      // ...one write at a time, in order; the failed write ends the run: no third write, no flags.
      assert.isBelow(at(`write ${a} end`), at(`write ${b} start`))
      assert.deepStrictEqual(log.filter((l) => l.startsWith("write") || l === "flag"), [
        `write ${a} start`,
        `write ${a} end`,
        `write ${b} start`
      ])
      const [failed] = yield* memory.runs()
      assert.strictEqual(failed!.status, "failed")
      assert.include(failed!.error!, "disk full")
      // Only the first batch was written; the third was never written and nothing was flagged.
      assert.isAbove((yield* memory.consolidated({ pool: a!, from: 0, to: Number.MAX_SAFE_INTEGER })).length, 0)
      assert.strictEqual((yield* memory.consolidated({ pool: c!, from: 0, to: Number.MAX_SAFE_INTEGER })).length, 0)
    }))

  it.effect("canonical features carry notices from the event log and the spread to on-demand", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore.PriceStore
      const log = yield* EventLog.EventLog
      const job = yield* ConsolidationJob.ConsolidationJob
      const pool = pools[0]!
      yield* store.appendSnapshots([snap(pool, T0 + 10, 0.04), snap(pool, T0 + SLOT + 10, 0.04)])
      yield* store.putOnDemandPrices([Pricing.OnDemandPrice.make({ instanceType: "m5.large", region: "us-east-1", price: 0.096, observedAt: 0 })])
      yield* log.append([
        DomainEvent.EventDraft.make({
          tenantId: "t-1" as never,
          agentId: null,
          type: "NoticeReceived",
          at: T0 + SLOT + 5,
          actor: DomainEvent.system,
          data: { kind: "rebalance", pool }
        })
      ])
      yield* job.run({ from: T0, to: T0 + 2 * SLOT })
      const canonical = yield* store.canonical({ pool, from: 0, to: T0 + 2 * SLOT })
      assert.deepStrictEqual(canonical.map((c) => c.features.notices), [0, 1])
      assert.closeTo(canonical[0]!.features.spreadToOnDemand!, (0.096 - 0.04) / 0.096, 1e-12)
    }).pipe(Effect.provide(jobLayer())))
})

// ---------------------------------------------------------------------------------------------
// Acceptance 2: the real AWS price history (skipped when the shared data is absent).

const repoRoot = path.resolve(__dirname, "..", "..", "..")
const csvFile = path.join(repoRoot, "..", "shared", "data", "spot-price-history-c5a.2xlarge-us-east-1.csv")
const hasData = fs.existsSync(csvFile)

/** The price in effect at `t` (AWS records changes only), or undefined before the first record. */
const priceAt = (records: ReadonlyArray<{ observedAt: number; price: number }>, t: number) => {
  let lo = 0, hi = records.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (records[mid]!.observedAt <= t) lo = mid + 1
    else hi = mid
  }
  return lo === 0 ? undefined : records[lo - 1]!.price
}

describe.skipIf(!hasData)("ConsolidationJob on the real AWS price history", () => {
  const text = hasData ? fs.readFileSync(csvFile, "utf8") : ""
  const rows = Either.getOrThrow(PriceHistorySource.parseCsv(text))
  const byPool = new Map<Pool.PoolId, Array<{ observedAt: number; price: number }>>()
  for (const r of rows) byPool.set(r.pool, [...(byPool.get(r.pool) ?? []), { observedAt: r.observedAt, price: r.price }])
  for (const list of byPool.values()) list.sort((a, b) => a.observedAt - b.observedAt)
  const first = Math.min(...rows.map((r) => r.observedAt))
  const last = Math.max(...rows.map((r) => r.observedAt))
  const from = Math.ceil(first / SLOT) * SLOT
  const to = Math.floor(last / SLOT) * SLOT
  const maxGapMillis = 2 * HOUR

  /** Agents reporting every slot what AWS charged at that moment, with faults injected. */
  const inject = (seed: number) => {
    const rand = prng(seed)
    const points: Array<{ pool: Pool.PoolId; slot: number; observedAt: number; price: number }> = []
    for (const [pool, records] of byPool) {
      for (let slot = from; slot < to; slot += SLOT) {
        const observedAt = slot + 1000 + Math.floor(rand() * (SLOT - 2000))
        const price = priceAt(records, observedAt)
        if (price !== undefined) points.push({ pool, slot, observedAt, price })
      }
    }
    const order = points.map((_, i) => i)
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    const dropCount = Math.round(points.length * 0.1)
    const dupCount = Math.round(points.length * 0.05)
    const dropped = new Set(order.slice(0, dropCount))
    const duplicated = new Set(order.slice(dropCount, dropCount + dupCount))
    const drafts: Array<Pricing.SnapshotDraft> = []
    const conflicting: Array<number> = [] // draft indices of the injected losers
    points.forEach((p, i) => {
      if (dropped.has(i)) return
      drafts.push(snap(p.pool, p.observedAt, p.price, "PRIMARY"))
      if (duplicated.has(i)) {
        conflicting.push(drafts.length)
        // alternate the conflict: a later REPLICA report, or an earlier PRIMARY one
        drafts.push(i % 2 === 0
          ? snap(p.pool, p.observedAt + 500, Math.round(p.price * 1.37 * 1e6) / 1e6, "REPLICA")
          : snap(p.pool, p.observedAt - 500, Math.round(p.price * 0.71 * 1e6) / 1e6, "PRIMARY"))
      }
    })
    return { points, dropped, duplicated, drafts, conflicting }
  }

  it.effect("every real point survives, step fill reproduces unchanged prices, the ledger counts the faults", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore.PriceStore
      const job = yield* ConsolidationJob.ConsolidationJob
      const { conflicting, drafts, dropped, duplicated, points } = inject(20231230)
      assert.isAtLeast(byPool.size, 5)
      assert.isAbove(points.length, 50_000)
      yield* store.appendSnapshots(drafts)

      const run = yield* job.run({ from, to })

      // what a step fill must produce, computed independently from the injection
      const kept = new Map<string, (typeof points)[number]>()
      points.forEach((p, i) => { if (!dropped.has(i)) kept.set(`${p.pool}@${p.slot}`, p) })
      let expectedFilled = 0
      let unchangedDrops = 0
      let unchangedReproduced = 0
      const consolidated = new Map<string, Pricing.ConsolidatedPrice>()
      for (const pool of byPool.keys()) {
        for (const c of yield* store.consolidated({ pool, from, to })) consolidated.set(`${c.pool}@${c.slotStart}`, c)
      }
      for (const [i, p] of points.entries()) {
        if (!dropped.has(i)) continue
        let prev: (typeof points)[number] | undefined
        for (let s = p.slot - SLOT; s >= p.slot - maxGapMillis && prev === undefined; s -= SLOT) prev = kept.get(`${p.pool}@${s}`)
        let next: (typeof points)[number] | undefined
        for (let s = p.slot + SLOT; prev !== undefined && s <= prev.slot + maxGapMillis && next === undefined; s += SLOT) next = kept.get(`${p.pool}@${s}`)
        const c = consolidated.get(`${p.pool}@${p.slot}`)
        if (prev === undefined || next === undefined) {
          assert.isUndefined(c, `slot ${p.slot} of ${p.pool} has no neighbours within the max gap`)
          continue
        }
        expectedFilled++
        assert.strictEqual(c!.source, "interpolated")
        assert.strictEqual(c!.price, prev.price, "step carries the last real price forward")
        const changed = byPool.get(p.pool)!.some((r) => r.observedAt > prev.observedAt && r.observedAt <= p.observedAt)
        if (!changed) {
          unchangedDrops++
          if (c!.price === p.price) unchangedReproduced++
        }
      }
      assert.isAbove(expectedFilled, dropped.size * 0.95)
      assert.isAbove(unchangedDrops, dropped.size * 0.9)
      assert.isBelow(unchangedDrops, expectedFilled, "some drops fell where AWS changed the price")
      assert.strictEqual(unchangedReproduced, unchangedDrops, "where AWS recorded no change the dropped point is reproduced exactly")

      // every real point survives unchanged (the conflicting duplicates lost)
      for (const p of kept.values()) {
        const c = consolidated.get(`${p.pool}@${p.slot}`)!
        assert.strictEqual(c.source, "agent")
        assert.strictEqual(c.price, p.price)
      }
      const agentPoints = [...consolidated.values()].filter((c) => c.source === "agent")
      assert.strictEqual(agentPoints.length, kept.size)
      assert.strictEqual(agentPoints.filter((c) => c.snapshotsMerged === 2).length, duplicated.size)

      // the ledger counts what was injected
      assert.strictEqual(run.status, "succeeded")
      assert.strictEqual(run.snapshots, drafts.length)
      assert.strictEqual(run.duplicates, duplicated.size)
      assert.strictEqual(run.agentPoints, points.length - dropped.size)
      assert.strictEqual(run.filled, expectedFilled)
      assert.strictEqual(run.backfilled, 0)
      assert.strictEqual(run.canonical, kept.size)
      assert.deepStrictEqual((yield* store.runs())[0], run)

      // exactly the injected conflicting snapshots are flagged
      const stored = yield* store.snapshots({ from: 0, to: Number.MAX_SAFE_INTEGER })
      const flagged = stored.flatMap((s, i) => (s.duplicate ? [i] : []))
      assert.deepStrictEqual(flagged, conflicting)
    }).pipe(Effect.provide(jobLayer({ fillPolicy: "step", maxGapMillis }))))

  it.effect("backfills a pool no agent reported from the export, exactly at AWS's prices", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore.PriceStore
      const job = yield* ConsolidationJob.ConsolidationJob
      const [silent, ...reported] = [...byPool.keys()].sort()
      const { drafts } = inject(7)
      yield* store.appendSnapshots(drafts.filter((d) => d.pool !== silent))
      const run = yield* job.run({ from, to }).pipe(Effect.provide(PriceHistorySource.layerText([text])))
      const points = yield* store.consolidated({ pool: silent!, from, to })
      // every slot that ends after the export's first record of the pool
      const firstRecord = byPool.get(silent!)![0]!.observedAt
      let expected = 0
      for (let s = from; s < to; s += SLOT) if (s + SLOT > firstRecord) expected++
      assert.strictEqual(points.length, expected)
      assert.isAbove(expected, 10_000)
      for (const p of points) {
        assert.strictEqual(p.source, "backfilled")
        assert.strictEqual(p.confidence, 0.9)
        assert.strictEqual(p.price, priceAt(byPool.get(silent!)!, p.slotStart + SLOT - 1))
      }
      const canonical = yield* store.canonical({ pool: silent!, from, to })
      assert.strictEqual(canonical.length, points.length)
      // reported pools keep their agent points; backfill only lands where nothing else did
      for (const pool of reported) {
        const c = yield* store.consolidated({ pool, from, to })
        assert.isTrue(c.filter((p) => p.source === "agent").length > 0.85 * (to - from) / SLOT)
      }
      assert.isAtLeast(run.backfilled, points.length)
    }).pipe(Effect.provide(jobLayer({ fillPolicy: "step", maxGapMillis }))))
})

describe("ConsolidationJob.jobSpec", () => {
  it.effect("runs under the JobLease runner: one holder at a time, the run's counts recorded, metrics updated", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore.PriceStore
      const pool = Pool.make("m5.large", "us-east-1a")
      yield* TestClock.setTime(T0 + 13 * HOUR)
      yield* store.appendSnapshots([snap(pool, T0 + 12 * HOUR + 1, 0.1), snap(pool, T0 + 12 * HOUR + 3 * SLOT + 1, 0.2)])
      const spec = ConsolidationJob.jobSpec()
      assert.strictEqual(spec.name, "consolidation")
      assert.strictEqual(Duration.toMillis(Duration.decode(spec.every)), 12 * HOUR)
      assert.isTrue(yield* Jobs.tick(spec, "process-a"))
      assert.isFalse(yield* Jobs.tick(spec, "process-b"), "the lease is held by process-a")
      const leases = yield* JobLease.JobLease
      const [recorded] = yield* leases.runs("consolidation", 10)
      assert.strictEqual(recorded!.outcome, "succeeded")
      assert.strictEqual(recorded!.detail.agentPoints, 2)
      assert.strictEqual(recorded!.detail.filled, 2)
      const [ledger] = yield* store.runs({ limit: 1 })
      assert.strictEqual(recorded!.detail.runId, ledger!.id)
      const last = yield* Metric.value(ConsolidationJob.lastSuccess)
      assert.strictEqual(last.value, (T0 + 13 * HOUR) / 1000)
      const agentPoints = yield* Metric.value(Metric.tagged(ConsolidationJob.pointsTotal, "kind", "agent"))
      assert.isAtLeast(agentPoints.count, 2)
    }).pipe(Effect.provide(Layer.mergeAll(jobLayer(), JobLease.layerMemory))))
})

describe("ConsolidationJob window", () => {
  // Two records, two pools, neither on the 5-minute grid: the export's last record is at 00:07:30.
  const twoRows = `Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone
1970-01-01 00:07:30+00:00,c5a.large,Linux/UNIX,0.052000,us-east-1b
1970-01-01 00:01:10+00:00,c5a.large,Linux/UNIX,0.040000,us-east-1a
`
  const a = Pool.make("c5a.large", "us-east-1a")
  const b = Pool.make("c5a.large", "us-east-1b")

  it.effect("a run that ends 1 ms after an export's last record includes that record's slot", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore.PriceStore
      const job = yield* ConsolidationJob.ConsolidationJob
      const progress: Array<ConsolidationJob.Progress> = []
      const first = 70_000, last = 7 * 60_000 + 30_000
      const run = yield* job.run({ from: first, to: last + 1, onProgress: (p) => Effect.sync(() => progress.push(p)) }).pipe(
        Effect.provide(PriceHistorySource.layerText([twoRows]))
      )
      assert.strictEqual(run.status, "succeeded")
      assert.deepStrictEqual([run.windowStart, run.windowEnd], [0, 2 * SLOT])
      const at = (pool: Pool.PoolId) =>
        Effect.map(store.consolidated({ pool, from: 0, to: HOUR }), (ps) => ps.map((p) => [p.slotStart / 60_000, p.price, p.source]))
      // 1a: its record's slot (00:00) and the next one (its price still holds); 1b: its record's slot (00:05)
      assert.deepStrictEqual(yield* at(a), [[0, 0.04, "backfilled"], [5, 0.04, "backfilled"]])
      assert.deepStrictEqual(yield* at(b), [[5, 0.052, "backfilled"]])
      assert.strictEqual((yield* store.canonical({ pool: b, from: 0, to: HOUR })).length, 1)
      assert.deepStrictEqual(
        [run.pools, run.snapshots, run.backfilled, run.written, run.canonical],
        [2, 0, 3, 3, 3]
      )
      assert.deepStrictEqual(progress.map((p) => [p.poolsDone, p.poolsTotal, p.poolsWithPoints, p.points, p.written]), [[2, 2, 2, 3, 3]])
    }).pipe(Effect.provide(jobLayer())))

  it.effect("`pools` counts the pools that got points, not the pools looked at", () =>
    Effect.gen(function*() {
      const job = yield* ConsolidationJob.ConsolidationJob
      // a window that ends before 1b's record: 1b is looked at but gets nothing
      const run = yield* job.run({ from: 0, to: 5 * 60_000 }).pipe(Effect.provide(PriceHistorySource.layerText([twoRows])))
      assert.deepStrictEqual([run.pools, run.backfilled], [1, 1])
    }).pipe(Effect.provide(jobLayer())))

  it.effect("without `to`, a run ends at the start of the current slot (the current one is not over)", () =>
    Effect.gen(function*() {
      const job = yield* ConsolidationJob.ConsolidationJob
      yield* TestClock.setTime(T0 + 12 * HOUR + 2 * 60_000)
      const run = yield* job.run()
      assert.strictEqual(run.windowEnd, T0 + 12 * HOUR)
      const explicit = yield* job.run({ from: T0, to: T0 + 12 * HOUR + 2 * 60_000 })
      assert.strictEqual(explicit.windowEnd, T0 + 12 * HOUR + SLOT)
    }).pipe(Effect.provide(jobLayer())))
})
