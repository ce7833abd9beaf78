/**
 * The deployable spotfleet server.
 *
 * Environment:
 * - `PORT` (default 8080), `HOST` (default 0.0.0.0)
 * - `SPOTFLEET_ADMIN_TOKEN`: the operator token for `/api/admin/*`. Generated and printed when
 *   absent in demo mode; required otherwise (the server refuses to start without it, always when
 *   `NODE_ENV=production`).
 * - `MYSQL_URL`: MySQL/MariaDB (`mysql://user:pass@host:3306/db`; migrations run on start);
 *   absent = the embedded in-memory store.
 * - `SPOTFLEET_DEMO=1`: a demo fleet in a fresh tenant, its last twelve hours replayed through the
 *   engine at start-up (DemoHistory.ts), then simulated agents live (npm start sets it when
 *   `MYSQL_URL` is absent).
 * - `SPOTFLEET_BOOTSTRAP_TENANT_TOKEN`: a tenant `default` with this API token exists after start.
 * - `SPOTFLEET_AGENT_TOKEN_SECRET`: issue per-agent tokens at registration.
 * - `SPOTFLEET_MAX_BODY_BYTES` (default 1 MiB), `SPOTFLEET_DRAIN_SECONDS` (default 10).
 * - `SPOTFLEET_AGENT_FAST_PATH` (default true): heartbeats, command polls and price reports
 *   answered on a lean node:http path in front of HttpApi (same contract); `false` = HttpApi only.
 * - `SPOTFLEET_DASHBOARD_DIR`: the built dashboard served at `/` (default examples/dashboard/dist).
 * - Background jobs: `SPOTFLEET_JOBS`, `SPOTFLEET_JOB_HOLDER`, `SPOTFLEET_JOB_PERIOD_SCALE`,
 *   `SPOTFLEET_JOB_<NAME>_SECONDS`, `SPOTFLEET_OFFLINE_AFTER_SECONDS`,
 *   `SPOTFLEET_ZOMBIE_RETENTION_DAYS` (see ServerJobs.ts).
 * - Decision models: `SPOTFLEET_DECISION_MODEL` (see ServerJobs.ts), `SPOTFLEET_MODEL_DIR` (see
 *   ServerModels.ts): the model registry (in memory, or MySQL with `MYSQL_URL`) with the shipped
 *   model active by default, served under `/api/models` and `/api/admin/models`.
 *
 * A failed start prints one line with the cause and the fix (StartupFailure.ts); `--verbose` or
 * `DEBUG` set adds the full cause.
 *
 * SIGTERM/SIGINT: stop the background jobs and release their leases, stop accepting connections,
 * end SSE streams, let in-flight requests finish (up to the drain time), close the store, exit 0.
 */
import { createServer } from "node:http"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { AgentFastPath, ApiLive, Auth, Events } from "@spotfleet/adapter-http"
import { MysqlDecisionLog, MysqlJobLease, MysqlMigrations, MysqlModelRegistry, MysqlStore } from "@spotfleet/adapter-mysql"
import { DecisionLog, Engine, JobLease, MemoryStore, ModelRegistry } from "@spotfleet/engine"
import { Cause, Config, Console, Context, Data, Duration, Effect, Layer, Option, Redacted } from "effect"
import * as Dashboard from "./Dashboard.js"
import * as Demo from "./Demo.js"
import * as ServerJobs from "./ServerJobs.js"
import * as ServerModels from "./ServerModels.js"
import * as StartupFailure from "./StartupFailure.js"

class StartupError extends Data.TaggedError("StartupError")<{ readonly message: string }> {}

/** A secret setting; an empty value counts as unset. */
const nonEmpty = (name: string) =>
  Effect.map(Config.option(Config.redacted(name)), Option.filter((v) => Redacted.value(v).length > 0))

const settings = Effect.gen(function*() {
  const production = (yield* Config.string("NODE_ENV").pipe(Config.withDefault(""))) === "production"
  const demo = yield* Config.boolean("SPOTFLEET_DEMO").pipe(Config.withDefault(false))
  const configuredAdmin = yield* Config.option(Config.redacted("SPOTFLEET_ADMIN_TOKEN"))
  let adminToken: Redacted.Redacted<string>
  let generated = false
  if (Option.isSome(configuredAdmin) && Redacted.value(configuredAdmin.value).length > 0) {
    adminToken = configuredAdmin.value
  } else if (production) {
    return yield* Effect.fail(
      new StartupError({ message: "SPOTFLEET_ADMIN_TOKEN is not set — set it to the operator token (required when NODE_ENV=production)" })
    )
  } else if (!demo) {
    return yield* Effect.fail(
      new StartupError({ message: "SPOTFLEET_ADMIN_TOKEN is not set — set it to the operator token, or set SPOTFLEET_DEMO=1 for a generated one" })
    )
  } else {
    adminToken = Redacted.make(Auth.generateToken("sfadmin_"))
    generated = true
  }
  return {
    port: yield* Config.integer("PORT").pipe(Config.withDefault(8080)),
    host: yield* Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
    production,
    demo,
    adminToken,
    generated,
    mysqlUrl: yield* nonEmpty("MYSQL_URL"),
    bootstrapToken: yield* nonEmpty("SPOTFLEET_BOOTSTRAP_TENANT_TOKEN"),
    agentTokenSecret: yield* nonEmpty("SPOTFLEET_AGENT_TOKEN_SECRET"),
    maxBodyBytes: yield* Config.option(Config.integer("SPOTFLEET_MAX_BODY_BYTES")),
    agentFastPath: yield* Config.boolean("SPOTFLEET_AGENT_FAST_PATH").pipe(Config.withDefault(true)),
    drain: Duration.seconds(yield* Config.integer("SPOTFLEET_DRAIN_SECONDS").pipe(Config.withDefault(10))),
    jobs: yield* ServerJobs.config,
    dashboardDir: yield* Config.string("SPOTFLEET_DASHBOARD_DIR").pipe(Config.withDefault(Dashboard.defaultDir))
  }
})

/** The store: MySQL with migrations when configured, the in-memory store otherwise (with its job leases and decision log). */
const storeLayer = (
  mysqlUrl: Option.Option<Redacted.Redacted<string>>
): Layer.Layer<MemoryStore.Stores | JobLease.JobLease | DecisionLog.DecisionLog | ModelRegistry.ModelRegistry, unknown> =>
  Option.match(mysqlUrl, {
    onNone: () => Layer.mergeAll(MemoryStore.layer, JobLease.layerMemory, DecisionLog.layerMemory, ModelRegistry.layerMemory),
    onSome: (url) =>
      Layer.mergeAll(MysqlStore.layer, MysqlJobLease.layer, MysqlDecisionLog.layer, MysqlModelRegistry.layer).pipe(
        Layer.provide(MysqlMigrations.layer.pipe(Layer.provideMerge(MysqlClient.layer({ url }))))
      )
  })

/** `default` tenant with the bootstrap token (idempotent across restarts). */
const bootstrapTenant = (engine: Engine.EngineService, token: string) =>
  Effect.gen(function*() {
    const hash = Auth.hashToken(token)
    if ((yield* engine.authenticate(hash)) !== null) return
    const existing = (yield* engine.listTenants).find((t) => t.name === "default")
    if (existing === undefined) yield* engine.createTenant({ name: "default", tokenHash: hash })
    else yield* engine.addTenantToken(existing.id, hash, "bootstrap")
  })

const program = Effect.gen(function*() {
  const config = yield* settings
  const server = createServer()

  const context = yield* Layer.build(
    ApiLive.serve({
      adminToken: config.adminToken,
      agentTokenSecret: Option.getOrUndefined(config.agentTokenSecret),
      maxBodyBytes: Option.getOrUndefined(config.maxBodyBytes)
    }).pipe(
      // The dashboard at `/` (examples/dashboard/dist; never shadows /api, /metrics, /health, /ready).
      Layer.provide(Dashboard.layer(config.dashboardDir)),
      Layer.provideMerge(Layer.mergeAll(Engine.layer(), ServerJobs.layer, ServerModels.layer)),
      Layer.provideMerge(storeLayer(config.mysqlUrl)),
      Layer.provideMerge(NodeHttpServer.layer(() => server, { port: config.port, host: config.host }))
    )
  )
  // Heartbeats, command polls and price reports skip HttpApi's per-request machinery (same
  // contract; see AgentFastPath). Installed in front of the HttpApi handler just registered.
  if (config.agentFastPath) AgentFastPath.install(server, Context.get(context, AgentFastPath.AgentFastPath))
  // Registered after the fast path, so it counts every request (the drain waits for them).
  let inFlight = 0
  server.on("request", (_req, res) => {
    inFlight++
    res.once("close", () => inFlight--)
  })
  const engine = Context.get(context, Engine.Engine)
  const sse = Context.get(context, Events.SseShutdown)
  const address = Context.get(context, HttpServer.HttpServer).address as HttpServer.TcpAddress
  const url = `http://localhost:${address.port}`

  if (Option.isSome(config.bootstrapToken)) yield* bootstrapTenant(engine, Redacted.value(config.bootstrapToken.value))

  // Runs first when the scope closes (SIGTERM): the layers' own finalizers come after it.
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      yield* Console.log("spotfleet: shutting down (no new connections, ending event streams, draining requests)")
      server.close()
      yield* sse.shutdown
      const deadline = Date.now() + Duration.toMillis(config.drain)
      while (inFlight > 0 && Date.now() < deadline) yield* Effect.sleep("50 millis")
      server.closeAllConnections()
      yield* Console.log(`spotfleet: stopped${inFlight > 0 ? ` (${inFlight} requests cut off after the drain time)` : ""}`)
    })
  )

  // The demo's past is replayed before the jobs start, so their first runs see it.
  const demo = config.demo
    ? yield* Effect.gen(function*() {
      const token = Auth.generateToken()
      const tenant = yield* engine.createTenant({ name: `demo-${Date.now()}`, tokenHash: Auth.hashToken(token) })
      const started = Date.now()
      const seeded = yield* Demo.seed(tenant.id).pipe(Effect.provide(context))
      return { token, tenant, seeded, millis: Date.now() - started }
    })
    : undefined

  // After the shutdown finalizer: the jobs stop (and release their leases) before the drain.
  yield* ServerJobs.start(config.jobs).pipe(Effect.provide(context))

  yield* Console.log(`spotfleet server listening on ${url}`)
  yield* Console.log(`  store: ${Option.isSome(config.mysqlUrl) ? "MySQL (migrated)" : "in-memory (nothing survives a restart)"}`)
  if (config.generated) yield* Console.log(`  admin token (generated for this demo run): ${Redacted.value(config.adminToken)}`)
  yield* Console.log(`  jobs: ${ServerJobs.describe(config.jobs)}`)
  yield* Console.log(`  OpenAPI: docs/api-spec.yaml · metrics: ${url}/metrics · events: ${url}/api/events/stream`)
  yield* Console.log(
    Dashboard.isBuilt(config.dashboardDir)
      ? `  dashboard: ${url}/`
      : `  dashboard: not built (${config.dashboardDir}): run \`npm run build -w examples/dashboard\``
  )

  if (demo !== undefined) {
    const { counts } = demo.seeded.history
    yield* Console.log(`  demo fleet: tenant ${demo.tenant.name}, API token ${demo.token}`)
    yield* Console.log(
      `  demo history (replayed in ${(demo.millis / 1000).toFixed(1)} s): ${demo.seeded.history.agents.length} agents over the last 12 h, ` +
        `${counts["priceReports"]} price reports, ${counts["decisions"]} auto-switch decisions (${counts["mlSwitches"]} acted), ` +
        `${counts["notices"]} termination notices, ${counts["backfilled"]} backfilled price points`
    )
    yield* Console.log(`  demo prices: ${demo.seeded.prices.provenance}`)
    yield* Effect.forkScoped(Demo.run({ baseUrl: `http://127.0.0.1:${address.port}`, token: demo.token, seeded: demo.seeded }))
  }
  return yield* Effect.never
})

program.pipe(
  Effect.scoped,
  // This server exports no traces, so the span every request and query would record is pure
  // cost (a third of a heartbeat's CPU in a profile). A host that exports traces embeds the
  // layers itself and keeps its tracer on.
  Effect.withTracerEnabled(false),
  // A failed start is one line with the cause and the fix (the full cause with --verbose or DEBUG).
  Effect.catchAllCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause)
      : Effect.sync(() => {
        StartupFailure.report("spotfleet", cause, { mysqlUrl: process.env["MYSQL_URL"], port: process.env["PORT"] ?? "8080" })
        process.exit(1)
      })
  ),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
