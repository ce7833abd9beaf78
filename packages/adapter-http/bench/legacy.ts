/**
 * `npm run bench:legacy`: the agent's three hot calls — heartbeat, command poll, price report — in
 * both dialects, in one run against the example server on MariaDB/MySQL at a fixed concurrency,
 * beside the bare node:http + mysql2 server of `bench:http` (bare-server.ts: v1's statements for
 * each call, nothing else). Per call the runs alternate v1 · v5 · bare · bare · v5 · v1, so drift
 * in the machine's load hits all alike. Prints requests/s, p50 and p99 per call, dialect and
 * server, and the ratios v5 / v1 (target ≥ 0.8) and v1 / bare.
 *
 * The calls, as each agent makes them:
 * - v1: `POST /api/agents/{id}/heartbeat` `{}`, `GET /api/agents/{id}/pending-commands`,
 *   `POST /api/agents/{id}/pricing-report` with three pools and an `X-Request-ID`;
 * - v5 (the Python agent): `POST /api/agents/{id}/heartbeat` with its inventory (its own
 *   instance and an unrelated one: reconciled, nothing changes), `GET
 *   /api/agents/{id}/commands/pending` with `Content-Type: application/json`, `POST
 *   /api/agents/{id}/pricing-report` with three spot pools and one on-demand price (v5Bodies.ts).
 *
 * The example server runs with `SPOTFLEET_RATE_LIMIT=false` (a throughput bench loads 50 agents
 * far beyond any real agent's rate; the bare server has no limits).
 *
 * Environment: BENCH_MYSQL_URL (default TEST_MYSQL_URL or mysql://root@127.0.0.1:3306),
 * BENCH_CONCURRENCY (32), BENCH_SECONDS (10 per call, dialect and server), BENCH_AGENTS (50 per
 * dialect), BENCH_CALLS (`heartbeat,poll,pricing-report`).
 */
import { keepAlive, load, row, type Run, send, summarize } from "./load.js"
import { admin, freshDatabase, startProcess, stop } from "./support.js"
import * as v5 from "./v5Bodies.js"

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const agentCount = Number(process.env.BENCH_AGENTS ?? 50)
type Call = "heartbeat" | "poll" | "pricing-report"
const callNames = (process.env.BENCH_CALLS ?? "heartbeat,poll,pricing-report").split(",") as Array<Call>
const tenantToken = `bench-${crypto.randomUUID()}`
const { database, url: dbUrl } = freshDatabase("spotfleet_bench")
const agent = keepAlive(concurrency)
const auth = { authorization: `Bearer ${tenantToken}` }
const json = { ...auth, "content-type": "application/json" }
const pools = ["t3.medium.us-east-1a", "t3.medium.us-east-1b", "m5.large.us-east-1a"]
let requestIds = 0

interface Agent {
  readonly id: string
  readonly instanceId: string
}

/** One v1 call of an agent. */
const v1Call = (baseUrl: string, call: Call, a: Agent) => {
  switch (call) {
    case "heartbeat":
      return send(agent, `${baseUrl}/api/agents/${a.id}/heartbeat`, "POST", json, "{}")
    case "poll":
      return send(agent, `${baseUrl}/api/agents/${a.id}/pending-commands`, "GET", auth, undefined)
    case "pricing-report":
      return send(
        agent,
        `${baseUrl}/api/agents/${a.id}/pricing-report`,
        "POST",
        { ...json, "x-request-id": `bench-${process.pid}-${requestIds++}` },
        JSON.stringify({ prices: pools.map((pool, i) => ({ pool, price: 0.0123 + i / 1000 })) })
      )
  }
}

/** The same call of a v5 agent, as the Python agent sends it. */
const v5Bodies = new Map<string, { heartbeat: string; pricing: string }>()
const v5Call = (baseUrl: string, call: Call, a: Agent) => {
  const bodies = v5Bodies.get(a.id)!
  switch (call) {
    case "heartbeat":
      return send(agent, `${baseUrl}/api/agents/${a.id}/heartbeat`, "POST", json, bodies.heartbeat)
    case "poll":
      return send(agent, `${baseUrl}${v5.pollPath(a.id)}`, "GET", json, undefined)
    case "pricing-report":
      return send(agent, `${baseUrl}/api/agents/${a.id}/pricing-report`, "POST", json, bodies.pricing)
  }
}

const register = async (baseUrl: string, body: unknown, idOf: (answer: Record<string, unknown>) => unknown): Promise<string> => {
  const res = await fetch(`${baseUrl}/api/agents/register`, { method: "POST", headers: json, body: JSON.stringify(body) })
  const answer = (await res.json()) as Record<string, unknown>
  if (res.status !== 200 || typeof idOf(answer) !== "string") throw new Error(`register failed: ${res.status} ${JSON.stringify(answer)}`)
  return idOf(answer) as string
}

const main = async () => {
  await admin(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
  try {
    console.log(
      `agent call benchmark (v1 and v5 dialects): ${callNames.join(", ")} · concurrency ${concurrency}, ` +
        `${seconds} s per call, dialect and server, ${agentCount} agents per dialect, database ${database}`
    )
    const spotfleet = await startProcess(["examples/server/src/main.ts"], {
      MYSQL_URL: dbUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      NODE_ENV: "production",
      SPOTFLEET_DEMO: "0",
      SPOTFLEET_JOBS: "0",
      SPOTFLEET_ADMIN_TOKEN: `admin-${crypto.randomUUID()}`,
      SPOTFLEET_BOOTSTRAP_TENANT_TOKEN: tenantToken,
      SPOTFLEET_RATE_LIMIT: "false"
    })
    const v1Agents: Array<Agent> = []
    const v5Agents: Array<Agent> = []
    for (let i = 0; i < agentCount; i++) {
      const instanceId = `i-bench${String(i).padStart(10, "0")}`
      const id = await register(
        spotfleet.url,
        { logicalAgentId: `bench-${i}`, instanceId, pool: "t3.medium.us-east-1a" },
        (a) => a.agentId
      )
      v1Agents.push({ id, instanceId })
      const legacyInstance = `i-legacy${String(i).padStart(9, "0")}`
      const legacyId = await register(spotfleet.url, v5.register(legacyInstance), (a) => a.agent_id)
      v5Agents.push({ id: legacyId, instanceId: legacyInstance })
      v5Bodies.set(legacyId, { heartbeat: JSON.stringify(v5.heartbeat(legacyInstance)), pricing: JSON.stringify(v5.pricingReport(legacyId)) })
    }
    const bare = await startProcess(["packages/adapter-http/bench/bare-server.ts"], { MYSQL_URL: dbUrl })
    const lines: Array<string> = []
    const ratios: Array<string> = []
    let failed = false
    for (const call of callNames) {
      const runV1 = (ms: number) => load(concurrency, ms, (n) => v1Call(spotfleet.url, call, v1Agents[n % v1Agents.length]!))
      const runV5 = (ms: number) => load(concurrency, ms, (n) => v5Call(spotfleet.url, call, v5Agents[n % v5Agents.length]!))
      const runBare = (ms: number) => load(concurrency, ms, (n) => v1Call(bare.url, call, v1Agents[n % v1Agents.length]!))
      await runV1(2000) // warm-up
      await runV5(2000)
      await runBare(2000)
      const half = (seconds * 1000) / 2
      const runs: Record<"v1" | "v5" | "bare", Array<Run>> = { v1: [], v5: [], bare: [] }
      runs.v1.push(await runV1(half))
      runs.v5.push(await runV5(half))
      runs.bare.push(await runBare(half))
      runs.bare.push(await runBare(half))
      runs.v5.push(await runV5(half))
      runs.v1.push(await runV1(half))
      const r1 = summarize(runs.v1)
      const r5 = summarize(runs.v5)
      const rb = summarize(runs.bare)
      lines.push(row(call, "spotfleet v1 (MariaDB)", r1))
      lines.push(row(call, "spotfleet v5 (MariaDB)", r5))
      lines.push(row(call, "bare node:http + mysql2 (v1)", rb))
      const ratio = `${call.padEnd(15)} v5 / v1 ${(r5.rps / r1.rps).toFixed(2)} ${r5.rps / r1.rps >= 0.8 ? "(≥ 0.8: PASS)" : "(< 0.8: FAIL)"} · ` +
        `v1 / bare ${(r1.rps / rb.rps).toFixed(2)} · v5 / bare ${(r5.rps / rb.rps).toFixed(2)}`
      lines.push(ratio)
      ratios.push(ratio)
      console.log(lines.slice(-4).join("\n"))
      if (r1.errors > 0 || r5.errors > 0 || rb.errors > 0) failed = true
    }
    await stop(spotfleet.child)
    await stop(bare.child)
    console.log(`\nsummary (concurrency ${concurrency}, ${seconds} s per call, dialect and server):\n${lines.join("\n")}`)
    if (failed) process.exitCode = 1
  } finally {
    agent.destroy()
    await admin(`DROP DATABASE IF EXISTS \`${database}\``)
  }
}

await main()
