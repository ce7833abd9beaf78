/**
 * The Effect-native host: the engine's layers composed with the host's own (its SqlClient, its
 * router, its server) in one runtime; an agent goes through a termination notice and a
 * promotion; the host's route shares the server (and, on MySQL, the connection pool); closing
 * the scope stops everything.
 */
import { assert, describe, it } from "@effect/vitest"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { Engine } from "@spotfleet/engine"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import * as EffectHost from "../src/effect.js"
import { json, refused } from "./http.js"
import { v1Flow } from "./v1Flow.js"

const mysqlUp = await MysqlTestDatabase.reachable("the Effect host on MySQL")

const adminToken = "embed-admin-token-0123456789"

const run = (mysqlUrl?: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      EffectHost.layer({ adminToken: Redacted.make(adminToken), mysqlUrl: mysqlUrl === undefined ? undefined : Redacted.make(mysqlUrl) }),
      scope
    )
    const url = yield* Effect.provide(EffectHost.url, context)
    yield* Effect.promise(async () => {
      assert.deepStrictEqual((await json(`${url}/hello`, "GET")).body, { hello: "from the host", greetings: 1 })
      assert.deepStrictEqual((await json(`${url}/hello`, "GET")).body, { hello: "from the host", greetings: 2 })
      assert.deepStrictEqual((await json(`${url}/health`, "GET")).body, { status: "ok" })
      await v1Flow(url, adminToken)
    })
    // the engine in the host's context is the one the API served
    const engine = Context.get(context, Engine.Engine)
    const tenants = yield* engine.listTenants
    assert.isTrue(tenants.length >= 1)
    yield* Scope.close(scope, Exit.void)
    assert.isTrue(yield* Effect.promise(() => refused(url)))
  })

describe("Effect-native host (one runtime, the host's SqlClient and router)", () => {
  it.live("in-memory: serves an agent through a termination notice and a promotion, then stops cleanly", () => run())

  it.live("MySQL (the host's MysqlClient.layer): the same flow", (ctx) =>
    Effect.gen(function*() {
      if (!mysqlUp) return ctx.skip()
      // The database is dropped when the scope closes, whatever the run's outcome.
      yield* Effect.scoped(Effect.flatMap(MysqlTestDatabase.scoped({ prefix: "spotfleet_embed" }), (db) => run(db.url)))
    }), 60_000)
})
