import { createServer } from "node:http"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { ApiLive, Auth } from "@spotfleet/adapter-http"
import { Engine, MemoryStore } from "@spotfleet/engine"
import { Context, Effect, Layer, Redacted } from "effect"

export const adminToken = "sim-admin-token-0123456789"

export class TestServer extends Context.Tag("sim-test/TestServer")<TestServer, { readonly baseUrl: string }>() {}

/** A real server on an ephemeral port over the given store ports (per-agent tokens on). */
export const serverLayer = <E>(stores: Layer.Layer<MemoryStore.Stores, E>): Layer.Layer<TestServer | Engine.Engine | MemoryStore.Stores, unknown> =>
  Layer.effect(
    TestServer,
    Effect.map(HttpServer.HttpServer, (server) => ({ baseUrl: `http://127.0.0.1:${(server.address as HttpServer.TcpAddress).port}` }))
  ).pipe(
    Layer.provideMerge(ApiLive.serve({
      adminToken: Redacted.make(adminToken),
      agentTokenSecret: Redacted.make("sim-agent-secret"),
      ssePollMillis: 50,
      // Fleets here run up to 100× real time: a poll every 50 ms is 20/s per agent, past the
      // per-agent limit (10/s) meant for agents at real rates.
      rateLimit: { perAgent: false }
    })),
    Layer.provideMerge(Engine.layer()),
    Layer.provideMerge(stores),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )

export const memoryServer = serverLayer(MemoryStore.layer)

/** A tenant with a fresh token. */
export const tenant = (name: string) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const token = Auth.generateToken()
    const created = yield* engine.createTenant({ name: `${name}-${crypto.randomUUID().slice(0, 8)}`, tokenHash: Auth.hashToken(token) })
    return { id: created.id, token }
  })
