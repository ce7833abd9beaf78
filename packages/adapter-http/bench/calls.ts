/**
 * `npm run bench:calls`: server CPU per agent call — what decides how many agents one server
 * process can carry. For each store (in-memory, MariaDB) and each way in (the agent fast path,
 * HttpApi alone with `SPOTFLEET_AGENT_FAST_PATH=false`), a server is started and loaded with
 * heartbeats, command polls and price reports in turn at a fixed concurrency; the server
 * process's CPU time (utime + stime from /proc) is divided by the requests it answered.
 * Prints µs of server CPU per call, requests/s, and the fast path's gain (a ratio of the same run).
 *
 * Environment: BENCH_MYSQL_URL (default TEST_MYSQL_URL or mysql://root@127.0.0.1:3306),
 * BENCH_CONCURRENCY (32), BENCH_SECONDS (6 per measurement, after 2 s of warm-up), BENCH_STORES
 * (`memory,mysql`), BENCH_CPU_PROF=<dir> (each server writes a CPU profile there when it stops).
 */
import { readFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { admin, freshDatabase, startProcess, stop } from "./support.js"

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32)
const seconds = Number(process.env.BENCH_SECONDS ?? 6)
const stores = (process.env.BENCH_STORES ?? "memory,mysql").split(",")
const agentCount = 50
const pool = "t3.medium.us-east-1a"

const agent = new Agent({ keepAlive: true, maxSockets: concurrency })

const send = (url: string, method: string, token: string, body?: string, requestId?: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${token}` }
    if (body !== undefined) {
      headers["content-type"] = "application/json"
      headers["content-length"] = Buffer.byteLength(body)
    }
    if (requestId !== undefined) headers["x-request-id"] = requestId
    const req = request(url, { method, agent, headers }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.statusCode ?? 0))
    })
    req.on("error", reject)
    req.end(body)
  })

/** CPU time (ms) a process has used so far. */
const cpuMillis = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10 // clock ticks of 10 ms
}

type Call = "heartbeat" | "poll" | "price report"
const calls: ReadonlyArray<Call> = ["heartbeat", "poll", "price report"]

let sequence = 0
const oneCall = (base: string, token: string, agentId: string, call: Call) => {
  switch (call) {
    case "heartbeat":
      return send(`${base}/api/agents/${agentId}/heartbeat`, "POST", token, "{}")
    case "poll":
      return send(`${base}/api/agents/${agentId}/pending-commands`, "GET", token)
    case "price report":
      return send(
        `${base}/api/agents/${agentId}/pricing-report`,
        "POST",
        token,
        JSON.stringify({ prices: [{ pool, price: 0.0123 }, { pool: "t3.large.us-east-1a", price: 0.0251 }] }),
        `bench-calls-${sequence++}`
      )
  }
}

/** Load one call type for `ms`: requests/s and server CPU µs per request. */
const measure = async (base: string, pid: number, token: string, ids: ReadonlyArray<string>, call: Call, ms: number) => {
  let n = 0
  let errors = 0
  const end = performance.now() + ms
  const cpu0 = cpuMillis(pid)
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const status = await oneCall(base, token, ids[n++ % ids.length]!, call).catch(() => 0)
      if (status !== 200) errors++
    }
  }))
  const elapsed = performance.now() - t0
  return { rps: (n / elapsed) * 1000, cpuMicros: ((cpuMillis(pid) - cpu0) / n) * 1000, errors }
}

const main = async () => {
  console.log(`server CPU per agent call: concurrency ${concurrency}, ${seconds} s per measurement, ${agentCount} agents`)
  const results: Array<{ store: string; path: string; call: Call; rps: number; cpuMicros: number; errors: number }> = []
  for (const store of stores) {
    for (const fast of [true, false]) {
      const token = `bench-${crypto.randomUUID()}`
      const db = freshDatabase("spotfleet_calls")
      if (store === "mysql") await admin(`CREATE DATABASE \`${db.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
      const server = await startProcess(["examples/server/src/main.ts"], {
        PORT: "0",
        HOST: "127.0.0.1",
        NODE_ENV: "production",
        SPOTFLEET_DEMO: "0",
        SPOTFLEET_JOBS: "0",
        SPOTFLEET_ADMIN_TOKEN: `admin-${crypto.randomUUID()}`,
        SPOTFLEET_BOOTSTRAP_TENANT_TOKEN: token,
        SPOTFLEET_AGENT_FAST_PATH: String(fast),
        // CPU per call at full load from 50 agents: far past the per-agent limit on purpose.
        SPOTFLEET_RATE_LIMIT: "false",
        ...(store === "mysql" ? { MYSQL_URL: db.url } : {})
      })
      try {
        const ids: Array<string> = []
        for (let i = 0; i < agentCount; i++) {
          const res = await fetch(`${server.url}/api/agents/register`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body: JSON.stringify({ logicalAgentId: `calls-${i}`, instanceId: `i-calls-${i}`, pool })
          })
          if (res.status !== 200) throw new Error(`register failed: ${res.status} ${await res.text()}`)
          ids.push(((await res.json()) as { agentId: string }).agentId)
        }
        for (const call of calls) {
          await measure(server.url, server.child.pid!, token, ids, call, 2000) // warm-up
          const r = await measure(server.url, server.child.pid!, token, ids, call, seconds * 1000)
          const path = fast ? "fast path" : "HttpApi"
          results.push({ store, path, call, ...r })
          console.log(
            `${store.padEnd(7)} ${path.padEnd(10)} ${call.padEnd(13)} ${r.cpuMicros.toFixed(0).padStart(6)} µs CPU/call ` +
              `${r.rps.toFixed(0).padStart(6)} req/s  ${r.errors} errors`
          )
        }
      } finally {
        await stop(server.child)
        if (store === "mysql") await admin(`DROP DATABASE IF EXISTS \`${db.database}\``)
      }
    }
  }
  console.log("\nfast path gain (HttpApi CPU per call / fast path CPU per call, same run):")
  for (const store of stores) {
    for (const call of calls) {
      const fast = results.find((r) => r.store === store && r.call === call && r.path === "fast path")
      const api = results.find((r) => r.store === store && r.call === call && r.path === "HttpApi")
      if (fast !== undefined && api !== undefined) console.log(`  ${store.padEnd(7)} ${call.padEnd(13)} ${(api.cpuMicros / fast.cpuMicros).toFixed(2)}×`)
    }
  }
  if (results.some((r) => r.errors > 0)) process.exitCode = 1
  agent.destroy()
}

await main()
