/**
 * Scale-out (docs/DESIGN.md, "Scale-out"): three real server processes (node + tsx, sources through
 * the `@spotfleet/source` condition) on one MariaDB/MySQL database, with every job's period cut to
 * one second (`SPOTFLEET_JOB_<NAME>_SECONDS`, lease 3 s):
 * - each job runs exactly once per period across the three (read back from `job_runs`);
 * - an event caused through one process reaches an SSE subscriber on another in under 2 s;
 * - SIGKILL of the process holding the jobs hands every job to another one within the lease time.
 *
 * Skipped (loudly) when the database server is unreachable, failed under CI=true.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { Effect } from "effect"
import * as mysql from "mysql2/promise"
import * as ServerJobs from "../src/ServerJobs.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const PERIOD_MS = 1_000
const LEASE_MS = 3 * PERIOD_MS
// Every job the server runs, as it names them (a new job is checked here without a second list).
const JOBS = ServerJobs.jobNames

const describeMysql = (await MysqlTestDatabase.reachable("the scale-out test")) ? describe : describe.skip

interface Server {
  readonly name: string
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
  url: string
}

const envPeriods = Object.fromEntries(JOBS.map((j) => [ServerJobs.periodVariable(j), String(PERIOD_MS / 1000)]))

const start = (name: string, env: Record<string, string>): Server => {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=@spotfleet/source", path.join(root, "examples/server/src/main.ts")],
    {
      cwd: root,
      env: { ...process.env, PORT: "0", HOST: "127.0.0.1", NODE_ENV: "", SPOTFLEET_DEMO: "0", SPOTFLEET_JOB_HOLDER: name, ...envPeriods, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  let out = ""
  child.stdout!.on("data", (d) => (out += d))
  child.stderr!.on("data", (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { name, child, output: () => out, exited, url: "" }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const waitUntil = async (check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

const listening = async (s: Server, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const m = s.output().match(/listening on (http:\/\/localhost:\d+)/)
    if (m !== null) {
      s.url = m[1]!
      return
    }
    if (Date.now() > deadline || s.child.exitCode !== null) throw new Error(`${s.name} did not start; output:\n${s.output()}`)
    await sleep(100)
  }
}

interface RunRow {
  readonly name: string
  readonly holder: string
  readonly fencing_token: number
  readonly started_at: number
  readonly outcome: string
}

/** An SSE subscription that timestamps every chunk it receives. */
const subscribe = async (url: string, token: string) => {
  const controller = new AbortController()
  const response = await fetch(`${url}/api/events/stream`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal })
  assert.strictEqual(response.status, 200)
  let text = ""
  const arrivals: Array<{ readonly end: number; readonly at: number }> = []
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  const connected = (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      text += decoder.decode(value, { stream: true })
      arrivals.push({ end: text.length, at: Date.now() })
    }
  })().catch(() => undefined)
  /** When the text first arrived, or null. */
  const arrivedAt = (needle: string): number | null => {
    const i = text.indexOf(needle)
    if (i < 0) return null
    return arrivals.find((a) => a.end >= i + needle.length)!.at
  }
  const waitFor = async (needle: string, timeoutMs: number): Promise<number> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const at = arrivedAt(needle)
      if (at !== null) return at
      if (Date.now() > deadline) throw new Error(`no event with ${needle} within ${timeoutMs} ms; stream so far:\n${text.slice(-2000)}`)
      await sleep(20)
    }
  }
  // the stream's opening comment
  await waitFor(": connected", 10_000)
  return { waitFor, close: () => (controller.abort(), connected) }
}

describeMysql("several server processes on one MySQL database", () => {
  it.live("jobs run once per period across three processes, SSE crosses processes, SIGKILL of the leader hands the jobs over", () =>
    Effect.promise(async () => {
      const database = await MysqlTestDatabase.create({ prefix: "spotfleet_scale" })
      const token = `scale-${globalThis.crypto.randomUUID()}`
      const env = { MYSQL_URL: database.url, SPOTFLEET_ADMIN_TOKEN: `admin-${globalThis.crypto.randomUUID()}`, SPOTFLEET_BOOTSTRAP_TENANT_TOKEN: token }
      const servers: Array<Server> = []
      const db = await mysql.createConnection({ uri: database.url })
      const runs = async (from: number, to: number): Promise<Array<RunRow>> => {
        const [rows] = await db.query(
          "SELECT name, holder, fencing_token, started_at, outcome FROM job_runs WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id",
          [from, to]
        )
        return (rows as Array<RunRow>).map((r) => ({ ...r, fencing_token: Number(r.fencing_token), started_at: Number(r.started_at) }))
      }
      try {
        // A first (it migrates and creates the bootstrap tenant), then B and C together.
        servers.push(start("A", env))
        await listening(servers[0]!)
        servers.push(start("B", env), start("C", env))
        await Promise.all(servers.slice(1).map((s) => listening(s)))
        const [a, b, c] = servers as [Server, Server, Server]
        // The banner's jobs line is printed after the listening line: wait for it, not just read.
        for (const s of servers) await waitUntil(() => new RegExp(`jobs: holder ${s.name};`).test(s.output()), `${s.name}'s jobs line`)

        // (a) once per period across the three
        await sleep(LEASE_MS) // every process has polled a few times
        const from = Date.now()
        await sleep(6 * PERIOD_MS)
        const to = Date.now()
        const observed = await runs(from, to)
        const leaders = new Map<string, string>()
        for (const job of JOBS) {
          const mine = observed.filter((r) => r.name === job)
          const holders = [...new Set(mine.map((r) => r.holder))]
          const tokens = [...new Set(mine.map((r) => r.fencing_token))]
          const gaps = mine.slice(1).map((r, i) => r.started_at - mine[i]!.started_at)
          console.log(`scale-out: ${job}: ${mine.length} runs in ${to - from} ms by ${holders.join(",")} (token ${tokens.join(",")}); gaps ms ${gaps.join(" ")}`)
          assert.deepStrictEqual(holders.length, 1, `${job} ran in one process`)
          assert.strictEqual(tokens.length, 1)
          assert.isAtLeast(mine.length, 4, `${job} ran every period`)
          assert.isAtMost(mine.length, 7, `${job} ran at most once per period`)
          for (const gap of gaps) {
            assert.isAtLeast(gap, PERIOD_MS * 0.95, `${job}: two runs inside one period`)
            assert.isBelow(gap, LEASE_MS, `${job}: a period without a run`)
          }
          assert.isTrue(mine.every((r) => r.outcome === "succeeded"), `${job} succeeded`)
          leaders.set(job, holders[0]!)
        }

        // (c) an event caused through one process reaches a subscriber on another in under 2 s
        const latencies: Array<number> = []
        for (const [writer, reader] of [[a, b], [b, c], [c, a], [a, b], [a, c]] as const) {
          const stream = await subscribe(reader.url, token)
          try {
            const logical = `scale-${globalThis.crypto.randomUUID().slice(0, 8)}`
            const sent = Date.now()
            const res = await fetch(`${writer.url}/api/agents/register`, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify({ logicalAgentId: logical, instanceId: `i-${logical}`, pool: "t3.medium.us-east-1a" })
            })
            assert.strictEqual(res.status, 200, await res.clone().text())
            const { agentId } = (await res.json()) as { agentId: string }
            const arrived = await stream.waitFor(agentId, 5_000)
            latencies.push(arrived - sent)
          } finally {
            await stream.close()
          }
        }
        console.log(`scale-out: SSE cross-process latency (POST sent → event received) ms: ${latencies.join(" ")}`)
        for (const l of latencies) assert.isBelow(l, 2_000)

        // (b) SIGKILL the leader: every job it held moves to another process within the lease time
        const leader = servers.find((s) => s.name === leaders.get("liveness"))!
        const held = JOBS.filter((j) => leaders.get(j) === leader.name)
        const before = await runs(0, Number.MAX_SAFE_INTEGER)
        leader.child.kill("SIGKILL")
        const killedAt = Date.now()
        assert.strictEqual(await leader.exited, null) // killed by a signal, no exit code
        const deadline = killedAt + LEASE_MS + 10_000
        let takeovers = new Map<string, RunRow>()
        while (Date.now() < deadline && takeovers.size < held.length) {
          await sleep(100)
          const after = await runs(killedAt - LEASE_MS, Number.MAX_SAFE_INTEGER)
          takeovers = new Map(
            held.flatMap((job) => {
              const first = after.find((r) => r.name === job && r.holder !== leader.name)
              return first === undefined ? [] : [[job, first] as const]
            })
          )
        }
        await sleep(3 * PERIOD_MS) // the new holders run a few periods
        const afterKill = await runs(killedAt, Number.MAX_SAFE_INTEGER)
        for (const job of held) {
          const takeover = takeovers.get(job)
          assert.isDefined(takeover, `${job} was taken over`)
          const lastOld = before.filter((r) => r.name === job && r.holder === leader.name).at(-1)!
          const sinceKill = takeover!.started_at - killedAt
          const sinceLastRun = takeover!.started_at - lastOld.started_at
          console.log(
            `scale-out: ${job}: ${leader.name} killed; ${takeover!.holder} took over ${sinceKill} ms after the kill, ` +
              `${sinceLastRun} ms after ${leader.name}'s last run (lease ${LEASE_MS} ms), token ${lastOld.fencing_token} → ${takeover!.fencing_token}`
          )
          // the dead holder's lease was respected: nobody ran before it ran out
          assert.isAtLeast(sinceLastRun, LEASE_MS)
          // and it was taken over within the lease time (plus the standby poll of a tenth of it, plus scheduling slack)
          assert.isAtMost(sinceKill, LEASE_MS + LEASE_MS / 10 + 500)
          assert.strictEqual(takeover!.fencing_token, lastOld.fencing_token + 1)
          // still one process per job afterwards
          assert.deepStrictEqual([...new Set(afterKill.filter((r) => r.name === job).map((r) => r.holder))], [takeover!.holder])
        }

        // graceful stop of the others: exit 0 and their leases are released
        const rest = servers.filter((s) => s !== leader)
        for (const s of rest) s.child.kill("SIGTERM")
        for (const s of rest) assert.strictEqual(await s.exited, 0, s.output())
        const [leases] = await db.query("SELECT name, lease_until FROM job_leases ORDER BY name")
        assert.deepStrictEqual((leases as Array<{ name: string; lease_until: number }>).map((l) => [l.name, Number(l.lease_until)]), [...JOBS].sort().map((j) => [j, 0]))
      } finally {
        for (const s of servers) s.child.kill("SIGKILL")
        await Promise.all(servers.map((s) => s.exited))
        await db.end()
        await database.drop()
      }
    }), 240_000)
})
