/**
 * A restart under load: agents (v5 and v1) keep calling the example server while it is stopped
 * with SIGTERM and started again on the same port, on the embedded store and on MariaDB.
 *
 * - every request is answered or refused within 1 s (none hangs: the server answers 503
 *   `NotReady` until its handlers are attached, and stops accepting before it drains); with far
 *   more runnable work on the machine than cores (load average ≥ 2 per core) the 1 s bound is
 *   reported loudly instead of asserted (never under CI=true), while "never answered" is;
 * - no v5 heartbeat that reaches a ready server is answered non-2xx (a real v5 agent goes
 *   offline for good on one; after the embedded store restarts its agents are `unknown`, 200);
 * - a request in flight when SIGTERM arrives (its body still coming in) is answered 200, and the
 *   server reports no request cut off by the drain.
 *
 * Every connection is a fresh one (a real v5 agent's heartbeats are 30 s apart, well past Node's
 * 5 s keep-alive). A connection reset at once counts as refused: it is one the kernel had
 * accepted when the stopping server closed its listening socket, before the server read a byte
 * of it (the server's own count of requests cut off by the drain must be zero). Figures are
 * printed.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { request } from "node:http"
import { createServer } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { Effect } from "effect"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const token = `restart-${crypto.randomUUID()}`
const adminToken = `restart-admin-${crypto.randomUUID()}`

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

interface Server {
  readonly child: ChildProcess
  readonly output: () => string
  readonly ready: Promise<void>
  readonly exited: Promise<number | null>
}

const startServer = (port: number, env: Record<string, string>): Server => {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@spotfleet/source", path.join(root, "examples/server/src/main.ts")], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      NODE_ENV: "",
      SPOTFLEET_DEMO: "0",
      SPOTFLEET_ADMIN_TOKEN: adminToken,
      SPOTFLEET_BOOTSTRAP_TENANT_TOKEN: token,
      SPOTFLEET_DASHBOARD_DIR: path.join(root, "no-dashboard"),
      SPOTFLEET_DECISION_MODEL: "rule-based",
      MYSQL_URL: "",
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  let onReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => (onReady = resolve))
  const onData = (d: Buffer) => {
    out += d.toString()
    if (/listening on/.test(out)) onReady()
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { child, output: () => out, ready, exited }
}

type Outcome = { readonly status: number; readonly body: string } | "refused" | "reset" | "hung"

/** Past this, a request counts as hung (never answered); past 1 s it is late. */
const hungAfterMs = 15_000

/**
 * One request on a fresh connection: its answer, or how it failed ("hung" after 15 s), and how
 * long it took. With `slowBody` the request announces its body (`Expect: 100-continue`), sends
 * half of it once the server has taken the request in (its `100 Continue`), calls `onFirstHalf`,
 * and sends the rest `pauseMs` later.
 */
const send = (
  port: number,
  method: string,
  urlPath: string,
  body: string | undefined,
  options: { readonly slowBody?: { readonly pauseMs: number; readonly onFirstHalf: () => void } } = {}
) =>
  new Promise<{ readonly outcome: Outcome; readonly millis: number }>((resolve) => {
    const started = performance.now()
    let settled = false
    const settle = (outcome: Outcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ outcome, millis: performance.now() - started })
    }
    const req = request({
      host: "127.0.0.1",
      port,
      method,
      path: urlPath,
      agent: false,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }),
        ...(options.slowBody === undefined ? {} : { expect: "100-continue" })
      }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c) => (text += c))
      res.on("end", () => settle({ status: res.statusCode ?? 0, body: text }))
      res.on("error", () => settle("reset"))
    })
    const timer = setTimeout(() => {
      settle("hung")
      req.destroy()
    }, hungAfterMs)
    req.on("error", (e: NodeJS.ErrnoException) => settle(e.code === "ECONNREFUSED" ? "refused" : "reset"))
    if (body === undefined) req.end()
    else if (options.slowBody === undefined) req.end(body)
    else {
      const { onFirstHalf, pauseMs } = options.slowBody
      req.once("continue", () => {
        const half = Math.floor(body.length / 2)
        req.write(body.slice(0, half))
        onFirstHalf()
        setTimeout(() => req.end(body.slice(half)), pauseMs)
      })
    }
  })

const v5Heartbeat = JSON.stringify({
  status: "online",
  inventory_snapshot: { instances: [], count: 0 },
  health_metrics: { uptime: 10, cpu_percent: 1, memory_percent: 2 },
  reconnect: false
})

interface Tally {
  requests: number
  refused: number
  reset: number
  hung: Array<string>
  late: Array<string>
  notReady: number
  v5HeartbeatsReady: number
  v5HeartbeatNon2xx: Array<string>
  byStatus: Record<string, number>
}

/** v5 and v1 agents calling in a loop until `stop.done`. */
const runAgents = (port: number, stop: { done: boolean }, tally: Tally) =>
  Effect.promise(async () => {
    const register = async (i: number, dialect: "v5" | "v1"): Promise<string | undefined> => {
      const body = dialect === "v5"
        ? JSON.stringify({
          cloud_account: "",
          project_id: "default",
          region: "us-east-1",
          hostname: `ip-10-0-0-${i}`,
          agent_version: "5.0.1-production",
          instance_id: `i-restart${dialect}${i}`,
          instance_type: "t3.medium",
          az: "us-east-1a",
          ami_id: "ami-1",
          mode: "unknown",
          logical_agent_id: `i-restart${dialect}${i}`
        })
        : JSON.stringify({ logicalAgentId: `restart-v1-${i}`, instanceId: `i-restartv1${i}`, pool: "t3.medium.us-east-1a" })
      const { outcome: answer } = await send(port, "POST", "/api/agents/register", body)
      if (typeof answer === "string" || answer.status !== 200) return undefined
      const parsed = JSON.parse(answer.body)
      return dialect === "v5" ? parsed.agent_id : parsed.agentId
    }
    const record = (what: string, { millis, outcome }: { readonly outcome: Outcome; readonly millis: number }, v5Heartbeat: boolean) => {
      tally.requests++
      if (outcome !== "hung" && millis > 1_000) tally.late.push(`${what}: ${typeof outcome === "string" ? outcome : outcome.status} after ${millis.toFixed(0)} ms`)
      if (outcome === "refused") tally.refused++
      else if (outcome === "reset") tally.reset++
      else if (outcome === "hung") tally.hung.push(what)
      else {
        tally.byStatus[outcome.status] = (tally.byStatus[outcome.status] ?? 0) + 1
        const notReady = outcome.status === 503 && outcome.body.includes("\"NotReady\"")
        if (notReady) tally.notReady++
        else if (v5Heartbeat) {
          tally.v5HeartbeatsReady++
          if (outcome.status < 200 || outcome.status >= 300) tally.v5HeartbeatNon2xx.push(`${what} → ${outcome.status} ${outcome.body.slice(0, 200)}`)
        }
      }
    }
    const agent = async (i: number, dialect: "v5" | "v1") => {
      let id: string | undefined
      while (id === undefined && !stop.done) id = await register(i, dialect)
      while (!stop.done) {
        const hb = dialect === "v5"
          ? await send(port, "POST", `/api/agents/${id}/heartbeat`, v5Heartbeat)
          : await send(port, "POST", `/api/agents/${id}/heartbeat`, "{}")
        record(`${dialect} heartbeat ${id}`, hb, dialect === "v5")
        const poll = dialect === "v5"
          ? await send(port, "GET", `/api/agents/${id}/commands/pending`, undefined)
          : await send(port, "GET", `/api/agents/${id}/pending-commands`, undefined)
        record(`${dialect} poll ${id}`, poll, false)
        // Eight requests a second per agent: thirty times a real agent, yet under the documented
        // per-agent rate limit (10/s), whose 429s are not what this test is about.
        await new Promise((r) => setTimeout(r, 250))
      }
    }
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => agent(i, "v5")),
      ...Array.from({ length: 4 }, (_, i) => agent(i, "v1"))
    ])
  })

const restartUnderLoad = (store: string, env: Record<string, string>) =>
  Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    const tally: Tally = { requests: 0, refused: 0, reset: 0, hung: [], late: [], notReady: 0, v5HeartbeatsReady: 0, v5HeartbeatNon2xx: [], byStatus: {} }
    const stop = { done: false }
    let server = startServer(port, env)
    const outputs: Array<string> = []
    yield* Effect.gen(function*() {
      yield* Effect.promise(() => server.ready)
      const agents = yield* Effect.fork(runAgents(port, stop, tally))
      for (let round = 0; round < 2; round++) {
        yield* Effect.sleep("2 seconds")
        // A heartbeat whose body is still coming in when SIGTERM arrives: answered, not cut off.
        const first = server
        const inFlight = send(port, "POST", `/api/agents/nobody-${round}/heartbeat`, v5Heartbeat, {
          slowBody: { pauseMs: 600, onFirstHalf: () => setTimeout(() => first.child.kill("SIGTERM"), 100) }
        })
        const exited = yield* Effect.promise(() => first.exited)
        const slow = (yield* Effect.promise(() => inFlight)).outcome
        outputs.push(first.output())
        assert.strictEqual(exited, 0, first.output())
        assert.deepInclude(slow, { status: 200 }, `${store}: the in-flight request was answered: ${JSON.stringify(slow)}`)
        assert.notMatch(first.output(), /cut off/, first.output())
        server = startServer(port, env)
        yield* Effect.promise(() => server.ready)
      }
      yield* Effect.sleep("2 seconds")
      stop.done = true
      yield* Effect.fromFiber(agents).pipe(Effect.timeout("15 seconds"), Effect.ignore)
    }).pipe(
      Effect.ensuring(Effect.promise(async () => {
        stop.done = true
        server.child.kill("SIGTERM")
        await server.exited
      }))
    )
    const load = os.loadavg()[0]!
    console.log(
      `restart under load (${store}): ${tally.requests} requests — ${JSON.stringify(tally.byStatus)}, ${tally.notReady} × 503 NotReady, ` +
        `${tally.refused} refused, ${tally.reset} reset, ${tally.hung.length} hung, ${tally.late.length} answered or refused after more than 1 s; ` +
        `${tally.v5HeartbeatsReady} v5 heartbeats reached a ready server, ${tally.v5HeartbeatNon2xx.length} non-2xx (load average ${load.toFixed(1)})`
    )
    assert.deepStrictEqual(tally.hung, [], `${store}: hung requests`)
    // Within 1 s is a figure of the machine too: with far more runnable work than cores (other
    // test files, other work) a start-up can take longer than that to answer; said loudly then.
    if (load < 2 * os.cpus().length) {
      assert.deepStrictEqual(tally.late, [], `${store}: answered or refused after more than 1 s`)
    } else if (tally.late.length > 0) {
      console.warn(`\n!!!! restart under load (${store}): load average ${load.toFixed(1)} on ${os.cpus().length} cores — ${tally.late.length} requests took more than 1 s (none hung): ${tally.late.slice(0, 5).join("; ")}\n`)
    }
    assert.deepStrictEqual(tally.v5HeartbeatNon2xx, [], `${store}: v5 heartbeats answered non-2xx by a ready server`)
    assert.isAbove(tally.v5HeartbeatsReady, 50)
    assert.isAbove(tally.refused + tally.notReady, 0, "the load did meet the restart")
  })

describe("restart under load", () => {
  it.live("embedded store: no hung connection, no non-2xx v5 heartbeat, in-flight requests answered", () =>
    restartUnderLoad("embedded store", {}), 180_000)

  it.live("MariaDB: no hung connection, no non-2xx v5 heartbeat, in-flight requests answered", () =>
    Effect.gen(function*() {
      const reachable = yield* Effect.promise(() => MysqlTestDatabase.reachable("the MariaDB restart test"))
      if (!reachable) return
      // The database is dropped when the scope closes, whatever the run's outcome.
      yield* Effect.scoped(Effect.flatMap(
        MysqlTestDatabase.scoped({ prefix: "spotfleet_restart" }),
        (database) => restartUnderLoad("MariaDB", { MYSQL_URL: database.url })
      ))
    }), 180_000)

  it.live("MariaDB: notifications written before a restart are listed after it, read state included", () =>
    Effect.gen(function*() {
      const reachable = yield* Effect.promise(() => MysqlTestDatabase.reachable("the MariaDB notification restart test"))
      if (!reachable) return
      yield* Effect.scoped(Effect.gen(function*() {
        const database = yield* MysqlTestDatabase.scoped({ prefix: "spotfleet_notify" })
        const port = yield* Effect.promise(freePort)
        const env = { MYSQL_URL: database.url, SPOTFLEET_JOB_PERIOD_SCALE: "0.25" }
        const api = (method: string, route: string, body?: unknown) =>
          Effect.promise(async () => {
            const response = await fetch(`http://127.0.0.1:${port}${route}`, {
              method,
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              ...(body === undefined ? {} : { body: JSON.stringify(body) })
            })
            return { status: response.status, body: await response.json() as any }
          })
        const stop = (server: Server) => Effect.promise(async () => (server.child.kill("SIGTERM"), await server.exited))
        const first = startServer(port, env)
        yield* Effect.addFinalizer(() => Effect.sync(() => first.child.kill("SIGKILL")))
        yield* Effect.promise(() => first.ready)
        const reg = yield* api("POST", "/api/agents/register", { logicalAgentId: "kept", instanceId: "i-kept", pool: "t3.medium.us-east-1a" })
        assert.strictEqual(reg.status, 200, JSON.stringify(reg.body))
        const notice = yield* api("POST", `/api/agents/${reg.body.agentId}/termination-notice`, { instanceId: "i-kept" })
        assert.strictEqual(notice.status, 200, JSON.stringify(notice.body))
        // the projector job runs every 0.5 s here
        let before: { notifications: Array<{ id: number; kind: string }>; unread: number } = { notifications: [], unread: 0 }
        for (let i = 0; i < 100 && before.notifications.length < 2; i++) {
          yield* Effect.sleep("100 millis")
          before = (yield* api("GET", "/api/notifications")).body
        }
        assert.deepStrictEqual(before.notifications.map((n) => n.kind), ["pool-quarantined", "emergency-opened"], first.output())
        assert.deepInclude((yield* api("POST", "/api/notifications/read", { ids: [before.notifications[1]!.id] })).body, { marked: 1, unread: 1 })
        assert.strictEqual(yield* stop(first), 0, first.output())

        const second = startServer(port, env)
        yield* Effect.addFinalizer(() => Effect.sync(() => second.child.kill("SIGKILL")))
        yield* Effect.promise(() => second.ready)
        yield* Effect.sleep("1500 millis") // a projector run in the new process writes nothing twice
        const after = (yield* api("GET", "/api/notifications")).body
        assert.deepStrictEqual(after.notifications.map((n: { id: number }) => n.id), before.notifications.map((n) => n.id))
        assert.strictEqual(after.unread, 1)
        assert.isNumber(after.notifications[1].readAt)
        assert.isNull(after.notifications[0].readAt)
        yield* stop(second)
      }))
    }), 120_000)
})
