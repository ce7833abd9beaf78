/**
 * Starts the example server (as `npm start` does), runs a scripted flow over HTTP, scrapes
 * `/metrics` and parses it with a Prometheus text-format parser: every metric of DESIGN.md §10 is
 * there with the figures the flow implies. Then every metric the Grafana dashboard and the rules
 * query is checked against that scrape.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parser } from "@prometheus-io/lezer-promql"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import parse from "parse-prometheus-text-format"
import YAML from "yaml"

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const root = path.resolve(here, "../..")

/**
 * DESIGN.md §10, in its order, plus the invariant gauge the multiple-PRIMARY alert reads and the
 * reconciliation and spend families (issue 20).
 */
const designMetrics = [
  ["spotfleet_heartbeats_received_total", "COUNTER"],
  ["spotfleet_heartbeats_missed_total", "COUNTER"],
  ["spotfleet_agents", "GAUGE"],
  ["spotfleet_instances", "GAUGE"],
  ["spotfleet_commands_total", "COUNTER"],
  ["spotfleet_command_delivery_seconds", "HISTOGRAM"],
  ["spotfleet_switch_downtime_seconds", "HISTOGRAM"],
  ["spotfleet_switches_total", "COUNTER"],
  ["spotfleet_emergency_promotion_seconds", "HISTOGRAM"],
  ["spotfleet_emergency_events_total", "COUNTER"],
  ["spotfleet_savings_dollars_total", "COUNTER"],
  ["spotfleet_baseline_cost_dollars_total", "COUNTER"],
  ["spotfleet_ml_decision_seconds", "HISTOGRAM"],
  ["spotfleet_ml_decisions_total", "COUNTER"],
  ["spotfleet_consolidation_last_success_timestamp_seconds", "GAUGE"],
  ["spotfleet_consolidation_points_total", "COUNTER"],
  ["spotfleet_optimistic_conflicts_total", "COUNTER"],
  ["spotfleet_zombies", "GAUGE"],
  ["spotfleet_agents_with_multiple_primaries", "GAUGE"],
  ["spotfleet_spend_dollars_total", "COUNTER"],
  ["spotfleet_leaked_spend_dollars_total", "COUNTER"],
  ["spotfleet_instances_unreconciled", "GAUGE"],
  ["spotfleet_instances_unreconciled_oldest_seconds", "GAUGE"],
  ["spotfleet_orphans_adopted_total", "COUNTER"],
  ["spotfleet_terminations_retried_total", "COUNTER"]
] as const

const ADMIN = `admin-${crypto.randomUUID()}`
const TENANT = `tenant-${crypto.randomUUID()}`

let child: ChildProcess | undefined
let output = ""
let base = ""
let scrape = ""
let summary: any

const call = async (method: string, url: string, body?: unknown, token = TENANT) => {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  assert.strictEqual(res.status, 200, `${method} ${url}: ${res.status} ${text}`)
  return text.length === 0 ? undefined : JSON.parse(text)
}

const waitFor = async (pattern: RegExp, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const m = output.match(pattern)
    if (m !== null) return m
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Runs the agent's side of its pending commands: launches get a new cloud id. */
const executeAll = async (agentId: string, expected: ReadonlyArray<string>, launchedId?: string) => {
  const { commands } = await call("GET", `/api/agents/${agentId}/pending-commands`)
  assert.deepStrictEqual(commands.map((c: { type: string }) => c.type), expected)
  for (const c of commands) {
    await call("POST", `/api/agents/${agentId}/commands/${c.id}/executed`, {
      success: true,
      ...(c.type === "LAUNCH_INSTANCE" ? { instanceId: launchedId } : {})
    })
  }
  return commands as Array<{ id: string; requestId: string; type: string }>
}

beforeAll(async () => {
  child = spawn(process.execPath, [path.join(root, "scripts/start.mjs")], {
    cwd: root,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      NODE_ENV: "",
      MYSQL_URL: "",
      SPOTFLEET_DEMO: "0",
      SPOTFLEET_ADMIN_TOKEN: ADMIN,
      SPOTFLEET_BOOTSTRAP_TENANT_TOKEN: TENANT
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  base = (await waitFor(/listening on (http:\/\/localhost:\d+)/))[1]!
  await waitFor(/metrics:/)

  // register, heartbeats
  const { agentId } = await call("POST", "/api/agents/register", { logicalAgentId: "web-1", instanceId: "i-first", pool: "t3.medium.us-east-1a" })
  for (let i = 0; i < 3; i++) await call("POST", `/api/agents/${agentId}/heartbeat`, { instanceId: "i-first" })
  // a replica, running
  await call("POST", `/api/agents/${agentId}/replicas`, { pool: "t3.medium.us-east-1b" })
  await executeAll(agentId, ["LAUNCH_INSTANCE"], "i-replica")
  // a termination notice with the replica ready → emergency promotion
  await call("POST", `/api/agents/${agentId}/termination-notice`, { instanceId: "i-first" })
  await executeAll(agentId, ["PROMOTE_REPLICA_TO_PRIMARY"])
  // a manual switch, with the agent's switch-report
  await call("POST", `/api/agents/${agentId}/switch`, { pool: "t3.large.us-east-1c" })
  await executeAll(agentId, ["LAUNCH_INSTANCE"], "i-switched")
  const [promote] = await executeAll(agentId, ["PROMOTE_REPLICA_TO_PRIMARY"])
  await call("POST", `/api/agents/${agentId}/switch-report`, {
    fromInstanceId: "i-replica",
    toInstanceId: "i-switched",
    downtimeSeconds: 2.5,
    request_id: promote!.requestId
  })
  // a price report
  const report = await call("POST", `/api/agents/${agentId}/pricing-report`, {
    instanceId: "i-switched",
    prices: [{ pool: "t3.large.us-east-1c", price: 0.031 }, { pool: "t3.medium.us-east-1b", price: 0.012 }]
  })
  assert.strictEqual(report.accepted, 2)

  const res = await fetch(`${base}/metrics`)
  assert.strictEqual(res.status, 200)
  assert.match(res.headers.get("content-type") ?? "", /text\/plain/)
  scrape = await res.text()
  summary = await call("GET", "/api/admin/metrics/summary", undefined, ADMIN)
}, 90_000)

afterAll(async () => {
  if (child === undefined || child.exitCode !== null) return
  const exited = new Promise((resolve) => child!.once("exit", resolve))
  child.kill("SIGTERM")
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
  if (child.exitCode === null) child.kill("SIGKILL")
})

const families = () => new Map(parse(scrape).map((f) => [f.name, f]))
const value = (name: string, labels: Record<string, string> = {}) => {
  const family = families().get(name)
  assert.isDefined(family, `${name} is exported`)
  const matching = family!.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  return matching.reduce((n, m) => n + Number(m.value ?? m.count ?? 0), 0)
}
/**
 * One series of a histogram. parse-prometheus-text-format 1.1 folds every series of a histogram
 * family into one and drops `_sum`/`_count` of labelled series, so each series (its label set
 * without `le`) is handed to it alone, with its labels taken off and checked here.
 */
const histogram = (name: string, labels: Record<string, string> = {}) => {
  const family = families().get(name)
  assert.isDefined(family, `${name} is exported`)
  assert.strictEqual(family!.type, "HISTOGRAM")
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(",")
  const lines = scrape.split("\n").flatMap((line) => {
    const m = line.match(new RegExp(`^(${name}_(?:bucket|sum|count))(?:\\{(.*)\\})? (\\S+)$`))
    if (m === null) return []
    const pairs = (m[2] ?? "").split(",").filter((p) => p !== "")
    const le = pairs.find((p) => p.startsWith("le="))
    if (pairs.filter((p) => !p.startsWith("le=")).sort().join(",") !== wanted) return []
    return [`${m[1]}${le === undefined ? "" : `{${le}}`} ${m[3]}`]
  })
  assert.isAbove(lines.length, 0, `${name}{${wanted}}`)
  const [parsed] = parse(`# TYPE ${name} histogram\n${lines.join("\n")}\n`)
  const m = parsed!.metrics[0]!
  return { count: Number(m.count), sum: Number(m.sum), buckets: m.buckets! }
}

describe("/metrics after a scripted flow", () => {
  it("exports every metric of DESIGN.md §10 with # HELP and # TYPE", () => {
    const found = families()
    for (const [name, type] of designMetrics) {
      const family = found.get(name)
      assert.isDefined(family, `${name} missing from the scrape`)
      assert.strictEqual(family!.type, type, name)
      assert.isAbove(family!.help.length, 0, `${name} has no HELP`)
      assert.include(scrape, `# TYPE ${name} ${type.toLowerCase()}\n`)
    }
  })

  const promtool = spawnSync("promtool", ["--version"]).status === 0
  it.skipIf(!promtool && process.env.CI !== "true")("its spotfleet families pass promtool check metrics (exposition format and naming lint)", () => {
    // Only spotfleet's families: the effect_fiber_* runtime metrics Effect adds are not named by us.
    const ours = scrape.split("\n").filter((l) => /^(# (HELP|TYPE) )?spotfleet_/.test(l)).join("\n") + "\n"
    const r = spawnSync("promtool", ["check", "metrics"], { input: ours, encoding: "utf8" })
    assert.strictEqual(r.status, 0, `${r.stdout}${r.stderr}`)
  })

  it("counts heartbeats, agents, instances and the invariant gauges", () => {
    assert.strictEqual(value("spotfleet_heartbeats_received_total"), 3)
    assert.strictEqual(value("spotfleet_heartbeats_missed_total"), 0)
    assert.strictEqual(value("spotfleet_agents", { status: "online" }), 1)
    assert.strictEqual(value("spotfleet_agents", { status: "offline" }), 0)
    assert.strictEqual(value("spotfleet_instances", { role: "PRIMARY" }), 1)
    // the first PRIMARY and the replica were demoted (ZOMBIE or TERMINATED per autoTerminate)
    assert.strictEqual(value("spotfleet_instances", { role: "ZOMBIE" }) + value("spotfleet_instances", { role: "TERMINATED" }), 2)
    assert.strictEqual(value("spotfleet_zombies"), value("spotfleet_instances", { role: "ZOMBIE" }))
    assert.strictEqual(value("spotfleet_agents_with_multiple_primaries"), 0)
    assert.strictEqual(value("spotfleet_optimistic_conflicts_total"), 0)
  })

  it("counts commands and their delivery latency", () => {
    assert.strictEqual(value("spotfleet_commands_total", { type: "LAUNCH_INSTANCE", status: "succeeded" }), 2)
    assert.strictEqual(value("spotfleet_commands_total", { type: "PROMOTE_REPLICA_TO_PRIMARY", status: "succeeded" }), 2)
    assert.strictEqual(value("spotfleet_commands_total", { type: "PROMOTE_REPLICA_TO_PRIMARY", status: "delivered" }), 2)
    assert.strictEqual(histogram("spotfleet_command_delivery_seconds").count, value("spotfleet_commands_total", { status: "delivered" }))
  })

  it("records the emergency promotion and both switches with their downtime", () => {
    assert.strictEqual(value("spotfleet_emergency_events_total", { kind: "termination", result: "received" }), 1)
    assert.strictEqual(value("spotfleet_emergency_events_total", { kind: "termination", result: "promoted" }), 1)
    assert.strictEqual(value("spotfleet_emergency_events_total", { result: "failed" }), 0)
    const promotion = histogram("spotfleet_emergency_promotion_seconds")
    assert.strictEqual(promotion.count, 1)
    assert.strictEqual(Number(promotion.buckets["120"]), 1, "promoted within 2 minutes")
    assert.strictEqual(value("spotfleet_switches_total", { trigger: "emergency", result: "succeeded" }), 1)
    assert.strictEqual(value("spotfleet_switches_total", { trigger: "manual", result: "succeeded" }), 1)
    assert.strictEqual(value("spotfleet_switches_total", { result: "failed" }), 0)
    const derived = histogram("spotfleet_switch_downtime_seconds", { source: "derived" })
    assert.strictEqual(derived.count, 2, "promote delivered → acknowledged, once per switch")
    assert.isBelow(derived.sum, 10)
    const agent = histogram("spotfleet_switch_downtime_seconds", { source: "agent" })
    assert.strictEqual(agent.count, 1)
    assert.strictEqual(agent.sum, 2.5)
    assert.strictEqual(Number(agent.buckets["2"]), 0)
    assert.strictEqual(Number(agent.buckets["3"]), 1)
  })

  it("exports the savings, ML and consolidation families at their values for this flow", () => {
    // No accrual, decision or consolidation ran in this flow: the families are there at zero.
    assert.strictEqual(value("spotfleet_savings_dollars_total"), 0)
    assert.strictEqual(value("spotfleet_baseline_cost_dollars_total"), 0)
    assert.strictEqual(value("spotfleet_spend_dollars_total"), 0)
    assert.strictEqual(value("spotfleet_leaked_spend_dollars_total"), 0)
    assert.strictEqual(value("spotfleet_ml_decisions_total"), 0)
    assert.strictEqual(histogram("spotfleet_ml_decision_seconds").count, 0)
    assert.strictEqual(value("spotfleet_consolidation_points_total"), 0)
  })

  it("the admin summary reports the same figures as JSON", () => {
    assert.strictEqual(summary.heartbeats.received, 3)
    assert.strictEqual(summary.heartbeats.missRate, 0)
    assert.strictEqual(summary.fleet.agents.online, 1)
    assert.strictEqual(summary.fleet.agentUptimePercent, 100)
    assert.strictEqual(summary.fleet.instances.PRIMARY, 1)
    assert.strictEqual(summary.fleet.agentsWithMultiplePrimaries, 0)
    assert.strictEqual(summary.emergencies.promotionSeconds.count, 1)
    assert.strictEqual(summary.emergencies.promotedWithin120s, 1)
    assert.strictEqual(summary.switches.downtimeSeconds.agent.count, 1)
    assert.strictEqual(summary.switches.downtimeSeconds.agent.sum, 2.5)
    // one observation in (2, 3]: the p95 interpolates inside that bucket
    assert.closeTo(summary.switches.downtimeSeconds.agent.p95, 2.95, 1e-9)
    assert.strictEqual(summary.switches.downtimeSeconds.derived.count, 2)
    assert.deepStrictEqual(
      summary.switches.byTriggerAndResult.map((s: { labels: Record<string, string>; value: number }) => [s.labels.trigger, s.labels.result, s.value]),
      [["emergency", "succeeded", 1], ["manual", "succeeded", 1]]
    )
    assert.strictEqual(summary.savings.savingsPercent, null)
    assert.strictEqual(summary.savings.netSavingsPercent, null)
    assert.strictEqual(summary.savings.spendDollars, value("spotfleet_spend_dollars_total"))
    assert.strictEqual(summary.fleet.unreconciledInstances, value("spotfleet_instances_unreconciled"))
    assert.strictEqual(summary.fleet.terminationsRetried, value("spotfleet_terminations_retried_total"))
    assert.strictEqual(summary.optimisticConflicts, 0)
  })
})

/** Metric names of the vector selectors of a PromQL expression (parsed, not pattern-matched). */
const metricNames = (expr: string): Array<string> => {
  const names: Array<string> = []
  const tree = parser.parse(expr)
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) throw new Error(`PromQL syntax error at ${node.from} in ${expr}`)
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") names.push(expr.slice(node.from, node.to))
    }
  })
  return names
}

interface Rule {
  readonly record?: string
  readonly alert?: string
  readonly expr: string
  readonly annotations?: { readonly runbook_url?: string }
}
const rulesOf = (file: string): Array<Rule> =>
  YAML.parse(fs.readFileSync(path.join(here, "rules", file), "utf8")).groups.flatMap((g: { rules: Array<Rule> }) => g.rules)

describe("the dashboard and the rules query only what the server exports", () => {
  const recording = rulesOf("recording.yml")
  const alerts = rulesOf("alerts.yml")
  const recorded = new Set(recording.map((r) => r.record!))
  const dashboard = JSON.parse(fs.readFileSync(path.join(here, "grafana/spotfleet.json"), "utf8"))

  const exported = () => {
    const names = new Set<string>()
    for (const f of parse(scrape)) {
      names.add(f.name)
      if (f.type === "HISTOGRAM") for (const s of ["_bucket", "_sum", "_count"]) names.add(f.name + s)
    }
    return names
  }
  /** `up` is Prometheus' own series for the scrape target. */
  const known = (name: string) => exported().has(name) || recorded.has(name) || name === "up"

  it("parses the rules it checks", () => {
    assert.strictEqual(recording.length, 10)
    assert.strictEqual(alerts.length, 10)
    for (const r of [...recording, ...alerts]) assert.isAbove(r.expr.trim().length, 0, JSON.stringify(r))
  })

  it("every panel query of the Grafana dashboard uses exported or recorded metrics", () => {
    const panels = dashboard.panels.filter((p: { type: string }) => p.type !== "row")
    const titles = dashboard.panels.filter((p: { type: string }) => p.type === "row").map((p: { title: string }) => p.title)
    assert.deepStrictEqual(titles, ["Fleet overview", "Emergencies", "Switches and downtime", "Savings", "Pricing pipeline", "ML"])
    assert.isAbove(panels.length, 15)
    for (const panel of panels) {
      assert.isAbove(panel.targets.length, 0, panel.title)
      for (const target of panel.targets) {
        const names = metricNames(target.expr)
        assert.isAbove(names.length, 0, `${panel.title}: ${target.expr}`)
        for (const name of names) assert.isTrue(known(name), `panel "${panel.title}" queries ${name}, which the server does not export`)
      }
    }
  })

  it("every recording and alert rule uses exported metrics or recorded ones defined before", () => {
    for (const rule of [...recording, ...alerts]) {
      for (const name of metricNames(rule.expr)) {
        assert.isTrue(known(name), `${rule.record ?? rule.alert} uses ${name}, which is neither exported nor recorded`)
      }
    }
  })

  it("every alert links an existing section of docs/DEPLOYMENT_RUNBOOK.md", () => {
    const runbook = fs.readFileSync(path.join(root, "docs/DEPLOYMENT_RUNBOOK.md"), "utf8")
    const anchors = new Set(
      [...runbook.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-"))
    )
    for (const alert of alerts) {
      const runbookUrl = alert.annotations?.runbook_url
      assert.isDefined(runbookUrl, `${alert.alert} has a runbook_url`)
      const [file, anchor] = runbookUrl!.split("#")
      assert.strictEqual(file, "docs/DEPLOYMENT_RUNBOOK.md")
      assert.strictEqual(anchor, alert.alert!.toLowerCase())
      assert.isTrue(anchors.has(anchor!), `no heading for #${anchor} in docs/DEPLOYMENT_RUNBOOK.md`)
    }
  })
})
