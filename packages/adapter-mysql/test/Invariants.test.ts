import { SqlClient } from "@effect/sql"
import { assert } from "@effect/vitest"
import { AgentStore, Engine, Ids, Instance, Pool, type StateMachine } from "@spotfleet/engine"
import { Effect, Exit, Option } from "effect"
import { describeMysql, it, layerStore } from "./utils.js"

const pool = Pool.make("t3.medium", "us-east-1a")
const unique = () => globalThis.crypto.randomUUID().slice(0, 12)

/** A registered agent with `replicas` ready REPLICAs, loaded back from the store. */
const agentWithReplicas = (replicas: number) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const store = yield* AgentStore.AgentStore
    const tenant = yield* engine.createTenant({ name: `inv-${unique()}`, tokenHash: `${unique()}${unique()}${unique()}` })
    const { agent } = yield* engine.register(tenant.id, { logicalAgentId: `agent-${unique()}`, cloudInstanceId: `i-${unique()}`, pool })
    const base = Option.getOrThrow(yield* store.load(agent.id))
    const added = Array.from({ length: replicas }, (_, n) =>
      Instance.Instance.make({
        id: Ids.InstanceId.make(`inst-${unique()}`),
        agentId: agent.id,
        cloudInstanceId: `i-r${n}-${unique()}`,
        pool,
        lifecycle: "spot",
        role: "REPLICA",
        roleHint: "replica",
        launchCommandId: null,
        launchRequestedAt: 0,
        launchConfirmedAt: 0,
        promotedAt: null,
        demotedAt: null,
        terminatedAt: null,
        hourlyPrice: 0.01,
        createdAt: 0
      }))
    yield* store.commit({
      before: base,
      after: { ...base, agent: { ...base.agent, version: base.agent.version + 1 } as typeof base.agent, instances: [...base.instances, ...added] },
      events: []
    })
    return { store, tenant, aggregate: Option.getOrThrow(yield* store.load(agent.id)) }
  })

/** Promotes one replica and demotes the PRIMARY, based on `base`. */
const promotion = (base: StateMachine.AgentAggregate, replicaId: string, demote = true): StateMachine.AgentAggregate => ({
  ...base,
  agent: { ...base.agent, version: base.agent.version + 1 } as typeof base.agent,
  instances: base.instances.map((i) =>
    i.id === replicaId
      ? Instance.Instance.make({ ...i, role: "PRIMARY", promotedAt: 1 })
      : demote && i.role === "PRIMARY"
      ? Instance.Instance.make({ ...i, role: "ZOMBIE", demotedAt: 1 })
      : i
  )
})

const primaries = (agentId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ n: number }>`SELECT COUNT(*) AS n FROM instances WHERE agent_id = ${agentId} AND role = 'PRIMARY'`,
      (rows) => Number(rows[0]!.n)
    ))

const sqlFailure = <A, R>(effect: Effect.Effect<A, unknown, R>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    assert.isTrue(Exit.isFailure(exit), "the database accepted a write it must reject")
    return exit
  })

describeMysql("invariants on MySQL", () => {
  it.layer(layerStore({ maxConnections: 24 }), { timeout: "60 seconds" })((it) => {
    it.effect("50 concurrent promotions of different replicas: exactly one wins, the rest conflict, one PRIMARY", () =>
      Effect.gen(function*() {
        const { aggregate, store } = yield* agentWithReplicas(50)
        const replicas = aggregate.instances.filter((i) => i.role === "REPLICA")
        assert.strictEqual(replicas.length, 50)
        const exits = yield* Effect.all(
          replicas.map((r) => Effect.exit(store.commit({ before: aggregate, after: promotion(aggregate, r.id), events: [] }))),
          { concurrency: "unbounded" }
        )
        const won = exits.filter(Exit.isSuccess)
        const lost = exits.filter(Exit.isFailure)
        assert.strictEqual(won.length, 1)
        assert.strictEqual(lost.length, 49)
        for (const exit of lost) {
          assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "VersionConflict")
        }
        assert.strictEqual(yield* primaries(aggregate.agent.id), 1)
        const final = Option.getOrThrow(yield* store.load(aggregate.agent.id))
        assert.strictEqual(final.agent.version, aggregate.agent.version + 1)
        assert.strictEqual(final.instances.filter((i) => i.role === "PRIMARY").length, 1)
      }).pipe(Effect.provide(Engine.layer())))

    it.effect("a commit that would leave two PRIMARYs is rejected by the database as a conflict, writing nothing", () =>
      Effect.gen(function*() {
        const { aggregate, store } = yield* agentWithReplicas(1)
        const replica = aggregate.instances.find((i) => i.role === "REPLICA")!
        // The version check passes; only the unique index on the generated column stops it.
        const error = yield* Effect.flip(store.commit({ before: aggregate, after: promotion(aggregate, replica.id, false), events: [] }))
        assert.strictEqual(error._tag, "VersionConflict")
        assert.deepStrictEqual(Option.getOrThrow(yield* store.load(aggregate.agent.id)), aggregate)
        assert.strictEqual(yield* primaries(aggregate.agent.id), 1)
      }).pipe(Effect.provide(Engine.layer())))

    it.effect("direct SQL: a second PRIMARY (INSERT or UPDATE), autoSwitch with manualReplica, a reused request id are rejected", () =>
      Effect.gen(function*() {
        const { aggregate } = yield* agentWithReplicas(1)
        const sql = yield* SqlClient.SqlClient
        const agentId = aggregate.agent.id
        const replica = aggregate.instances.find((i) => i.role === "REPLICA")!
        yield* sqlFailure(sql`INSERT INTO instances (id, agent_id, tenant_id, cloud_instance_id, pool, lifecycle, role, created_at)
          VALUES (${`inst-${unique()}`}, ${agentId}, ${aggregate.agent.tenantId}, ${`i-${unique()}`}, ${pool}, 'spot', 'PRIMARY', 0)`)
        yield* sqlFailure(sql`UPDATE instances SET role = 'PRIMARY' WHERE id = ${replica.id}`)
        assert.strictEqual(yield* primaries(agentId), 1)
        // Retiring the PRIMARY frees the slot: the index follows the role, not the row.
        yield* sql`UPDATE instances SET role = 'ZOMBIE' WHERE agent_id = ${agentId} AND role = 'PRIMARY'`
        yield* sql`UPDATE instances SET role = 'PRIMARY' WHERE id = ${replica.id}`
        assert.strictEqual(yield* primaries(agentId), 1)
        yield* sqlFailure(sql`UPDATE agents SET auto_switch = TRUE, manual_replica = TRUE WHERE id = ${agentId}`)
        const command = (id: string) =>
          sql`INSERT INTO commands (id, request_id, tenant_id, agent_id, type, status, priority, params, created_at, not_before, seq)
            VALUES (${id}, 'req-fixed-${sql.literal(agentId.replace(/[^a-z0-9-]/gi, ""))}', ${aggregate.agent.tenantId}, ${agentId},
              'APPLY_CONFIG', 'pending', 10, '{}', 0, 0, 1)`
        yield* command(`cmd-${unique()}`)
        yield* sqlFailure(command(`cmd-${unique()}`))
        yield* sqlFailure(sql`INSERT INTO agents (id, tenant_id, logical_agent_id, auto_switch, manual_replica, auto_terminate,
            terminate_wait_seconds, enabled, min_savings_percent, risk_threshold, max_switches_per_day, max_switches_per_week,
            min_pool_duration_hours, config_version, liveness, metadata, created_at, version)
          VALUES (${`agent-${unique()}`}, ${aggregate.agent.tenantId}, ${aggregate.agent.logicalAgentId}, FALSE, FALSE, TRUE,
            300, TRUE, 15, 0.3, 3, 10, 2, 1, 'online', '{}', 0, 1)`)
      }).pipe(Effect.provide(Engine.layer())))

    it.effect("the same cloud instance id on two agents of a tenant is a DuplicateKey for the instance", () =>
      Effect.gen(function*() {
        const { aggregate, store } = yield* agentWithReplicas(0)
        const engine = yield* Engine.Engine
        const other = yield* engine.register(aggregate.agent.tenantId, {
          logicalAgentId: `agent-${unique()}`,
          cloudInstanceId: `i-${unique()}`,
          pool
        })
        const before = Option.getOrThrow(yield* store.load(other.agent.id))
        const clash = Instance.Instance.make({
          ...before.instances[0]!,
          id: Ids.InstanceId.make(`inst-${unique()}`),
          role: "REPLICA",
          cloudInstanceId: aggregate.instances[0]!.cloudInstanceId
        })
        const error = yield* Effect.flip(store.commit({
          before,
          after: { ...before, agent: { ...before.agent, version: before.agent.version + 1 } as typeof before.agent, instances: [...before.instances, clash] },
          events: []
        }))
        assert.strictEqual(error._tag, "DuplicateKey")
        assert.strictEqual(error._tag === "DuplicateKey" && error.entity, "instance")
        assert.deepStrictEqual(Option.getOrThrow(yield* store.load(other.agent.id)), before)
      }).pipe(Effect.provide(Engine.layer())))
  })
})
