/**
 * The quarantine rule: one function (`PoolLedger.isQuarantined`), used by emergency pool
 * selection and by `Engine.quarantinedPools` with the engine's configured period — so what the
 * dashboard calls quarantined is what emergencies avoid.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import * as Engine from "../src/Engine.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"
import * as PoolLedger from "../src/PoolLedger.js"

const poolA = Pool.make("t3.medium", "us-east-1a")
const poolB = Pool.make("t3.medium", "us-east-1b")

const record = (lastInterruptionAt: number | null): PoolLedger.PoolRecord => ({
  pool: poolA,
  bootSeconds: [20, 20, 20],
  medianBootSeconds: 20,
  rebalanceNotices: 0,
  terminationNotices: 1,
  reclaims: 0,
  leadTimeSeconds: [],
  rebalanceFollowed: 0,
  rebalanceFalsePositives: 0,
  lastInterruptionAt,
  interruptionTimes: lastInterruptionAt === null ? [] : [lastInterruptionAt]
})

/** An agent in pool A gets a termination notice at `at` (the ledger then knows A was interrupted). */
const interruptA = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "q".repeat(64) })
  const { agent } = yield* engine.register(tenant.id, { logicalAgentId: "web-1", cloudInstanceId: "i-1", pool: poolA })
  yield* engine.notice(tenant.id, agent.id, { kind: "termination", cloudInstanceId: "i-1" })
  return engine
})

describe("PoolLedger quarantine", () => {
  it("a pool is quarantined for the period after its last interruption, not at its end", () => {
    assert.isFalse(PoolLedger.isQuarantined(record(null), 10_000_000))
    assert.strictEqual(PoolLedger.defaultQuarantineMillis, 5 * 60_000)
    const at = 1_000_000
    assert.isTrue(PoolLedger.isQuarantined(record(at), at))
    assert.isTrue(PoolLedger.isQuarantined(record(at), at + 5 * 60_000 - 1))
    assert.isFalse(PoolLedger.isQuarantined(record(at), at + 5 * 60_000))
    assert.isTrue(PoolLedger.isQuarantined(record(at), at + 59_999, 60_000))
    assert.isFalse(PoolLedger.isQuarantined(record(at), at + 60_000, 60_000))
  })

  it("emergency selection skips exactly the quarantined pools", () => {
    const at = 1_000_000
    const ledger: PoolLedger.Ledger = {
      pools: new Map([[poolB, { ...record(at), pool: poolB }]]),
      openNotices: new Map(),
      lastEventId: 0
    }
    for (const [now, quarantineMillis] of [[at + 1000, undefined], [at + 299_999, undefined], [at + 300_000, undefined], [at + 30_000, 20_000]] as const) {
      const chain = PoolLedger.emergencyChain(ledger, { interrupted: poolA, now, quarantineMillis })
      assert.strictEqual(chain.includes(poolB), !PoolLedger.isQuarantined(ledger.pools.get(poolB)!, now, quarantineMillis), `at +${now - at} ms`)
    }
  })

  it("an emergency keeps the product and the zone form: never another OS, never an AZ-ID price pool", () => {
    const suse = (zone: string, lifecycle: Pool.Lifecycle = "spot") => Pool.make("t3.medium", zone, lifecycle, "suse")
    const pools = [poolB, suse("us-east-1b"), suse("use1-az2"), Pool.make("t3.medium", "us-east-1c", "spot", "windows"), suse("us-east-1c")]
    const ledger: PoolLedger.Ledger = {
      pools: new Map(pools.map((pool) => [pool, { ...record(null), pool }])),
      openNotices: new Map(),
      lastEventId: 0
    }
    assert.deepStrictEqual(PoolLedger.emergencyChain(ledger, { interrupted: suse("us-east-1a"), now: 1 }), [
      suse("us-east-1b"),
      suse("us-east-1c"),
      suse("us-east-1a", "on-demand"),
      suse("us-east-1b", "on-demand"),
      suse("us-east-1c", "on-demand")
    ])
    assert.deepStrictEqual(PoolLedger.emergencyChain(ledger, { interrupted: poolA, now: 1 }), [
      poolB,
      Pool.make("t3.medium", "us-east-1a", "on-demand"),
      Pool.make("t3.medium", "us-east-1b", "on-demand")
    ])
  })

  it.effect("the engine answers the pools quarantined with its own period (default 5 minutes)", () =>
    Effect.gen(function*() {
      const engine = yield* interruptA
      assert.deepStrictEqual([...(yield* engine.quarantinedPools)], [poolA])
      yield* TestClock.adjust("299 seconds")
      assert.deepStrictEqual([...(yield* engine.quarantinedPools)], [poolA])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual([...(yield* engine.quarantinedPools)], [])
    }).pipe(Effect.provide(Engine.layer().pipe(Layer.provide(MemoryStore.layer)))))

  it.effect("quarantineSeconds sets the period for the quarantined pools too, not only for emergencies", () =>
    Effect.gen(function*() {
      const engine = yield* interruptA
      yield* TestClock.adjust("59 seconds")
      assert.deepStrictEqual([...(yield* engine.quarantinedPools)], [poolA])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual([...(yield* engine.quarantinedPools)], [])
    }).pipe(Effect.provide(Engine.layer({ quarantineSeconds: 60 }).pipe(Layer.provide(MemoryStore.layer)))))
})
