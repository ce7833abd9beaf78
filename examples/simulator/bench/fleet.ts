/**
 * `npm run bench:fleet`: a fleet of simulated agents (default 100,000) against one server process
 * on MariaDB/MySQL, at the rates real agents use (GitHub issue #13 item 2). Every agent:
 *
 * - registers once before the measured window (`POST /api/agents/register`, bounded concurrency;
 *   its duration is printed on its own), and starts heartbeating as soon as it is registered, as a
 *   real agent does (so no agent is marked offline while the rest of the fleet registers),
 * - heartbeats every `--heartbeat-seconds` (30): `POST /api/agents/{id}/heartbeat` `{}`,
 * - polls its commands every `--poll-seconds` (300): `GET /api/agents/{id}/pending-commands`, and
 *   at once when a heartbeat answer says `pendingCommands > 0`; reports each command it gets as
 *   executed (`POST /api/agents/{id}/commands/{commandId}/executed`) so queues drain,
 * - reports three pool prices every `--price-seconds` (300): `POST /api/agents/{id}/pricing-report`
 *   with an `X-Request-ID`.
 *
 * Each activity's firings are spread evenly over its period (random phase per agent) and fired
 * by one scheduler tick every 5 ms — no timer per agent. The client is a minimal HTTP/1.1 client
 * (rawHttp.ts) over `--connections` keep-alive sockets: latency runs from the moment a request is
 * due to the end of its response, so it includes any wait for a free connection. After `--warmup` seconds (not measured) it measures
 * `--duration` seconds: per endpoint requests, req/s, p50/p99/max latency and errors; how late
 * the scheduler fired (if the generator falls behind the run is INVALID); the CPU % and RSS of
 * the server, of mariadbd and of the generator itself (/proc, each second); the machine's busy
 * share and load average. Results go to bench-results/fleet-*.json and .md.
 *
 * `--dialect v5`: the agents speak the legacy Python agent's dialect instead, at its rates unless
 * given: heartbeat every 30 s with its inventory (its own instance and an unrelated one), command
 * poll every 5 s (`GET /api/agents/{id}/commands/pending`, `Content-Type: application/json` on
 * every request), price report every 300 s (three spot pools and one on-demand price), commands
 * answered with `POST /api/agents/{id}/action-result` — the bodies of the v5 fixtures
 * (packages/adapter-http/bench/v5Bodies.ts). A v5 heartbeat answered 2xx without `success: true`
 * (`unknown`, `deferred`) counts as an error: the real agent would be lost.
 *
 * Exit code 0 only when there were no errors at all and heartbeat p99 < 100 ms (and the run is valid).
 *
 * Options: --agents 100000 --duration 300 --warmup 30 --heartbeat-seconds 30 --poll-seconds 300
 * --price-seconds 300 --connections 64 --register-concurrency 64 --timeout 10 (s per request)
 * --agents-per-tenant 10000 (a tenant holds at most 10,000 agents by default: the generator creates
 * more tenants through the admin API when it starts the server),
 * --seed 1, and --url <server> --token <tenant token> [--server-pid <pid>] to load a server that
 * is already running instead of starting one (examples/server on a fresh database, dropped after).
 * --cpu-prof <dir>: the server it starts runs with `node --cpu-prof` and writes its CPU profile
 * into <dir> when it stops (the profiler costs the server some CPU: compare figures without it).
 * Environment: BENCH_MYSQL_URL (default TEST_MYSQL_URL or mysql://root@127.0.0.1:3306).
 */
import { type ChildProcess, execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { parseArgs } from "node:util"
import { admin, freshDatabase, root, startProcess, stop } from "../../../packages/adapter-http/bench/support.js"
import { distribution, Samples, Schedule, seededRandom } from "./fleetStats.js"
import { RawPool } from "./rawHttp.js"
import * as v5Bodies from "../../../packages/adapter-http/bench/v5Bodies.js"
import { machine, MachineSampler, pidOf, ProcSampler, type ProcSummary } from "./procStats.js"

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------

const { values: argv } = parseArgs({
  options: {
    agents: { type: "string", default: "100000" },
    duration: { type: "string", default: "300" },
    warmup: { type: "string", default: "30" },
    "heartbeat-seconds": { type: "string", default: "30" },
    "poll-seconds": { type: "string", default: "300" },
    "price-seconds": { type: "string", default: "300" },
    connections: { type: "string", default: "64" },
    "register-concurrency": { type: "string", default: "64" },
    "agents-per-tenant": { type: "string", default: "10000" },
    timeout: { type: "string", default: "10" },
    seed: { type: "string", default: "1" },
    url: { type: "string" },
    token: { type: "string" },
    "server-pid": { type: "string" },
    "cpu-prof": { type: "string" },
    dialect: { type: "string", default: "v1" },
    help: { type: "boolean", default: false }
  },
  strict: true
})

if (argv.help) {
  console.log(
    "npm run bench:fleet -- [--agents 100000] [--duration 300] [--warmup 30] [--heartbeat-seconds 30] [--poll-seconds 300]\n" +
      "  [--price-seconds 300] [--connections 64] [--register-concurrency 64] [--agents-per-tenant 10000] [--timeout 10] [--seed 1]\n" +
      "  [--url http://host:port --token <tenant token> [--server-pid <pid>]] [--cpu-prof <dir>] [--dialect v1|v5]"
  )
  process.exit(0)
}

const num = (name: keyof typeof argv, min: number): number => {
  const v = Number(argv[name])
  if (!Number.isFinite(v) || v < min) {
    console.error(`--${name}: expected a number ≥ ${min}, got ${String(argv[name])}`)
    process.exit(2)
  }
  return v
}

if (argv.dialect !== "v1" && argv.dialect !== "v5") {
  console.error(`--dialect: v1 or v5, got ${argv.dialect}`)
  process.exit(2)
}
/** The legacy Python agent's dialect (its rates unless given: a poll every 5 s). */
const v5 = argv.dialect === "v5"
if (v5 && !process.argv.some((a) => a.startsWith("--poll-seconds"))) argv["poll-seconds"] = "5"

const agentCount = Math.floor(num("agents", 1))
const durationMs = num("duration", 1) * 1000
const warmupMs = num("warmup", 0) * 1000
const heartbeatMs = num("heartbeat-seconds", 0.1) * 1000
const pollMs = num("poll-seconds", 0.1) * 1000
const priceMs = num("price-seconds", 0.1) * 1000
const connections = Math.floor(num("connections", 1))
const registerConcurrency = Math.floor(num("register-concurrency", 1))
/** Tenants hold at most 10,000 agents by default (Tenant.defaultLimits): more agents are spread over more tenants. */
const agentsPerTenant = Math.floor(num("agents-per-tenant", 1))
const timeoutMs = num("timeout", 0.1) * 1000
const seed = Math.floor(num("seed", 0))
if ((argv.url === undefined) !== (argv.token === undefined)) {
  console.error("--url and --token go together")
  process.exit(2)
}

/** The heartbeat p99 target of issue #13 (ms). */
const heartbeatP99Target = 100
/** Scheduler lateness beyond which the generator is too slow for its figures to count (ms). */
const latenessP99Limit = 50

/**
 * The server's rate limits for this load. The defaults (per agent 10/s, per tenant 5,000/s, per
 * client address 20,000/s: docs/DEPLOYMENT_RUNBOOK.md) hold a real fleet with room to spare, and
 * the bench keeps them — it is also the check that they never throttle well-behaved agents. Only
 * a load that comes within half of a default (every agent here shares one address and, with
 * --agents-per-tenant, one tenant) gets that limit raised, explicitly and printed.
 */
const rateLimitsFor = (): { readonly env: Record<string, string>; readonly describe: string } => {
  const perAgent = 1000 / heartbeatMs + 1000 / pollMs + 1000 / priceMs
  const perTenant = perAgent * Math.min(agentsPerTenant, agentCount)
  const perIp = perAgent * agentCount
  const env: Record<string, string> = {}
  const said: Array<string> = []
  const check = (name: string, variable: string, load: number, defaultRate: number) => {
    if (load <= defaultRate / 2) {
      said.push(`${name} default (this load ≈ ${load < 10 ? load.toPrecision(2) : load.toFixed(0)}/s)`)
      return
    }
    const rate = Math.ceil(load * 4)
    env[variable] = `${rate}/${rate * 2}`
    said.push(`${name} RAISED to ${rate}/s (this load ≈ ${load.toFixed(0)}/s, over half the default ${defaultRate}/s)`)
  }
  check("per agent", "SPOTFLEET_RATE_LIMIT_AGENT", perAgent, 10)
  check("per tenant", "SPOTFLEET_RATE_LIMIT_TENANT", perTenant, 5_000)
  check("per client address", "SPOTFLEET_RATE_LIMIT_IP", perIp, 20_000)
  return { env, describe: said.join(", ") }
}

const runId = crypto.randomUUID().replaceAll("-", "").slice(0, 8)
const command = `npm run bench:fleet -- ${process.argv.slice(2).join(" ")}`.trim()

// ---------------------------------------------------------------------------------------------
// the HTTP client and the bookkeeping
// ---------------------------------------------------------------------------------------------

const endpoints = ["heartbeat", "pending-commands", "pricing-report", "command-executed", "register"] as const
type Endpoint = (typeof endpoints)[number]

interface EndpointStats {
  requests: number
  errors: number
  readonly latencies: Samples
}
const newStats = (): Record<Endpoint, EndpointStats> =>
  Object.fromEntries(endpoints.map((e) => [e, { requests: 0, errors: 0, latencies: new Samples() }])) as Record<Endpoint, EndpointStats>

type Phase = "start" | "register" | "warmup" | "measure" | "drain" | "done"
let phase: Phase = "start"

/** Requests started in the measured window (by due time), per endpoint. */
const measured = newStats()
/** Registration (all of it). */
const registration = { requests: 0, errors: 0, latencies: new Samples() }
/** Since the last progress line (every phase). */
const interval = { requests: Object.fromEntries(endpoints.map((e) => [e, 0])) as Record<Endpoint, number>, errors: 0, heartbeat: new Samples(), lateness: new Samples() }
/** Errors by `endpoint status` (or transport error), in the window and outside it. */
const errorsIn = new Map<string, number>()
const errorsOut = new Map<string, number>()
const errorSamples: Array<string> = []
let saw429 = false

let inFlight = 0
let measuredInFlight = 0
let maxInFlight = 0

let base: URL
let pool: RawPool
let basePath = ""

const bump = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1)

const onError = (endpoint: Endpoint, inWindow: boolean, key: string, text: string) => {
  interval.errors++
  bump(inWindow ? errorsIn : errorsOut, `${endpoint} ${key}`)
  if (key === "429") saw429 = true
  if (errorSamples.length < 10) errorSamples.push(`${endpoint} ${key}: ${text.slice(0, 300)}`)
}

/**
 * One request. `inWindow`: it counts towards the measured figures. `then(ok, body)` runs after
 * it is recorded. Latency runs from the call (including any wait for a free connection) to the
 * end of the response.
 */
const send = (
  endpoint: Endpoint,
  method: "GET" | "POST",
  p: string,
  body: string | undefined,
  token: string,
  requestId: string | undefined,
  inWindow: boolean,
  then?: (ok: boolean, body: string) => void
): void => {
  const t0 = performance.now()
  inFlight++
  if (inFlight > maxInFlight) maxInFlight = inFlight
  if (inWindow) measuredInFlight++
  const headers =
    `authorization: Bearer ${token}\r\n` +
    // The v5 agent sends a JSON content type on every request, GETs included.
    (body === undefined && !v5 ? "" : "content-type: application/json\r\n") +
    (requestId === undefined ? "" : `x-request-id: ${requestId}\r\n`)
  pool.request(method, basePath + p, headers, body, t0, (error, status, text) => {
    inFlight--
    if (inWindow) measuredInFlight--
    const latency = performance.now() - t0
    const errorKey = error !== undefined ? error.code ?? error.message : status >= 200 && status < 300 ? undefined : String(status)
    interval.requests[endpoint]++
    if (endpoint === "heartbeat") interval.heartbeat.push(latency)
    const stats = endpoint === "register" ? registration : inWindow ? measured[endpoint] : undefined
    if (stats !== undefined) {
      stats.requests++
      stats.latencies.push(latency)
      if (errorKey !== undefined) stats.errors++
    }
    if (errorKey !== undefined) onError(endpoint, inWindow, errorKey, text)
    if (then !== undefined) {
      try {
        then(errorKey === undefined, text)
      } catch (e) {
        // A 2xx answer the agent cannot read (not the JSON it expects) is an error too.
        onError(endpoint, inWindow, "unreadable answer", `${String(e)}: ${text}`)
      }
    }
  })
}

/** Requests waiting for a free pooled connection (every connection is busy with one request). */
const queued = (): number => pool.queued

// ---------------------------------------------------------------------------------------------
// the agents
// ---------------------------------------------------------------------------------------------

const pools = [
  { pool: "t3.medium.us-east-1a", onDemand: 0.0416 },
  { pool: "t3.medium.us-east-1b", onDemand: 0.0416 },
  { pool: "m5.large.us-east-1a", onDemand: 0.096 },
  { pool: "m5.large.us-east-1b", onDemand: 0.096 },
  { pool: "c5.large.us-east-1a", onDemand: 0.085 },
  { pool: "c5.large.us-east-1c", onDemand: 0.085 }
]

let tenantToken = ""
/** The token of tenant k (agents k · agentsPerTenant …); [0] is tenantToken. */
let tenantTokens: Array<string> = []
const ids: Array<string | undefined> = new Array(agentCount)
let agentTokens: Array<string | undefined> | undefined
const pollInFlight = new Uint8Array(agentCount)
const priceSeq = new Uint32Array(agentCount)
const random = seededRandom(seed)
const instanceOf = (i: number) => `i-${runId}${i.toString(16).padStart(8, "0")}`
const tenantTokenOf = (i: number) => tenantTokens[Math.floor(i / agentsPerTenant)] ?? tenantToken
const tokenOf = (i: number) => agentTokens?.[i] ?? tenantTokenOf(i)
let nowIso = new Date().toISOString()
let heartbeatsWithPendingField = 0
let triggeredPolls = 0
let commandsExecuted = 0

/** Requests that follow from an answer (command polls, executions) are only started while measuring or warming up. */
const following = () => phase === "warmup" || phase === "measure"

/** A v5 heartbeat's answer: `success: true`, or the agent would be lost (`unknown`, `deferred`). */
const v5Heartbeat = (i: number, inWindow: boolean) =>
  send("heartbeat", "POST", `/api/agents/${ids[i]}/heartbeat`, JSON.stringify(v5Bodies.heartbeat(instanceOf(i))), tokenOf(i), undefined, inWindow, (ok, text) => {
    if (!ok) return
    const answer = JSON.parse(text) as { success?: unknown; status?: unknown }
    if (answer.success !== true) throw new Error(`v5 heartbeat answered status ${String(answer.status)}`)
  })

const heartbeat = (i: number, inWindow: boolean) =>
  v5 ? v5Heartbeat(i, inWindow) : send("heartbeat", "POST", `/api/agents/${ids[i]}/heartbeat`, "{}", tokenOf(i), undefined, inWindow, (ok, text) => {
    if (!ok || !text.includes("pendingCommands")) return
    heartbeatsWithPendingField++
    const pending = (JSON.parse(text) as { pendingCommands?: unknown }).pendingCommands
    if (typeof pending === "number" && pending > 0 && following()) {
      triggeredPolls++
      poll(i, phase === "measure")
    }
  })

const poll = (i: number, inWindow: boolean) => {
  if (pollInFlight[i] === 1) return
  pollInFlight[i] = 1
  send("pending-commands", "GET", v5 ? v5Bodies.pollPath(ids[i]!) : `/api/agents/${ids[i]}/pending-commands`, undefined, tokenOf(i), undefined, inWindow, (ok, text) => {
    pollInFlight[i] = 0
    if (!ok) return
    const commands = (JSON.parse(text) as { commands?: ReadonlyArray<{ readonly id: string; readonly request_id?: string }> }).commands
    if (!Array.isArray(commands)) throw new Error("no commands array")
    if (!following()) return
    for (const c of commands) {
      if (v5) {
        // The v5 agent reports each command by its request id.
        send(
          "command-executed",
          "POST",
          `/api/agents/${ids[i]}/action-result`,
          JSON.stringify({ request_id: c.request_id, agent_id: ids[i], result: "SUCCESS", cloud_instance_id: instanceOf(i), error_message: null, metadata: {} }),
          tokenOf(i),
          undefined,
          phase === "measure",
          (done) => {
            if (done) commandsExecuted++
          }
        )
        continue
      }
      send(
        "command-executed",
        "POST",
        `/api/agents/${ids[i]}/commands/${c.id}/executed`,
        JSON.stringify({ success: true, message: "bench:fleet", instanceId: instanceOf(i) }),
        tokenOf(i),
        `fleet-${runId}-x-${c.id}`,
        phase === "measure",
        (done) => {
          if (done) commandsExecuted++
        }
      )
    }
  })
}

const priceReport = (i: number, inWindow: boolean) => {
  if (v5) {
    send("pricing-report", "POST", `/api/agents/${ids[i]}/pricing-report`, JSON.stringify(v5Bodies.pricingReport(ids[i]!)), tokenOf(i), undefined, inWindow)
    return
  }
  const own = i % pools.length
  const prices = [0, 1, 2].map((k) => {
    const p = pools[(own + k) % pools.length]!
    return { pool: p.pool, price: Math.round(p.onDemand * (0.3 + 0.05 * Math.random()) * 1e6) / 1e6, observedAt: nowIso }
  })
  const seq = priceSeq[i]!++
  send(
    "pricing-report",
    "POST",
    `/api/agents/${ids[i]}/pricing-report`,
    JSON.stringify({ instanceId: instanceOf(i), prices }),
    tokenOf(i),
    `fleet-${runId}-p-${i}-${seq}`,
    inWindow
  )
}

/** Registers every agent with at most `registerConcurrency` requests in flight; prints progress. */
const registerAll = async (): Promise<number> => {
  phase = "register"
  const started = performance.now()
  let next = 0
  let done = 0
  const progress = setInterval(() => {
    const s = (performance.now() - started) / 1000
    const rate = done / s
    console.log(
      `  registered ${done.toLocaleString("en")} / ${agentCount.toLocaleString("en")} · ${rate.toFixed(0)}/s · ` +
        `ETA ${rate > 0 ? ((agentCount - done) / rate).toFixed(0) : "?"} s · errors ${registration.errors}`
    )
  }, 5000)
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const body = JSON.stringify(
        v5 ? v5Bodies.register(instanceOf(i)) : { logicalAgentId: `fleet-${runId}-${i}`, instanceId: instanceOf(i), pool: pools[i % pools.length]!.pool }
      )
      send("register", "POST", "/api/agents/register", body, tenantTokenOf(i), undefined, false, (ok, text) => {
        done++
        resolve()
        if (ok) {
          const r = JSON.parse(text) as { agentId?: unknown; agent_id?: unknown; agentToken?: unknown }
          const id = v5 ? r.agent_id : r.agentId
          if (typeof id !== "string") throw new Error("no agent id")
          ids[i] = id
          if (typeof r.agentToken === "string") (agentTokens ??= new Array(agentCount))[i] = r.agentToken
        }
      })
    })
  const worker = async () => {
    while (next < agentCount && !aborted) await one(next++)
  }
  // Registered agents heartbeat at their rate while the others register (not measured; their
  // errors count as outside the window). Its own seed: the load's phases stay as with --seed.
  const keepAlive = new Schedule(agentCount, heartbeatMs, seededRandom(seed + 1))
  const keepAliveStart = performance.now()
  const keepAliveTicker = setInterval(() => {
    const rel = performance.now() - keepAliveStart
    for (let due = keepAlive.nextDue(); due <= rel; due = keepAlive.nextDue()) {
      const i = keepAlive.take()
      if (ids[i] !== undefined) heartbeat(i, false)
    }
  }, 5)
  try {
    await Promise.all(Array.from({ length: Math.min(registerConcurrency, agentCount) }, worker))
  } finally {
    clearInterval(progress)
    clearInterval(keepAliveTicker)
    // The load's first progress line counts the load only.
    for (const e of endpoints) interval.requests[e] = 0
    interval.heartbeat.clear()
  }
  return (performance.now() - started) / 1000
}

// ---------------------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------------------

let aborted = false
let server: { readonly child: ChildProcess; readonly url: string } | undefined
let serverLog = ""
let stoppingServer = false
let serverDied = false
let databaseName: string | undefined
let adminToken: string | undefined
const timers: Array<NodeJS.Timeout> = []

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : "–")
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(" ")

/** The measured window (performance.now() ms), known once warm-up is over. */
let windowStart = Infinity
let windowEnd = Infinity

const run = async () => {
  const info = machine()
  let commit = "unknown"
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim()
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).trim()
    if (dirty.length > 0) commit += " (+ uncommitted changes)"
  } catch {
    // not a checkout
  }
  const loadAtStart = loadavg()
  console.log(`bench:fleet ${runId}: ${agentCount.toLocaleString("en")} agents (${v5 ? "v5" : "v1"} dialect) · heartbeat ${heartbeatMs / 1000} s · poll ${pollMs / 1000} s · price ${priceMs / 1000} s`)
  console.log(`  warm-up ${warmupMs / 1000} s, measured ${durationMs / 1000} s · ${connections} connections · commit ${commit}`)
  console.log(`  machine: ${info.cpuModel}, ${info.cores} cores, ${info.ramGiB} GiB RAM, ${info.kernel}, Node ${info.node} · load average ${loadAtStart}`)

  // The server: started on a fresh database, or the one given.
  let serverPid: number | undefined
  if (argv.url !== undefined) {
    base = new URL(argv.url)
    tenantToken = argv.token!
    serverPid = argv["server-pid"] === undefined ? undefined : Number(argv["server-pid"])
    console.log(`  server: ${base.origin} (already running${serverPid === undefined ? "; no server CPU figures without --server-pid" : `, pid ${serverPid}`})`)
  } else {
    tenantToken = `fleet-${crypto.randomUUID()}`
    adminToken = `admin-${crypto.randomUUID()}`
    const db = freshDatabase("spotfleet_fleet")
    await admin(`CREATE DATABASE \`${db.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
    databaseName = db.database
    const profile = argv["cpu-prof"] === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${path.resolve(argv["cpu-prof"])}`]
    const limits = rateLimitsFor()
    console.log(`  rate limits: ${limits.describe}`)
    const started = await startProcess([...profile, "examples/server/src/main.ts"], {
      MYSQL_URL: db.url,
      PORT: "0",
      HOST: "127.0.0.1",
      NODE_ENV: "production",
      SPOTFLEET_DEMO: "0",
      SPOTFLEET_ADMIN_TOKEN: adminToken,
      SPOTFLEET_BOOTSTRAP_TENANT_TOKEN: tenantToken,
      ...limits.env
    })
    server = started
    // support.ts keeps all output to find the URL; from here on keep only a tail (for a crash).
    for (const stream of [started.child.stdout!, started.child.stderr!]) {
      stream.removeAllListeners("data")
      stream.on("data", (d: Buffer) => {
        serverLog = (serverLog + d.toString()).slice(-8000)
      })
    }
    started.child.removeAllListeners("exit")
    started.child.on("exit", (code, signal) => {
      if (stoppingServer) return
      serverDied = true
      console.error(`\n!!! the server exited during the run (code ${code}, signal ${signal}); its last output:\n${serverLog}`)
      aborted = true
    })
    base = new URL(started.url)
    serverPid = started.child.pid
    console.log(`  server: examples/server pid ${serverPid} at ${base.origin}, database ${db.database}`)
  }
  basePath = base.pathname.replace(/\/$/, "")
  tenantTokens = [tenantToken]
  const tenantsNeeded = Math.ceil(agentCount / agentsPerTenant)
  if (tenantsNeeded > 1 && adminToken === undefined) {
    console.log(`  !!! ${agentCount} agents in the one tenant of --token: more than --agents-per-tenant ${agentsPerTenant} (the default tenant limit is 10,000 agents)`)
  } else if (tenantsNeeded > 1) {
    for (let k = 1; k < tenantsNeeded; k++) {
      const res = await fetch(`${base.origin}${basePath}/api/admin/tenants`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ name: `fleet-${runId}-${k}` })
      })
      if (res.status !== 201 && res.status !== 200) throw new Error(`creating tenant ${k}: ${res.status} ${await res.text()}`)
      tenantTokens.push(((await res.json()) as { token: string }).token)
    }
    console.log(`  ${tenantsNeeded} tenants of at most ${agentsPerTenant.toLocaleString("en")} agents (the default tenant limit is 10,000)`)
  }
  pool = new RawPool(base.hostname, Number(base.port || 80), connections)

  // Per-second samples of the processes and the machine (kept for the whole run; summarized over the window).
  const mariadbPid = pidOf("mariadbd", "mysqld")
  const samplers = [
    ...(serverPid === undefined ? [] : [new ProcSampler("server", serverPid)]),
    ...(mariadbPid === undefined ? [] : [new ProcSampler("mariadbd", mariadbPid)]),
    new ProcSampler("generator", process.pid)
  ]
  const machineSampler = new MachineSampler()
  timers.push(setInterval(() => {
    for (const s of samplers) if (!s.gone) s.sample()
    machineSampler.sample()
    pool.sweep(performance.now(), timeoutMs)
  }, 1000))

  // Registration.
  console.log(`registering ${agentCount.toLocaleString("en")} agents (${registerConcurrency} at a time)…`)
  const registerSeconds = await registerAll()
  if (aborted) return undefined
  const registered = ids.filter((x) => x !== undefined).length
  const reg = distribution(registration.latencies)
  console.log(
    `registered ${registered.toLocaleString("en")} agents in ${registerSeconds.toFixed(1)} s (${(registered / registerSeconds).toFixed(0)}/s, ` +
      `p50 ${fmt(reg.p50)} ms, p99 ${fmt(reg.p99)} ms, ${registration.errors} errors)`
  )
  if (registered === 0) throw new Error(`no agent registered; first errors:\n${errorSamples.join("\n")}`)

  // Load: one tick fires every agent whose time has come.
  const schedules: ReadonlyArray<readonly [Schedule, (i: number, inWindow: boolean) => void]> = [
    [new Schedule(agentCount, heartbeatMs, random), heartbeat],
    [new Schedule(agentCount, pollMs, random), poll],
    [new Schedule(agentCount, priceMs, random), priceReport]
  ]
  const scheduledPerSecond = schedules.reduce((a, [s]) => a + s.ratePerSecond, 0) * (registered / agentCount)
  const lateness = new Samples()
  let fired = 0
  const eventLoop = monitorEventLoopDelay({ resolution: 10 })
  const t0 = performance.now()
  const endRel = warmupMs + durationMs
  phase = warmupMs > 0 ? "warmup" : "measure"
  if (phase === "measure") {
    windowStart = t0
    eventLoop.enable()
  }
  console.log(`load: ${scheduledPerSecond.toFixed(0)} requests/s scheduled; warm-up ${warmupMs / 1000} s, then ${durationMs / 1000} s measured`)

  let resolveLoad!: () => void
  const loadDone = new Promise<void>((r) => (resolveLoad = r))
  const tick = () => {
    const now = performance.now()
    const rel = now - t0
    nowIso = new Date().toISOString()
    if (phase === "warmup" && rel >= warmupMs) {
      phase = "measure"
      windowStart = t0 + warmupMs
      eventLoop.enable()
    }
    for (const [schedule, fire] of schedules) {
      for (let due = schedule.nextDue(); due <= rel && due < endRel; due = schedule.nextDue()) {
        const i = schedule.take()
        if (ids[i] === undefined) continue
        const inWindow = due >= warmupMs
        const late = rel - due
        interval.lateness.push(late)
        if (inWindow) {
          lateness.push(late)
          fired++
        }
        fire(i, inWindow)
      }
    }
    if (rel >= endRel || aborted) {
      phase = "drain"
      windowEnd = t0 + endRel
      eventLoop.disable()
      resolveLoad()
    }
  }
  const ticker = setInterval(tick, 5)
  timers.push(ticker)

  // Progress every 10 s.
  let lastProgress = performance.now()
  const progress = setInterval(() => {
    const now = performance.now()
    const s = (now - lastProgress) / 1000
    lastProgress = now
    const total = endpoints.reduce((a, e) => a + (e === "register" ? 0 : interval.requests[e]), 0)
    const hb = distribution(interval.heartbeat)
    const late = distribution(interval.lateness)
    const procs = samplers
      .map((p) => {
        const last = p.samples.slice(-10)
        const cpu = last.length === 0 ? NaN : last.reduce((a, x) => a + x.cpu, 0) / last.length
        return `${p.name} ${fmt(cpu, 0)}%${p.name === "mariadbd" ? "" : ` ${fmt(last.at(-1)?.rss ?? NaN, 0)} MiB`}`
      })
      .join(" · ")
    console.log(
      `[${fmt((now - t0) / 1000, 0).padStart(4)} s ${phase.padEnd(7)}] ${fmt(total / s, 0)} req/s (hb ${fmt(interval.requests.heartbeat / s, 0)}, ` +
        `poll ${fmt(interval.requests["pending-commands"] / s, 0)}, price ${fmt(interval.requests["pricing-report"] / s, 0)}, ` +
        `exec ${fmt(interval.requests["command-executed"] / s, 0)}) · errors ${interval.errors} · hb p50 ${fmt(hb.p50)} p99 ${fmt(hb.p99)} ms · ` +
        `in flight ${inFlight} queued ${queued()} · late p99 ${fmt(late.p99)} ms · ${procs} · load ${loadavg()}`
    )
    for (const e of endpoints) interval.requests[e] = 0
    interval.errors = 0
    interval.heartbeat.clear()
    interval.lateness.clear()
  }, 10_000)
  timers.push(progress)

  await loadDone
  clearInterval(ticker)
  clearInterval(progress)
  const loadAtEnd = loadavg()

  // Drain: let the window's requests finish; what is still open after the timeout is an error.
  const drainDeadline = performance.now() + timeoutMs + 2000
  while (measuredInFlight > 0 && performance.now() < drainDeadline && !serverDied) await new Promise((r) => setTimeout(r, 20))
  const unfinished = measuredInFlight
  if (unfinished > 0) errorsIn.set("(any) unfinished after drain", unfinished)
  phase = "done"

  // Figures.
  const seconds = durationMs / 1000
  const rows = (["heartbeat", "pending-commands", "pricing-report", "command-executed"] as const).map((e) => ({
    endpoint: e,
    requests: measured[e].requests,
    perSecond: measured[e].requests / seconds,
    errors: measured[e].errors,
    latency: distribution(measured[e].latencies)
  }))
  const totalRequests = rows.reduce((a, r) => a + r.requests, 0)
  const errorsWindow = [...errorsIn.values()].reduce((a, b) => a + b, 0)
  const errorsOutside = [...errorsOut.values()].reduce((a, b) => a + b, 0)
  const late = distribution(lateness)
  const expectedFirings = scheduledPerSecond * seconds
  const procs: Array<ProcSummary> = samplers.map((s) => s.summary(windowStart, windowEnd))
  const busy = machineSampler.summary(windowStart, windowEnd)
  const heartbeatP99 = rows[0]!.latency.p99
  const generatorBehind = !(late.p99 <= latenessP99Limit) || fired < expectedFirings * 0.99
  const result = {
    runId,
    command,
    date: new Date().toISOString(),
    commit,
    machine: info,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    options: {
      agents: agentCount,
      durationSeconds: seconds,
      warmupSeconds: warmupMs / 1000,
      dialect: v5 ? "v5" : "v1",
      heartbeatSeconds: heartbeatMs / 1000,
      pollSeconds: pollMs / 1000,
      priceSeconds: priceMs / 1000,
      connections,
      registerConcurrency,
      agentsPerTenant,
      tenants: tenantTokens.length,
      timeoutSeconds: timeoutMs / 1000,
      seed,
      server: argv.url ?? "examples/server/src/main.ts (started, fresh database)"
    },
    registration: { agents: registered, seconds: registerSeconds, perSecond: registered / registerSeconds, errors: registration.errors, latency: reg },
    window: {
      seconds,
      requests: totalRequests,
      perSecond: totalRequests / seconds,
      scheduledPerSecond,
      endpoints: rows,
      heartbeatsWithPendingCommandsField: heartbeatsWithPendingField,
      triggeredPolls,
      commandsExecuted
    },
    errors: { window: Object.fromEntries(errorsIn), outsideWindow: Object.fromEntries(errorsOut), samples: errorSamples, saw429 },
    generator: {
      firings: fired,
      expectedFirings: Math.round(expectedFirings),
      lateness: late,
      eventLoopDelayP99Ms: eventLoop.percentile(99) / 1e6,
      eventLoopDelayMaxMs: eventLoop.max / 1e6,
      maxInFlight,
      maxQueued: Math.max(0, maxInFlight - connections),
      behind: generatorBehind
    },
    processes: procs,
    machineBusy: busy,
    targets: {
      zeroErrors: errorsWindow + errorsOutside + registration.errors === 0 && !serverDied,
      heartbeatP99Ms: heartbeatP99,
      heartbeatP99Below100: heartbeatP99 < heartbeatP99Target
    }
  }
  return result
}

type Result = NonNullable<Awaited<ReturnType<typeof run>>>

const report = (r: Result): string => {
  const lines: Array<string> = []
  const n = (x: number) => Math.round(x).toLocaleString("en")
  lines.push(`### bench:fleet — ${n(r.options.agents)} agents, ${r.window.seconds} s measured (${r.date.slice(0, 16).replace("T", " ")} UTC)`)
  lines.push("")
  lines.push(`- Command: \`${r.command}\``)
  lines.push(`- Machine: ${r.machine.cpuModel}, ${r.machine.cores} cores, ${r.machine.ramGiB} GiB RAM, ${r.machine.kernel}, Node ${r.machine.node}`)
  lines.push(`- Commit: ${r.commit} · server: ${r.options.server}`)
  lines.push(`- Load average (1/5/15 min): ${r.loadAverage.start} at start, ${r.loadAverage.end} at the end of the window; machine busy ${fmt(r.machineBusy.busyAvg, 0)} % average (all cores)`)
  lines.push(
    `- Registration (not measured): ${n(r.registration.agents)} agents in ${fmt(r.registration.seconds)} s (${n(r.registration.perSecond)}/s, ` +
      `p50 ${fmt(r.registration.latency.p50)} ms, p99 ${fmt(r.registration.latency.p99)} ms, ${r.registration.errors} errors)`
  )
  lines.push(`- Dialect: ${r.options.dialect}`)
  lines.push(`- Schedule: heartbeat ${r.options.heartbeatSeconds} s, command poll ${r.options.pollSeconds} s, price report ${r.options.priceSeconds} s; warm-up ${r.options.warmupSeconds} s; ${r.options.connections} keep-alive connections`)
  lines.push("")
  lines.push("| endpoint | requests | req/s | p50 ms | p99 ms | max ms | errors |")
  lines.push("|---|---:|---:|---:|---:|---:|---:|")
  for (const e of r.window.endpoints) {
    lines.push(`| ${e.endpoint} | ${n(e.requests)} | ${fmt(e.perSecond)} | ${fmt(e.latency.p50, 2)} | ${fmt(e.latency.p99, 2)} | ${fmt(e.latency.max, 1)} | ${e.errors} |`)
  }
  lines.push(`| **all** | ${n(r.window.requests)} | ${fmt(r.window.perSecond)} | | | | ${Object.values(r.errors.window).reduce((a, b) => a + b, 0)} |`)
  lines.push("")
  lines.push("| process | CPU avg % | CPU max % | RSS max MiB | RSS end MiB |")
  lines.push("|---|---:|---:|---:|---:|")
  for (const p of r.processes) lines.push(`| ${p.name} (pid ${p.pid}) | ${fmt(p.cpuAvg, 0)} | ${fmt(p.cpuMax, 0)} | ${fmt(p.rssMaxMiB, 0)} | ${fmt(p.rssEndMiB, 0)} |`)
  lines.push("")
  lines.push(
    `- Generator: ${n(r.generator.firings)} of ${n(r.generator.expectedFirings)} scheduled firings, late p50 ${fmt(r.generator.lateness.p50)} ms, ` +
      `p99 ${fmt(r.generator.lateness.p99)} ms, max ${fmt(r.generator.lateness.max)} ms; event-loop delay p99 ${fmt(r.generator.eventLoopDelayP99Ms)} ms; ` +
      `most in flight ${r.generator.maxInFlight}, most waiting for a connection ${r.generator.maxQueued}` +
      (r.generator.behind ? " — **INVALID: the generator fell behind its schedule**" : "")
  )
  const outside = Object.entries(r.errors.outsideWindow)
  const inside = Object.entries(r.errors.window)
  if (inside.length + outside.length > 0) {
    lines.push(`- Errors in the window: ${inside.map(([k, v]) => `${k} × ${v}`).join(", ") || "none"}; outside it: ${outside.map(([k, v]) => `${k} × ${v}`).join(", ") || "none"}`)
  }
  lines.push(
    `- Heartbeat answers with \`pendingCommands\`: ${n(r.window.heartbeatsWithPendingCommandsField)}; polls they triggered: ${n(r.window.triggeredPolls)}; commands executed: ${n(r.window.commandsExecuted)}`
  )
  lines.push(
    `- Targets: zero errors **${r.targets.zeroErrors ? "PASS" : "FAIL"}** · heartbeat p99 < 100 ms **${r.targets.heartbeatP99Below100 ? "PASS" : "FAIL"}** (${fmt(r.targets.heartbeatP99Ms, 2)} ms)`
  )
  return lines.join("\n")
}

const cleanup = async () => {
  for (const t of timers) clearInterval(t)
  pool?.destroy()
  if (server !== undefined) {
    const child = server.child
    server = undefined
    stoppingServer = true
    if (child.exitCode === null && child.signalCode === null) {
      const killTimer = setTimeout(() => {
        console.error(`server pid ${child.pid} did not stop within 30 s of SIGTERM: SIGKILL`)
        child.kill("SIGKILL")
      }, 30_000)
      await stop(child)
      clearTimeout(killTimer)
    }
  }
  if (databaseName !== undefined) {
    const db = databaseName
    databaseName = undefined
    await admin(`DROP DATABASE IF EXISTS \`${db}\``).catch((e) => console.error(`could not drop database ${db}: ${String(e)}`))
  }
}

let interrupted = false
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupted) {
    console.error("second signal: exiting without cleaning up")
    process.exit(130)
  }
  interrupted = true
  aborted = true
  stoppingServer = true
  console.error(`\n${signal}: stopping the server and dropping the database…`)
  cleanup().finally(() => process.exit(130))
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)

const main = async () => {
  let result: Result | undefined
  try {
    result = await run()
  } catch (e) {
    console.error(`bench:fleet failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`)
    process.exitCode = 1
  } finally {
    if (!interrupted) await cleanup()
  }
  if (interrupted) return
  if (result === undefined) {
    console.error("bench:fleet: no result (aborted)")
    process.exitCode = 1
    return
  }
  const md = report(result)
  console.log(`\n${md}\n`)
  const dir = path.join(root, "bench-results")
  mkdirSync(dir, { recursive: true })
  const stamp = result.date.replaceAll(/[-:]/g, "").replace("T", "-").slice(0, 15)
  const file = path.join(dir, `fleet-${stamp}-${result.options.agents}-${runId}`)
  writeFileSync(`${file}.json`, JSON.stringify(result, null, 2) + "\n")
  writeFileSync(`${file}.md`, md + "\n")
  console.log(`saved ${path.relative(root, file)}.json and .md`)
  if (result.errors.saw429) console.log("!!! the server answered 429 (rate limited): see the errors above")
  if (result.generator.behind) {
    console.log(
      `!!! INVALID RUN: the generator fell behind its schedule (late p99 ${fmt(result.generator.lateness.p99)} ms, limit ${latenessP99Limit} ms; ` +
        `${result.generator.firings} of ${result.generator.expectedFirings} firings): the figures do not show the server at the requested load`
    )
  }
  console.log(`zero errors: ${result.targets.zeroErrors ? "PASS" : "FAIL"}`)
  console.log(`heartbeat p99 < ${heartbeatP99Target} ms: ${result.targets.heartbeatP99Below100 ? "PASS" : "FAIL"} (${fmt(result.targets.heartbeatP99Ms, 2)} ms)`)
  if (!result.targets.zeroErrors || !result.targets.heartbeatP99Below100 || result.generator.behind) process.exitCode = 1
}

await main()
