/**
 * An Effect-native host: a service already built on Effect composes the engine's layers with
 * its own and runs everything in one runtime.
 *
 * - The host owns the `SqlClient` (its `MysqlClient.layer`); the spotfleet store
 *   (`MysqlStore.layer`) and its migrations (`MysqlMigrations.layer`, in their own
 *   `spotfleet_migrations` table) run on that same connection pool, next to the host's tables.
 * - The host owns the HTTP server and its router: its own routes go on
 *   `HttpApiBuilder.Router`, and `ApiLive.serve` serves the spotfleet API on the same server.
 * - The engine's jobs are fibers of the same runtime (`Jobs.runForever`), taking a `JobLease`
 *   (in memory here: one process; use a shared lease across processes).
 *
 * Without `MYSQL_URL` the store is in memory and the host's `/hello` counts greetings in memory.
 *
 * Run: `MYSQL_URL=mysql://root@127.0.0.1:3306/fleet SPOTFLEET_ADMIN_TOKEN=... npm run start:effect -w @spotfleet/example-embed`
 * (the database must exist: `CREATE DATABASE fleet`; a failed start says why in one line).
 */
import { createServer } from "node:http"
import { HttpApiBuilder, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { ApiLive } from "@spotfleet/adapter-http"
import { MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
import { Engine, JobLease, Jobs, MemoryStore } from "@spotfleet/engine"
import { Cause, Config, Context, Effect, Layer, Option, Redacted, Ref } from "effect"
import * as StartupFailure from "./startupFailure.js"

/** Options of the Effect host. */
export interface EffectHostOptions {
  readonly port?: number | undefined
  readonly host?: string | undefined
  readonly adminToken: Redacted.Redacted<string>
  readonly mysqlUrl?: Redacted.Redacted<string> | undefined
}

/** The host's own greeting counter: a table of the host on MySQL, a Ref in memory. */
class Greetings extends Context.Tag("example-embed/Greetings")<Greetings, { readonly greet: Effect.Effect<number> }>() {}

const GreetingsSql = Layer.effect(
  Greetings,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE IF NOT EXISTS host_greetings (id INT AUTO_INCREMENT PRIMARY KEY, at BIGINT NOT NULL)`
    return {
      greet: Effect.gen(function*() {
        yield* sql`INSERT INTO host_greetings (at) VALUES (${Date.now()})`
        const [row] = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM host_greetings`
        return Number(row!.n)
      }).pipe(Effect.orDie)
    }
  })
)

const GreetingsMemory = Layer.effect(
  Greetings,
  Effect.map(Ref.make(0), (ref) => ({ greet: Ref.updateAndGet(ref, (n) => n + 1) }))
)

/** The host's own routes, on the router `HttpApiBuilder.serve` serves. */
const HostRoutes = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function*() {
    const greetings = yield* Greetings
    yield* router.get(
      "/hello",
      Effect.flatMap(greetings.greet, (n) => HttpServerResponse.json({ hello: "from the host", greetings: n })).pipe(Effect.orDie)
    )
  })
)

/** The engine's background jobs as fibers of the host's runtime. */
const JobsLive = Layer.scopedDiscard(
  Effect.forEach(Jobs.standard(), (spec) => Effect.forkScoped(Jobs.runForever(spec, `embed-${process.pid}`)), { discard: true })
).pipe(Layer.provide(JobLease.layerMemory))

/**
 * Everything: the host's SQL client and routes, the spotfleet store, engine, API and jobs, and
 * the HTTP server. One layer, one runtime.
 */
export const layer = (options: EffectHostOptions): Layer.Layer<HttpServer.HttpServer | Engine.Engine, unknown> => {
  const persistence = options.mysqlUrl === undefined
    ? Layer.merge(MemoryStore.layer, GreetingsMemory)
    : Layer.merge(
      MysqlStore.layer.pipe(Layer.provide(MysqlMigrations.layer)),
      GreetingsSql
    ).pipe(Layer.provideMerge(MysqlClient.layer({ url: options.mysqlUrl })))
  return ApiLive.serve({ adminToken: options.adminToken }).pipe(
    Layer.provide(HostRoutes),
    Layer.merge(JobsLive),
    Layer.provideMerge(Engine.layer()),
    Layer.provideMerge(persistence),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port ?? 0, host: options.host ?? "127.0.0.1" }))
  )
}

/** The URL the server listens on. */
export const url = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address as HttpServer.TcpAddress
  return `http://${address.hostname === "0.0.0.0" ? "127.0.0.1" : address.hostname}:${address.port}`
})

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.gen(function*() {
    const adminToken = yield* Config.redacted("SPOTFLEET_ADMIN_TOKEN")
    const mysqlUrl = yield* Config.option(Config.redacted("MYSQL_URL"))
    const port = yield* Config.integer("PORT").pipe(Config.withDefault(3000))
    return yield* Layer.launch(
      Layer.effectDiscard(Effect.flatMap(url, (u) => Effect.log(`Effect host on ${u}`))).pipe(
        Layer.provideMerge(layer({ port, host: "0.0.0.0", adminToken, mysqlUrl: Option.getOrUndefined(mysqlUrl) }))
      )
    )
  }).pipe(
    // A failed start: one line with the cause and the fix (the full cause with --verbose or DEBUG).
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.sync(() => StartupFailure.exitWith("Effect host", cause, { mysqlUrl: process.env["MYSQL_URL"], port: process.env["PORT"] ?? 3000 }))
    ),
    NodeRuntime.runMain
  )
}
