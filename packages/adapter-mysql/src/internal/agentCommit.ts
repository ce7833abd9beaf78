/**
 * A commit of the AgentStore as statements: the commit planner (only what changed is written)
 * and what a unique key that rejected a commit means to the engine.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { type AgentStore, EngineError } from "@spotfleet/engine"
import { Effect } from "effect"
import * as Errors from "./errors.js"
import * as Idempotency from "./idempotency.js"
import * as Rows from "./rows.js"
import { placeholders } from "./sqlRun.js"
import { type Planned, versionCheckFailed } from "./transport.js"

/** `INSERT INTO t (columns) VALUES (?, …)` for one row. */
const insertSql = (tableName: string, columns: ReadonlyArray<string>) => `INSERT INTO ${tableName} (${columns.join(", ")}) VALUES (${placeholders(columns.length)})`
const updateSet = (columns: ReadonlyArray<string>) => columns.map((c) => `${c} = ?`).join(", ")

const agentColumnsForUpdate = Rows.agentWriteColumns.filter((c) => c !== "created_at" && c !== "tenant_id")

/**
 * The statements of a commit, events aside, in the order they run. Only what changed (by
 * reference) is written. The agent's UPDATE carries the version check.
 */
export const plan = ({ after, before, idempotency }: AgentStore.Commit): Array<Planned> => {
  const agent = after.agent
  const statements: Array<Planned> = []
  // The idempotency key first (see idempotency.ts): a key that exists fails the commit with
  // DuplicateKey (the engine then replays the first answer) rather than with a VersionConflict.
  if (idempotency !== undefined) statements.push(Idempotency.insert(idempotency))
  if (before === null) {
    // last_heartbeat_at is set apart from the other columns (see below).
    statements.push({
      text: insertSql("agents", ["id", ...Rows.agentWriteColumns, "last_heartbeat_at"]),
      params: [agent.id, ...Rows.agentValues(agent), agent.lastHeartbeatAt]
    })
  } else {
    const all = Rows.agentValues(agent)
    const values = Rows.agentWriteColumns.flatMap((c, n) => (c === "created_at" || c === "tenant_id" ? [] : [all[n]]))
    // Heartbeats are written apart from commits (touchHeartbeat): never move the time back.
    statements.push({
      text: `UPDATE agents SET ${updateSet(agentColumnsForUpdate)}, ` +
        "last_heartbeat_at = CASE WHEN last_heartbeat_at IS NULL THEN ? WHEN ? IS NULL THEN last_heartbeat_at " +
        "ELSE GREATEST(last_heartbeat_at, ?) END " +
        "WHERE id = ? AND version = ?",
      params: [...values, agent.lastHeartbeatAt, agent.lastHeartbeatAt, agent.lastHeartbeatAt, agent.id, before.agent.version],
      versionCheck: true
    })
  }
  // Demotions first, promotions last, so the one-PRIMARY index never sees two PRIMARYs
  // half-way through a legal swap.
  const beforeInstances = new Set(before?.instances ?? [])
  const knownInstances = new Set((before?.instances ?? []).map((i) => i.id))
  const changedInstances = after.instances
    .filter((i) => !beforeInstances.has(i))
    .sort((a, b) => (a.role === "PRIMARY" ? 1 : 0) - (b.role === "PRIMARY" ? 1 : 0))
  for (const instance of changedInstances) {
    const values = Rows.instanceValues(instance, agent.tenantId)
    statements.push(
      knownInstances.has(instance.id)
        ? { text: `UPDATE instances SET ${updateSet(Rows.instanceWriteColumns)} WHERE id = ? AND agent_id = ?`, params: [...values, instance.id, agent.id] }
        : { text: insertSql("instances", ["id", ...Rows.instanceWriteColumns]), params: [instance.id, ...values] }
    )
  }
  const beforeCommands = new Set(before?.commands ?? [])
  const knownCommands = new Set((before?.commands ?? []).map((c) => c.id))
  for (const command of after.commands) {
    if (beforeCommands.has(command)) continue
    const values = Rows.commandValues(command)
    statements.push(
      knownCommands.has(command.id)
        ? { text: `UPDATE commands SET ${updateSet(Rows.commandWriteColumns)} WHERE id = ?`, params: [...values, command.id] }
        : { text: insertSql("commands", ["id", ...Rows.commandWriteColumns]), params: [command.id, ...values] }
    )
  }
  return statements
}

/** The failure of a commit whose version check did not match. */
export const conflict = ({ after, before }: AgentStore.Commit) =>
  new EngineError.VersionConflict({ agentId: after.agent.id, expectedVersion: before?.agent.version ?? 0 })

const duplicate = (entity: string, key: string) => Effect.fail(new EngineError.DuplicateKey({ entity, key }))

/**
 * What a failed commit means to the engine: a version check that matched no row is a
 * VersionConflict; for a unique key that rejected it, the key's name tells the table, except
 * for primary keys: there the duplicate entry's value tells whose key it was.
 */
export const rejected = (
  c: AgentStore.Commit,
  error: SqlError
): Effect.Effect<never, SqlError | EngineError.VersionConflict | EngineError.DuplicateKey> => {
  if (versionCheckFailed(error)) return Effect.fail(conflict(c))
  const { after, idempotency } = c
  const keyName = Errors.duplicateKeyName(error)
  if (keyName === null) return Effect.fail(error)
  const agent = after.agent
  const entry = Errors.duplicateEntry(error)
  // A second PRIMARY: a concurrent promotion won. The database is the last line of defence.
  if (keyName === "uq_instances_one_primary") return Effect.fail(conflict(c))
  if (keyName === "uq_agents_tenant_logical") return duplicate("agent", agent.logicalAgentId)
  if (keyName === "uq_instances_cloud") {
    const instance = after.instances.find((i) => i.cloudInstanceId !== null && entry === `${agent.tenantId}-${i.cloudInstanceId}`)
    return duplicate("instance", instance?.cloudInstanceId ?? entry ?? "")
  }
  if (keyName === "uq_commands_request") return duplicate("command", entry ?? "")
  if (idempotency !== undefined && entry === `${idempotency.tenantId}-${idempotency.key}`) return duplicate("idempotency key", idempotency.key)
  if (entry === agent.id) return duplicate("agent", agent.id)
  if (after.instances.some((i) => i.id === entry)) return duplicate("instance", entry!)
  if (after.commands.some((c) => c.id === entry)) return duplicate("command", entry!)
  return Effect.fail(error)
}
