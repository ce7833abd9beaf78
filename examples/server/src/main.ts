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
 * - `SPOTFLEET_DRAIN_SECONDS` (default 10): how long SIGTERM lets in-flight requests finish.
 * - The HTTP adapter's settings (`HttpConfig.options`): `SPOTFLEET_MAX_BODY_BYTES`,
 *   `SPOTFLEET_BATCH_WINDOW_MILLIS`, the rate limits (`SPOTFLEET_RATE_LIMIT`,
 *   `SPOTFLEET_RATE_LIMIT_AGENT`/`_TENANT`/`_IP`, `SPOTFLEET_TRUST_FORWARDED_FOR`), the JSON limits
 *   (`SPOTFLEET_JSON_MAX_DEPTH`/`_ITEMS`/`_STRING_LENGTH`); the serving timeouts
 *   (`Serving.options`: `SPOTFLEET_HEADERS_TIMEOUT_SECONDS`, `SPOTFLEET_REQUEST_TIMEOUT_SECONDS`).
 * - `SPOTFLEET_AGENT_FAST_PATH` (default true): heartbeats, command polls and price reports
 *   answered on a lean node:http path in front of HttpApi (same contract); `false` = HttpApi only.
 * - `SPOTFLEET_DASHBOARD_DIR`: the built dashboard served at `/` (default examples/dashboard/dist).
 * - Background jobs: `SPOTFLEET_JOBS`, `SPOTFLEET_JOB_HOLDER`, `SPOTFLEET_JOB_PERIOD_SCALE`,
 *   `SPOTFLEET_JOB_<NAME>_SECONDS`, `SPOTFLEET_OFFLINE_AFTER_SECONDS`,
 *   `SPOTFLEET_ZOMBIE_RETENTION_DAYS` (see ServerJobs.ts).
 * - `SPOTFLEET_SPOT_ADVISOR`: the AWS Spot Instance Advisor feed (a file, an http(s) URL, or `aws`)
 *   for the risk guard's interruption bands and `/api/prices/options` (see ServerInterruptions.ts).
 * - Decision models: `SPOTFLEET_DECISION_MODEL` (see ServerJobs.ts), `SPOTFLEET_MODEL_DIR` (see
 *   ServerModels.ts): the model registry (in memory, or MySQL with `MYSQL_URL`) with the shipped
 *   model active by default, served under `/api/models` and `/api/admin/models`.
 *
 * Start-up: the server listens at once but answers 503 `NotReady` with `Retry-After: 1` until
 * the API, the fast path and the bootstrap tenant are in place (`Serving`): no request is left
 * unanswered while it starts. A failed start prints one line with the cause and the fix
 * (StartupFailure.ts); `--verbose` or `DEBUG` set adds the full cause.
 *
 * SIGTERM/SIGINT: stop the background jobs and release their leases, stop accepting connections,
 * end SSE streams, let in-flight requests finish (up to the drain time; their answers say
 * `Connection: close`), close the store, exit 0.
 */
import { HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { AgentFastPath, ApiLive, Auth, Events, RateLimit, Serving } from "@spotfleet/adapter-http"
import { MysqlDecisionLog, MysqlJobLease, MysqlMigrations, MysqlModelRegistry, MysqlNotificationStore, MysqlStore } from "@spotfleet/adapter-mysql"
import { DecisionLog, Engine, JobLease, MemoryStore, ModelRegistry, Notification, Timing } from "@spotfleet/engine"
import { Cause, Console, Context, Effect, Layer, Logger, Option, Redacted } from "effect"
import * as Dashboard from "./Dashboard.js"
import * as Demo from "./Demo.js"
import * as ServerInterruptions from "./ServerInterruptions.js"
import * as ServerJobs from "./ServerJobs.js"
import * as ServerModels from "./ServerModels.js"
import { settings } from "./Settings.js"
import * as StartupFailure from "./StartupFailure.js"

/** The store: MySQL with migrations when configured, the in-memory store otherwise (with its job leases, decision log and notifications). */
const storeLayer = (
  mysqlUrl: Option.Option<Redacted.Redacted<string>>
): Layer.Layer<
  MemoryStore.Stores | JobLease.JobLease | DecisionLog.DecisionLog | ModelRegistry.ModelRegistry | Notification.NotificationStore,
  unknown
> =>
  Option.match(mysqlUrl, {
    onNone: () => Layer.mergeAll(MemoryStore.layer, JobLease.layerMemory, DecisionLog.layerMemory, ModelRegistry.layerMemory, Notification.layerMemory),
    onSome: (url) =>
      Layer.mergeAll(MysqlStore.layer, MysqlJobLease.layer, MysqlDecisionLog.layer, MysqlModelRegistry.layer, MysqlNotificationStore.layer).pipe(
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
  // Listens as soon as its layer is built; answers 503 NotReady until `serving.open` below.
  const serving = yield* Serving.make(config.serving)

  const context = yield* Layer.build(
    ApiLive.serve({ ...config.http, adminToken: config.adminToken }).pipe(
      // The dashboard at `/` (examples/dashboard/dist; never shadows /api, /metrics, /health, /ready).
      Layer.provide(Dashboard.layer(config.dashboardDir)),
      // An idle agent's polls are answered without the store only where this process is the
      // store's one engine (the embedded store); with MySQL other processes may queue commands.
      Layer.provideMerge(Layer.mergeAll(
        Engine.layer(Option.isNone(config.mysqlUrl) ? { idlePollSeconds: Timing.idlePollSeconds } : {}),
        ServerJobs.layer,
        ServerModels.layer
      )),
      Layer.provideMerge(storeLayer(config.mysqlUrl)),
      Layer.provideMerge(ServerInterruptions.layerFrom(config.spotAdvisor)),
      Layer.provideMerge(NodeHttpServer.layer(() => serving.server, { port: config.port, host: config.host }))
    )
  )
  const engine = Context.get(context, Engine.Engine)
  const sse = Context.get(context, Events.SseShutdown)
  const address = Context.get(context, HttpServer.HttpServer).address as HttpServer.TcpAddress
  const url = `http://localhost:${address.port}`

  if (Option.isSome(config.bootstrapToken)) yield* bootstrapTenant(engine, Redacted.value(config.bootstrapToken.value))

  // Ready: the rate limiter first, then heartbeats, command polls and price reports on the lean
  // fast path (same contract; see AgentFastPath), everything else on the HttpApi handler.
  serving.open({
    limiter: Context.get(context, RateLimit.RateLimiter),
    fastPath: config.agentFastPath ? Context.get(context, AgentFastPath.AgentFastPath) : undefined
  })

  // Runs first when the scope closes (SIGTERM): the layers' own finalizers come after it.
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      yield* Console.log("spotfleet: shutting down (no new connections, ending event streams, draining requests)")
      yield* sse.shutdown
      const cutOff = yield* serving.drain(config.drain)
      yield* Console.log(`spotfleet: stopped${cutOff > 0 ? ` (${cutOff} requests cut off after the drain time)` : ""}`)
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
  yield* Console.log(`  interruption data: ${ServerInterruptions.describe(config.spotAdvisor)}`)
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
  // logfmt: every value quoted and escaped, so a request field with CR/LF cannot forge a log line.
  Effect.provide(Logger.logFmt),
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
