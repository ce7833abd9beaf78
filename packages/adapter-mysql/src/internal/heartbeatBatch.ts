/**
 * Group commit for heartbeats (docs/DESIGN.md, "Scale-out": heartbeat timestamps may be coalesced into batched
 * writes; a heartbeat is not a state change). While one batch is being written, the heartbeats
 * that arrive wait and go together in the next: one UPDATE per tenant and one SELECT for the
 * whole batch, in one round trip, instead of one statement (and one commit) per heartbeat. A lone heartbeat is written at once,
 * as one prepared statement, so nothing waits on a timer and a quiet server answers as fast as
 * before; under load the batches grow by themselves. Each caller is answered only after its
 * batch is written.
 */
import type { Pool, ResultSetHeader } from "mysql2"
import * as OneTrip from "./oneTrip.js"
import { placeholders } from "./sqlRun.js"

/** What a heartbeat learns: the agent's liveness before the write and its config version; `undefined` = no such agent for this tenant. */
export interface Touched {
  readonly online: boolean
  readonly configVersion: number
}

interface Waiting {
  readonly tenantId: string
  readonly agentId: string
  readonly at: number
  readonly done: (error: Error | null, touched?: Touched) => void
}

/** Most heartbeats written by one batch (its statements stay far below max_allowed_packet). */
const maxBatch = 1_000

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

/** A batcher over a mysql2 pool. */
export interface Batcher {
  /** Writes the heartbeat with the others that wait, then calls `done` with the agent's state (or the driver's error). */
  readonly touch: (tenantId: string, agentId: string, at: number, done: Waiting["done"]) => void
  /**
   * Writes several heartbeats (in one batch when nothing else is being written, else with the
   * next), then calls `done` once with each agent's state in order, or with the first error.
   */
  readonly touchAll: (
    beats: ReadonlyArray<{ readonly tenantId: string; readonly agentId: string }>,
    at: number,
    done: (error: Error | null, touched?: ReadonlyArray<Touched | undefined>) => void
  ) => void
}

/** A batcher over a mysql2 pool (see {@link Batcher}). */
export const make = (pool: Pool): Batcher => {
  let waiting: Array<Waiting> = []
  let writing = false

  const write = () => {
    if (waiting.length === 0) {
      writing = false
      return
    }
    writing = true
    const batch = waiting.length <= maxBatch ? waiting : waiting.slice(0, maxBatch)
    waiting = waiting.length <= maxBatch ? [] : waiting.slice(maxBatch)
    if (batch.length === 1) return writeOne(batch[0]!)
    writeBatch(batch)
  }

  const writeBatch = (batch: Array<Waiting>) => {
    // One UPDATE per tenant and time (the engine stamps a whole batch of the HTTP layer with one
    // clock read): `tenant_id = ? AND id IN (…)` never touches another tenant's agent, and
    // GREATEST never moves the time back. Then one SELECT reads what the engine needs back. All
    // in one transaction sent in one round trip (oneTrip): one commit for the whole batch.
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
    const select = { text: `SELECT id, tenant_id, config_version, liveness FROM agents WHERE id IN (${placeholders(ids.length)})`, params: ids }
    OneTrip.run(pool, [...updates, select], (error, results) => {
      if (error) {
        for (const w of batch) w.done(error)
        return write()
      }
      const found = results![OneTrip.FIRST + updates.length] as ReadonlyArray<Record<string, unknown>>
      const byKey = new Map<string, Touched>()
      for (const row of found) {
        byKey.set(`${row["id"]}\u0000${row["tenant_id"]}`, {
          online: row["liveness"] === "online",
          configVersion: Number(row["config_version"])
        })
      }
      for (const w of batch) w.done(null, byKey.get(`${w.agentId}\u0000${w.tenantId}`))
      write()
    })
  }

  /**
   * A batch of one (a quiet server, or heartbeats spread evenly over time) is one prepared
   * statement ({@link singleSql}). An insert id of 0 means no row matched, or a server without
   * that idiom: then the batch path answers it.
   */
  const writeOne = (w: Waiting) => {
    pool.execute<ResultSetHeader>(singleSql, [w.at, w.at, w.agentId, w.tenantId], (error, result) => {
      if (error) {
        w.done(error)
        return write()
      }
      const packed = Number(result.insertId)
      if (packed > 0) {
        w.done(null, unpack(packed))
        return write()
      }
      // Nothing matched (or no insert-id idiom): the batch statements tell which.
      waiting.unshift(w)
      writeBatch(waiting.splice(0, Math.min(waiting.length, maxBatch)))
    })
  }

  const touch: Batcher["touch"] = (tenantId, agentId, at, done) => {
    waiting.push({ tenantId, agentId, at, done })
    if (!writing) write()
  }

  const touchAll: Batcher["touchAll"] = (beats, at, done) => {
    if (beats.length === 0) return done(null, [])
    const touched = new Array<Touched | undefined>(beats.length)
    let left = beats.length
    let failed = false
    beats.forEach(({ agentId, tenantId }, i) => {
      waiting.push({
        tenantId,
        agentId,
        at,
        done: (error, one) => {
          if (failed) return
          if (error !== null) {
            failed = true
            return done(error)
          }
          touched[i] = one
          if (--left === 0) done(null, touched)
        }
      })
    })
    if (!writing) write()
  }

  return { touch, touchAll }
}
