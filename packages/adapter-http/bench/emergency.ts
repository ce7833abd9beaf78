/**
 * `npm run bench:emergency`: 1,000 termination notices for 1,000 agents at once against the
 * example server on MariaDB/MySQL (a fresh database, dropped after). Every agent has a ready
 * replica; each notice is sent and the agent then polls until its PROMOTE (or LAUNCH) is handed
 * out. Prints p50/p99 of "notice sent → emergency command received by the agent" (target p99 < 1 s),
 * then the simulated agents execute the commands and every agent is checked for exactly one
 * PRIMARY.
 *
 * Environment: BENCH_MYSQL_URL (default TEST_MYSQL_URL or mysql://root@127.0.0.1:3306),
 * BENCH_AGENTS (1000), BENCH_CONCURRENCY (64 requests in flight).
 */
import { Agent, request } from "node:http"
import type { ChildProcess } from "node:child_process"
import { admin, freshDatabase, startProcess, stop } from "./support.js"

const agentCount = Number(process.env.BENCH_AGENTS ?? 1000)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 64)
const tenantToken = `bench-${crypto.randomUUID()}`
const { database, url: dbUrl } = freshDatabase("spotfleet_bench_em")


const startServer = (env: Record<string, string>) => startProcess(["examples/server/src/main.ts"], env)


const httpAgent = new Agent({ keepAlive: true, maxSockets: concurrency })
let baseUrl = ""

const send = (method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> =>
  new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body)
    const req = request(`${baseUrl}${route}`, {
      method,
      agent: httpAgent,
      headers: {
        authorization: `Bearer ${tenantToken}`,
        ...(text === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
      }
    }, (res) => {
      let data = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => (data += c))
      res.on("end", () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: data === "" ? undefined : JSON.parse(data) })
        } catch (e) {
          reject(e)
        }
      })
    })
    req.on("error", reject)
    req.end(text)
  })

const must = async (method: string, route: string, body?: unknown) => {
  const r = await send(method, route, body)
  if (r.status !== 200) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(r.json)}`)
  return r.json
}

/** Runs `f` over `items` with at most `concurrency` in flight. */
const pool = async <A, B>(items: ReadonlyArray<A>, f: (a: A, i: number) => Promise<B>): Promise<Array<B>> => {
  const out: Array<B> = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!, i)
    }
  }))
  return out
}

interface Sim {
  readonly agentId: string
  readonly primaryCloudId: string
}

const setUp = async (i: number): Promise<Sim> => {
  const primaryCloudId = `i-em-${i}`
  const reg = await must("POST", "/api/agents/register", { logicalAgentId: `em-${i}`, instanceId: primaryCloudId, pool: "t3.medium.us-east-1a" })
  const agentId = reg.agentId as string
  await must("POST", `/api/agents/${agentId}/replicas`, { pool: "t3.medium.us-east-1b" })
  const { commands } = await must("GET", `/api/agents/${agentId}/pending-commands`)
  const launch = commands.find((c: { type: string }) => c.type === "LAUNCH_INSTANCE")
  if (launch === undefined) throw new Error(`agent ${i}: no LAUNCH for its replica`)
  await must("POST", `/api/agents/${agentId}/commands/${launch.id}/executed`, { success: true, instanceId: `i-em-r-${i}` })
  return { agentId, primaryCloudId }
}

const quantile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN

const main = async () => {
  await admin(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
  let server: { child: ChildProcess; url: string } | undefined
  try {
    server = await startServer({
      MYSQL_URL: dbUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      NODE_ENV: "production",
      SPOTFLEET_DEMO: "0",
      SPOTFLEET_ADMIN_TOKEN: `admin-${crypto.randomUUID()}`,
      SPOTFLEET_BOOTSTRAP_TENANT_TOKEN: tenantToken,
      // Agents poll back to back until their command arrives (no real agent does): limits off.
      SPOTFLEET_RATE_LIMIT: "false"
    })
    baseUrl = server.url
    console.log(`emergency benchmark: ${agentCount} agents, ${concurrency} requests in flight, database ${database}`)
    const setupStart = performance.now()
    const sims = await pool(Array.from({ length: agentCount }, (_, i) => i), (i) => setUp(i))
    console.log(`set-up: ${agentCount} agents with a ready replica in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`)

    // All notices at once (bounded in flight); each agent polls right after its notice is accepted.
    const latencies: Array<number> = []
    const handedOut = new Map<string, { id: string; type: string }>()
    let polls = 0
    const burstStart = performance.now()
    await pool(sims, async (sim) => {
      const t0 = performance.now()
      await must("POST", `/api/agents/${sim.agentId}/termination-notice`, { instanceId: sim.primaryCloudId })
      for (;;) {
        polls++
        const { commands } = await must("GET", `/api/agents/${sim.agentId}/pending-commands`)
        const c = commands.find((x: { type: string }) => x.type === "PROMOTE_REPLICA_TO_PRIMARY" || x.type === "LAUNCH_INSTANCE")
        if (c !== undefined) {
          latencies.push(performance.now() - t0)
          handedOut.set(sim.agentId, c)
          return
        }
        if (performance.now() - t0 > 30_000) throw new Error(`agent ${sim.agentId}: no emergency command after 30 s`)
      }
    })
    const burstSeconds = (performance.now() - burstStart) / 1000
    latencies.sort((a, b) => a - b)
    const types = new Map<string, number>()
    for (const c of handedOut.values()) types.set(c.type, (types.get(c.type) ?? 0) + 1)
    console.log(
      `notice sent → PROMOTE/LAUNCH received: p50 ${quantile(latencies, 0.5).toFixed(1)} ms   p99 ${quantile(latencies, 0.99).toFixed(1)} ms   ` +
        `max ${latencies[latencies.length - 1]!.toFixed(1)} ms   (${latencies.length} notices in ${burstSeconds.toFixed(1)} s, ${polls} polls; ` +
        `${[...types].map(([t, n]) => `${n} ${t}`).join(", ")})`
    )

    // The simulated agents carry out the promotions; then every agent has exactly one PRIMARY.
    await pool(sims, async (sim) => {
      const c = handedOut.get(sim.agentId)!
      const body = c.type === "LAUNCH_INSTANCE" ? { success: true, instanceId: `i-em-n-${sim.agentId}` } : { success: true }
      await must("POST", `/api/agents/${sim.agentId}/commands/${c.id}/executed`, body)
      if (c.type === "LAUNCH_INSTANCE") {
        const { commands } = await must("GET", `/api/agents/${sim.agentId}/pending-commands`)
        for (const next of commands) await must("POST", `/api/agents/${sim.agentId}/commands/${next.id}/executed`, { success: true })
      }
    })
    const primaries = await pool(sims, async (sim) => {
      const { instances } = await must("GET", `/api/agents/${sim.agentId}/instances`)
      const p = instances.filter((x: { role: string }) => x.role === "PRIMARY")
      return p.length === 1 && p[0].cloudInstanceId !== sim.primaryCloudId
    })
    const good = primaries.filter(Boolean).length
    console.log(`exactly one PRIMARY (the promoted replica): ${good}/${agentCount} agents`)
    const p99 = quantile(latencies, 0.99)
    console.log(`target p99 < 1000 ms: ${p99 < 1000 ? "met" : "NOT met"}`)
    if (good !== agentCount || latencies.length !== agentCount) process.exitCode = 1
  } finally {
    httpAgent.destroy()
    if (server !== undefined) await stop(server.child)
    await admin(`DROP DATABASE IF EXISTS \`${database}\``)
  }
}

await main()
