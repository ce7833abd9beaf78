/**
 * `npm run bench:jobs`: what one run of the fleet-wide background jobs costs on MySQL/MariaDB —
 * the command sweep, zombie retention, the unreconciled-instances gauge and the savings accrual —
 * with the store's bulk reads
 * (`AgentStore.busyAgents`, `AgentStore.listInstances`) and without them (the jobs then load
 * every agent's aggregate), in one process over one database. Prints wall time, this process's
 * CPU time (`process.cpuUsage`) and the database server's (`/proc/<pid>/stat` of `mariadbd` or
 * `mysqld` when it runs on this machine) per run. Creates and drops its own database.
 *
 * It also times the accrual's spot-price reads alone, as the accrual does them now (each pool's
 * window plus the last point before it) and as it did before (a whole day of history, i.e. every
 * raw report not consolidated yet), over BENCH_REPORTERS agents (default 2000) that reported 3
 * prices every 5 minutes for the last BENCH_REPORT_MINUTES (default 60), against a 5-minute window.
 *
 * Env: TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306), BENCH_AGENTS (default 20000),
 * BENCH_BUSY (agents given a pending command, default 1% of the agents), BENCH_ROUNDS (default 2),
 * BENCH_HISTORY (instances per agent retired and seen gone, as switches leave them; default 2) and
 * BENCH_UNRECONCILED (instances retired but still running, default 0.1% of the agents).
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { AgentStore, Engine, Jobs, Pool, Pricing, PriceService, PriceStore, SavingsAccrual } from "@spotfleet/engine"
import { Clock, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as mysql from "mysql2/promise"
import * as MysqlMigrations from "../src/MysqlMigrations.js"
import * as MysqlStore from "../src/MysqlStore.js"

const base = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"
const agents = Number(process.env.BENCH_AGENTS ?? 20_000)
const busy = Number(process.env.BENCH_BUSY ?? Math.ceil(agents / 100))
const history = Number(process.env.BENCH_HISTORY ?? 2)
const unreconciled = Number(process.env.BENCH_UNRECONCILED ?? Math.ceil(agents / 1000))
const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
const reporters = Number(process.env.BENCH_REPORTERS ?? 2000)
const reportMinutes = Number(process.env.BENCH_REPORT_MINUTES ?? 60)
const database = `spotfleet_bench_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
const url = (() => {
  const u = new URL(base)
  u.pathname = `/${database}`
  return u.toString()
})()

const pools = [Pool.make("t3.medium", "us-east-1a"), Pool.make("m5.large", "us-east-1b"), Pool.make("c5.large", "us-east-1c")]

/** The database server's pid when it runs here (for its CPU time), else undefined. */
const databasePid = (() => {
  for (const name of ["mariadbd", "mysqld"]) {
    try {
      const pid = Number(execFileSync("pidof", ["-s", name], { encoding: "utf8" }).trim())
      if (pid > 0) return pid
    } catch {
      // not running under this name
    }
  }
  return undefined
})()
const ticks = 100 // USER_HZ
const databaseCpuMs = () => {
  if (databasePid === undefined) return NaN
  const fields = readFileSync(`/proc/${databasePid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return ((Number(fields[11]) + Number(fields[12])) / ticks) * 1000
}

const main = async () => {
  const adminConn = await mysql.createConnection({ uri: base })
  await adminConn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
  try {
    const ClientLive = MysqlClient.layer({ url: Redacted.make(url), maxConnections: 16 })
    const StoreLive = MysqlStore.layer.pipe(Layer.provideMerge(Layer.effectDiscard(MysqlMigrations.run).pipe(Layer.provideMerge(ClientLive))))
    const runtime = ManagedRuntime.make(Layer.mergeAll(Engine.layer(), PriceService.layer).pipe(Layer.provideMerge(StoreLive)))

    const started = performance.now()
    const tenantIds = await runtime.runPromise(Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const prices = yield* PriceService.PriceService
      // A tenant holds at most 10,000 agents by default.
      const tenants = yield* Effect.forEach(
        Array.from({ length: Math.ceil(agents / 10_000) }, (_, k) => k),
        (k) => engine.createTenant({ name: `bench-${k}`, tokenHash: `bench-token-hash-${k}-0123456789abcdef` })
      )
      const ids = yield* Effect.forEach(
        Array.from({ length: agents }, (_, n) => n),
        (n) =>
          Effect.map(
            engine.register(tenants[Math.floor(n / 10_000)]!.id, { logicalAgentId: `bench-${n}`, cloudInstanceId: `i-bench-${n}`, pool: pools[n % pools.length]! }),
            (r) => r.agent
          ),
        { concurrency: 32 }
      )
      for (const agent of ids.slice(0, busy)) yield* engine.requestReplica(agent.tenantId, agent.id, {})
      yield* prices.putOnDemand([
        { instanceType: "t3.medium", region: "us-east-1", price: 0.0416 },
        { instanceType: "m5.large", region: "us-east-1", price: 0.096 },
        { instanceType: "c5.large", region: "us-east-1", price: 0.085 }
      ])
      const now = yield* Clock.currentTimeMillis
      yield* prices.ingest(ids[0]!.tenantId, ids[0]!.id, {
        cloudInstanceId: "i-bench-0",
        prices: pools.map((pool, k) => ({ pool, price: 0.01 + k / 100, observedAt: now - reportMinutes * 60_000 - 1000 }))
      })
      // Raw reports of the last `reportMinutes`, as agents send them (not consolidated yet).
      const store = yield* PriceStore.PriceStore
      const drafts: Array<Pricing.SnapshotDraft> = []
      for (let round = 0; round < reportMinutes / 5; round++) {
        for (const agent of ids.slice(0, reporters)) {
          const at = now - round * 300_000 - Math.floor(Math.random() * 300_000)
          for (const pool of pools) {
            drafts.push(Pricing.SnapshotDraft.make({
              tenantId: agent.tenantId,
              pool,
              price: 0.01 + Math.random() / 100,
              observedAt: at,
              reporterAgentId: agent.id,
              reporterRole: "PRIMARY",
              source: "agent",
              receivedAt: at
            }))
          }
        }
      }
      for (let i = 0; i < drafts.length; i += 5000) yield* store.appendSnapshots(drafts.slice(i, i + 5000))
      // The instances switches leave behind (TERMINATED, seen gone) and a few still running, as
      // rows: the engine would take a switch per row to make them.
      const rows: Array<ReadonlyArray<unknown>> = []
      const retiredAt = now - 3_600_000
      ids.forEach((agent, n) => {
        for (let h = 0; h < history; h++) {
          rows.push([`inst-hist-${n}-${h}`, agent.id, agent.tenantId, `i-hist-${n}-${h}`, pools[n % pools.length], "spot", "TERMINATED", retiredAt, retiredAt, retiredAt, retiredAt + 60_000])
        }
        if (n < unreconciled) rows.push([`inst-leak-${n}`, agent.id, agent.tenantId, `i-leak-${n}`, pools[n % pools.length], "spot", "TERMINATED", retiredAt, retiredAt, retiredAt, null])
      })
      const conn = yield* Effect.promise(() => mysql.createConnection({ uri: url }))
      for (let i = 0; i < rows.length; i += 2000) {
        yield* Effect.promise(() =>
          conn.query(
            "INSERT INTO instances (id, agent_id, tenant_id, cloud_instance_id, pool, lifecycle, role, created_at, launch_confirmed_at, " +
              "terminated_at, termination_confirmed_at) VALUES ?",
            [rows.slice(i, i + 2000)]
          )
        )
      }
      yield* Effect.promise(() => conn.end())
      return tenants.map((t) => t.id)
    }))
    console.log(
      `jobs bench: ${agents.toLocaleString("en")} agents in ${tenantIds.length} tenant(s), ${busy} with a pending command, ` +
        `${(agents * history).toLocaleString("en")} retired instances seen gone, ${unreconciled} still running ` +
        `(set up in ${((performance.now() - started) / 1000).toFixed(0)} s)`
    )

    const store = await runtime.runPromise(AgentStore.AgentStore)
    const { busyAgents: _busy, listInstances: _instances, ...perAgentStore } = store
    const jobs = [
      { name: "command-sweep", run: Jobs.sweep },
      { name: "zombie-retention", run: Jobs.zombieRetention() },
      { name: "unreconciled-instances", run: Jobs.unreconciledInstances },
      {
        name: "savings-accrual (1 h window)",
        run: Effect.flatMap(Clock.currentTimeMillis, (now) => SavingsAccrual.accrueWindow({ from: now - 3_600_000, to: now }))
      }
    ] as const
    const modes = [
      { name: "bulk reads", store },
      { name: "per-agent loads", store: perAgentStore }
    ] as const
    const [[version]] = (await adminConn.query("SELECT VERSION() AS v")) as any
    console.log(`${version.v}; database CPU from ${databasePid === undefined ? "(not on this machine)" : `pid ${databasePid}`}; ${rounds} round(s), best shown`)
    console.log("")
    console.log("| job | store reads | wall ms | this process CPU ms | database CPU ms |")
    console.log("|---|---|---:|---:|---:|")
    for (const job of jobs) {
      for (const mode of modes) {
        let best: { wall: number; cpu: number; db: number } | undefined
        for (let r = 0; r < rounds; r++) {
          const cpu0 = process.cpuUsage()
          const db0 = databaseCpuMs()
          const t0 = performance.now()
          await runtime.runPromise(Effect.provideService(job.run as Effect.Effect<unknown, unknown, never>, AgentStore.AgentStore, mode.store))
          const wall = performance.now() - t0
          const cpu = process.cpuUsage(cpu0)
          const sample = { wall, cpu: (cpu.user + cpu.system) / 1000, db: databaseCpuMs() - db0 }
          if (best === undefined || sample.cpu < best.cpu) best = sample
        }
        console.log(`| ${job.name} | ${mode.name} | ${best!.wall.toFixed(0)} | ${best!.cpu.toFixed(0)} | ${best!.db.toFixed(0)} |`)
      }
    }

    // The accrual's spot-price reads alone, over a 5-minute window ending now.
    const pointsOf = (pool: Pool.PoolId, from: number, to: number) =>
      Effect.flatMap(PriceService.PriceService, (prices) =>
        Effect.map(prices.history(pool, { from, to }), (h) => h.consolidated.length + h.raw.length))
    const priceReads = [
      {
        name: "whole lookback (1 day, as before)",
        run: Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.forEach(pools, (pool) => pointsOf(pool, now - 300_000 - 86_400_000, now)))
      },
      {
        name: "window + 10 min before (now)",
        run: Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.forEach(pools, (pool) =>
            Effect.zipWith(pointsOf(pool, now - 300_000, now), pointsOf(pool, now - 900_000, now - 300_000), (a, b) => a + b)))
      }
    ] as const
    console.log("")
    console.log(`| accrual spot-price reads (${pools.length} pools, 5-min window, ${reporters} agents reporting for ${reportMinutes} min) | points read | wall ms | this process CPU ms | database CPU ms |`)
    console.log("|---|---:|---:|---:|---:|")
    for (const read of priceReads) {
      let best: { wall: number; cpu: number; db: number; points: number } | undefined
      for (let r = 0; r < rounds; r++) {
        const cpu0 = process.cpuUsage()
        const db0 = databaseCpuMs()
        const t0 = performance.now()
        const counts = await runtime.runPromise(read.run)
        const wall = performance.now() - t0
        const cpu = process.cpuUsage(cpu0)
        const sample = { wall, cpu: (cpu.user + cpu.system) / 1000, db: databaseCpuMs() - db0, points: counts.reduce((a, b) => a + b, 0) }
        if (best === undefined || sample.cpu < best.cpu) best = sample
      }
      console.log(`| ${read.name} | ${best!.points} | ${best!.wall.toFixed(0)} | ${best!.cpu.toFixed(0)} | ${best!.db.toFixed(0)} |`)
    }
    await runtime.dispose()
  } finally {
    await adminConn.query(`DROP DATABASE IF EXISTS \`${database}\``)
    await adminConn.end()
  }
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
