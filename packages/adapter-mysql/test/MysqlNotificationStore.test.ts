/**
 * The notification store on MariaDB: the conformance suite, and the projector over the MySQL
 * event log (two projectors, as after a takeover by another process, write each notification once).
 */
import { assert, layer } from "@effect/vitest"
import { Engine, Notification, Pool } from "@spotfleet/engine"
import { NotificationStoreSuite } from "@spotfleet/engine/testing"
import { Effect, Layer } from "effect"
import * as MysqlNotificationStore from "../src/MysqlNotificationStore.js"
import { describeMysql, layerDatabase, layerStore } from "./utils.js"

describeMysql("MysqlNotificationStore", () => {
  NotificationStoreSuite.suite("mysql", MysqlNotificationStore.layer.pipe(Layer.provideMerge(layerDatabase({ migrate: true }))))

  layer(Layer.mergeAll(Engine.layer(), MysqlNotificationStore.layer).pipe(Layer.provideMerge(layerStore())), { timeout: 60_000 })(
    "projector on the MySQL event log",
    (it) => {
      it.effect("a termination notice gives two notifications, once, whichever projector runs", () =>
        Effect.gen(function*() {
          const engine = yield* Engine.Engine
          const store = yield* Notification.NotificationStore
          const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "c".repeat(64) })
          const { agent } = yield* engine.register(tenant.id, { logicalAgentId: "web", cloudInstanceId: "i-web", pool: Pool.make("t3.medium", "us-east-1a") })
          yield* engine.notice(tenant.id, agent.id, { kind: "termination", cloudInstanceId: "i-web" })
          const [a, b] = yield* Effect.all([Notification.makeProjector(), Notification.makeProjector()])
          const runs = yield* Effect.all([a, b, a, b], { concurrency: "unbounded" })
          assert.strictEqual(runs.reduce((n, r) => n + r.written, 0), 2, "each written by one run only")
          const listed = yield* store.list(tenant.id)
          assert.deepStrictEqual(listed.map((n) => n.kind).sort(), ["emergency-opened", "pool-quarantined"])
          assert.strictEqual(yield* store.unreadCount(tenant.id), 2)
        }))
    }
  )
})
