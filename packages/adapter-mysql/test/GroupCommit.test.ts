/**
 * Standalone event appends share transactions when they arrive together (group commit): every
 * caller still gets exactly its own events, with ids in commit order and no gaps, and an append
 * made inside a caller's transaction stays in that transaction.
 */
import { SqlClient } from "@effect/sql"
import { assert } from "@effect/vitest"
import { DomainEvent, EventLog, Ids } from "@spotfleet/engine"
import { Context, Effect } from "effect"
import * as MysqlStore from "../src/MysqlStore.js"
import { describeMysql, it, layerDatabase } from "./utils.js"

const draft = (tenantId: string, n: number, part: number) =>
  DomainEvent.EventDraft.make({
    tenantId: Ids.TenantId.make(tenantId),
    agentId: null,
    type: "ConfigChanged",
    at: n,
    actor: DomainEvent.Actor.make({ kind: "system", id: null }),
    data: { caller: n, part }
  })

describeMysql("event log group commit on MySQL", () => {
  it.layer(layerDatabase({ maxConnections: 4 }), { timeout: "60 seconds" })((it) => {
    it.effect("300 concurrent appends: each caller gets its own events, ids dense and in order", () =>
      Effect.scoped(Effect.gen(function*() {
        const log = Context.get(yield* MysqlStore.make(), EventLog.EventLog)
        const tenant = `tenant-gc-${globalThis.crypto.randomUUID().slice(0, 8)}`
        const before = yield* log.latestId
        const answers = yield* Effect.forEach(
          Array.from({ length: 300 }, (_, n) => n),
          (n) => log.append(Array.from({ length: 1 + (n % 3) }, (_, part) => draft(tenant, n, part))),
          { concurrency: "unbounded" }
        )
        answers.forEach((events, n) => {
          assert.strictEqual(events.length, 1 + (n % 3))
          events.forEach((e, part) => assert.deepStrictEqual(e.data, { caller: n, part }))
          // One caller's events are consecutive.
          events.forEach((e, i) => assert.strictEqual(e.id, events[0]!.id + i))
        })
        const ids = answers.flat().map((e) => e.id).sort((a, b) => a - b)
        assert.deepStrictEqual(ids, Array.from({ length: ids.length }, (_, i) => before + 1 + i))
        const read = yield* log.read({ tenantId: Ids.TenantId.make(tenant), afterId: before, limit: 10_000 })
        assert.deepStrictEqual(read.map((e) => e.id), ids)
        assert.deepStrictEqual(read.map((e) => e.data), answers.flat().sort((a, b) => a.id - b.id).map((e) => e.data))
      })))

    it.effect("an append inside a caller's transaction is rolled back with it", () =>
      Effect.scoped(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const log = Context.get(yield* MysqlStore.make(), EventLog.EventLog)
        const tenant = `tenant-gc-${globalThis.crypto.randomUUID().slice(0, 8)}`
        const failed = yield* Effect.flip(sql.withTransaction(Effect.zipRight(log.append([draft(tenant, 1, 0)]), Effect.fail("abort" as const))))
        assert.strictEqual(failed, "abort")
        assert.deepStrictEqual(yield* log.read({ tenantId: Ids.TenantId.make(tenant), afterId: 0, limit: 10 }), [])
      })))
  })
})
