/**
 * The MariaDB / MySQL half of `npm run bench:consolidation`: end-to-end consolidation throughput
 * through `MysqlStore` (the engine half runs first, in packages/engine/bench/consolidation.ts).
 *
 * The same synthetic input as the engine half (1,000 pools, 5-minute reports, 2% of slots
 * missing, 5% conflicting REPLICA duplicates), over `BENCH_DAYS` days (default 3) so it fits
 * a bench run. Steps, each timed:
 *
 * 1. ingest: the snapshots appended through `PriceStore.appendSnapshots` (500-row INSERTs);
 * 2. consolidation: `ConsolidationJob.run` over the whole window: snapshots read from MariaDB,
 *    the pure pipeline, duplicates flagged, consolidated and canonical tiers upserted, the run
 *    recorded. Throughput = snapshots consolidated per second, wall time of the whole run
 *    (target ≥ 100,000 rows/s);
 * 3. the same run repeated (idempotent: nothing written).
 *
 * The store-time breakdown sums the wall time of each store call. The job is pipelined (the
 * next batch is read while the previous one is written, and the two tiers are written side by
 * side), so the parts overlap and can add up to more than the run took.
 *
 * Creates and drops its own database. Env: TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306),
 * BENCH_DAYS (default 3), BENCH_POOLS (default 1000).
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { ConsolidationJob, PriceStore, Pricing } from "@spotfleet/engine"
import { Effect, Layer, Redacted } from "effect"
import * as mysql from "mysql2/promise"
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector"
import { loadavg } from "node:os"
import { synthetic } from "../../engine/bench/synthetic.js"
import * as MysqlMigrations from "../src/MysqlMigrations.js"
import * as MysqlStore from "../src/MysqlStore.js"

const base = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"
const POOLS = Number(process.env.BENCH_POOLS ?? 1_000)
const DAYS = Number(process.env.BENCH_DAYS ?? 3)
const database = `spotfleet_bench_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
const url = (() => {
  const u = new URL(base)
  u.pathname = `/${database}`
  return u.toString()
})()
/**
 * CPU seconds (user + system) used so far by a process, from /proc (Linux; undefined elsewhere):
 * shows whether a run waited on the database or on this process.
 */
const cpuSeconds = (pid: number | string): number | undefined => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}
/** The local database server's pid, when it runs on this machine. */
const databasePid = (() => {
  try {
    return execFileSync("pidof", ["mariadbd", "mysqld"], { encoding: "utf8" }).trim().split(/\s+/)[0] || undefined
  } catch {
    return undefined
  }
})()
/** `BENCH_CPU_PROFILE=file.cpuprofile`: a CPU profile of the first run only (open it in Chrome DevTools). */
const inspector = new Session()
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) => inspector.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))))
const startProfile = async () => {
  inspector.connect()
  await post("Profiler.enable")
  await post("Profiler.start")
}
const stopProfile = async (file: string) => {
  const { profile } = (await post("Profiler.stop")) as { profile: unknown }
  writeFileSync(file, JSON.stringify(profile))
  inspector.disconnect()
  console.log(`  CPU profile of the first run: ${file}`)
}
const fmt = (x: number) => Math.round(x).toLocaleString("en-US")
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** Wall time per store operation, to show where a run spends its time. */
const timings = new Map<string, number>()
/** Every store call of the current run: [name, start, end] in ms since the run started. */
const spans: Array<[string, number, number]> = []
let runStart = 0
const timedOp = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.ensuring(
      effect,
      Effect.sync(() => {
        const end = performance.now()
        timings.set(name, (timings.get(name) ?? 0) + end - start)
        spans.push([name, start - runStart, end - runStart])
      })
    )
  })
const instrument = (store: PriceStore.PriceStoreService): PriceStore.PriceStoreService => {
  const bulk = store.bulk ?? PriceStore.bulkFromRecords(store)
  return {
    ...store,
    snapshotPools: (q) => timedOp("snapshotPools", store.snapshotPools(q)),
    flagDuplicates: (ids) => timedOp("flagDuplicates", store.flagDuplicates(ids)),
    bulk: {
      snapshotColumns: (q) => timedOp("bulk.snapshotColumns", bulk.snapshotColumns(q)),
      upsertResult: (r, id) => timedOp("bulk.upsertResult", bulk.upsertResult(r, id))
    }
  }
}
const breakdown = () => {
  const line = [...timings].map(([k, v]) => `${k} ${secs(v)}`).join(", ")
  timings.clear()
  return line
}
/** When each kind of store call first started and last ended: where the run's wall time went. */
const phases = (total: number) => {
  const byName = new Map<string, [number, number, number]>()
  for (const [name, start, end] of spans) {
    const p = byName.get(name)
    byName.set(name, p === undefined ? [start, end, 1] : [Math.min(p[0], start), Math.max(p[1], end), p[2] + 1])
  }
  spans.length = 0
  return [...byName].map(([name, [start, end, n]]) => `${name} ×${n} ${secs(start)}–${secs(end)}`).join(", ") + ` (run ${secs(total)})`
}

const bench = Effect.gen(function*() {
  const store = instrument(yield* PriceStore.PriceStore)
  const { FROM, SLOTS, TO, generate } = synthetic(POOLS, DAYS)
  const input = generate()
  console.log(
    `\nend-to-end on MariaDB (${database}): ${fmt(POOLS)} pools × ${DAYS} days at 5-minute slots ` +
      `(${fmt(POOLS * SLOTS)} pool-slots, ${fmt(input.length)} snapshots)`
  )

  const CHUNK = 20_000
  const i0 = performance.now()
  for (let i = 0; i < input.length; i += CHUNK) {
    const drafts: Array<Pricing.SnapshotDraft> = []
    for (let j = i; j < Math.min(input.length, i + CHUNK); j++) {
      drafts.push(
        new Pricing.SnapshotDraft({
          tenantId: null,
          pool: input.pools[input.pool[j]!]!,
          price: input.price[j]!,
          observedAt: input.observedAt[j]!,
          reporterAgentId: null,
          reporterRole: input.role[j] === 2 ? "PRIMARY" : "REPLICA",
          source: "agent",
          receivedAt: input.observedAt[j]! + 1
        }, true)
      )
    }
    yield* store.appendSnapshots(drafts)
  }
  const ingestMs = performance.now() - i0
  console.log(`ingest (PriceStore.appendSnapshots): ${fmt(input.length)} rows in ${secs(ingestMs)} → ${fmt(input.length / (ingestMs / 1000))} rows/s`)

  const job = yield* ConsolidationJob.make({
    poolsPerBatch: 100,
    context: () => Effect.succeed(new Map())
  }).pipe(Effect.provideService(PriceStore.PriceStore, store))
  const timed = (label: string) =>
    Effect.gen(function*() {
      const start = performance.now()
      runStart = start
      const cpu0 = [cpuSeconds("self"), databasePid === undefined ? undefined : cpuSeconds(databasePid)]
      const run = yield* job.run({ from: FROM, to: TO })
      const ms = performance.now() - start
      const cpu1 = [cpuSeconds("self"), databasePid === undefined ? undefined : cpuSeconds(databasePid)]
      const cpu = (i: number) => (cpu0[i] === undefined || cpu1[i] === undefined ? "n/a" : `${(cpu1[i]! - cpu0[i]!).toFixed(1)} s`)
      console.log(
        `${label}: ${secs(ms)} — snapshots ${fmt(run.snapshots)}, duplicates ${fmt(run.duplicates)}, agent points ${fmt(run.agentPoints)}, ` +
          `filled ${fmt(run.filled)}, consolidated written ${fmt(run.written)}, canonical written ${fmt(run.canonical)}`
      )
      console.log(
        `${label} throughput: ${fmt(run.snapshots / (ms / 1000))} snapshot rows/s consolidated ` +
          `(${fmt((run.written + run.canonical) / (ms / 1000))} tier rows/s written) (target ≥ 100,000 rows/s)`
      )
      console.log(`  store time: ${breakdown()}`)
      console.log(`  timeline: ${phases(ms)}`)
      console.log(`  CPU during the run: this process ${cpu(0)}, database server ${cpu(1)} (wall ${secs(ms)}; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")})`)
      return { run, ms }
    })
  const profile = process.env.BENCH_CPU_PROFILE
  if (profile !== undefined) yield* Effect.promise(() => startProfile())
  const first = yield* timed("consolidation job, first run (MariaDB → engine → MariaDB)")
  if (profile !== undefined) yield* Effect.promise(() => stopProfile(profile))
  if (first.run.snapshots !== input.length) throw new Error(`expected ${input.length} snapshots, the run read ${first.run.snapshots}`)
  const second = yield* timed("same window again (idempotent)")
  if (second.run.written !== 0 || second.run.canonical !== 0) throw new Error("the repeated run wrote points")
  const total = ingestMs + first.ms
  console.log(`ingest + first run: ${fmt(input.length / (total / 1000))} snapshot rows/s end to end`)
})

const main = async () => {
  const admin = await mysql.createConnection({ uri: base })
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
  try {
    const ClientLive = MysqlClient.layer({ url: Redacted.make(url), maxConnections: 4 })
    const StoreLive = MysqlStore.layer.pipe(
      Layer.provideMerge(Layer.effectDiscard(MysqlMigrations.run).pipe(Layer.provideMerge(ClientLive)))
    )
    await Effect.runPromise(Effect.provide(bench, StoreLive))
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``)
    await admin.end()
  }
}

await main()
