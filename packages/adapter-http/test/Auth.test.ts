import { assert, describe, it } from "@effect/vitest"
import { Engine, EngineError, Ids, MemoryStore } from "@spotfleet/engine"
import { Effect, Layer, Redacted, TestClock } from "effect"
import * as ApiError from "../src/ApiError.js"
import * as Auth from "../src/Auth.js"
import * as HttpConfig from "../src/HttpConfig.js"

describe("token cache", () => {
  it("keeps an entry for its time to live, drops the oldest beyond its size, caches nothing at 0", () => {
    const cache = Auth.makeTokenCache(5_000, 2)
    const t = (n: number) => Ids.TenantId.make(`tenant-${n}`)
    cache.set("a", t(1), 0)
    assert.strictEqual(cache.get("a", 4_999), t(1))
    assert.isUndefined(cache.get("a", 5_000))
    cache.set("a", t(1), 10_000)
    cache.set("b", t(2), 10_000)
    cache.set("c", t(3), 10_000)
    assert.isUndefined(cache.get("a", 10_001), "the oldest entry went first")
    assert.strictEqual(cache.get("c", 10_001), t(3))
    cache.clear()
    assert.isUndefined(cache.get("c", 10_001))
    const off = Auth.makeTokenCache(0, 100)
    off.set("a", t(1), 0)
    assert.isUndefined(off.get("a", 0))
  })
})

/** The real engine on the memory store, counting the credential lookups that reach it. */
const counted = (options: HttpConfig.HttpOptions) =>
  Effect.gen(function*() {
    const lookups = { n: 0 }
    const engine = yield* Engine.Engine
    const counting = Layer.succeed(Engine.Engine, {
      ...engine,
      authenticate: (hash: string) => Effect.zipRight(Effect.sync(() => lookups.n++), engine.authenticate(hash))
    })
    // The lookup behind the TenantAuth middleware (and the agent fast path), with its cache.
    const tokens = yield* Effect.provide(Auth.TenantTokens, Auth.layerTenantTokens.pipe(Layer.provide([counting, HttpConfig.layer(options)])))
    const check = (token: string) => tokens.authenticate(Redacted.make(token))
    return { check, engine, lookups }
  }).pipe(Effect.provide(Engine.layer().pipe(Layer.provide(MemoryStore.layer))))

describe("tenant authentication", () => {
  it.effect("reuses a successful lookup for the time to live, never caches an unknown token", () =>
    Effect.gen(function*() {
      const { check, engine, lookups } = yield* counted({})
      const tenant = yield* engine.createTenant({ name: "cached", tokenHash: Auth.hashToken("sft_known") })
      const first = yield* check("sft_known")
      const second = yield* check("sft_known")
      assert.deepStrictEqual([first, second], [{ tenantId: tenant.id, agentId: null }, { tenantId: tenant.id, agentId: null }])
      assert.strictEqual(lookups.n, 1)
      // Past the time to live (TestClock), the store is asked again.
      yield* TestClock.adjust("5 seconds")
      yield* check("sft_known")
      assert.strictEqual(lookups.n, 2)
      // An unknown token is looked up (and refused) every time, so a token added later works at once.
      for (let n = 0; n < 2; n++) {
        const refused = yield* Effect.flip(check("sft_unknown"))
        assert.strictEqual(refused._tag, "Unauthorized")
      }
      assert.strictEqual(lookups.n, 4)
      yield* engine.addTenantToken(tenant.id, Auth.hashToken("sft_unknown"), "later")
      assert.deepStrictEqual(yield* check("sft_unknown"), { tenantId: tenant.id, agentId: null })
    }))

  it.effect("a time to live of 0 looks every request up", () =>
    Effect.gen(function*() {
      const { check, engine, lookups } = yield* counted({ tokenCacheMillis: 0 })
      yield* engine.createTenant({ name: "uncached", tokenHash: Auth.hashToken("sft_plain") })
      for (let n = 0; n < 3; n++) yield* check("sft_plain")
      assert.strictEqual(lookups.n, 3)
    }))

  it.effect("a store that cannot be asked is a 503 (retry), never a 401 (a real agent gives up on a 401)", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const tenant = yield* engine.createTenant({ name: "down", tokenHash: Auth.hashToken("sft_down") })
      const broken = Layer.succeed(Engine.Engine, {
        ...engine,
        authenticate: () => Effect.fail(new EngineError.StoreError({ operation: "authenticate", reason: "connection lost" })),
        getTenant: () => Effect.fail(new EngineError.StoreError({ operation: "getTenant", reason: "connection lost" }))
      })
      const options = { agentTokenSecret: Redacted.make("secret") }
      const tokens = yield* Effect.provide(Auth.TenantTokens, Auth.layerTenantTokens.pipe(Layer.provide([broken, HttpConfig.layer(options)])))
      const tenantToken = yield* Effect.flip(tokens.authenticate(Redacted.make("sft_down")))
      assert.strictEqual(tenantToken._tag, "ServiceUnavailable")
      assert.strictEqual(ApiError.statusOf(tenantToken), 503)
      const agentToken = Auth.agentToken(Redacted.make("secret"), tenant.id, "agent-x")
      const viaAgent = yield* Effect.flip(tokens.authenticate(Redacted.make(agentToken)))
      assert.strictEqual(viaAgent._tag, "ServiceUnavailable")
      // A bad token is still a 401 without asking the store.
      assert.strictEqual((yield* Effect.flip(tokens.authenticate(Redacted.make("")))).code, "Unauthorized")
    }).pipe(Effect.provide(Engine.layer().pipe(Layer.provide(MemoryStore.layer)))))
})
