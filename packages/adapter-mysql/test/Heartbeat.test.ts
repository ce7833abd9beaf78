import { SqlClient } from "@effect/sql"
import { assert } from "@effect/vitest"
import { AgentStore, Engine, Ids, Pool } from "@spotfleet/engine"
import { Context, Effect, Option, Schedule, TestServices } from "effect"
import * as MysqlStore from "../src/MysqlStore.js"
import { describeMysql, it, layerDatabase, TestDatabase } from "./utils.js"

const unique = () => globalThis.crypto.randomUUID().slice(0, 12)

/** Connections the server holds for the test database. */
const connections = Effect.flatMap(TestDatabase, ({ name }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ n: number }>`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ${name}`,
      (rows) => Number(rows[0]!.n)
    )))

/** A store (with its own engine) in the current scope, and one registered agent. */
const storeWithAgent = (options: MysqlStore.Options) =>
  Effect.gen(function*() {
    const stores = yield* MysqlStore.make(options)
    const engine = yield* Effect.provide(Engine.make(), stores)
    const tenant = yield* engine.createTenant({ name: `hb-${unique()}`, tokenHash: `${unique()}${unique()}${unique()}` })
    const other = yield* engine.createTenant({ name: `hb-${unique()}`, tokenHash: `${unique()}${unique()}${unique()}` })
    const registered = yield* engine.register(tenant.id, {
      logicalAgentId: `agent-${unique()}`,
      cloudInstanceId: `i-${unique()}`,
      pool: Pool.make("t3.medium", "us-east-1a")
    })
    return { store: Context.get(stores, AgentStore.AgentStore), engine, tenant, other, agent: registered.agent }
  })

describeMysql("heartbeat write on MySQL", () => {
  it.layer(layerDatabase({ maxConnections: 4 }), { timeout: "60 seconds" })((it) => {
    it.effect("the store's own pool and the SqlClient path answer and write alike; the pool closes with the scope", () =>
      Effect.gen(function*() {
        const idle = yield* connections
        // `heartbeatConnections` is the deprecated name of `rawPoolConnections`: both still turn the pool off.
        for (const options of [{}, { rawPoolConnections: 0 }, { heartbeatConnections: 0 }]) {
          const off = Object.values(options).includes(0)
          const opened = yield* Effect.scoped(Effect.gen(function*() {
            const { agent, other, store, tenant } = yield* storeWithAgent(options)
            const touched = yield* store.touchHeartbeat(tenant.id, agent.id, 1_000)
            assert.deepStrictEqual(Option.getOrThrow(touched), { liveness: "online", configVersion: agent.configVersion })
            assert.isTrue(Option.isNone(yield* store.touchHeartbeat(other.id, agent.id, 2_000)))
            assert.isTrue(Option.isNone(yield* store.touchHeartbeat(tenant.id, Ids.AgentId.make(`agent-${unique()}`), 2_000)))
            // The same instant twice still matches (the answer does not depend on a changed row).
            assert.isTrue(Option.isSome(yield* store.touchHeartbeat(tenant.id, agent.id, 1_000)))
            const loaded = Option.getOrThrow(yield* store.load(agent.id)).agent
            assert.strictEqual(loaded.lastHeartbeatAt, 1_000)
            assert.strictEqual(loaded.version, agent.version)
            return yield* connections
          }))
          if (off) assert.strictEqual(opened, idle, "no extra pool when disabled")
          else assert.isAbove(opened, idle, "heartbeats ran on the store's own pool")
        }
        // Closed with the scope: the server lets go of those connections.
        const after = yield* connections.pipe(
          Effect.filterOrFail((n) => n === idle),
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(40)))),
          TestServices.provideLive
        )
        assert.strictEqual(after, idle)
      }))

    it.effect("concurrent heartbeats go in batches: each caller gets its own agent's answer, times never move back", () =>
      Effect.scoped(Effect.gen(function*() {
        const { agent, engine, other, store, tenant } = yield* storeWithAgent({ rawPoolConnections: 2 })
        const more = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
          engine.register(tenant.id, { logicalAgentId: `b-${i}-${unique()}`, cloudInstanceId: `i-${unique()}`, pool: Pool.make("t3.medium", "us-east-1a") }))
        const foreign = yield* engine.register(other.id, { logicalAgentId: `f-${unique()}`, cloudInstanceId: `i-${unique()}`, pool: Pool.make("t3.medium", "us-east-1a") })
        const agents = [agent, ...more.map((r) => r.agent)]
        // 600 heartbeats at once (with times out of order), some for an unknown agent or another
        // tenant's: far more than two connections can write one by one while the others wait.
        const calls = Array.from({ length: 600 }, (_, n) => {
          const kind = n % 10 === 0 ? "unknown" : n % 10 === 1 ? "foreign" : "own"
          const target = agents[n % agents.length]!
          const at = 10_000 + ((n * 7919) % 600)
          return { kind, target, at }
        })
        const answers = yield* Effect.forEach(calls, (c) =>
          c.kind === "unknown"
            ? store.touchHeartbeat(tenant.id, Ids.AgentId.make(`nobody-${c.at}`), c.at)
            : c.kind === "foreign"
            ? store.touchHeartbeat(tenant.id, foreign.agent.id, c.at)
            : store.touchHeartbeat(tenant.id, c.target.id, c.at), { concurrency: "unbounded" })
        calls.forEach((c, n) => {
          if (c.kind === "own") assert.deepStrictEqual(Option.getOrThrow(answers[n]!), { liveness: "online", configVersion: c.target.configVersion })
          else assert.isTrue(Option.isNone(answers[n]!), `${c.kind} heartbeat ${n} answered`)
        })
        for (const a of agents) {
          const latest = Math.max(...calls.filter((c) => c.kind === "own" && c.target.id === a.id).map((c) => c.at))
          assert.strictEqual(Option.getOrThrow(yield* store.load(a.id)).agent.lastHeartbeatAt, latest)
        }
        // Another tenant's agent was never touched by these heartbeats.
        assert.strictEqual(Option.getOrThrow(yield* store.load(foreign.agent.id)).agent.lastHeartbeatAt, foreign.agent.lastHeartbeatAt)
        // A later batch with an older time leaves the newest in place.
        yield* store.touchHeartbeat(tenant.id, agent.id, 5)
        assert.isAbove(Option.getOrThrow(yield* store.load(agent.id)).agent.lastHeartbeatAt ?? 0, 10_000)
      })))

    it.effect("a driver failure on the heartbeat path is a StoreError naming no SQL", () =>
      Effect.scoped(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const { agent, store, tenant } = yield* storeWithAgent({})
        yield* sql`RENAME TABLE agents TO agents_away`
        const failed = yield* Effect.flip(store.touchHeartbeat(tenant.id, agent.id, 5_000)).pipe(
          Effect.ensuring(Effect.orDie(sql`RENAME TABLE agents_away TO agents`))
        )
        assert.strictEqual(failed._tag, "StoreError")
        assert.strictEqual(failed.operation, "touchHeartbeat")
        assert.notMatch(failed.reason, /agents|UPDATE|SELECT/i)
      })))
  })
})
