/**
 * One agent floods the server (2,000 requests/s — the flood that once went through for 84 s
 * without a single 429 — over 16 connections, v1 heartbeats on the fast path and v5 polls through
 * HttpApi, from another process) under the DEFAULT rate limits, while another tenant's agents and another
 * agent of the flooding tenant go about their business: the flooding agent gets 429 with
 * `Retry-After` (held to its own bucket: 10/s after a burst of 100), the others get nothing but
 * 200 and the other tenant's p99 stays under 100 ms. Each round measures the other tenant without
 * the flood first, and prints both; a round whose quiet phase is already slow, or that runs with
 * far more runnable work than cores (the machine is shared), cannot judge the p99, and another
 * is run (at most 3); when none can judge, it says so loudly (the p99 is a machine's figure, not a
 * unit test's: `npm run bench:http` measures latency).
 */
import { spawn } from "node:child_process"
import { Agent, request } from "node:http"
import * as os from "node:os"
import { assert, layer } from "@effect/vitest"
import { MemoryStore } from "@spotfleet/engine"
import { Effect } from "effect"
import { call, createTenant, serverLayer, TestServer } from "./utils.js"

const pool = "t3.medium.us-east-1a"
const floodSeconds = 5
const floodRate = 2_000

interface Answer {
  readonly status: number
  readonly retryAfter: string | undefined
  readonly body: string
  readonly millis: number
}

const send = (agent: Agent, baseUrl: string, method: string, path: string, token: string, body?: string) =>
  new Promise<Answer>((resolve, reject) => {
    const started = performance.now()
    const req = request(`${baseUrl}${path}`, {
      method,
      agent,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) })
      }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c) => (text += c))
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined, body: text, millis: performance.now() - started })
      )
    })
    req.on("error", reject)
    req.end(body)
  })

/**
 * Floods from a child process for {@link floodSeconds} at {@link floodRate} requests/s over 16
 * keep-alive connections (v1 heartbeats and v5 polls, alternately); every answer's status,
 * Retry-After and body.
 */
const floodFromChild = (baseUrl: string, agentId: string, token: string) =>
  new Promise<Array<Answer>>((resolve, reject) => {
    const script = `
      import { spawn } from "node:child_process"
import { Agent, request } from "node:http"
import * as os from "node:os"
      const [baseUrl, agentId, token, seconds, rate] = process.argv.slice(1)
      const agent = new Agent({ keepAlive: true, maxSockets: 16 })
      const end = performance.now() + Number(seconds) * 1000
      const answers = []
      const send = (method, path, body) => new Promise((resolve, reject) => {
        const req = request(baseUrl + path, { method, agent, headers: { authorization: "Bearer " + token, "content-type": "application/json" } }, (res) => {
          let text = ""
          res.setEncoding("utf8")
          res.on("data", (c) => (text += c))
          res.on("end", () => resolve({ status: res.statusCode, retryAfter: res.headers["retry-after"], body: text.slice(0, 300), millis: 0 }))
        })
        req.on("error", reject)
        req.end(body)
      })
      // Each of the 16 workers sends every 16/rate s (if its last answer is in).
      const every = 16_000 / Number(rate)
      const start = performance.now()
      await Promise.all(Array.from({ length: 16 }, async (_, i) => {
        for (let k = 0; performance.now() < end; k++) {
          const due = start + (k + i / 16) * every
          const wait = due - performance.now()
          if (wait > 0) await new Promise((r) => setTimeout(r, wait))
          answers.push(i % 2 === 0
            ? await send("POST", "/api/agents/" + agentId + "/heartbeat", "{}")
            : await send("GET", "/api/agents/" + agentId + "/commands/pending"))
        }
      }))
      agent.destroy()
      process.stdout.write(JSON.stringify(answers))
    `
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, baseUrl, agentId, token, String(floodSeconds), String(floodRate)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout!.on("data", (d) => (out += d))
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`flooder exited ${code}`))))
  })

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}

layer(serverLayer(MemoryStore.layer, { fastPath: true }), { timeout: "120 seconds", excludeTestServices: true })("flood", (it) => {
  it.effect("the flooding agent gets 429 + Retry-After under the default limits; everyone else is served, p99 < 100 ms", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* TestServer
      const register = (token: string, name: string, v5: boolean) =>
        Effect.map(
          call("POST", "/api/agents/register", {
            token,
            body: v5
              ? { instance_id: `i-${name}`, logical_agent_id: `i-${name}`, instance_type: "t3.medium", az: "us-east-1a", agent_version: "5.0.1" }
              : { logicalAgentId: name, instanceId: `i-${name}`, pool }
          }),
          (r) => (v5 ? r.body.agent_id : r.body.agentId) as string
        )
      const a = yield* createTenant(`flood-a-${crypto.randomUUID()}`)
      const b = yield* createTenant(`flood-b-${crypto.randomUUID()}`)
      const neighbour = yield* register(a.token, "neighbour", false)
      const others: Array<string> = []
      for (let i = 0; i < 40; i++) others.push(yield* register(b.token, `b-${i}`, i % 2 === 0))

      const calmAgent = new Agent({ keepAlive: true, maxSockets: 8 })
      /** The well-behaved callers for `millis`: each agent every 200 ms (far faster than real agents still). */
      const behave = async (millis: number) => {
        const end = performance.now() + millis
        const calm: Array<Answer> = []
        const neighbourAnswers: Array<Answer> = []
        const callers = [...others.map((id) => [b.token, id] as const), [a.token, neighbour] as const]
        await Promise.all(callers.map(async ([token, id], i) => {
          await new Promise((r) => setTimeout(r, (i * 200) / callers.length))
          while (performance.now() < end) {
            const answer = await send(calmAgent, baseUrl, "POST", `/api/agents/${id}/heartbeat`, token, "{}")
            ;(token === a.token ? neighbourAnswers : calm).push(answer)
            await new Promise((r) => setTimeout(r, 200))
          }
        }))
        return { calm, neighbourAnswers }
      }
      /**
       * One round: the callers without a flood (the figure the flood is compared with), then
       * with one (from another process, as it would come: this one only serves it).
       */
      const round = (flooder: string) =>
        Effect.promise(async () => {
          const quiet = await behave(3_000)
          const flooding = floodFromChild(baseUrl, flooder, a.token)
          const during = await behave(floodSeconds * 1000)
          return { flood: await flooding, quiet: quiet.calm, calm: during.calm, neighbourAnswers: during.neighbourAnswers }
        })

      // The p99 is a figure of a shared 2-core machine: a round whose quiet phase is already slow
      // (p99 ≥ 50 ms) or that ran with far more runnable work than cores (load average ≥ 2 per
      // core: other test files, other work) cannot judge it, and another round is run (3 at most).
      const judged: Array<{ quiet: number; flood: number; load: number }> = []
      let passed = false
      for (let attempt = 0; attempt < 3 && !passed; attempt++) {
        const flooder = yield* register(a.token, `flooder-${attempt}`, true)
        const { calm, flood, neighbourAnswers, quiet } = yield* round(flooder)
        const limited = flood.filter((r) => r.status === 429)
        const served = flood.filter((r) => r.status === 200)
        const p99 = quantile(calm.map((r) => r.millis), 0.99)
        const quietP99 = quantile(quiet.map((r) => r.millis), 0.99)
        console.log(
          `flood: ${flood.length} requests from one agent in ${floodSeconds} s (${Math.round(flood.length / floodSeconds)}/s): ` +
            `${served.length} × 200, ${limited.length} × 429; other tenant: ${calm.length} requests, ` +
            `p50 ${quantile(calm.map((r) => r.millis), 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms ` +
            `(without the flood: p50 ${quantile(quiet.map((r) => r.millis), 0.5).toFixed(1)} ms, p99 ${quietP99.toFixed(1)} ms); ` +
            `the flooder's neighbour: ${neighbourAnswers.length} requests, statuses ${[...new Set(neighbourAnswers.map((r) => r.status))].join(",")}`
        )
        const load = os.loadavg()[0]!
        const quietEnough = quietP99 < 50 && load < 2 * os.cpus().length
        // How many requests the flooder and the calm tenant manage to send is a figure of the
        // machine too: on a busy one a round may fall short and is not judged (tried again).
        if (quietEnough) assert.isAbove(flood.length, floodRate * floodSeconds * 0.8, "the flood was a flood")
        else if (flood.length <= floodRate * floodSeconds * 0.8 || calm.length <= 500) continue
        assert.strictEqual(served.length + limited.length, flood.length, "only 200 and 429")
        // a burst of 100, then 10/s
        assert.isAtMost(served.length, 100 + 10 * (floodSeconds + 1))
        for (const r of limited) {
          assert.isAtLeast(Number(r.retryAfter), 1, r.body)
          const error = JSON.parse(r.body).error
          assert.strictEqual(error.code, "RateLimited")
          assert.strictEqual(error.details.scope, "agent")
        }
        assert.isAbove(calm.length, 500)
        assert.deepStrictEqual([...new Set(calm.map((r) => r.status))], [200], "the other tenant is always served")
        assert.deepStrictEqual([...new Set(neighbourAnswers.map((r) => r.status))], [200], "the flooder's own tenant keeps its allowance")
        passed = p99 < 100
        if (quietEnough) judged.push({ quiet: quietP99, flood: p99, load })
      }
      calmAgent.destroy()
      if (!passed) {
        assert.isEmpty(judged, `the other tenant's p99 under the flood was ≥ 100 ms in a round the machine was quiet enough to judge: ${JSON.stringify(judged)}`)
        console.warn("\n!!!! flood: the machine was too busy in every round to judge the other tenant's p99 (quiet p99 ≥ 50 ms or load average ≥ 2 per core)\n")
      }
    }), 90_000)
})
