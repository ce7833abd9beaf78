/**
 * The conformance tests of the `PriceStore` port: the three price tiers (snapshots appended in bulk
 * and read back by pool, window and source; duplicates flagged, never deleted; consolidated and
 * canonical points upserted idempotently, never lowering confidence), the columnar path reading and
 * writing exactly what the record path does, on-demand prices and the consolidation run ledger.
 * Every test uses fresh pools and run ids, so the store may be shared.
 *
 * @since 0.1.0
 */
import { assert } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import * as Pool from "../Pool.js"
import * as Product from "../Product.js"
import { bulkFromRecords, PriceStore } from "../PriceStore.js"
import { CanonicalPrice, ConsolidatedPrice, ConsolidationRun, OnDemandPrice, PriceFeatures, type PriceSnapshot, SnapshotDraft } from "../Pricing.js"
import { canonicalPoints, consolidate, consolidatedPoints } from "../internal/consolidation.js"
import { describeOn, type SuiteOptions, type Tests, unique } from "./fixtures.js"

const freshPool = () => Pool.make(`px${unique().replaceAll("-", "")}.large`, "us-east-1a")
const SLOT = 5 * 60 * 1000

const draft = (pool: Pool.PoolId, observedAt: number, price: number, source: "agent" | "backfill" = "agent") =>
  SnapshotDraft.make({
    tenantId: null,
    pool,
    price,
    observedAt,
    reporterAgentId: null,
    reporterRole: source === "agent" ? "PRIMARY" : null,
    source,
    receivedAt: observedAt + 1
  })

const point = (
  pool: Pool.PoolId,
  slot: number,
  price: number,
  source: "agent" | "interpolated" | "backfilled",
  runId = "run-a",
  snapshotsMerged = source === "agent" ? 1 : 0
) =>
  ConsolidatedPrice.make({
    pool,
    slotStart: slot * SLOT,
    price,
    source,
    confidence: source === "agent" ? 1 : source === "backfilled" ? 0.9 : 0.8,
    runId,
    snapshotsMerged
  })

const canonicalPoint = (pool: Pool.PoolId, slot: number, price: number, runId: string, rollingMean = price) =>
  CanonicalPrice.make({
    pool,
    slotStart: slot * SLOT,
    price,
    source: "agent",
    confidence: 1,
    runId,
    features: PriceFeatures.make({ rollingMean, volatility: 0.001, spreadToOnDemand: 0.6, notices: 1, interruptions: 0 })
  })

const runEntry = (id: string, startedAt: number, status: "running" | "succeeded" | "failed") =>
  ConsolidationRun.make({
    id,
    windowStart: startedAt - 12 * 3600_000,
    windowEnd: startedAt,
    fillPolicy: "step",
    status,
    startedAt,
    finishedAt: status === "running" ? null : startedAt + 1500,
    durationMillis: status === "running" ? null : 1500,
    pools: 3,
    snapshots: 100,
    duplicates: 5,
    agentPoints: 90,
    filled: 4,
    backfilled: 2,
    written: 96,
    canonical: 92,
    error: status === "failed" ? "boom" : null
  })

const ids = (xs: ReadonlyArray<PriceSnapshot>) => xs.map((s) => s.id)

/**
 * Registers these tests with the `it` of a layer that provides `PriceStore`.
 *
 * @since 0.1.0
 */
export const tests: Tests<PriceStore> = (it) => {
  it.effect("appends snapshots in bulk and reads them back by pool, window and source, in append order", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore
      const [p1, p2] = [freshPool(), freshPool()]
      const t = 1_000 * SLOT
      const appended = yield* store.appendSnapshots([
        draft(p1, t + 3, 0.2),
        draft(p2, t + 1, 0.3),
        draft(p1, t + 1, 0.21),
        draft(p1, t + SLOT, 0.22, "backfill"),
        draft(p1, t + 2 * SLOT, 0.23)
      ])
      assert.strictEqual(appended, 5)
      const all = yield* store.snapshots({ pools: [p1], from: t, to: t + 2 * SLOT })
      assert.deepStrictEqual(all.map((s) => [s.price, s.source, s.duplicate]), [[0.2, "agent", false], [0.21, "agent", false], [0.22, "backfill", false]])
      assert.isTrue(all[0]!.id < all[1]!.id && all[1]!.id < all[2]!.id)
      assert.deepStrictEqual(all[0]!.reporterRole, "PRIMARY")
      assert.strictEqual(all[0]!.receivedAt, t + 4)
      const agentOnly = yield* store.snapshots({ pools: [p1, p2], from: t, to: t + 3 * SLOT, source: "agent" })
      assert.deepStrictEqual(agentOnly.map((s) => s.price), [0.2, 0.3, 0.21, 0.23])
      const page = yield* store.snapshots({ pools: [p1, p2], from: t, to: t + 3 * SLOT, afterId: agentOnly[0]!.id, limit: 2 })
      assert.deepStrictEqual(page.map((s) => s.price), [0.3, 0.21])
      const pools = yield* store.snapshotPools({ from: t, to: t + 3 * SLOT })
      assert.includeMembers([...pools], [p1, p2])
      const backfillPools = yield* store.snapshotPools({ from: t, to: t + 3 * SLOT, source: "backfill" })
      assert.include([...backfillPools], p1)
      assert.notInclude([...backfillPools], p2)
    }))

  it.effect("pricedPools: pools with prices in any tier, of one type and region, spot and on-demand", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore
      // One fresh instance type (the store may be shared), its pools in every tier.
      const type = `pq${unique().replaceAll("-", "")}.large`
      const [agent, backfill, consolidated, canonical, other, otherRegion, old] = [
        Pool.make(type, "us-east-1a"),
        Pool.make(type, "us-east-1b"),
        Pool.make(type, "us-east-1c"),
        Pool.make(type, "us-east-1d"),
        Pool.make(`${type}x`, "us-east-1a"),
        Pool.make(type, "eu-west-1a"),
        Pool.make(type, "us-east-1f")
      ]
      const onDemand = Pool.make(type, "us-east-1a", "on-demand")
      const day = 86_400_000
      const from = 400 * day
      const to = from + 2 * day
      const slot = (at: number) => at / SLOT
      yield* store.appendSnapshots([
        draft(agent, from + 10, 0.1),
        draft(backfill, from + day, 0.1, "backfill"),
        draft(onDemand, from + 20, 0.4),
        draft(other, from + 30, 0.1),
        draft(otherRegion, from + 40, 0.1),
        draft(old, from - 3 * day, 0.1)
      ])
      yield* store.upsertConsolidated([point(consolidated, slot(from + day), 0.1, "backfilled", "run-pq"), point(old, slot(to + 3 * day), 0.1, "agent", "run-pq")])
      yield* store.upsertCanonical([canonicalPoint(canonical, slot(from + day + SLOT), 0.1, "run-pq")])
      const found = yield* store.pricedPools({ from, to, instanceType: type, region: "us-east-1" })
      assert.deepStrictEqual([...found], [canonical, agent, backfill, consolidated, onDemand].sort())
      const everyRegion = yield* store.pricedPools({ from, to, instanceType: type })
      assert.deepStrictEqual([...everyRegion], [canonical, agent, backfill, consolidated, onDemand, otherRegion].sort())
      const any = yield* store.pricedPools({ from, to })
      assert.includeMembers([...any], [agent, backfill, consolidated, canonical, other, otherRegion, onDemand])
      assert.notInclude([...any], old)
      // Characters that mean something to SQL LIKE are taken as they are.
      assert.deepStrictEqual([...(yield* store.pricedPools({ from, to, instanceType: "pq%", region: "us-east-1" }))], [])
    }))

  it.effect("flags duplicates without deleting them; flagging twice is counted once", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore
      const pool = freshPool()
      yield* store.appendSnapshots([draft(pool, 10, 0.1), draft(pool, 20, 0.2), draft(pool, 30, 0.3)])
      const rows = yield* store.snapshots({ pools: [pool], from: 0, to: SLOT })
      assert.strictEqual(yield* store.flagDuplicates([rows[0]!.id, rows[2]!.id]), 2)
      assert.strictEqual(yield* store.flagDuplicates([rows[0]!.id]), 0)
      const after = yield* store.snapshots({ pools: [pool], from: 0, to: SLOT })
      assert.deepStrictEqual(ids(after), ids(rows))
      assert.deepStrictEqual(after.map((s) => s.duplicate), [true, false, true])
      assert.deepStrictEqual(after.map((s) => s.price), [0.1, 0.2, 0.3])
    }))

  it.effect("upserts consolidated points idempotently and never lowers confidence", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore
      const pool = freshPool()
      const first = yield* store.upsertConsolidated([point(pool, 1, 0.1, "agent"), point(pool, 2, 0.1, "interpolated"), point(pool, 3, 0.3, "backfilled")])
      assert.deepStrictEqual(first, { inserted: 3, updated: 0, unchanged: 0, kept: 0 })
      // the same points from another run: nothing changes, run id included
      const again = yield* store.upsertConsolidated([point(pool, 1, 0.1, "agent", "run-b"), point(pool, 2, 0.1, "interpolated", "run-b")])
      assert.deepStrictEqual(again, { inserted: 0, updated: 0, unchanged: 2, kept: 0 })
      // a fill never overwrites a real point; interpolated never replaces backfilled
      const lower = yield* store.upsertConsolidated([point(pool, 1, 0.5, "interpolated", "run-c"), point(pool, 3, 0.5, "interpolated", "run-c")])
      assert.deepStrictEqual(lower, { inserted: 0, updated: 0, unchanged: 0, kept: 2 })
      // a late real point replaces a filled one; a changed real point replaces the old one
      const higher = yield* store.upsertConsolidated([point(pool, 2, 0.15, "agent", "run-d", 2), point(pool, 1, 0.11, "agent", "run-d")])
      assert.deepStrictEqual(higher, { inserted: 0, updated: 2, unchanged: 0, kept: 0 })
      const stored = yield* store.consolidated({ pool, from: 0, to: 10 * SLOT })
      assert.deepStrictEqual(stored.map((p) => [p.slotStart / SLOT, p.price, p.source, p.confidence, p.runId, p.snapshotsMerged]), [
        [1, 0.11, "agent", 1, "run-d", 1],
        [2, 0.15, "agent", 1, "run-d", 2],
        [3, 0.3, "backfilled", 0.9, "run-a", 0]
      ])
      const window = yield* store.consolidated({ pool, from: 2 * SLOT, to: 3 * SLOT })
      assert.deepStrictEqual(window.map((p) => p.slotStart / SLOT), [2])
    }))

  it.effect("upserts canonical points idempotently, features included", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore
      const pool = freshPool()
      assert.deepStrictEqual(yield* store.upsertCanonical([canonicalPoint(pool, 1, 0.1, "a"), canonicalPoint(pool, 2, 0.2, "a")]), {
        inserted: 2,
        updated: 0,
        unchanged: 0,
        kept: 0
      })
      assert.deepStrictEqual(yield* store.upsertCanonical([canonicalPoint(pool, 1, 0.1, "b"), canonicalPoint(pool, 2, 0.2, "b", 0.19)]), {
        inserted: 0,
        updated: 1,
        unchanged: 1,
        kept: 0
      })
      const stored = yield* store.canonical({ pool, from: 0, to: 10 * SLOT })
      assert.deepStrictEqual(stored.map((p) => [p.slotStart / SLOT, p.runId, p.features.rollingMean]), [[1, "a", 0.1], [2, "b", 0.19]])
      assert.deepStrictEqual(stored[0]!.features, PriceFeatures.make({ rollingMean: 0.1, volatility: 0.001, spreadToOnDemand: 0.6, notices: 1, interruptions: 0 }))
    }))

  it.effect("the columnar path (bulk) reads and writes exactly what the record path does", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore
      const bulk = store.bulk ?? bulkFromRecords(store)
      const [pa, pb] = [freshPool(), freshPool()].sort()
      const t = 2_000 * SLOT
      const replica = SnapshotDraft.make({ ...draft(pa!, t + 7, 0.9), reporterRole: "REPLICA" })
      yield* store.appendSnapshots([
        draft(pa!, t + 5, 0.2),
        replica,
        draft(pb!, t + SLOT + 1, 0.4),
        draft(pa!, t + 3 * SLOT + 2, 0.25),
        draft(pa!, t + 6 * SLOT, 0.3, "backfill"),
        draft(pa!, t + 9 * SLOT, 0.35, "backfill")
      ])
      const q = { pools: [pa!, pb!], from: t, to: t + 10 * SLOT }
      const read = yield* bulk.snapshotColumns(q)
      const viaRecords = yield* bulkFromRecords(store).snapshotColumns(q)
      const rows = (r: typeof read) =>
        Array.from({ length: r.agent.length }, (_, i) => [
          r.agentIds[i],
          r.agent.pools[r.agent.pool[i]!],
          r.agent.observedAt[i],
          r.agent.price[i],
          r.agent.role[i]
        ])
      assert.strictEqual(read.agent.length, 4)
      assert.deepStrictEqual(rows(read), rows(viaRecords))
      assert.deepStrictEqual([...read.backfill.entries()], [...viaRecords.backfill.entries()])
      assert.deepStrictEqual(read.backfill.get(pa!), [{ observedAt: t + 6 * SLOT, price: 0.3 }, { observedAt: t + 9 * SLOT, price: 0.35 }])

      const result = consolidate(read.agent, {
        from: t,
        to: t + 10 * SLOT,
        history: read.backfill,
        pools: [pa!, pb!],
        onDemand: new Map([[pa!, 0.5]])
      })
      assert.deepStrictEqual(result.duplicates.length, 1)
      const expectedConsolidated = consolidatedPoints(result, "bulk-1")
      const expectedCanonical = canonicalPoints(result, "bulk-1")
      const first = yield* bulk.upsertResult(result, "bulk-1")
      assert.deepStrictEqual(first, {
        consolidated: { inserted: expectedConsolidated.length, updated: 0, unchanged: 0, kept: 0 },
        canonical: { inserted: expectedCanonical.length, updated: 0, unchanged: 0, kept: 0 }
      })
      const readAll = Effect.gen(function*() {
        const c = [...(yield* store.consolidated({ pool: pa!, from: t, to: t + 10 * SLOT })), ...(yield* store.consolidated({ pool: pb!, from: t, to: t + 10 * SLOT }))]
        const k = [...(yield* store.canonical({ pool: pa!, from: t, to: t + 10 * SLOT })), ...(yield* store.canonical({ pool: pb!, from: t, to: t + 10 * SLOT }))]
        return { c, k }
      })
      const stored = yield* readAll
      assert.deepStrictEqual(stored.c, expectedConsolidated)
      assert.deepStrictEqual(stored.k, expectedCanonical)
      assert.deepStrictEqual(new Set(stored.c.map((p) => p.source)), new Set(["agent", "interpolated", "backfilled"]))

      // Repeating the write changes nothing, run id included.
      const again = yield* bulk.upsertResult(result, "bulk-2")
      assert.deepStrictEqual(again, {
        consolidated: { inserted: 0, updated: 0, unchanged: expectedConsolidated.length, kept: 0 },
        canonical: { inserted: 0, updated: 0, unchanged: expectedCanonical.length, kept: 0 }
      })
      assert.deepStrictEqual(yield* readAll, stored)

      // A real point where the result has a filled one is kept; a changed agent point is updated.
      const filled = expectedConsolidated.find((p) => p.source === "interpolated")!
      yield* store.upsertConsolidated([ConsolidatedPrice.make({ ...filled, source: "agent", confidence: 1, snapshotsMerged: 1, runId: "manual" })])
      const changed = expectedConsolidated.find((p) => p.pool === pb)!
      yield* store.upsertConsolidated([ConsolidatedPrice.make({ ...changed, price: 0.99, runId: "manual" })])
      const third = yield* bulk.upsertResult(result, "bulk-3")
      assert.deepStrictEqual(third.consolidated, { inserted: 0, updated: 1, unchanged: expectedConsolidated.length - 2, kept: 1 })
      const after = (yield* readAll).c
      assert.deepStrictEqual(after.find((p) => p.slotStart === filled.slotStart && p.pool === filled.pool)?.runId, "manual")
      assert.deepStrictEqual(after.find((p) => p.slotStart === changed.slotStart && p.pool === pb)?.price, changed.price)
      assert.deepStrictEqual(after.find((p) => p.slotStart === changed.slotStart && p.pool === pb)?.runId, "bulk-3")
    }))

  it.effect("keeps the products and zone forms of one type apart in every tier: a second product never overwrites the first", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore
      const bulk = store.bulk ?? bulkFromRecords(store)
      const type = `px${unique().replaceAll("-", "")}.large`
      // Every product in an AZ name, plus an AZ ID and an on-demand pool: same type, same slots.
      const pools = [
        ...Product.all.map((product) => Pool.make(type, "us-east-1a", "spot", product)),
        Pool.make(type, "use1-az1", "spot", "suse"),
        Pool.make(type, "us-east-1a", "on-demand", "windows")
      ]
      const priceOf = (i: number, slot: number) => Math.round((0.1 + i * 0.07 + slot * 0.001) * 1e6) / 1e6
      const t = 3_000 * SLOT
      // Linux first, through the record path; then every other product, through the same slots.
      const write = (i: number) =>
        Effect.gen(function*() {
          const pool = pools[i]!
          yield* store.appendSnapshots([1, 2, 3].map((s) => draft(pool, t + s * SLOT + 7, priceOf(i, s))))
          const points = [1, 2, 3].map((s) => ConsolidatedPrice.make({ ...point(pool, 0, priceOf(i, s), "agent"), slotStart: t + s * SLOT }))
          assert.deepStrictEqual(yield* store.upsertConsolidated(points), { inserted: 3, updated: 0, unchanged: 0, kept: 0 })
          const canonical = [1, 2, 3].map((s) => CanonicalPrice.make({ ...canonicalPoint(pool, 0, priceOf(i, s), "run-p"), slotStart: t + s * SLOT }))
          assert.deepStrictEqual(yield* store.upsertCanonical(canonical), { inserted: 3, updated: 0, unchanged: 0, kept: 0 })
        })
      const readAll = Effect.forEach(pools, (pool) =>
        Effect.all({
          snapshots: Effect.map(store.snapshots({ pools: [pool], from: t, to: t + 10 * SLOT }), (xs) => xs.map((x) => [x.pool, x.price])),
          consolidated: Effect.map(store.consolidated({ pool, from: t, to: t + 10 * SLOT }), (xs) => xs.map((x) => [x.pool, x.price])),
          canonical: Effect.map(store.canonical({ pool, from: t, to: t + 10 * SLOT }), (xs) => xs.map((x) => [x.pool, x.price]))
        }))
      yield* write(0)
      const linuxBefore = (yield* readAll)[0]
      for (let i = 1; i < pools.length; i++) yield* write(i)
      const all = yield* readAll
      assert.deepStrictEqual(all[0], linuxBefore)
      all.forEach((tiers, i) => {
        const expected = [1, 2, 3].map((s) => [pools[i], priceOf(i, s)])
        assert.deepStrictEqual(tiers, { snapshots: expected, consolidated: expected, canonical: expected }, pools[i])
      })
      // The columnar path keeps them apart too: one consolidation result over every product.
      const read = yield* bulk.snapshotColumns({ pools, from: t, to: t + 10 * SLOT })
      assert.deepStrictEqual([...new Set(Array.from(read.agent.pool, (k) => read.agent.pools[k]))].sort(), [...pools].sort())
      const result = consolidate(read.agent, { from: t + SLOT, to: t + 4 * SLOT, history: read.backfill, pools, onDemand: new Map() })
      const rewritten = yield* bulk.upsertResult(result, "run-q")
      assert.deepStrictEqual(rewritten.consolidated, { inserted: 0, updated: 0, unchanged: 3 * pools.length, kept: 0 })
      assert.deepStrictEqual(yield* readAll, all)
    }))

  it.effect("keeps one on-demand price per instance type and region", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore
      const type = `px${unique().replaceAll("-", "")}.large`
      yield* store.putOnDemandPrices([
        OnDemandPrice.make({ instanceType: type, region: "us-east-1", price: 0.3, observedAt: 1 }),
        OnDemandPrice.make({ instanceType: type, region: "eu-west-1", price: 0.34, observedAt: 1 })
      ])
      yield* store.putOnDemandPrices([OnDemandPrice.make({ instanceType: type, region: "us-east-1", price: 0.31, observedAt: 2 })])
      const mine = (yield* store.onDemandPrices).filter((p) => p.instanceType === type)
      assert.deepStrictEqual(mine.map((p) => [p.region, p.price, p.observedAt]), [["eu-west-1", 0.34, 1], ["us-east-1", 0.31, 2]])
    }))

  it.effect("records runs by id and lists the newest first", () =>
    Effect.gen(function*() {
      const store = yield* PriceStore
      const id = unique()
      const far = 4_000_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1000
      yield* store.recordRun(runEntry(`${id}-1`, far, "running"))
      yield* store.recordRun(runEntry(`${id}-2`, far + 10, "failed"))
      yield* store.recordRun(runEntry(`${id}-1`, far, "succeeded"))
      const runs = (yield* store.runs({ limit: 1000 })).filter((r) => r.id.startsWith(id))
      assert.deepStrictEqual(runs.map((r) => [r.id, r.status]), [[`${id}-2`, "failed"], [`${id}-1`, "succeeded"]])
      assert.deepStrictEqual(runs[1], runEntry(`${id}-1`, far, "succeeded"))
      assert.strictEqual(runs[0]!.error, "boom")
      assert.strictEqual((yield* store.runs({ limit: 1 })).length, 1)
    }))
}

/**
 * Registers the conformance tests of the `PriceStore` port on `storeLayer`.
 *
 * @since 0.1.0
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<PriceStore, E>, options: SuiteOptions = {}): void =>
  describeOn(`price store conformance: ${name}`, storeLayer, options, tests)
