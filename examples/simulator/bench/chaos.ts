/**
 * `npm run chaos`: the chaos run of GitHub issue #13 (acceptance item 3).
 *
 * Three example-server processes share one MariaDB database; a simulated fleet talks to them
 * through a round-robin client. While the fleet heartbeats, polls and runs its commands, reports
 * prices, gets rebalance and termination notices from "the cloud" (which reclaims an instance at
 * its termination deadline) and is switched by hand through the tenant API, the run SIGKILLs one
 * server every `--kill-every` seconds (rotating) and restarts it on the same port, and once
 * crashes the database server (SIGKILL of mariadbd, `--db-restart kill`) or shuts it down cleanly
 * (`--db-restart clean`) and starts it again on the same data directory.
 *
 * Agents retry the way a real agent does: after a refused or cut connection, a 5xx, a 429 or a
 * "try again" 409, on the next server, with the same `X-Request-ID`, so a POST is answered once.
 * A request is *acknowledged* when it got a 2xx.
 *
 * Afterwards the notices and switches stop, every server is up, and the fleet keeps running for a
 * grace period (until no flow or notice is open, at most `--grace` seconds) so in-flight flows
 * and jobs finish; then the fleet stops and the invariants are checked against the database and
 * the API:
 *
 * 1. exactly one PRIMARY per agent (database and `GET /api/agents/{id}/instances` agree);
 * 2. no acknowledged report lost: every price point of an acknowledged pricing report is in
 *    `price_snapshots` (and its `PriceReported` event in `events`), every acknowledged command
 *    result is recorded on its command, every acknowledged notice that the answer showed as
 *    recorded has its `NoticeReceived` event, every acknowledged switch its `FlowStarted`,
 *    every acknowledged registration its agent;
 * 3. no command executed twice (the simulator logs every execution by command id);
 * 4. every emergency resolved or failed with a recorded reason: each emergency flow
 *    (`FlowStarted` kind `emergency`) has its `FlowFinished` with `succeeded`, or with a reason;
 *    none is open and no notice is left past its deadline.
 *
 * The report (timeline of kills and restarts, requests and retries per endpoint, each invariant
 * with PASS/FAIL and its evidence) is printed and saved as chaos-results/chaos-<time>-<id>.json
 * and .md, with every server generation's log beside it. Exit code 1 when an invariant fails.
 *
 * The database: its own MariaDB server (mariadb-install-db into a temporary folder, mariadbd on
 * a free port), deleted afterwards; `CHAOS_MYSQL_URL=mysql://…` uses an existing server instead
 * (a fresh database on it, dropped after) — and then the database restart is skipped, which the
 * report says.
 *
 * Options: --duration 180 (s of chaos) --agents 100 --kill-every 30 --db-restart kill|clean|none
 * --db-restart-at <s> (default duration/2 + kill-every/2) --db-down 5 (s the database stays down)
 * --grace 240 (s, at most)
 * --notices-per-minute 20 --switches-per-minute 10 --termination-share 0.5
 * --termination-lead 60 (s notice → reclaim) --short-notice-share 0.2 (terminations reclaimed after
 * only 6 s: the PRIMARY goes before any replica can be promoted) --rebalance-lead 90 --heartbeat 10 --poll 2
 * --price 15 (s) --boot 8 (median s) --launch-failure 0.03 --manual-replica-share 0.3
 * --timeout 15 (s per attempt) --seed 1 --keep (keep the database folder).
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import * as mysql from "mysql2/promise"
import { root } from "../../../packages/adapter-http/bench/support.js"
import { type EndpointCounts, freePort, PrivateMariaDb, RoundRobinClient, ServerSlot, sleep } from "./chaosSupport.js"
import { seededRandom } from "./fleetStats.js"

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------

const { values: argv } = parseArgs({
  options: {
    duration: { type: "string", default: "180" },
    agents: { type: "string", default: "100" },
    "kill-every": { type: "string", default: "30" },
    "db-restart": { type: "string", default: "kill" },
    "db-restart-at": { type: "string" },
    "db-down": { type: "string", default: "5" },
    grace: { type: "string", default: "240" },
    "notices-per-minute": { type: "string", default: "20" },
    "switches-per-minute": { type: "string", default: "10" },
    "termination-share": { type: "string", default: "0.5" },
    "termination-lead": { type: "string", default: "60" },
    "rebalance-lead": { type: "string", default: "90" },
    "short-notice-share": { type: "string", default: "0.2" },
    heartbeat: { type: "string", default: "10" },
    poll: { type: "string", default: "2" },
    price: { type: "string", default: "15" },
    boot: { type: "string", default: "8" },
    "launch-failure": { type: "string", default: "0.03" },
    "manual-replica-share": { type: "string", default: "0.3" },
    timeout: { type: "string", default: "15" },
    seed: { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", default: false }
  },
  strict: true
})
if (argv.help) {
  console.log(
    "npm run chaos -- [--duration 180] [--agents 100] [--kill-every 30] [--db-restart kill|clean|none] [--db-restart-at s] [--db-down 5]\n" +
      "  [--grace 240] [--notices-per-minute 20] [--switches-per-minute 10] [--termination-share 0.5] [--termination-lead 60]\n" +
      "  [--short-notice-share 0.2] [--rebalance-lead 90] [--heartbeat 10] [--poll 2] [--price 15] [--boot 8] [--launch-failure 0.03]\n" +
      "  [--manual-replica-share 0.3] [--timeout 15] [--seed 1] [--keep]\n" +
      "Environment: CHAOS_MYSQL_URL=mysql://user@host:port to use an existing server (no database restart then)."
  )
  process.exit(0)
}
const num = (name: keyof typeof argv, min: number, max = Infinity): number => {
  const v = Number(argv[name])
  if (!Number.isFinite(v) || v < min || v > max) {
    console.error(`--${name}: expected a number in [${min}, ${max}], got ${String(argv[name])}`)
    process.exit(2)
  }
  return v
}
const opts = {
  durationS: num("duration", 10),
  agents: Math.floor(num("agents", 1)),
  killEveryS: num("kill-every", 1),
  dbRestart: argv["db-restart"] as "kill" | "clean" | "none",
  dbDownS: num("db-down", 0),
  graceS: num("grace", 0),
  noticesPerMinute: num("notices-per-minute", 0),
  switchesPerMinute: num("switches-per-minute", 0),
  terminationShare: num("termination-share", 0, 1),
  terminationLeadS: num("termination-lead", 5),
  rebalanceLeadS: num("rebalance-lead", 5),
  shortNoticeShare: num("short-notice-share", 0, 1),
  heartbeatS: num("heartbeat", 0.1),
  pollS: num("poll", 0.1),
  priceS: num("price", 0.1),
  bootS: num("boot", 0),
  launchFailure: num("launch-failure", 0, 1),
  manualReplicaShare: num("manual-replica-share", 0, 1),
  timeoutS: num("timeout", 1),
  seed: Math.floor(num("seed", 0))
}
if (!["kill", "clean", "none"].includes(opts.dbRestart)) {
  console.error("--db-restart: kill, clean or none")
  process.exit(2)
}
const dbRestartAtS = argv["db-restart-at"] === undefined ? opts.durationS / 2 + opts.killEveryS / 2 : num("db-restart-at", 0)
const externalDb = process.env.CHAOS_MYSQL_URL
const runId = crypto.randomUUID().replaceAll("-", "").slice(0, 8)
const command = `npm run chaos -- ${process.argv.slice(2).join(" ")}`.trim()
const random = seededRandom(opts.seed)
const pools = ["t3.medium.us-east-1a", "t3.medium.us-east-1b", "t3.medium.us-east-1c", "m5.large.us-east-1a", "m5.large.us-east-1b", "c5.large.us-east-1a"]
const giveUpMs = 180_000

// ---------------------------------------------------------------------------------------------
// bookkeeping
// ---------------------------------------------------------------------------------------------

const t0 = Date.now()
const rel = (at = Date.now()) => Math.round((at - t0) / 100) / 10
let chaosStart = 0
const sinceChaos = (at = Date.now()) => Math.round((at - chaosStart) / 100) / 10

interface TimelineEntry {
  readonly t: number
  readonly what: string
}
const timeline: Array<TimelineEntry> = []
const note = (what: string) => {
  const entry = { t: sinceChaos(), what }
  timeline.push(entry)
  console.log(`[chaos ${entry.t.toFixed(1).padStart(6)} s] ${what}`)
}

interface SimAgent {
  readonly n: number
  readonly logical: string
  agentId: string
  primary: string
  readonly running: Set<string>
  readonly poolOf: Map<string, string>
  /** temp instance id of a LAUNCH → the cloud id it got (null: the launch failed). */
  readonly launched: Map<string, string | null>
  noticeBusyUntil: number
}

const agents: Array<SimAgent> = []
const counters = {
  launches: 0,
  launchFailures: 0,
  promotions: 0,
  terminations: 0,
  configsApplied: 0,
  terminationNotices: 0,
  rebalanceNotices: 0,
  reclaims: 0,
  switchesRequested: 0,
  commandsHandedOut: 0
}
/** command id → every execution by the simulator. */
const executions = new Map<string, Array<{ readonly agentId: string; readonly type: string; readonly at: number }>>()
/** command id → how many poll answers carried it. */
const handedOut = new Map<string, number>()
const commandTypes = new Map<string, string>()
const ackedResults: Array<{ readonly agentId: string; readonly commandId: string; readonly type: string; readonly success: boolean }> = []
const ackedPrices: Array<{
  readonly agentId: string
  readonly requestId: string
  readonly points: ReadonlyArray<{ readonly pool: string; readonly price: number; readonly observedAt: number }>
  readonly eventIds: ReadonlyArray<number>
}> = []
const ackedNotices: Array<{ readonly agentId: string; readonly kind: string; readonly cloudInstanceId: string; readonly recorded: boolean }> = []
const ackedSwitches: Array<{ readonly agentId: string; readonly pool: string; readonly flowId: string | null }> = []
const ackedTerminated: Array<{ readonly agentId: string; readonly cloudInstanceId: string }> = []
let work = 0
let fleetRunning = false
let fleetStopped: () => void = () => {}
const fleetStop = new Promise<void>((resolve) => (fleetStopped = resolve))
let chaosRunning = false

let manualReplicas = 0
let instanceCounter = 0
const newCloudId = () => `i-chaos${runId}${(++instanceCounter).toString(16).padStart(6, "0")}`
const logNormal = (median: number, sigma: number) => {
  const u1 = Math.max(1e-12, random()), u2 = random()
  return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2))
}

// ---------------------------------------------------------------------------------------------
// the fleet
// ---------------------------------------------------------------------------------------------

let client: RoundRobinClient
let tenantToken = ""
const auth = (requestId?: string): Record<string, string> => ({
  authorization: `Bearer ${tenantToken}`,
  ...(requestId === undefined ? {} : { "x-request-id": requestId })
})
const post = (endpoint: string, p: string, body: unknown, requestId: string) =>
  client.call(endpoint, "POST", p, body, auth(requestId), { giveUpMs })
const ok = (r: { readonly status: number } | undefined): r is { readonly status: number; readonly body: any; readonly attempts: number } =>
  r !== undefined && r.status >= 200 && r.status < 300

const tracked = async (f: () => Promise<void>) => {
  work++
  try {
    await f()
  } catch (e) {
    console.error(`chaos: fleet task failed: ${e instanceof Error ? e.stack : String(e)}`)
  } finally {
    work--
  }
}

const register = async (n: number): Promise<SimAgent | undefined> => {
  const logical = `chaos-${runId}-${n}`
  const instanceId = newCloudId()
  const pool = pools[n % pools.length]!
  const manualReplica = random() < opts.manualReplicaShare
  if (manualReplica) manualReplicas++
  const r = await post("register", "/api/agents/register", {
    logicalAgentId: logical,
    instanceId,
    pool,
    metadata: { chaos: runId },
    config: { terminateWaitSeconds: 5, ...(manualReplica ? { manualReplica: true } : {}) }
  }, `chaos-${runId}-register-${n}`)
  if (!ok(r)) {
    console.error(`chaos: agent ${n} did not register: ${JSON.stringify(r === undefined ? "no answer" : (r as { body: unknown }).body)}`)
    return undefined
  }
  return {
    n,
    logical,
    agentId: r.body.agentId,
    primary: instanceId,
    running: new Set([instanceId]),
    poolOf: new Map([[instanceId, pool]]),
    launched: new Map(),
    noticeBusyUntil: 0
  }
}

const waitLaunched = async (agent: SimAgent, temp: string): Promise<string | null> => {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    const got = agent.launched.get(temp)
    if (got !== undefined) return got
    await sleep(200)
  }
  return null
}

const execute = (agent: SimAgent, c: { readonly id: string; readonly type: string; readonly params: Record<string, unknown> }) =>
  tracked(async () => {
    const list = executions.get(c.id) ?? []
    list.push({ agentId: agent.agentId, type: c.type, at: Date.now() })
    executions.set(c.id, list)
    commandTypes.set(c.id, c.type)
    let result: { success: boolean; instanceId?: string; message?: string }
    switch (c.type) {
      case "LAUNCH_INSTANCE": {
        await sleep(logNormal(opts.bootS, 0.4) * 1000)
        const temp = String(c.params["temp_instance_id"] ?? "")
        if (random() < opts.launchFailure) {
          counters.launchFailures++
          agent.launched.set(temp, null)
          result = { success: false, message: "InsufficientInstanceCapacity (simulated)" }
        } else {
          counters.launches++
          const id = newCloudId()
          agent.running.add(id)
          agent.poolOf.set(id, `${String(c.params["instance_type"])}.${String(c.params["az"])}`)
          agent.launched.set(temp, id)
          result = { success: true, instanceId: id }
        }
        break
      }
      case "PROMOTE_REPLICA_TO_PRIMARY": {
        const named = c.params["replica_instance_id"]
        const target = typeof named === "string" ? named : await waitLaunched(agent, String(c.params["temp_instance_id"] ?? ""))
        if (target === null || !agent.running.has(target)) {
          result = { success: false, message: "the replica is not running" }
        } else {
          await sleep(logNormal(1, 0.4) * 1000)
          agent.primary = target
          counters.promotions++
          result = { success: true, instanceId: target }
        }
        break
      }
      case "TERMINATE_INSTANCE": {
        agent.running.delete(String(c.params["instance_id"]))
        counters.terminations++
        result = { success: true }
        break
      }
      default:
        counters.configsApplied++
        result = { success: true }
    }
    const r = await post(
      "command-executed",
      `/api/agents/${agent.agentId}/commands/${c.id}/executed`,
      { ...result, data: { chaos: true } },
      `chaos-${runId}-exec-${c.id}`
    )
    if (ok(r)) ackedResults.push({ agentId: agent.agentId, commandId: c.id, type: c.type, success: result.success })
  })

const heartbeat = async (agent: SimAgent) => {
  await client.call("heartbeat", "POST", `/api/agents/${agent.agentId}/heartbeat`, {}, auth(), { giveUpMs: 0, retry: false })
}

const poll = async (agent: SimAgent) => {
  const r = await client.call("pending-commands", "GET", `/api/agents/${agent.agentId}/pending-commands`, undefined, auth(), {
    giveUpMs: 0,
    retry: false
  })
  if (!ok(r)) return
  for (const c of (r.body?.commands ?? []) as Array<{ id: string; type: string; params: Record<string, unknown> }>) {
    counters.commandsHandedOut++
    handedOut.set(c.id, (handedOut.get(c.id) ?? 0) + 1)
    void execute(agent, c)
  }
}

let priceSeq = 0
const priceReport = async (agent: SimAgent) => {
  const own = agent.poolOf.get(agent.primary) ?? pools[agent.n % pools.length]!
  const observed = [own, ...pools.filter((p) => p !== own).slice(0, 2)]
  const now = Date.now()
  const points = observed.map((pool) => ({ pool, price: Math.round((0.01 + random() * 0.05) * 1e6) / 1e6, observedAt: now }))
  const requestId = `chaos-${runId}-price-${agent.n}-${++priceSeq}`
  const r = await post("pricing-report", `/api/agents/${agent.agentId}/pricing-report`, {
    instanceId: agent.primary,
    prices: points.map((p) => ({ pool: p.pool, price: p.price, observedAt: new Date(p.observedAt).toISOString() }))
  }, requestId)
  if (ok(r)) ackedPrices.push({ agentId: agent.agentId, requestId, points, eventIds: r.body?.eventIds ?? [] })
}

/** The cloud: a notice for the agent's PRIMARY; a termination is followed by the reclaim at its deadline. */
const notice = (agent: SimAgent) =>
  tracked(async () => {
    const instanceId = agent.primary
    const termination = random() < opts.terminationShare
    const lead = (termination ? (random() < opts.shortNoticeShare ? 6 : opts.terminationLeadS) : opts.rebalanceLeadS) * 1000
    const deadline = Date.now() + lead
    agent.noticeBusyUntil = deadline + 5_000
    const kind = termination ? "termination" : "rebalance"
    if (termination) counters.terminationNotices++
    else counters.rebalanceNotices++
    const r = await post(
      `${kind}-notice`,
      `/api/agents/${agent.agentId}/${kind}-notice`,
      termination
        ? { instanceId, terminationTime: new Date(deadline).toISOString() }
        : { instanceId, deadline: new Date(deadline).toISOString() },
      `chaos-${runId}-${kind}-${agent.n}-${instanceId}`
    )
    if (ok(r)) {
      const n = r.body?.agent?.notice
      ackedNotices.push({ agentId: agent.agentId, kind, cloudInstanceId: instanceId, recorded: n !== null && n !== undefined })
    }
    if (!termination) return
    await sleep(Math.max(0, deadline - Date.now()))
    if (!agent.running.delete(instanceId)) return
    counters.reclaims++
    const t = await post("instance-terminated", `/api/agents/${agent.agentId}/instances/terminated`, { instanceId }, `chaos-${runId}-reclaim-${instanceId}`)
    if (ok(t)) ackedTerminated.push({ agentId: agent.agentId, cloudInstanceId: instanceId })
  })

const manualSwitch = (agent: SimAgent) =>
  tracked(async () => {
    const current = agent.poolOf.get(agent.primary)
    const choices = pools.filter((p) => p !== current)
    const pool = choices[Math.floor(random() * choices.length)]!
    counters.switchesRequested++
    const r = await post("switch (tenant API)", `/api/agents/${agent.agentId}/switch`, { pool }, `chaos-${runId}-switch-${agent.n}-${counters.switchesRequested}`)
    if (ok(r)) ackedSwitches.push({ agentId: agent.agentId, pool, flowId: r.body?.agent?.flow?.id ?? null })
  })

/** Runs `f` every `ms` (first after a random phase) while the fleet runs. */
const every = async (ms: number, f: () => Promise<void>) => {
  await Promise.race([sleep(random() * ms), fleetStop])
  while (fleetRunning) {
    const started = Date.now()
    await f()
    await Promise.race([sleep(Math.max(50, ms - (Date.now() - started))), fleetStop])
  }
}

/** Notices and switches at their rates, while the chaos lasts. */
const chaosEvents = async () => {
  while (chaosRunning) {
    await sleep(1000)
    const now = Date.now()
    const idle = agents.filter((a) => a.noticeBusyUntil < now && a.running.has(a.primary))
    const pick = () => idle.splice(Math.floor(random() * idle.length), 1)[0]
    for (let k = poissonish(opts.noticesPerMinute / 60); k > 0 && idle.length > 0; k--) void notice(pick()!)
    for (let k = poissonish(opts.switchesPerMinute / 60); k > 0 && idle.length > 0; k--) void manualSwitch(pick()!)
  }
}
/** A count with the given mean (small means: Bernoulli trials). */
const poissonish = (mean: number) => {
  let k = 0
  let m = mean
  while (m > 1) {
    k++
    m--
  }
  return k + (random() < m ? 1 : 0)
}

// ---------------------------------------------------------------------------------------------
// the checks
// ---------------------------------------------------------------------------------------------

interface Check {
  readonly name: string
  readonly pass: boolean
  readonly evidence: ReadonlyArray<string>
  readonly details?: unknown
}

const parseJson = (v: unknown): any => (typeof v === "string" ? JSON.parse(v) : v)

interface Facts {
  readonly events: number
  readonly commandsByStatus: Record<string, number>
  readonly switchFlows: Record<string, number>
  readonly jobRuns: ReadonlyArray<string>
}

const checks = async (dbUrl: string, tenantId: string): Promise<{ checks: Array<Check>; facts: Facts }> => {
  const db = await mysql.createConnection({ uri: dbUrl })
  try {
    const out: Array<Check> = []
    const simIds = new Set(agents.map((a) => a.agentId))

    // 1. exactly one PRIMARY per agent, in the database and through the API
    const [agentRows] = await db.query(
      "SELECT a.id, a.degraded, a.flow, a.notice, (SELECT COUNT(*) FROM instances i WHERE i.agent_id = a.id AND i.role = 'PRIMARY') AS primaries " +
        "FROM agents a WHERE a.tenant_id = ?",
      [tenantId]
    ) as [Array<any>, unknown]
    const dbPrimaries = new Map<string, number>(agentRows.map((r) => [r.id as string, Number(r.primaries)]))
    const apiPrimaries = new Map<string, number>()
    await Promise.all(Array.from({ length: 16 }, async (_, w) => {
      for (let i = w; i < agents.length; i += 16) {
        const a = agents[i]!
        const r = await client.call("instances (check)", "GET", `/api/agents/${a.agentId}/instances`, undefined, auth(), { giveUpMs: 30_000 })
        apiPrimaries.set(a.agentId, ok(r) ? (r.body.instances as Array<{ role: string }>).filter((x) => x.role === "PRIMARY").length : -1)
      }
    }))
    const bad1 = agents.filter((a) => dbPrimaries.get(a.agentId) !== 1 || apiPrimaries.get(a.agentId) !== 1)
    const strangers = agentRows.filter((r) => !simIds.has(r.id))
    const histogram = (m: Map<string, number>) => {
      const h: Record<string, number> = {}
      for (const a of agents) {
        const k = String(m.get(a.agentId) ?? "missing")
        h[k] = (h[k] ?? 0) + 1
      }
      return Object.entries(h).map(([k, v]) => `${v} agents with ${k}`).join(", ")
    }
    out.push({
      name: "exactly one PRIMARY per agent",
      pass: bad1.length === 0 && strangers.length === 0 && agents.length === opts.agents,
      evidence: [
        `${agents.length} agents registered (of ${opts.agents}); ${agentRows.length} agents of the tenant in the database`,
        `database (instances.role = 'PRIMARY'): ${histogram(dbPrimaries)}`,
        `API (GET /api/agents/{id}/instances): ${histogram(apiPrimaries)}`,
        `agents flagged DEGRADED: ${agentRows.filter((r) => Number(r.degraded) !== 0).length}`,
        ...bad1.slice(0, 10).map((a) => `  ${a.agentId}: database ${dbPrimaries.get(a.agentId)}, API ${apiPrimaries.get(a.agentId)}`)
      ]
    })

    // 2. no acknowledged report lost
    const [snapRows] = await db.query(
      "SELECT reporter_agent_id, pool, price, observed_at FROM price_snapshots WHERE tenant_id = ? AND source = 'agent'",
      [tenantId]
    ) as [Array<any>, unknown]
    const snapKey = (agentId: string, pool: string, observedAt: number, price: number) => `${agentId}|${pool}|${observedAt}|${price.toFixed(6)}`
    const snapshots = new Map<string, number>()
    for (const r of snapRows) {
      const k = snapKey(r.reporter_agent_id, r.pool, Number(r.observed_at), Number(r.price))
      snapshots.set(k, (snapshots.get(k) ?? 0) + 1)
    }
    const [eventRows] = await db.query(
      "SELECT id, agent_id, type, at, data FROM events WHERE tenant_id = ? ORDER BY id",
      [tenantId]
    ) as [Array<any>, unknown]
    const events = eventRows.map((r) => ({ id: Number(r.id), agentId: r.agent_id as string | null, type: r.type as string, at: Number(r.at), data: parseJson(r.data) }))
    const eventIds = new Set(events.map((e) => e.id))
    let pointsAcked = 0
    const lostPoints: Array<string> = []
    const lostPriceEvents: Array<string> = []
    let duplicatedPoints = 0
    for (const rep of ackedPrices) {
      for (const p of rep.points) {
        pointsAcked++
        const n = snapshots.get(snapKey(rep.agentId, p.pool, p.observedAt, p.price)) ?? 0
        if (n === 0) lostPoints.push(`${rep.requestId} ${p.pool} ${p.price} @${p.observedAt}`)
        if (n > 1) duplicatedPoints += n - 1
      }
      for (const id of rep.eventIds) if (!eventIds.has(id)) lostPriceEvents.push(`${rep.requestId} event ${id}`)
    }
    const [commandRows] = await db.query("SELECT id, agent_id, type, status, result, deliveries, delivered_at, lease_expires_at FROM commands WHERE tenant_id = ?", [tenantId]) as [
      Array<any>,
      unknown
    ]
    const commands = new Map(commandRows.map((r) => [r.id as string, { ...r, result: parseJson(r.result) }]))
    const lostResults = ackedResults.filter((a) => {
      const c = commands.get(a.commandId)
      return c === undefined || c.result === null || c.result === undefined || Boolean(c.result.success) !== a.success
    })
    const noticeEvents = new Set(events.filter((e) => e.type === "NoticeReceived").map((e) => `${e.agentId}|${e.data.cloudInstanceId}|${e.data.kind}`))
    const recordedNotices = ackedNotices.filter((n) => n.recorded)
    const lostNotices = recordedNotices.filter((n) => !noticeEvents.has(`${n.agentId}|${n.cloudInstanceId}|${n.kind}`))
    const flowsStarted = new Map(events.filter((e) => e.type === "FlowStarted").map((e) => [e.data.flowId as string, e]))
    const lostSwitches = ackedSwitches.filter((s) => s.flowId === null || !flowsStarted.has(s.flowId))
    const instanceRows = (await db.query("SELECT agent_id, cloud_instance_id, role FROM instances WHERE tenant_id = ?", [tenantId]))[0] as Array<any>
    const instanceRole = new Map(instanceRows.map((r) => [`${r.agent_id}|${r.cloud_instance_id}`, r.role as string]))
    const lostTerminated = ackedTerminated.filter((t) => {
      const role = instanceRole.get(`${t.agentId}|${t.cloudInstanceId}`)
      return role !== "TERMINATED"
    })
    const lostRegistrations = agents.filter((a) => !dbPrimaries.has(a.agentId))
    const lost = lostPoints.length + lostPriceEvents.length + lostResults.length + lostNotices.length + lostSwitches.length + lostTerminated.length + lostRegistrations.length
    out.push({
      name: "no acknowledged report lost",
      pass: lost === 0,
      evidence: [
        `pricing reports: ${ackedPrices.length} acknowledged with ${pointsAcked} price points; ${pointsAcked - lostPoints.length} found in price_snapshots, ${lostPoints.length} missing; ` +
        `${ackedPrices.reduce((a, r) => a + r.eventIds.length, 0) - lostPriceEvents.length} PriceReported events found, ${lostPriceEvents.length} missing ` +
        `(${duplicatedPoints} extra copies of acknowledged points: a retry whose first attempt had been written)`,
        `command results: ${ackedResults.length} acknowledged, ${ackedResults.length - lostResults.length} recorded on their command, ${lostResults.length} missing or different`,
        `notices: ${ackedNotices.length} acknowledged, ${recordedNotices.length} answered as recorded, ${recordedNotices.length - lostNotices.length} with their NoticeReceived event, ${lostNotices.length} missing`,
        `manual switches: ${ackedSwitches.length} acknowledged, ${ackedSwitches.length - lostSwitches.length} with their FlowStarted event, ${lostSwitches.length} missing`,
        `instance-terminated (reclaims): ${ackedTerminated.length} acknowledged, ${ackedTerminated.length - lostTerminated.length} TERMINATED in the database, ${lostTerminated.length} not`,
        `registrations: ${agents.length} acknowledged, ${agents.length - lostRegistrations.length} in the database`,
        ...lostPoints.slice(0, 5).map((x) => `  missing point: ${x}`),
        ...lostResults.slice(0, 5).map((x) => `  missing result: ${x.commandId} (${x.type}, success ${x.success}) → ${JSON.stringify(commands.get(x.commandId)?.status ?? "no command")}`),
        ...lostNotices.slice(0, 5).map((x) => `  missing notice: ${x.agentId} ${x.kind} ${x.cloudInstanceId}`),
        ...lostSwitches.slice(0, 5).map((x) => `  missing switch: ${x.agentId} → ${x.pool} (flow ${x.flowId})`),
        ...lostTerminated.slice(0, 5).map((x) => `  reclaim not recorded: ${x.agentId} ${x.cloudInstanceId} (${instanceRole.get(`${x.agentId}|${x.cloudInstanceId}`)})`)
      ]
    })

    // 3. no command executed twice
    const twice = [...executions].filter(([, list]) => list.length > 1)
    const handedTwice = [...handedOut].filter(([, n]) => n > 1)
    const redelivered = events.filter((e) => e.type === "CommandRedelivered")
    const executedOnce = [...executions].filter(([, list]) => list.length === 1).length
    const leasedNeverSeen = commandRows.filter((c) => c.status === "delivered" && !executions.has(c.id))
    const neverSeenAtAll = commandRows.filter((c) => Number(c.deliveries) > 0 && !handedOut.has(c.id))
    out.push({
      name: "no command executed twice",
      pass: twice.length === 0,
      evidence: [
        `${executions.size} commands executed by the simulated agents: ${executedOnce} once, ${twice.length} more than once`,
        `poll answers carried ${counters.commandsHandedOut} commands; ${handedTwice.length} commands were handed out more than once`,
        `CommandRedelivered events (lease ran out, the documented re-delivery): ${redelivered.length}`,
        `commands delivered by the server but never received by an agent (a poll answer lost to a kill or timeout; they wait for their lease): ${neverSeenAtAll.length}` +
        (neverSeenAtAll.length > 0 ? ` — ${neverSeenAtAll.slice(0, 5).map((c) => `${c.id} ${c.type} ${c.status}`).join(", ")}` : ""),
        `commands still leased (delivered) at the end without an execution: ${leasedNeverSeen.length}`,
        ...twice.slice(0, 10).map(([id, list]) => `  ${id} (${list[0]!.type}) executed ${list.length}× at ${list.map((x) => rel(x.at)).join(", ")} s`)
      ]
    })

    // 4. every emergency resolved or failed with a recorded reason
    const finished = new Map(events.filter((e) => e.type === "FlowFinished").map((e) => [e.data.flowId as string, e]))
    const emergencies = [...flowsStarted.values()].filter((e) => e.data.kind === "emergency")
    const outcomes: Record<string, number> = {}
    const unresolved: Array<string> = []
    for (const s of emergencies) {
      const f = finished.get(s.data.flowId)
      if (f === undefined) {
        unresolved.push(`${s.agentId} flow ${s.data.flowId} (started ${rel(s.at)} s): no FlowFinished`)
        continue
      }
      const reason = f.data.reason as string | null
      const key = f.data.result === "succeeded" ? "succeeded" : `${f.data.result}: ${reason ?? "(no reason)"}`
      outcomes[key] = (outcomes[key] ?? 0) + 1
      if (f.data.result !== "succeeded" && (reason === null || reason === undefined || reason === "")) {
        unresolved.push(`${s.agentId} flow ${s.data.flowId}: ${f.data.result} without a reason`)
      }
    }
    const now = Date.now()
    const openEmergency = agentRows.filter((r) => r.flow !== null && parseJson(r.flow)?.kind === "emergency")
    const staleNotices = agentRows.filter((r) => r.notice !== null && Number(parseJson(r.notice)?.deadline) < now)
    const openFlows = agentRows.filter((r) => r.flow !== null)
    const promotions = events.filter((e) => e.type === "EmergencyPromotion" && e.data.secondsSinceNotice !== undefined)
    const late = promotions.filter((e) => e.data.beforeDeadline === false)
    out.push({
      name: "every emergency resolved or failed with a recorded reason",
      pass: unresolved.length === 0 && openEmergency.length === 0 && staleNotices.length === 0,
      evidence: [
        `${recordedNotices.length} notices recorded (${recordedNotices.filter((n) => n.kind === "termination").length} termination, ${recordedNotices.filter((n) => n.kind === "rebalance").length} rebalance); ` +
        `${events.filter((e) => e.type === "AgentDegraded").length} PRIMARYs reclaimed before a promotion (DEGRADED)`,
        `${emergencies.length} emergency flows: ${Object.entries(outcomes).map(([k, v]) => `${v} ${k}`).join("; ") || "none"}`,
        `emergency promotions: ${promotions.length} (${late.length} after the deadline)`,
        `emergency flows still open: ${openEmergency.length}; notices left past their deadline: ${staleNotices.length}; flows of any kind still open: ${openFlows.length}` +
        (openFlows.length > 0 ? ` (${openFlows.slice(0, 5).map((r) => `${r.id} ${parseJson(r.flow).kind}`).join(", ")})` : ""),
        ...unresolved.slice(0, 10).map((x) => `  ${x}`)
      ]
    })

    const [jobRows] = await db.query("SELECT name, holder, COUNT(*) AS runs, SUM(outcome = 'failed') AS failed FROM job_runs GROUP BY name, holder ORDER BY name, MIN(id)") as [Array<any>, unknown]
    const switchFlows = [...flowsStarted.values()].filter((e) => e.data.kind === "switch")
    const switchOutcomes: Record<string, number> = {}
    for (const s of switchFlows) {
      const f = finished.get(s.data.flowId)
      const key = f === undefined ? "open" : f.data.result === "succeeded" ? "succeeded" : `${f.data.result}: ${f.data.reason ?? ""}`
      switchOutcomes[key] = (switchOutcomes[key] ?? 0) + 1
    }
    const facts: Facts = {
      events: events.length,
      commandsByStatus: commandRows.reduce((m: Record<string, number>, c) => ((m[c.status] = (m[c.status] ?? 0) + 1), m), {}),
      switchFlows: switchOutcomes,
      jobRuns: jobRows.map((r) => `${r.name} by ${r.holder}: ${Number(r.runs)} runs${Number(r.failed) > 0 ? ` (${Number(r.failed)} failed)` : ""}`)
    }
    return { checks: out, facts }
  } finally {
    await db.end()
  }
}

// ---------------------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------------------

let db: PrivateMariaDb | undefined
let slots: Array<ServerSlot> = []
let externalDatabase: { readonly base: string; readonly name: string } | undefined
const unexpectedExits: Array<string> = []

const gitCommit = () => {
  try {
    let commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim()
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).trim()
    if (dirty.length > 0) commit += " (+ uncommitted changes in the tree)"
    return commit
  } catch {
    return "unknown"
  }
}

const stamp = new Date().toISOString().replaceAll(/[-:]/g, "").replace("T", "-").slice(0, 15)
const resultsDir = path.join(root, "chaos-results")
const base = path.join(resultsDir, `chaos-${stamp}-${runId}`)
const logDir = `${base}-logs`

const main = async () => {
  const commit = gitCommit()
  console.log(`chaos ${runId}: ${opts.agents} agents, ${opts.durationS} s of chaos, SIGKILL a server every ${opts.killEveryS} s, ` +
    `database restart: ${externalDb !== undefined ? "none (CHAOS_MYSQL_URL)" : opts.dbRestart === "none" ? "none" : `${opts.dbRestart} at ${dbRestartAtS} s`} · commit ${commit}`)

  // The database.
  let dbUrl: string
  if (externalDb !== undefined) {
    const name = `spotfleet_chaos_${runId}`
    const c = await mysql.createConnection({ uri: externalDb })
    await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
    await c.end()
    externalDatabase = { base: externalDb, name }
    const u = new URL(externalDb)
    u.pathname = `/${name}`
    dbUrl = u.toString()
    console.log(`database: ${name} on ${u.host} (CHAOS_MYSQL_URL; it is not restarted)`)
  } else {
    db = new PrivateMariaDb(mkdtempSync(path.join(os.tmpdir(), "spotfleet-chaos-")))
    await db.install()
    await db.start()
    await db.admin("CREATE DATABASE spotfleet CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    dbUrl = db.url("spotfleet")
    console.log(`database: private MariaDB (pid ${db.child?.pid}) on 127.0.0.1:${db.port}, data in ${db.datadir}`)
  }

  // Three servers on fixed ports; A first (it migrates), then B and C.
  tenantToken = `chaos-${crypto.randomUUID()}`
  const env = {
    MYSQL_URL: dbUrl,
    NODE_ENV: "production",
    SPOTFLEET_DEMO: "0",
    SPOTFLEET_ADMIN_TOKEN: `admin-${crypto.randomUUID()}`,
    SPOTFLEET_BOOTSTRAP_TENANT_TOKEN: tenantToken,
    SPOTFLEET_DRAIN_SECONDS: "5"
  }
  slots = []
  for (const name of ["A", "B", "C"]) slots.push(new ServerSlot(name, await freePort(), env, root, logDir))
  for (const s of slots) {
    s.onUnexpectedExit = (slot, code, signal) => {
      const what = `server ${slot.name} (generation ${slot.generation}) exited on its own: code ${code}, signal ${signal}`
      unexpectedExits.push(`${sinceChaos()} s: ${what}`)
      note(`!!! ${what}; restarting it`)
      slot.startRetrying().then(
        (r) => note(`server ${slot.name} back up (generation ${slot.generation}, pid ${slot.pid}) after ${(r.millis / 1000).toFixed(1)} s`),
        (e) => note(`server ${slot.name} could not be restarted: ${String(e)}`)
      )
    }
  }
  const startA = await slots[0]!.start()
  const startBC = await Promise.all(slots.slice(1).map((s) => s.start()))
  console.log(`servers: ${slots.map((s) => `${s.name} pid ${s.pid} ${s.url}`).join(" · ")} (start ${[startA, ...startBC].map((m) => (m / 1000).toFixed(1)).join("/")} s)`)
  client = new RoundRobinClient(slots.map((s) => ({ name: s.name, url: s.url })), opts.timeoutS * 1000)
  const tenant = await client.call("tenant", "GET", "/api/tenant", undefined, auth(), { giveUpMs: 30_000 })
  if (!ok(tenant)) throw new Error(`GET /api/tenant: ${JSON.stringify((tenant as { body?: unknown } | undefined)?.body)}`)
  const tenantId = tenant.body.id as string

  // The fleet.
  const regStart = Date.now()
  const registered: Array<SimAgent | undefined> = new Array(opts.agents)
  let nextReg = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (nextReg < opts.agents) {
      const n = nextReg++
      registered[n] = await register(n)
    }
  }))
  for (const a of registered) if (a !== undefined) agents.push(a)
  console.log(`fleet: ${agents.length} agents registered in ${((Date.now() - regStart) / 1000).toFixed(1)} s ` +
    `(${manualReplicas} with a manual replica); heartbeat ${opts.heartbeatS} s, poll ${opts.pollS} s, price report ${opts.priceS} s`)
  fleetRunning = true
  const loops = agents.flatMap((a) => [
    every(opts.heartbeatS * 1000, () => heartbeat(a)),
    every(opts.pollS * 1000, () => poll(a)),
    every(opts.priceS * 1000, () => priceReport(a))
  ])

  // Warm-up: the fleet settles (manual replicas launch) before the chaos starts.
  await sleep(15_000)

  // The chaos.
  chaosStart = Date.now()
  chaosRunning = true
  note(`chaos starts: ${agents.length} agents, servers ${slots.map((s) => s.name).join(", ")}`)
  const events = chaosEvents()
  const restarts: Array<Promise<void>> = []
  const kills: Array<{ server: string; at: number; pid: number | undefined; upAfterS?: number; attempts?: number }> = []
  const killer = (async () => {
    for (let k = 1; k * opts.killEveryS < opts.durationS; k++) {
      await sleep(Math.max(0, chaosStart + k * opts.killEveryS * 1000 - Date.now()))
      const slot = slots[(k - 1) % slots.length]!
      const pid = slot.pid
      const record: (typeof kills)[number] = { server: slot.name, at: sinceChaos(), pid }
      kills.push(record)
      await slot.kill()
      note(`SIGKILL server ${slot.name} (pid ${pid}, generation ${slot.generation}); restarting it`)
      restarts.push(slot.startRetrying().then(
        (r) => {
          record.upAfterS = Math.round(r.millis / 100) / 10
          record.attempts = r.attempts
          note(`server ${slot.name} up again (pid ${slot.pid}, generation ${slot.generation}) ${record.upAfterS} s after the kill${r.attempts > 1 ? ` (${r.attempts} attempts)` : ""}`)
        },
        (e) => note(`!!! server ${slot.name} did not come back: ${String(e).slice(0, 300)}`)
      ))
    }
  })()
  const dbRestarts: Array<{ how: string; at: number; downForS?: number }> = []
  const dbChaos = (async () => {
    if (db === undefined || opts.dbRestart === "none" || dbRestartAtS >= opts.durationS) return
    await sleep(Math.max(0, chaosStart + dbRestartAtS * 1000 - Date.now()))
    const record: (typeof dbRestarts)[number] = { how: opts.dbRestart === "kill" ? "SIGKILL (crash)" : "clean shutdown", at: sinceChaos() }
    dbRestarts.push(record)
    const pid = db.child?.pid
    const down = Date.now()
    if (opts.dbRestart === "kill") await db.kill()
    else await db.stop()
    note(`MariaDB ${opts.dbRestart === "kill" ? "killed (SIGKILL)" : "shut down cleanly"} (pid ${pid}); starting it again on the same data directory in ${opts.dbDownS} s`)
    await sleep(opts.dbDownS * 1000)
    await db.start(120_000)
    record.downForS = Math.round((Date.now() - down) / 100) / 10
    note(`MariaDB up again (pid ${db.child?.pid}) after ${record.downForS} s`)
  })()
  const progress = setInterval(() => {
    const c = (e: string) => client.counts.get(e)
    const all = [...client.counts.values()]
    console.log(
      `[chaos ${sinceChaos().toFixed(0).padStart(4)} s] servers up ${slots.filter((s) => s.up).map((s) => s.name).join("") || "-"} · ` +
        `attempts ${all.reduce((a, x) => a + x.attempts, 0)} retries ${all.reduce((a, x) => a + x.retries, 0)} · ` +
        `polls ok ${c("pending-commands")?.acked ?? 0} · executed ${executions.size} · notices ${counters.terminationNotices}T/${counters.rebalanceNotices}R · ` +
        `switches ${counters.switchesRequested} · reclaims ${counters.reclaims} · in flight ${client.inFlight} · tasks ${work}`
    )
  }, 10_000)
  await sleep(Math.max(0, chaosStart + opts.durationS * 1000 - Date.now()))
  chaosRunning = false
  await Promise.all([killer, dbChaos, events])
  await Promise.all(restarts)
  note("chaos over: no more kills, notices or switches")
  for (const s of slots) {
    if (!s.up) {
      note(`server ${s.name} is down at the end of the chaos; starting it`)
      await s.startRetrying().catch((e) => note(`!!! server ${s.name}: ${String(e)}`))
    }
  }

  // Grace: the fleet runs on until no flow or notice is open (and the simulator is idle), at most --grace.
  const graceStart = Date.now()
  const probe = await mysql.createConnection({ uri: dbUrl })
  let open = -1
  try {
    while (Date.now() - graceStart < opts.graceS * 1000) {
      const [rows] = await probe.query("SELECT COUNT(*) AS n FROM agents WHERE tenant_id = ? AND (flow IS NOT NULL OR notice IS NOT NULL)", [tenantId]) as [Array<any>, unknown]
      open = Number(rows[0].n)
      if (open === 0 && work === 0) break
      await sleep(2000)
    }
  } finally {
    await probe.end()
  }
  note(`grace over after ${((Date.now() - graceStart) / 1000).toFixed(0)} s: ${open} agents with an open flow or notice, ${work} simulator tasks in progress`)
  fleetRunning = false
  fleetStopped()
  clearInterval(progress)
  await Promise.all(loops)
  const drainDeadline = Date.now() + 60_000
  while (work > 0 && Date.now() < drainDeadline) await sleep(200)
  note(`fleet stopped (${work} tasks still in progress)`)

  // Checks.
  const { checks: results, facts } = await checks(dbUrl, tenantId)
  const endpoints = [...client.counts.entries()].sort(([a], [b]) => a.localeCompare(b))
  const report = {
    runId,
    command,
    date: new Date().toISOString(),
    commit,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", ramGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    options: { ...opts, dbRestartAtS, database: externalDb !== undefined ? "CHAOS_MYSQL_URL (no restart)" : "private MariaDB" },
    timeline,
    kills,
    dbRestarts,
    unexpectedExits,
    fleet: { agents: agents.length, ...counters, commandsExecuted: executions.size },
    requests: Object.fromEntries(endpoints),
    facts,
    checks: results,
    pass: results.every((c) => c.pass)
  }
  return report
}

type Report = Awaited<ReturnType<typeof main>>

const markdown = (r: Report): string => {
  const l: Array<string> = []
  l.push(`### npm run chaos — ${r.fleet.agents} agents, ${r.options.durationS} s of chaos (${r.date.slice(0, 16).replace("T", " ")} UTC): ${r.pass ? "**PASS**" : "**FAIL**"}`)
  l.push("")
  l.push(`- Command: \`${r.command}\` · run ${r.runId} · commit ${r.commit}`)
  l.push(`- Machine: ${r.machine.cpuModel}, ${r.machine.cpus} cores, ${r.machine.ramGiB} GiB RAM, Node ${r.machine.node}`)
  l.push(
    `- Set-up: 3 example-server processes (node + tsx) on one ${r.options.database}; round-robin client; heartbeat ${r.options.heartbeatS} s, ` +
      `poll ${r.options.pollS} s, price report ${r.options.priceS} s per agent; ${r.options.noticesPerMinute} notices/min ` +
      `(${r.options.terminationShare * 100}% termination, reclaimed ${r.options.terminationLeadS} s later), ${r.options.switchesPerMinute} manual switches/min; ` +
      `boot ${r.options.bootS} s median, ${r.options.launchFailure * 100}% launch failures`
  )
  l.push(
    `- Chaos: ${r.kills.length} SIGKILLs (${r.kills.map((k) => `${k.server} at ${k.at} s, up ${k.upAfterS ?? "?"} s later`).join("; ")}); ` +
      `database: ${r.dbRestarts.length === 0 ? "not restarted" : r.dbRestarts.map((d) => `${d.how} at ${d.at} s, down ${d.downForS ?? "?"} s`).join("; ")}`
  )
  if (r.unexpectedExits.length > 0) l.push(`- Servers that exited on their own: ${r.unexpectedExits.join("; ")}`)
  const unauthorized = Object.entries(r.requests as Record<string, EndpointCounts>).map(([e, c]) => [e, c.rejected["401 Unauthorized"] ?? 0] as const).filter(([, n]) => n > 0)
  if (unauthorized.length > 0) {
    l.push(
      `- Observation: ${unauthorized.reduce((a, [, n]) => a + n, 0)} requests with the valid tenant token were answered 401 ` +
        `(${unauthorized.map(([e, n]) => `${e} ${n}`).join(", ")}) — a server that cannot check a token (database down, token not cached) ` +
        "answers 401 \"credentials could not be checked\"; an agent takes 401 as final, so those calls were not retried"
    )
  }
  l.push(
    `- Fleet: ${r.fleet.terminationNotices} termination and ${r.fleet.rebalanceNotices} rebalance notices, ${r.fleet.reclaims} reclaims, ` +
      `${r.fleet.switchesRequested} manual switches requested; ${r.fleet.commandsExecuted} commands executed (${r.fleet.launches} launches, ` +
      `${r.fleet.launchFailures} failed launches, ${r.fleet.promotions} promotions, ${r.fleet.terminations} terminations, ${r.fleet.configsApplied} other)`
  )
  l.push("")
  l.push("| endpoint | calls | attempts | retries | acknowledged (2xx) | final 4xx | given up | failed attempts |")
  l.push("|---|---:|---:|---:|---:|---|---:|---|")
  const fmtMap = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${k} × ${v}`).join(", ") || "–"
  for (const [e, c] of Object.entries(r.requests) as Array<[string, EndpointCounts]>) {
    l.push(`| ${e} | ${c.calls} | ${c.attempts} | ${c.retries} | ${c.acked} | ${fmtMap(c.rejected)} | ${c.gaveUp} | ${fmtMap(c.failures)} |`)
  }
  l.push("")
  l.push("(heartbeats and polls are not retried — the next one follows on schedule; their failures count as given up.)")
  l.push("")
  for (const c of r.checks) {
    l.push(`- **${c.pass ? "PASS" : "FAIL"}** ${c.name}`)
    for (const e of c.evidence) l.push(`  - ${e.trim()}`)
  }
  l.push("")
  l.push(`- Manual switch flows: ${Object.entries(r.facts.switchFlows).map(([k, v]) => `${v} ${k}`).join("; ") || "none"}`)
  l.push(`- Commands by status: ${Object.entries(r.facts.commandsByStatus).map(([k, v]) => `${k} ${v}`).join(", ")}; ${r.facts.events} events`)
  l.push(`- Job runs: ${r.facts.jobRuns.join("; ")}`)
  l.push("")
  l.push("Timeline (seconds since the chaos started):")
  l.push("")
  for (const t of r.timeline) l.push(`- ${t.t} s: ${t.what}`)
  return l.join("\n")
}

const cleanup = async () => {
  fleetRunning = false
  chaosRunning = false
  client?.destroy()
  await Promise.all(slots.map((s) => s.stop().catch(() => undefined)))
  if (externalDatabase !== undefined) {
    const c = await mysql.createConnection({ uri: externalDatabase.base })
    await c.query(`DROP DATABASE IF EXISTS \`${externalDatabase.name}\``).catch((e) => console.error(String(e)))
    await c.end()
    externalDatabase = undefined
  }
  if (db !== undefined) {
    const d = db
    db = undefined
    if (argv.keep) {
      await d.stop()
      console.log(`database folder kept: ${d.dir}`)
    } else {
      await d.destroy()
    }
  }
}

let interrupted = false
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupted) process.exit(130)
  interrupted = true
  console.error(`\n${signal}: stopping the servers and the database…`)
  cleanup().finally(() => process.exit(130))
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)

let report: Report | undefined
try {
  report = await main()
} catch (e) {
  console.error(`chaos failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`)
  process.exitCode = 1
} finally {
  if (!interrupted) await cleanup()
}
if (report !== undefined && !interrupted) {
  const md = markdown(report)
  console.log(`\n${md}\n`)
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + "\n")
  writeFileSync(`${base}.md`, md + "\n")
  console.log(`saved ${path.relative(root, base)}.json and .md (server logs in ${path.relative(root, logDir)}/)`)
  for (const c of report.checks) console.log(`${c.pass ? "PASS" : "FAIL"}  ${c.name}`)
  if (!report.pass) process.exitCode = 1
}
