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
})
