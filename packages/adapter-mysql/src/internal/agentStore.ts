/**
 * AgentStore on MySQL: the `agents`, `instances` and `commands` tables. A commit is one
 * transaction (agentCommit.ts plans it; the events go with it, see eventLog.ts); heartbeats and
 * the agents' hot reads (polls, reports) go through the transport's hot paths.
 */
import { type Agent, type AgentStore, type StateMachine } from "@spotfleet/engine"
import { Effect, Either, Option } from "effect"
import * as AgentCommit from "./agentCommit.js"
import * as EventLog from "./eventLog.js"
import type * as HeartbeatBatch from "./heartbeatBatch.js"
import * as ReadBatch from "./readBatch.js"
import * as Rows from "./rows.js"
import { placeholders, type Run, where } from "./sqlRun.js"
import type { Row, Transport } from "./transport.js"

const { limitClause } = EventLog

const touchedOf = (touched: HeartbeatBatch.Touched): AgentStore.HeartbeatTouch => ({
  liveness: touched.online ? "online" : "offline",
  configVersion: touched.configVersion
})

/** Whether an agent has a notice or an open command (keyed by agent id and tenant). */
const BUSY_WHERE = "(a.notice IS NOT NULL OR a.flow IS NOT NULL OR a.degraded OR EXISTS (SELECT 1 FROM commands c " +
  "WHERE c.agent_id = a.id AND c.status IN ('pending', 'delivered')))"
const BUSY_SQL = `${BUSY_WHERE} AS busy`

/** The agent's ownership (a row with NULL instance columns when it has no live instance) and its live instances. */
const LIVE_FROM = "FROM agents a LEFT JOIN instances i ON i.agent_id = a.id AND i.role IN ('PRIMARY', 'REPLICA')"

/** `Instance.isUnreconciled` in SQL. */
const UNRECONCILED = "role = 'TERMINATED' AND termination_confirmed_at IS NULL AND cloud_instance_id IS NOT NULL"

/** The port on `transport`. */
export const make = (transport: Transport, { retryOnce, run }: Run): AgentStore.AgentStoreService => {
  const { query } = transport
  const decodeAll = Rows.decodeRows

  const loadIn = (agentId: string) =>
    Effect.gen(function*() {
      const agentRows = yield* query(`SELECT ${Rows.agentColumns} FROM agents WHERE id = ?`, [agentId])
      if (agentRows.length === 0) return Option.none<StateMachine.AgentAggregate>()
      const instanceRows = yield* query(
        `SELECT ${Rows.instanceColumns} FROM instances WHERE agent_id = ? ORDER BY created_at, id`,
        [agentId]
      )
      const commandRows = yield* query(`SELECT ${Rows.commandColumns} FROM commands WHERE agent_id = ? ORDER BY seq, id`, [agentId])
      const agent = yield* Rows.decodeAgent(agentRows[0]!)
      const instances = yield* decodeAll(instanceRows, Rows.decodeInstance)
      const commands = yield* decodeAll(commandRows, Rows.decodeCommand)
      return Option.some<StateMachine.AgentAggregate>({ agent, instances, commands })
    })

  /** One consistent snapshot of the three tables. */
  const load = (agentId: string) => run("load", transport.withTransaction(loadIn(agentId)))

  const findByLogicalId: AgentStore.AgentStoreService["findByLogicalId"] = (tenantId, logicalAgentId) =>
    run(
      "findByLogicalId",
      transport.withTransaction(Effect.gen(function*() {
        const rows = yield* query("SELECT id FROM agents WHERE tenant_id = ? AND logical_agent_id = ?", [tenantId, logicalAgentId])
        return rows.length === 0 ? Option.none() : yield* loadIn(String(rows[0]!.id))
      }))
    )

  const findByCloudInstanceId: AgentStore.AgentStoreService["findByCloudInstanceId"] = (tenantId, cloudInstanceId) =>
    run(
      "findByCloudInstanceId",
      Effect.map(
        query("SELECT agent_id FROM instances WHERE tenant_id = ? AND cloud_instance_id = ?", [tenantId, cloudInstanceId]),
        (rows) => Option.map(Option.fromNullable(rows[0]), (r) => r.agent_id as Agent.Agent["id"])
      )
    )

  const ownersOf: NonNullable<AgentStore.AgentStoreService["ownersOf"]> = (tenantId, cloudInstanceIds) =>
    cloudInstanceIds.length === 0
      ? Effect.succeed(new Map())
      : run(
        "ownersOf",
        Effect.map(
          query(
            `SELECT cloud_instance_id, agent_id FROM instances WHERE tenant_id = ? AND cloud_instance_id IN (${cloudInstanceIds.map(() => "?").join(", ")})`,
            [tenantId, ...cloudInstanceIds]
          ),
          (rows) => new Map(rows.map((r) => [r.cloud_instance_id as string, r.agent_id as Agent.Agent["id"]]))
        )
      )

  const list: AgentStore.AgentStoreService["list"] = (tenantId, listOptions = {}) => {
    const filter = where()
      .and(tenantId !== null, "tenant_id = ?", tenantId)
      .and(listOptions.liveness !== undefined, "liveness = ?", listOptions.liveness)
      .and(listOptions.heartbeatBefore !== undefined, "COALESCE(last_heartbeat_at, 0) < ?", listOptions.heartbeatBefore)
      .and(listOptions.autoSwitch !== undefined, "auto_switch = ?", listOptions.autoSwitch)
      .and(listOptions.afterId !== undefined, "id > ?", listOptions.afterId)
    const text = `SELECT ${Rows.agentColumns} FROM agents${filter.text()} ORDER BY id${limitClause(listOptions.limit)}`
    return run("list", Effect.flatMap(query(text, filter.params), (rows) => decodeAll(rows, Rows.decodeAgent)))
  }

  const countAgents: AgentStore.AgentStoreService["countAgents"] = (tenantId) =>
    run("countAgents", Effect.map(query("SELECT COUNT(*) AS n FROM agents WHERE tenant_id = ?", [tenantId]), (rows) => Number(rows[0]?.n ?? 0)))

  const commit: AgentStore.AgentStoreService["commit"] = (c) => {
    const statements = AgentCommit.plan(c)
    return run(
      "commit",
      Effect.map(transport.transaction([...statements, ...EventLog.insertEvents(c.events)]), (results) =>
        EventLog.eventsOf(c.events, results, statements.length)).pipe(Effect.catchAll((e) => AgentCommit.rejected(c, e)))
    )
  }

  /**
   * Heartbeats (see heartbeatBatch): no version, since a heartbeat is not a state change and must
   * not conflict with flows; GREATEST keeps the time from moving back. Retried once when the
   * error allows it (a heartbeat write is idempotent).
   */
  const touchHeartbeats: NonNullable<AgentStore.AgentStoreService["touchHeartbeats"]> = (beats, at) =>
    retryOnce(
      "touchHeartbeats",
      Effect.map(transport.heartbeats(beats, at), (touched) => touched.map((t) => t === undefined ? Option.none() : Option.some(touchedOf(t))))
    )

  const touchHeartbeat: AgentStore.AgentStoreService["touchHeartbeat"] = (tenantId, agentId, at) =>
    retryOnce(
      "touchHeartbeat",
      Effect.map(transport.heartbeats([{ tenantId, agentId }], at), ([t]) => t === undefined ? Option.none() : Option.some(touchedOf(t)))
    )

  /** A hot read (polls, price reports; see readBatch), retried once when the error allows it. */
  const hotReader = (kind: ReadBatch.Kind) => {
    const read = transport.hotRead(kind)
    return <A>(operation: string, key: readonly [string, string], decode: (rows: ReadonlyArray<Row>) => A) =>
      retryOnce(operation, Effect.map(read(key), decode))
  }

  const peekPollRead = hotReader({
    one: `SELECT ${BUSY_SQL} FROM agents a WHERE a.id = ? AND a.tenant_id = ?`,
    many: ReadBatch.byFirst(`SELECT a.id AS k0, a.tenant_id AS k1, ${BUSY_SQL} FROM agents a`, "a.id")
  })
  const peekPoll: NonNullable<AgentStore.AgentStoreService["peekPoll"]> = (tenantId, agentId) =>
    peekPollRead("peekPoll", [agentId, tenantId], (rows) => Option.map(Option.fromNullable(rows[0]), (r) => Number(r.busy) !== 0))

  const liveInstancesRead = hotReader({
    one: `SELECT i.role, i.cloud_instance_id, i.pool ${LIVE_FROM} WHERE a.id = ? AND a.tenant_id = ?`,
    many: ReadBatch.byFirst(`SELECT a.id AS k0, a.tenant_id AS k1, i.role, i.cloud_instance_id, i.pool ${LIVE_FROM}`, "a.id")
  })
  const liveInstances: NonNullable<AgentStore.AgentStoreService["liveInstances"]> = (tenantId, agentId) =>
    liveInstancesRead("liveInstances", [agentId, tenantId], (rows) =>
      rows.length === 0
        ? Option.none()
        : Option.some(rows.flatMap((r): Array<AgentStore.LiveInstance> =>
          r.role === null || r.role === undefined
            ? []
            : [{
              role: r.role as AgentStore.LiveInstance["role"],
              cloudInstanceId: (r.cloud_instance_id as string | null) ?? null,
              pool: r.pool as AgentStore.LiveInstance["pool"]
            }]
        )))


  const listInstances: NonNullable<AgentStore.AgentStoreService["listInstances"]> = (tenantId, listOptions = {}) => {
    const roles = listOptions.roles
    if (roles !== undefined && roles.length === 0) return Effect.succeed([])
    const filter = where()
      .and(tenantId !== null, "tenant_id = ?", tenantId)
      .and(roles !== undefined, `role IN (${placeholders(roles?.length ?? 0)})`, ...(roles ?? []))
      .and(listOptions.notTerminatedBy !== undefined, "(terminated_at IS NULL OR terminated_at > ?)", listOptions.notTerminatedBy)
      .and(
        listOptions.runningAfter !== undefined,
        "launch_confirmed_at IS NOT NULL AND cloud_instance_id IS NOT NULL AND (termination_confirmed_at IS NULL OR termination_confirmed_at > ?)",
        listOptions.runningAfter
      )
      // `true` reads the (role, termination_confirmed_at) index of migration 9.
      .and(listOptions.unreconciled !== undefined, `${listOptions.unreconciled === true ? "" : "NOT "}(${UNRECONCILED})`)
      .and(listOptions.afterId !== undefined, "id > ?", listOptions.afterId)
    const text = `SELECT tenant_id, ${Rows.instanceColumns} FROM instances${filter.text()} ORDER BY id${limitClause(listOptions.limit)}`
    return run(
      "listInstances",
      Effect.flatMap(query(text, filter.params), (rows) =>
        decodeAll(rows, (row) =>
          Either.map(Rows.decodeInstance(row), (instance) => ({ tenantId: row.tenant_id as Agent.Agent["tenantId"], instance }))))
    )
  }

  /** Agents with a notice or an open command (the poll peek's test), one page in one read. */
  const busyAgents: NonNullable<AgentStore.AgentStoreService["busyAgents"]> = (tenantId, busyOptions = {}) => {
    const filter = where(BUSY_WHERE)
      .and(tenantId !== null, "a.tenant_id = ?", tenantId)
      .and(busyOptions.afterId !== undefined, "a.id > ?", busyOptions.afterId)
    return run(
      "busyAgents",
      Effect.map(
        query(`SELECT a.id, a.tenant_id, a.version FROM agents a${filter.text()} ORDER BY a.id${limitClause(busyOptions.limit)}`, filter.params),
        (rows) =>
          rows.map((r): AgentStore.AgentRef => ({
            tenantId: r.tenant_id as Agent.Agent["tenantId"],
            agentId: r.id as Agent.Agent["id"],
            version: Number(r.version)
          }))
      )
    )
  }

  return {
    load,
    findByLogicalId,
    findByCloudInstanceId,
    ownersOf,
    list,
    countAgents,
    commit,
    touchHeartbeat,
    touchHeartbeats,
    peekPoll,
    liveInstances,
    listInstances,
    busyAgents
  }
}
