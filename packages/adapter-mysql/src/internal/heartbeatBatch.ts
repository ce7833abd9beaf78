/**
 * The heartbeat write (docs/DESIGN.md, "Scale-out": heartbeat timestamps may be coalesced into
 * batched writes; a heartbeat is not a state change), for one agent or a batch.
 *
 * A batch of one is one prepared statement ({@link singleSql}) that answers in its OK packet.
 * A larger batch is one UPDATE per tenant and time plus one SELECT for the whole batch, as one
 * transaction (on the store's own pool: one round trip and one commit for the batch). The raw
 * pool transport feeds {@link write} from a `Batcher` (`start: "now"`, one batch at a time):
 * while one batch is written the heartbeats that arrive wait and go together in the next, and a
 * lone heartbeat is written at once, so nothing waits on a timer.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import { placeholders } from "./sqlRun.js"
import type * as Transport from "./transport.js"

/** What a heartbeat learns: the agent's liveness before the write and its config version. */
export interface Touched {
  readonly online: boolean
  readonly configVersion: number
}

/** One heartbeat of a batch. */
export interface Beat extends Transport.Beat {
  readonly at: number
}

/** Most heartbeats written by one batch (its statements stay far below max_allowed_packet). */
export const maxBatch = 1_000

/**
 * One heartbeat as one statement (parameters: at, at, agent id, tenant id). Ownership is in the
 * WHERE clause; what the engine needs back (liveness before the write, config version) comes in
 * the OK packet: the SET clause evaluates `LAST_INSERT_ID(expr)` for the matched row, and MySQL
 * and MariaDB hand `expr` back as the statement's insert id. `expr` = configVersion * 2 + online
 * + 1 is never 0, so an insert id of 0 means no row matched (or a server without the idiom).
 */
export const singleSql = "UPDATE agents SET last_heartbeat_at = " +
  "IF(LAST_INSERT_ID(config_version * 2 + (liveness = 'online') + 1) > 0, " +
  "GREATEST(COALESCE(last_heartbeat_at, ?), ?), last_heartbeat_at) " +
  "WHERE id = ? AND tenant_id = ?"

/** The agent's state from {@link singleSql}'s insert id (> 0). */
export const unpack = (packed: number): Touched => ({
  online: (packed - 1) % 2 === 1,
  configVersion: Math.floor((packed - 1) / 2)
})

/**
 * The batch statements: one UPDATE per tenant and time (the engine stamps a whole batch of the
 * HTTP layer with one clock read) — `tenant_id = ? AND id IN (…)` never touches another tenant's
 * agent, and GREATEST never moves the time back — then one SELECT of what the engine needs back.
 */
const batchStatements = (batch: ReadonlyArray<Beat>): Array<Transport.Statement> => {
  const groups = new Map<string, { readonly tenantId: string; readonly at: number; readonly ids: Set<string> }>()
  for (const w of batch) {
    const key = `${w.tenantId}\u0000${w.at}`
    const group = groups.get(key)
    if (group === undefined) groups.set(key, { tenantId: w.tenantId, at: w.at, ids: new Set([w.agentId]) })
    else group.ids.add(w.agentId)
  }
  const updates = [...groups.values()].map(({ at, ids, tenantId }) => ({
    text: "UPDATE agents SET last_heartbeat_at = GREATEST(COALESCE(last_heartbeat_at, ?), ?) " +
      `WHERE tenant_id = ? AND id IN (${placeholders(ids.size)})`,
    params: [at, at, tenantId, ...ids]
  }))
  const ids = [...new Set(batch.map((w) => w.agentId))]
  return [...updates, { text: `SELECT id, tenant_id, config_version, liveness FROM agents WHERE id IN (${placeholders(ids.length)})`, params: ids }]
}

/** What {@link write} needs of a transport. */
export interface Ops {
  readonly exec: (text: string, params: ReadonlyArray<unknown>) => Effect.Effect<Transport.ResultHeader, SqlError>
  readonly transaction: (statements: ReadonlyArray<Transport.Statement>) => Effect.Effect<Transport.Results, SqlError>
}

/** Writes a batch of heartbeats; answers each agent's state in order (`undefined`: no such agent of that tenant). */
export const write = (ops: Ops) => {
  const many = (batch: ReadonlyArray<Beat>): Effect.Effect<ReadonlyArray<Touched | undefined>, SqlError> => {
    const statements = batchStatements(batch)
    return Effect.map(ops.transaction(statements), (results) => {
      const byKey = new Map<string, Touched>()
      for (const row of results[statements.length - 1] as ReadonlyArray<Record<string, unknown>>) {
        byKey.set(`${row["id"]}\u0000${row["tenant_id"]}`, { online: row["liveness"] === "online", configVersion: Number(row["config_version"]) })
      }
      return batch.map((w) => byKey.get(`${w.agentId}\u0000${w.tenantId}`))
    })
  }
  return (batch: ReadonlyArray<Beat>): Effect.Effect<ReadonlyArray<Touched | undefined>, SqlError> => {
    if (batch.length !== 1) return many(batch)
    const w = batch[0]!
    // An insert id of 0: nothing matched, or a server without the insert-id idiom; the batch
    // statements tell which.
    return Effect.flatMap(
      ops.exec(singleSql, [w.at, w.at, w.agentId, w.tenantId]),
      (written) => written.insertId > 0 ? Effect.succeed([unpack(written.insertId)]) : many(batch)
    )
  }
}
