/**
 * The engine's background jobs (`Jobs`) over `MysqlStore` and `MysqlJobLease` on MariaDB/MySQL,
 * with `TestClock` for time: liveness, zombie retention, lease expiry and redelivery, and a run
 * recorded in `job_runs`. Each test gets its own migrated database.
 */
import { SqlClient } from "@effect/sql"
import { Command, Engine, Jobs, Pool } from "@spotfleet/engine"
import { Effect, Layer, TestClock } from "effect"
import * as MysqlJobLease from "../src/MysqlJobLease.js"
import { assert } from "@effect/vitest"
import { describeMysql, it, layerStore } from "./utils.js"

const pool = Pool.make("t3.medium", "us-east-1a")
const ok = (cloudInstanceId: string | null = null) => Command.CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })
const TestLayer = () =>
  Layer.mergeAll(Engine.layer({ leaseSeconds: 300 }), MysqlJobLease.layer).pipe(Layer.provideMerge(layerStore({ maxConnections: 4 })))

const setup = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "c".repeat(64) })
  const register = (name: string) =>
    Effect.map(engine.register(tenant.id, { logicalAgentId: name, cloudInstanceId: `i-${name}`, pool }), (r) => r.agent.id)
  return { engine, t: tenant.id, register }
})

describeMysql("Jobs on MySQL", () => {
  it.effect("liveness: silent agents go offline, agents executing a command stay online, a heartbeat brings them back", () =>
    Effect.gen(function*() {
      const { engine, register, t } = yield* setup
      const quiet = yield* register("quiet")
      const busy = yield* register("busy")
      const chatty = yield* register("chatty")
      yield* engine.requestReplica(t, busy, {})
      yield* engine.pollCommands(t, busy) // a long launch is running at the agent
      yield* TestClock.adjust("60 seconds")
      yield* engine.heartbeat(t, chatty)
      assert.deepStrictEqual(yield* Jobs.liveness(), { checked: 0, markedOffline: 0, busy: 0 })
      yield* TestClock.adjust("40 seconds")
      assert.deepStrictEqual(yield* Jobs.liveness(), { checked: 2, markedOffline: 1, busy: 1 })
      assert.strictEqual((yield* engine.getAgent(t, quiet)).agent.liveness, "offline")
      assert.strictEqual((yield* engine.getAgent(t, busy)).agent.liveness, "online")
      assert.strictEqual((yield* engine.getAgent(t, chatty)).agent.liveness, "online")
      yield* TestClock.adjust("5 minutes") // the command's lease ran out without a result
      assert.strictEqual((yield* Jobs.liveness()).markedOffline, 2)
      yield* engine.heartbeat(t, quiet)
      assert.strictEqual((yield* engine.getAgent(t, quiet)).agent.liveness, "online")
      const types = (yield* engine.events(t, { afterId: 0, limit: 1000, agentId: quiet })).map((e) => e.type)
      assert.includeMembers(types, ["AgentOffline", "AgentOnline"])
      // the row itself says so too
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ liveness: string }>`SELECT liveness FROM agents WHERE id = ${busy}`
      assert.strictEqual(rows[0]!.liveness, "offline")
    }).pipe(Effect.provide(TestLayer())), 60_000)

  it.effect("zombie retention: ZOMBIE → TERMINATED after 30 days, with a TERMINATE command", () =>
    Effect.gen(function*() {
      const { engine, register, t } = yield* setup
      const id = yield* register("web")
      yield* engine.updateConfig(t, id, { autoTerminate: false })
      yield* engine.requestReplica(t, id, {})
      for (const c of yield* engine.pollCommands(t, id)) {
        yield* engine.reportResult(t, id, { commandId: c.id, result: ok(c.type === "LAUNCH_INSTANCE" ? "i-r" : null) })
      }
      const replica = (yield* engine.getAgent(t, id)).instances.find((i) => i.cloudInstanceId === "i-r")!
      yield* engine.promote(t, id, replica.id)
      for (const c of yield* engine.pollCommands(t, id)) yield* engine.reportResult(t, id, { commandId: c.id, result: ok() })
      const zombie = () => Effect.map(engine.getAgent(t, id), (v) => v.instances.find((i) => i.cloudInstanceId === "i-web")!)
      assert.strictEqual((yield* zombie()).role, "ZOMBIE")
      yield* TestClock.adjust("29 days")
      assert.strictEqual((yield* Jobs.zombieRetention()).retired, 0)
      yield* TestClock.adjust("1 day")
      assert.strictEqual((yield* Jobs.zombieRetention()).retired, 1)
      assert.strictEqual((yield* zombie()).role, "TERMINATED")
      assert.strictEqual((yield* Jobs.zombieRetention()).retired, 0)
      const [terminate] = yield* engine.pollCommands(t, id)
      assert.strictEqual(terminate!.type, "TERMINATE_INSTANCE")
      assert.deepStrictEqual(terminate!.params, { instance_id: "i-web" })
    }).pipe(Effect.provide(TestLayer())), 60_000)

  it.effect("the sweep sends a command whose lease ran out back to pending; it is delivered again", () =>
    Effect.gen(function*() {
      const { engine, register, t } = yield* setup
      const id = yield* register("web")
      yield* engine.requestReplica(t, id, {})
      const [launch] = yield* engine.pollCommands(t, id)
      yield* TestClock.adjust("301 seconds")
      assert.deepStrictEqual(yield* Jobs.sweep, { checked: 1, maintained: 1 })
      const command = (yield* engine.getAgent(t, id)).commands.find((c) => c.id === launch!.id)!
      assert.strictEqual(command.status, "pending")
      assert.strictEqual(command.deliveries, 1)
      assert.deepStrictEqual(yield* Jobs.sweep, { checked: 1, maintained: 0 })
      const [again] = yield* engine.pollCommands(t, id)
      assert.strictEqual(again!.id, launch!.id)
      const redelivered = (yield* engine.getAgent(t, id)).commands.find((c) => c.id === launch!.id)!
      assert.strictEqual(redelivered.status, "delivered")
      assert.strictEqual(redelivered.deliveries, 2)
    }).pipe(Effect.provide(TestLayer())), 60_000)

  it.effect("unreconciled instances: counted from the (role, termination_confirmed_at) index, not a scan of every instance", () =>
    Effect.gen(function*() {
      const { engine, register, t } = yield* setup
      const sql = yield* SqlClient.SqlClient
      const id = yield* register("web")
      // History: many instances retired and seen gone, a few live ones.
      const insert = "INSERT INTO instances (id, agent_id, tenant_id, cloud_instance_id, pool, lifecycle, role, created_at, " +
        "launch_confirmed_at, terminated_at, termination_confirmed_at) VALUES (?, ?, ?, ?, ?, 'spot', ?, 0, 0, ?, ?)"
      for (let n = 0; n < 400; n++) {
        const gone = n % 8 !== 0
        yield* sql.unsafe(insert, [`inst-h${String(n).padStart(4, "0")}`, id, t, `i-h${n}`, pool, gone ? "TERMINATED" : "ZOMBIE", gone ? 10 : null, gone ? 20 : null])
      }
      // Two retired instances the cloud still runs (one without a cloud id never ran: not counted).
      yield* sql.unsafe(insert, ["inst-leak1", id, t, "i-leak1", pool, "TERMINATED", 30_000, null])
      yield* sql.unsafe(insert, ["inst-leak2", id, t, "i-leak2", pool, "TERMINATED", 90_000, null])
      yield* sql.unsafe(insert, ["inst-nocloud", id, t, null, pool, "TERMINATED", 10, null])
      yield* sql.unsafe("ANALYZE TABLE instances")
      yield* TestClock.adjust("150 seconds")
      assert.deepStrictEqual(yield* Jobs.unreconciledInstances, { checked: 2, unreconciled: 2, oldestSeconds: 120 })
      assert.strictEqual((yield* engine.getAgent(t, id)).instances.filter((i) => i.role === "TERMINATED").length, 353)
      // The page read the job makes (AgentStore.listInstances with unreconciled: true).
      const plan = yield* sql.unsafe<{ key: string | null; rows: number }>(
        "EXPLAIN SELECT id FROM instances WHERE role = 'TERMINATED' AND termination_confirmed_at IS NULL " +
          "AND cloud_instance_id IS NOT NULL AND id > '' ORDER BY id LIMIT 500"
      )
      assert.strictEqual(plan[0]!.key, "ix_instances_unreconciled", JSON.stringify(plan))
    }).pipe(Effect.provide(TestLayer())), 60_000)

  it.effect("the standard jobs tick through the MySQL lease and record their runs in job_runs", () =>
    Effect.gen(function*() {
      const { register } = yield* setup
      yield* register("web")
      yield* TestClock.adjust("2 minutes")
      const specs = Jobs.standard()
      const ran = yield* Effect.forEach(specs, (spec) => Effect.all([Jobs.tick(spec, "p1"), Jobs.tick(spec, "p2")]))
      assert.deepStrictEqual(ran, specs.map(() => [true, false]))
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ name: string; holder: string; fencing_token: number; outcome: string; detail: string }>`
        SELECT name, holder, fencing_token, outcome, CAST(detail AS CHAR) AS detail FROM job_runs ORDER BY id`
      assert.deepStrictEqual(rows.map((r) => [r.name, r.holder, Number(r.fencing_token), r.outcome]), specs.map((s) => [s.name, "p1", 1, "succeeded"]))
      assert.deepStrictEqual(JSON.parse(rows[0]!.detail), { checked: 1, markedOffline: 1, busy: 0 })
      const leases = yield* sql<{ name: string; holder: string }>`SELECT name, holder FROM job_leases ORDER BY name`
      assert.deepStrictEqual(leases.map((l) => [l.name, l.holder]), specs.map((s) => [s.name, "p1"]).sort())
    }).pipe(Effect.provide(TestLayer())), 60_000)
})
