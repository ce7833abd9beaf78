import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { CommandResult } from "../src/Command.js"
import { ConsolidationJob, Engine, EventLog, MemoryStore, Pool, PriceService, PriceStore, Pricing } from "../src/index.js"

const Live = Layer.mergeAll(Engine.layer(), PriceService.layer, ConsolidationJob.layer()).pipe(Layer.provideMerge(MemoryStore.layer))
const poolA = Pool.make("t3.medium", "us-east-1a")
const poolB = Pool.make("t3.medium", "us-east-1b")
const SLOT = Pricing.SLOT_MILLIS

/** A tenant with an agent: PRIMARY i-1 in pool A, REPLICA i-2 in pool B. */
const fixture = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "h".repeat(64) })
  const { agent } = yield* engine.register(tenant.id, { logicalAgentId: "web-1", cloudInstanceId: "i-1", pool: poolA })
  yield* engine.requestReplica(tenant.id, agent.id, { pool: poolB })
  const [launch] = yield* engine.pollCommands(tenant.id, agent.id)
  yield* engine.reportResult(tenant.id, agent.id, {
    commandId: launch!.id,
    result: CommandResult.make({ success: true, message: null, cloudInstanceId: "i-2", data: {} })
  })
  return { engine, tenant, agent }
})

describe("PriceService", () => {
  it.effect("records each snapshot with the reporter's role and appends one PriceReported event", () =>
    Effect.gen(function*() {
      const { agent, tenant } = yield* fixture
      yield* TestClock.setTime(10 * SLOT)
      const prices = yield* PriceService.PriceService
      const store = yield* PriceStore.PriceStore
      const fromPrimary = yield* prices.ingest(tenant.id, agent.id, {
        cloudInstanceId: "i-1",
        prices: [{ pool: poolA, price: 0.0125, observedAt: 9 * SLOT }, { pool: poolB, price: 0.0131, observedAt: 9 * SLOT + 1 }],
        onDemand: [{ instanceType: "t3.medium", region: "us-east-1", price: 0.0416 }]
      })
      assert.deepStrictEqual([fromPrimary.snapshots, fromPrimary.onDemand, fromPrimary.role], [2, 1, "PRIMARY"])
      const fromReplica = yield* prices.ingest(tenant.id, agent.id, { cloudInstanceId: "i-2", prices: [{ pool: poolB, price: 0.014, observedAt: 9 * SLOT + 2 }] })
      assert.strictEqual(fromReplica.role, "REPLICA")
      // no instance named: the agent's only live instance in the reported pool
      const inferred = yield* prices.ingest(tenant.id, agent.id, { prices: [{ pool: poolB, price: 0.015, observedAt: 9 * SLOT + 3 }] })
      assert.strictEqual(inferred.role, "REPLICA")
      const unknown = yield* prices.ingest(tenant.id, agent.id, { cloudInstanceId: "i-404", prices: [{ pool: poolA, price: 0.02, observedAt: 9 * SLOT + 4 }] })
      assert.strictEqual(unknown.role, null)

      const snapshots = yield* store.snapshots({ from: 0, to: 20 * SLOT })
      assert.deepStrictEqual(snapshots.map((s) => [s.pool, s.price, s.reporterRole, s.reporterAgentId, s.tenantId, s.source, s.receivedAt]), [
        [poolA, 0.0125, "PRIMARY", agent.id, tenant.id, "agent", 10 * SLOT],
        [poolB, 0.0131, "PRIMARY", agent.id, tenant.id, "agent", 10 * SLOT],
        [poolB, 0.014, "REPLICA", agent.id, tenant.id, "agent", 10 * SLOT],
        [poolB, 0.015, "REPLICA", agent.id, tenant.id, "agent", 10 * SLOT],
        [poolA, 0.02, null, agent.id, tenant.id, "agent", 10 * SLOT]
      ])
      const onDemand = yield* prices.onDemandPrices
      assert.deepStrictEqual(onDemand.map((p) => [p.instanceType, p.region, p.price, p.observedAt]), [["t3.medium", "us-east-1", 0.0416, 10 * SLOT]])
      const events = (yield* (yield* EventLog.EventLog).read({ tenantId: tenant.id, afterId: 0, limit: 1000 })).filter((e) => e.type === "PriceReported")
      assert.strictEqual(events.length, 4)
      assert.strictEqual(events[0]!.id, fromPrimary.eventId)
      assert.deepStrictEqual(events[0]!.data.prices, [
        { pool: poolA, price: 0.0125, observedAt: 9 * SLOT, role: "PRIMARY" },
        { pool: poolB, price: 0.0131, observedAt: 9 * SLOT + 1, role: "PRIMARY" }
      ])
      assert.deepStrictEqual(events[0]!.actor, { kind: "agent", id: agent.id } as never)
    }).pipe(Effect.provide(Live)))

  it.effect("rejects bad input naming the field, and foreign agents, writing nothing", () =>
    Effect.gen(function*() {
      const { agent, engine, tenant } = yield* fixture
      const prices = yield* PriceService.PriceService
      const store = yield* PriceStore.PriceStore
      const bad = (report: PriceService.PriceReport) => Effect.flip(prices.ingest(tenant.id, agent.id, report))
      const good = { pool: poolA, price: 0.01, observedAt: 1 }
      assert.deepStrictEqual((yield* bad({ prices: [good, { ...good, pool: "nope" }] })).message, "prices[1].pool: not a pool id: nope")
      assert.strictEqual((yield* bad({ prices: [{ ...good, price: -1 }] })).message, "prices[0].price: must be a positive number")
      assert.strictEqual((yield* bad({ prices: [{ ...good, observedAt: NaN }] })).message, "prices[0].observedAt: must be epoch milliseconds")
      assert.strictEqual((yield* bad({ prices: [good], onDemand: [{ instanceType: "", region: "x", price: 1 }] })).message.split(":")[0], "onDemand[0]")
      const other = yield* engine.createTenant({ name: "other", tokenHash: "o".repeat(64) })
      assert.strictEqual((yield* Effect.flip(prices.ingest(other.id, agent.id, { prices: [good] })))._tag, "AgentNotFound")
      assert.deepStrictEqual(yield* store.snapshots({ from: 0, to: 1e15 }), [])
    }).pipe(Effect.provide(Live)))

  it.effect("history shows consolidated points plus raw reports newer than the last run", () =>
    Effect.gen(function*() {
      const { agent, tenant } = yield* fixture
      const prices = yield* PriceService.PriceService
      const job = yield* ConsolidationJob.ConsolidationJob
      const reported = [0.01, 0.011, null, 0.013, 0.014, 0.015]
      for (const [s, price] of reported.entries()) {
        if (price === null) continue
        yield* prices.ingest(tenant.id, agent.id, { cloudInstanceId: "i-1", prices: [{ pool: poolA, price, observedAt: s * SLOT + 7 }] })
      }
      yield* job.run({ from: 0, to: 4 * SLOT })
      const history = yield* prices.history(poolA, { from: 0, to: 10 * SLOT })
      assert.strictEqual(history.rawSince, 4 * SLOT)
      assert.deepStrictEqual(history.consolidated.map((p) => [p.slotStart / SLOT, p.price, p.source]), [
        [0, 0.01, "agent"],
        [1, 0.011, "agent"],
        [2, 0.011, "interpolated"],
        [3, 0.013, "agent"]
      ])
      assert.deepStrictEqual(history.raw.map((s) => s.price), [0.014, 0.015])
      assert.strictEqual((yield* prices.runs()).length, 1)
    }).pipe(Effect.provide(Live)))

  it.effect("a report with a key is written once: a repeat answers the first answer; the same key from another agent is a reuse", () =>
    Effect.gen(function*() {
      const { agent, engine, tenant } = yield* fixture
      const other = yield* engine.register(tenant.id, { logicalAgentId: "web-2", cloudInstanceId: "i-9", pool: poolA })
      yield* TestClock.setTime(10 * SLOT)
      const prices = yield* PriceService.PriceService
      const store = yield* PriceStore.PriceStore
      // A price without its own time was observed when the report arrived.
      const first = yield* prices.ingest(tenant.id, agent.id, { prices: [{ pool: poolA, price: 0.02 }] }, { idempotencyKey: "r-1" })
      assert.deepStrictEqual((yield* store.snapshots({ from: 0, to: 20 * SLOT })).map((x) => x.observedAt), [10 * SLOT])
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* prices.ingest(tenant.id, agent.id, { prices: [{ pool: poolB, price: 0.5 }] }, { idempotencyKey: "r-1" }), first)
      const reused = yield* Effect.flip(prices.ingest(tenant.id, other.agent.id, { prices: [{ pool: poolA, price: 0.02 }] }, { idempotencyKey: "r-1" }))
      assert.deepStrictEqual([reused._tag, (reused as { operation?: string }).operation], ["IdempotencyKeyReused", `price-report ${agent.id}`])
      assert.strictEqual((yield* store.snapshots({ from: 0, to: 20 * SLOT })).length, 1)
      const events = (yield* (yield* EventLog.EventLog).read({ tenantId: tenant.id, afterId: 0, limit: 1000 })).filter((e) => e.type === "PriceReported")
      assert.deepStrictEqual(events.map((e) => e.id), [first.eventId])
    }).pipe(Effect.provide(Live)))

  it.effect("records (v5): classified, the unusable skipped and counted; a report with nothing usable writes nothing", () =>
    Effect.gen(function*() {
      const { agent, tenant } = yield* fixture
      yield* TestClock.setTime(10 * SLOT)
      const prices = yield* PriceService.PriceService
      const store = yield* PriceStore.PriceStore
      const log = yield* EventLog.EventLog
      const result = yield* prices.ingestRecords(tenant.id, agent.id, {
        reportedAt: 9 * SLOT,
        records: [
          { lifecycle: "spot", pool: poolA, price: 0.011, observedAt: 8 * SLOT }, // its own time
          { lifecycle: "spot", pool: "garbage", instanceType: "t3.medium", az: "us-east-1b", price: 0.012 }, // the pool of type + zone, the report's time
          { lifecycle: "spot", pool: Pool.make("t3.medium", "us-east-1a", "on-demand"), price: 0.05 }, // not a spot pool
          { lifecycle: "spot", pool: poolA, price: null }, // no price
          { lifecycle: "spot", instanceType: "t3.medium", price: 0.01 }, // no pool, no zone
          { lifecycle: "on-demand", instanceType: "t3.medium", price: 0.0416 }, // the agent's region (its live instances')
          { lifecycle: "on-demand", instanceType: "m5.large", region: "eu-west-1", price: 0.107 }, // its own region
          { lifecycle: "on-demand", price: 0.2 }, // no instance type
          { lifecycle: "on-demand", instanceType: "c5.large", price: -1 } // not a price
        ]
      })
      assert.deepStrictEqual([result.snapshots, result.onDemand, result.skipped], [2, 2, 5])
      assert.deepStrictEqual((yield* store.snapshots({ from: 0, to: 20 * SLOT })).map((x) => [x.pool, x.price, x.observedAt]), [
        [poolA, 0.011, 8 * SLOT],
        [poolB, 0.012, 9 * SLOT]
      ])
      assert.deepStrictEqual((yield* prices.onDemandPrices).map((p) => [p.instanceType, p.region, p.price]), [
        ["m5.large", "eu-west-1", 0.107],
        ["t3.medium", "us-east-1", 0.0416]
      ])
      const before = yield* log.latestId
      const nothing = yield* prices.ingestRecords(tenant.id, agent.id, { records: [{ lifecycle: "spot", pool: "x", price: 1 }] })
      assert.deepStrictEqual([nothing.snapshots, nothing.onDemand, nothing.skipped, nothing.eventId], [0, 0, 1, 0])
      assert.strictEqual(yield* log.latestId, before)
      // A record without any time, in a report without one: when it arrived.
      yield* prices.ingestRecords(tenant.id, agent.id, { records: [{ lifecycle: "spot", pool: poolB, price: 0.013 }] })
      assert.deepStrictEqual((yield* store.snapshots({ from: 10 * SLOT, to: 20 * SLOT })).map((x) => x.observedAt), [10 * SLOT])
      // The agent's registration region wins over its instances' (and over a record's zone).
      yield* prices.ingestRecords(tenant.id, agent.id, { region: "us-west-2", records: [{ lifecycle: "on-demand", instanceType: "r5.large", az: "eu-west-1a", price: 0.126 }] })
      assert.deepStrictEqual((yield* prices.onDemandPrices).filter((p) => p.instanceType === "r5.large").map((p) => p.region), ["us-west-2"])
      const unknown = yield* Effect.flip(prices.ingestRecords(tenant.id, "agent-404" as never, { records: [] }))
      assert.strictEqual(unknown._tag, "AgentNotFound")
    }).pipe(Effect.provide(Live)))

  it.effect("the reporter: the named instance, else the agent's host while it is live, else the only live instance per pool", () =>
    Effect.gen(function*() {
      const { agent, engine, tenant } = yield* fixture // PRIMARY i-1 in pool A, REPLICA i-2 in pool B
      const prices = yield* PriceService.PriceService
      const records: ReadonlyArray<PriceService.PriceRecord> = [{ lifecycle: "spot", pool: poolA, price: 0.01 }, { lifecycle: "spot", pool: poolB, price: 0.02 }]
      const rolesOf = (eventId: number) =>
        Effect.flatMap(EventLog.EventLog, (log) =>
          Effect.map(log.read({ tenantId: tenant.id, afterId: eventId - 1, limit: 1 }), ([e]) => [
            e!.data.cloudInstanceId,
            (e!.data.prices as ReadonlyArray<{ role: unknown }>).map((p) => p.role)
          ]))
      // The host (the v5 agent's registration instance) is live: every price is its.
      const fromHost = yield* prices.ingestRecords(tenant.id, agent.id, { hostInstanceId: "i-2", records })
      assert.deepStrictEqual(yield* rolesOf(fromHost.eventId), ["i-2", ["REPLICA", "REPLICA"]])
      // A host that is not live: per pool, the agent's only live instance there.
      const gone = yield* prices.ingestRecords(tenant.id, agent.id, { hostInstanceId: "i-gone", records })
      assert.deepStrictEqual(yield* rolesOf(gone.eventId), [null, ["PRIMARY", "REPLICA"]])
      // A named instance that is not live: no role at all.
      const named = yield* prices.ingest(tenant.id, agent.id, { cloudInstanceId: "i-gone", prices: [{ pool: poolA, price: 0.01, observedAt: 1 }] })
      assert.strictEqual(named.role, null)
      // Once the host is no longer live (removed), its reports fall back to the pool rule.
      const replica = (yield* engine.getAgent(tenant.id, agent.id)).instances.find((i) => i.cloudInstanceId === "i-2")!
      yield* engine.removeReplica(tenant.id, agent.id, replica.id)
      const afterRemoval = yield* prices.ingestRecords(tenant.id, agent.id, { hostInstanceId: "i-2", records })
      assert.deepStrictEqual(yield* rolesOf(afterRemoval.eventId), [null, ["PRIMARY", null]])
    }).pipe(Effect.provide(Live)))

  it.effect("price reads: series with the look-back, on-demand baselines, quotes, the chart and the pool options", () =>
    Effect.gen(function*() {
      const { agent, tenant } = yield* fixture
      const prices = yield* PriceService.PriceService
      const job = yield* ConsolidationJob.ConsolidationJob
      const DAY = 86_400_000
      const t0 = 30 * DAY
      const poolOd = Pool.make("t3.medium", "us-east-1a", "on-demand")
      yield* TestClock.setTime(t0)
      // A spot price 6 days before the window (inside the 7-day look-back), one 8 days before (outside).
      yield* prices.ingest(tenant.id, agent.id, { cloudInstanceId: "i-1", prices: [{ pool: poolA, price: 0.03, observedAt: t0 - 8 * DAY }] })
      yield* prices.ingest(tenant.id, agent.id, { cloudInstanceId: "i-1", prices: [{ pool: poolA, price: 0.02, observedAt: t0 - 6 * DAY }] })
      yield* prices.ingest(tenant.id, agent.id, { cloudInstanceId: "i-1", prices: [{ pool: poolA, price: 0.025, observedAt: t0 + 1000 }] })
      yield* prices.ingest(tenant.id, agent.id, { cloudInstanceId: "i-1", prices: [{ pool: poolOd, price: 0.05, observedAt: t0 - DAY }] })
      yield* prices.putOnDemand([{ instanceType: "t3.medium", region: "us-east-1", price: 0.0416 }])
      const lookup = yield* prices.lookup([poolA], { from: t0, to: t0 + 2000 })
      assert.deepStrictEqual(lookup.spot(poolA), [{ at: t0 - 6 * DAY, price: 0.02 }, { at: t0 + 1000, price: 0.025 }])
      // The baseline: the stored price from the start, then the on-demand pool's points.
      assert.deepStrictEqual(lookup.onDemand("t3.medium", "us-east-1"), [{ at: 0, price: 0.0416 }, { at: t0 - DAY, price: 0.05 }])
      assert.strictEqual(lookup.spot(poolB).length, 0)
      const quotes = yield* prices.quote([poolA, poolOd, poolB], t0 + 500)
      assert.deepStrictEqual(quotes.get(poolA), { price: 0.02, onDemandPrice: 0.05 })
      assert.deepStrictEqual(quotes.get(poolOd), { price: 0.05, onDemandPrice: 0.05 })
      assert.deepStrictEqual(quotes.get(poolB), { price: null, onDemandPrice: 0.05 })
      // The same reads over a price store alone.
      assert.deepStrictEqual(yield* PriceService.quote(yield* PriceStore.PriceStore, [poolA], t0 + 500), new Map([[poolA, { price: 0.02, onDemandPrice: 0.05 }]]))

      // Consolidated points up to the last run, raw reports after it.
      yield* job.run({ from: t0 - 6 * DAY, to: t0 - 6 * DAY + SLOT })
      const chart = yield* prices.chart(poolA, { from: t0 - 7 * DAY, to: t0 + 2000 })
      assert.strictEqual(chart.rawSince, t0 - 6 * DAY + SLOT)
      assert.deepStrictEqual(chart.points.map((p) => [p.at, p.price, p.source]), [
        [t0 - 6 * DAY, 0.02, "agent"],
        [t0 + 1000, 0.025, "raw"]
      ])
      const options = yield* prices.poolOptions({ instanceType: "t3.medium", region: "us-east-1", from: t0 - DAY, to: t0 + 2000 })
      assert.strictEqual(options.onDemandPrice, 0.0416)
      assert.deepStrictEqual(options.options.map((o) => [o.pool, o.availabilityZone, o.price, o.savingsPercent]), [
        [poolA, "us-east-1a", 0.025, Math.round(((0.0416 - 0.025) / 0.0416) * 10_000) / 100]
      ])
    }).pipe(Effect.provide(Live)))
})
