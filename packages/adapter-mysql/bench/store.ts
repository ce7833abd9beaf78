/**
 * `npm run bench:store`: single-row heartbeat writes per second through the adapter
 * (`AgentStore.touchHeartbeat`) and through a bare mysql2 pool running the same UPDATE, at the
 * same concurrency and pool size, in one run, rounds interleaved. Also prints, for reference,
 * the plain UPDATE without the tenant check. Creates and drops its own database.
 *
 * Env: TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306), BENCH_SECONDS (default 5),
 * BENCH_CONCURRENCY (default 16), BENCH_AGENTS (default 256).
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { AgentStore, Agent, Engine, Pool } from "@spotfleet/engine"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as mysql from "mysql2/promise"
import * as MysqlMigrations from "../src/MysqlMigrations.js"
import * as MysqlStore from "../src/MysqlStore.js"

const base = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16)
const agents = Number(process.env.BENCH_AGENTS ?? 256)
const database = `spotfleet_bench_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
const url = (() => {
  const u = new URL(base)
  u.pathname = `/${database}`
  return u.toString()
})()
/** The statement `touchHeartbeat` sends (heartbeatBatch.ts, `singleSql`), byte for byte: ownership check and answer included. */
const HEARTBEAT_SQL = "UPDATE agents SET last_heartbeat_at = " +
  "IF(LAST_INSERT_ID(config_version * 2 + (liveness = 'online') + 1) > 0, " +
  "GREATEST(COALESCE(last_heartbeat_at, ?), ?), last_heartbeat_at) " +
  "WHERE id = ? AND tenant_id = ?"
/** The plain UPDATE the first version of this bench used (no tenant check, nothing read back): a reference line. */
const PLAIN_SQL = "UPDATE agents SET last_heartbeat_at = GREATEST(COALESCE(last_heartbeat_at, ?), ?) WHERE id = ?"

/** Runs `op` from `concurrency` workers for `seconds`; returns operations per second. */
const measure = async (op: (agentId: string, at: number) => Promise<void>, ids: ReadonlyArray<string>, startAt: number) => {
  let done = 0
  let at = startAt
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    let n = w
    while (performance.now() < deadline) {
      await op(ids[n % ids.length]!, ++at)
      n += concurrency
      done++
    }
  }))
  return done / ((performance.now() - started) / 1000)
}

const main = async () => {
  const adminConn = await mysql.createConnection({ uri: base })
  await adminConn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
  try {
    const ClientLive = MysqlClient.layer({ url: Redacted.make(url), maxConnections: concurrency })
    const StoreLive = MysqlStore.layer.pipe(Layer.provideMerge(Layer.effectDiscard(MysqlMigrations.run).pipe(Layer.provideMerge(ClientLive))))
    const setup = Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const tenant = yield* engine.createTenant({ name: "bench", tokenHash: "bench-token-hash-0123456789" })
      const ids: Array<string> = []
      for (let n = 0; n < agents; n++) {
        const r = yield* engine.register(tenant.id, {
          logicalAgentId: `bench-${n}`,
          cloudInstanceId: `i-bench-${n}`,
          pool: Pool.make("t3.medium", "us-east-1a")
        })
        ids.push(r.agent.id)
      }
      return { ids, tenantId: tenant.id, store: yield* AgentStore.AgentStore }
    })
    const runtime = ManagedRuntime.make(Engine.layer().pipe(Layer.provideMerge(StoreLive)))
    const { ids, store: runtimeStore, tenantId } = await runtime.runPromise(setup)
    const dispose = () => runtime.dispose()
    const bare = mysql.createPool({ uri: url, connectionLimit: concurrency })
    const adapterOp = (id: string, at: number) =>
      Effect.runPromise(runtimeStore.touchHeartbeat(tenantId, id as Agent.Agent["id"], at)).then((touched) => {
        if (touched._tag === "None") throw new Error(`heartbeat of ${id} matched no row`)
      })
    const bareOp = async (id: string, at: number) => {
      const [result] = await bare.execute<mysql.ResultSetHeader>(HEARTBEAT_SQL, [at, at, id, tenantId])
      if (result.affectedRows !== 1) throw new Error(`heartbeat of ${id} matched no row`)
    }
    const plainOp = async (id: string, at: number) => void (await bare.execute(PLAIN_SQL, [at, at, id]))
    const warm = async () => {
      await measure(bareOp, ids, 1)
      await measure(adapterOp, ids, 2)
    }

    await warm()
    const adapterRates: Array<number> = []
    const bareRates: Array<number> = []
    const plainRates: Array<number> = []
    let t = 1_000_000_000
    const runs: ReadonlyArray<readonly [typeof adapterOp, Array<number>]> = [
      [adapterOp, adapterRates],
      [bareOp, bareRates],
      [plainOp, plainRates]
    ]
    // The second round runs in reverse order, so drift in the machine's load hits all alike.
    for (const order of [runs, [...runs].reverse()]) {
      for (const [op, rates] of order) rates.push(await measure(op, ids, (t += 10_000_000)))
    }
    const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
    const adapter = mean(adapterRates)
    const bareRate = mean(bareRates)
    const plain = mean(plainRates)
    const [[version]] = (await bare.query("SELECT VERSION() AS v")) as any
    console.log(`store bench: ${version.v}, ${agents} agents, concurrency ${concurrency}, pool ${concurrency}, ${seconds}s x 2 rounds each`)
    console.log(`(a) adapter touchHeartbeat : ${adapter.toFixed(0)} writes/s  (rounds: ${adapterRates.map((r) => r.toFixed(0)).join(", ")})`)
    console.log(`(b) bare mysql2 UPDATE     : ${bareRate.toFixed(0)} writes/s  (rounds: ${bareRates.map((r) => r.toFixed(0)).join(", ")})`)
    console.log(`(b') bare plain UPDATE     : ${plain.toFixed(0)} writes/s  (rounds: ${plainRates.map((r) => r.toFixed(0)).join(", ")}; no tenant check, for reference)`)
    console.log(`ratio adapter/bare         : ${(adapter / bareRate).toFixed(2)}  (target >= 0.70; adapter/plain ${(adapter / plain).toFixed(2)})`)
    await bare.end()
    await dispose()
  } finally {
    await adminConn.query(`DROP DATABASE IF EXISTS \`${database}\``)
    await adminConn.end()
  }
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
