/**
 * `npm run bench:http`: the agent API v1's three hot calls — heartbeat, command poll, price report
 * (three pools, with `X-Request-ID`) — at a fixed concurrency against the example server on
 * MariaDB/MySQL, and the same load against a bare node:http + mysql2 server running the same SQL
 * for each call on the same database (bare-server.ts). Both servers are up at once and, per call,
 * their runs alternate A B B A so drift in the machine's load hits both alike. Prints requests/s,
 * p50 and p99 per call and server, and the ratio spotfleet / bare.
 *
 * The example server runs with `SPOTFLEET_RATE_LIMIT=false`: a throughput bench loads 50 agents
 * far beyond any real agent's rate (and the bare server has no limits).
 *
 * Environment: BENCH_MYSQL_URL (default TEST_MYSQL_URL or mysql://root@127.0.0.1:3306),
 * BENCH_CONCURRENCY (32), BENCH_SECONDS (10 per call and server), BENCH_AGENTS (50),
 * BENCH_CALLS (`heartbeat,poll,pricing-report`).
 */
import { keepAlive, load as loadFor, row, send as sendOne, summarize } from "./load.js"
import { admin, freshDatabase, startProcess, stop } from "./support.js"

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const agentCount = Number(process.env.BENCH_AGENTS ?? 50)
const callNames = (process.env.BENCH_CALLS ?? "heartbeat,poll,pricing-report").split(",") as Array<Call>
const tenantToken = `bench-${crypto.randomUUID()}`
const { database, url: dbUrl } = freshDatabase("spotfleet_bench")

const agent = keepAlive(concurrency)

type Call = "heartbeat" | "poll" | "pricing-report"

const pools = ["t3.medium.us-east-1a", "t3.medium.us-east-1b", "m5.large.us-east-1a"]
let requestIds = 0

/** One call of an agent: its status. */
const send = (baseUrl: string, call: Call, agentId: string): Promise<number> => {
  const headers: Record<string, string | number> = { authorization: `Bearer ${tenantToken}` }
  let body: string | undefined
  let method = "POST"
  let path = `/api/agents/${agentId}/${call}`
  if (call === "heartbeat") body = "{}"
  else if (call === "poll") {
    method = "GET"
    path = `/api/agents/${agentId}/pending-commands`
  } else {
    body = JSON.stringify({ prices: pools.map((pool, i) => ({ pool, price: 0.0123 + i / 1000 })) })
    headers["x-request-id"] = `bench-${process.pid}-${requestIds++}`
  }
  if (body !== undefined) headers["content-type"] = "application/json"
  return sendOne(agent, `${baseUrl}${path}`, method, headers, body)
}

/** Load from `concurrency` workers for `durationMs`: raw latencies and elapsed seconds. */
const load = (baseUrl: string, call: Call, agentIds: ReadonlyArray<string>, durationMs: number) =>
  loadFor(concurrency, durationMs, (n) => send(baseUrl, call, agentIds[n % agentIds.length]!))

const main = async () => {
  await admin(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
  try {
    console.log(
      `agent call benchmark (v1): ${callNames.join(", ")} · concurrency ${concurrency}, ${seconds} s per call and server, ` +
        `${agentCount} agents, database ${database}`
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
      // A throughput bench, not a fleet: 50 agents at thousands of requests/s each would meet the
      // per-agent limit at once (and the bare server has none).
      SPOTFLEET_RATE_LIMIT: "false"
    })
    const agentIds: Array<string> = []
    for (let i = 0; i < agentCount; i++) {
      const res = await fetch(`${spotfleet.url}/api/agents/register`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${tenantToken}` },
        body: JSON.stringify({ logicalAgentId: `bench-${i}`, instanceId: `i-bench-${i}`, pool: "t3.medium.us-east-1a" })
      })
      if (res.status !== 200) throw new Error(`register failed: ${res.status} ${await res.text()}`)
      agentIds.push(((await res.json()) as { agentId: string }).agentId)
    }
    const bare = await startProcess(["packages/adapter-http/bench/bare-server.ts"], { MYSQL_URL: dbUrl })
    const lines: Array<string> = []
    let failed = false
    for (const call of callNames) {
      await load(spotfleet.url, call, agentIds, 2000) // warm-up
      await load(bare.url, call, agentIds, 2000)
      // Both servers are up (the idle one costs nothing); the rounds alternate, so drift in the
      // machine's load hits both alike: half the time each, in two rounds, the second reversed.
      const half = (seconds * 1000) / 2
      const first = await load(spotfleet.url, call, agentIds, half)
      const bareFirst = await load(bare.url, call, agentIds, half)
      const bareSecond = await load(bare.url, call, agentIds, half)
      const second = await load(spotfleet.url, call, agentIds, half)
      const server = summarize([first, second])
      const baseline = summarize([bareFirst, bareSecond])
      lines.push(row(call, "spotfleet server (MariaDB)", server))
      lines.push(row(call, "bare node:http + mysql2", baseline))
      lines.push(`${call.padEnd(15)} ratio spotfleet / bare (requests/s): ${(server.rps / baseline.rps).toFixed(2)}`)
      console.log(lines.slice(-3).join("\n"))
      if (server.errors > 0 || baseline.errors > 0) failed = true
    }
    await stop(spotfleet.child)
    await stop(bare.child)
    console.log(`\nsummary (concurrency ${concurrency}, ${seconds} s per call and server):\n${lines.join("\n")}`)
    if (failed) process.exitCode = 1
  } finally {
    agent.destroy()
    await admin(`DROP DATABASE IF EXISTS \`${database}\``)
  }
}

await main()
