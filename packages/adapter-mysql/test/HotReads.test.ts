import { assert } from "@effect/vitest"
import { AgentStore, Engine, IdempotencyStore, Ids, Pool } from "@spotfleet/engine"
import { Context, Effect, Option } from "effect"
import * as MysqlStore from "../src/MysqlStore.js"
import { describeMysql, it, layerDatabase } from "./utils.js"

const unique = () => globalThis.crypto.randomUUID().slice(0, 12)
const pool = Pool.make("t3.medium", "us-east-1a")

describeMysql("hot reads on MySQL", () => {
  it.layer(layerDatabase({ maxConnections: 4 }), { timeout: "60 seconds" })((it) => {
    it.effect("reads asked for in one turn (coalesced into one statement) answer exactly as one by one", () =>
      Effect.gen(function*() {
        const stores = yield* MysqlStore.make()
        const store = Context.get(stores, AgentStore.AgentStore)
        const idempotency = Context.get(stores, IdempotencyStore.IdempotencyStore)
        const engine = yield* Effect.provide(Engine.make(), stores)
        const tenant = yield* engine.createTenant({ name: `hot-${unique()}`, tokenHash: `${unique()}${unique()}${unique()}` })
        const other = yield* engine.createTenant({ name: `hot-${unique()}`, tokenHash: `${unique()}${unique()}${unique()}` })
        const agents = yield* Effect.forEach(Array.from({ length: 6 }, unique), (id) =>
          Effect.map(
            engine.register(tenant.id, { logicalAgentId: `agent-${id}`, cloudInstanceId: `i-${id}`, pool }),
            (r) => r.agent
          ))
        // One agent with an open command (busy), one with a replica (two live instances).
        yield* engine.requestReplica(tenant.id, agents[1]!.id, {})
        yield* idempotency.put(IdempotencyStore.IdempotencyRecord.make({
          tenantId: tenant.id,
          key: "k-1",
          operation: "pricing-report",
          response: { accepted: 1 },
          createdAt: 1
        }))
        const unknown = Ids.AgentId.make(`agent-${unique()}`)
        const refs: Array<readonly [Ids.TenantId, Ids.AgentId]> = [
          ...agents.map((a) => [tenant.id, a.id] as const),
          [other.id, agents[0]!.id], // another tenant's agent: not found
          [tenant.id, unknown]
        ]
        const keys: Array<readonly [Ids.TenantId, string]> = [[tenant.id, "k-1"], [tenant.id, "k-2"], [other.id, "k-1"]]

        const reads = Effect.all([
          Effect.forEach(refs, ([t, a]) => store.peekPoll!(t, a), { concurrency: "unbounded" }),
          Effect.forEach(refs, ([t, a]) => store.liveInstances!(t, a), { concurrency: "unbounded" }),
          Effect.forEach(keys, ([t, k]) => idempotency.get(t, k), { concurrency: "unbounded" })
        ], { concurrency: "unbounded" })
        const together = yield* reads
        const alone = [
          yield* Effect.forEach(refs, ([t, a]) => store.peekPoll!(t, a)),
          yield* Effect.forEach(refs, ([t, a]) => store.liveInstances!(t, a)),
          yield* Effect.forEach(keys, ([t, k]) => idempotency.get(t, k))
        ]
        assert.deepStrictEqual(together, alone)

        const [busy, live, records] = together
        assert.deepStrictEqual(busy.map(Option.getOrUndefined), [false, true, false, false, false, false, undefined, undefined])
        assert.deepStrictEqual(Option.getOrThrow(live[0]!).map((i) => i.role), ["PRIMARY"])
        assert.isTrue(Option.isNone(live[6]!) && Option.isNone(live[7]!))
        assert.deepStrictEqual(records.map((r) => Option.map(r, (x) => x.key).pipe(Option.getOrUndefined)), ["k-1", undefined, undefined])
      }).pipe(Effect.scoped))
  })
})
