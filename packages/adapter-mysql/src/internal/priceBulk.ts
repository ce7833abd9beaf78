/*
 * The columnar fast path of the MySQL price store (`PriceStore.bulk`): snapshots are read as
 * value arrays straight into typed arrays, and a `Consolidation.Result` is written without a
 * record per point: one range read of the stored points (FOR UPDATE), the write rules applied
 * in memory, then multi-row `INSERT ... ON DUPLICATE KEY UPDATE` for what is new or changed.
 * The two tiers are written in two transactions at once, on two connections. Snapshots are read
 * from the covering index of migration 6. Works the same on MySQL 8 and MariaDB (no LOAD DATA,
 * no row aliases).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Consolidation, type EngineError, type Pool, type PriceStore } from "@spotfleet/engine"
import { Effect, Fiber, Option } from "effect"

type Run = <A, E, R>(
  operation: string,
  effect: Effect.Effect<A, E | SqlError, R>
) => Effect.Effect<A, Exclude<E, SqlError> | EngineError.StoreError, R>

/** Rows per multi-row INSERT (7 columns: 35,000 parameters, well under the 65,535 limit). */
const WRITE_ROWS = 5_000
/** Pools per IN list when reading. */
const READ_POOLS = 500

const SOURCES = ["", "agent", "interpolated", "backfilled"] as const
const CONFIDENCE = [0, 1, 0.8, 0.9] as const
const sourceCode = (s: unknown): number => (s === "agent" ? 1 : s === "interpolated" ? 2 : s === "backfilled" ? 3 : 0)
const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ")
const tuples = (rows: number, columns: number) => {
  const one = `(${placeholders(columns)})`
  return Array.from({ length: rows }, () => one).join(", ")
}

interface Counts {
  inserted: number
  updated: number
  unchanged: number
  kept: number
}

export const make = (sql: SqlClient.SqlClient, run: Run): PriceStore.PriceStoreBulk => {
  const values = (text: string, params: ReadonlyArray<unknown>) => sql.unsafe(text, params).values
  const exec = (text: string, params: ReadonlyArray<unknown>) => sql.unsafe(text, params).raw

  const snapshotColumns: PriceStore.PriceStoreBulk["snapshotColumns"] = ({ from, pools, to }) =>
    run(
      "readSnapshotColumns",
      Effect.gen(function*() {
        const chunks: Array<ReadonlyArray<ReadonlyArray<unknown>>> = []
        for (let i = 0; i < pools.length; i += READ_POOLS) {
          const batch = pools.slice(i, i + READ_POOLS)
          chunks.push(
            yield* values(
              // Covered by ix_price_snapshots_pool_source (migration 6): a range scan per pool and
              // source, no row lookups.
              "SELECT id, pool, observed_at, price, reporter_role, source FROM price_snapshots " +
                `WHERE pool IN (${placeholders(batch.length)}) AND source IN ('agent', 'backfill') ` +
                "AND observed_at >= ? AND observed_at < ? ORDER BY id",
              [...batch, from, to]
            )
          )
        }
        // Several IN lists: merge back into one id order.
        const rows = chunks.length === 1 ? chunks[0]! : chunks.flat().sort((a, b) => Number(a[0]) - Number(b[0]))
        let agentCount = 0
        for (const r of rows) if (r[5] === "agent") agentCount++
        const poolIndex = new Map<string, number>()
        const poolList: Array<Pool.PoolId> = []
        const ids = new Float64Array(agentCount)
        const pool = new Uint32Array(agentCount)
        const observedAt = new Float64Array(agentCount)
        const price = new Float64Array(agentCount)
        const role = new Uint8Array(agentCount)
        const backfill = new Map<Pool.PoolId, Array<Consolidation.HistoryRecord>>()
        let n = 0
        for (const r of rows) {
          const name = r[1] as Pool.PoolId
          if (r[5] !== "agent") {
            const record = { observedAt: Number(r[2]), price: Number(r[3]) }
            const list = backfill.get(name)
            if (list === undefined) backfill.set(name, [record])
            else list.push(record)
            continue
          }
          let p = poolIndex.get(name)
          if (p === undefined) {
            p = poolList.length
            poolList.push(name)
            poolIndex.set(name, p)
          }
          ids[n] = Number(r[0])
          pool[n] = p
          observedAt[n] = Number(r[2])
          price[n] = Number(r[3])
          role[n] = r[4] === "PRIMARY" ? 2 : r[4] === "REPLICA" ? 1 : 0
          n++
        }
        return {
          agent: { length: n, pools: poolList, pool, observedAt, price, role },
          agentIds: ids,
          backfill
        } satisfies PriceStore.SnapshotColumnsRead
      })
    )

  /** Stored points of the result's pools in `[from, to)`, locked, indexed like the result. */
  const lockExisting = (
    result: Consolidation.Result,
    select: string,
    table: string,
    onRow: (index: number, row: ReadonlyArray<unknown>) => void
  ) =>
    Effect.gen(function*() {
      const poolIndex = new Map<string, number>()
      result.pools.forEach((p, i) => poolIndex.set(p, i))
      for (let i = 0; i < result.pools.length; i += READ_POOLS) {
        const batch = result.pools.slice(i, i + READ_POOLS)
        const rows = yield* values(
          `SELECT pool, slot_start, ${select} FROM ${table} ` +
            `WHERE pool IN (${placeholders(batch.length)}) AND slot_start >= ? AND slot_start < ? FOR UPDATE`,
          [...batch, result.from, result.to]
        )
        for (const r of rows) {
          const p = poolIndex.get(r[0] as string)
          const s = (Number(r[1]) - result.contextFrom) / result.slotMillis
          if (p === undefined || !Number.isInteger(s) || s < 0 || s >= result.slots) continue
          onRow(p * result.slots + s, r)
        }
      }
    })

  /**
   * Multi-row upserts of `WRITE_ROWS` rows, sent as the rows are produced: while the server runs
   * one statement (in a child fiber, on the same transaction connection) the next one is built.
   * One statement in flight at a time; `done` waits for the last.
   */
  const writer = (table: string, columns: ReadonlyArray<string>) => {
    const width = columns.length
    const update = columns.slice(2).map((c) => `${c} = VALUES(${c})`).join(", ")
    const statement = (rows: number) =>
      `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples(rows, width)} ON DUPLICATE KEY UPDATE ${update}`
    const full = statement(WRITE_ROWS)
    let params: Array<unknown> = []
    let pending: Fiber.RuntimeFiber<unknown, SqlError> | undefined
    const send = Effect.suspend(() => {
      const rows = params.length / width
      const batch = params
      params = []
      return Effect.gen(function*() {
        if (pending !== undefined) yield* Fiber.join(pending)
        pending = rows === 0 ? undefined : yield* Effect.fork(exec(rows === WRITE_ROWS ? full : statement(rows), batch))
      })
    })
    return {
      /** The parameters of the statement being built: push one row's values, then `send` when `full`. */
      params: () => params,
      full: () => params.length >= WRITE_ROWS * width,
      send,
      done: Effect.zipRight(send, Effect.suspend(() => (pending === undefined ? Effect.void : Fiber.join(pending))))
    }
  }

  const upsertConsolidated = (result: Consolidation.Result, runId: string) =>
    Effect.gen(function*() {
      const size = result.pools.length * result.slots
      const storedKind = new Uint8Array(size)
      const storedPrice = new Float64Array(size)
      const storedConfidence = new Float64Array(size)
      const storedMerged = new Uint32Array(size)
      yield* lockExisting(result, "price, source, confidence, snapshots_merged", "consolidated_prices", (k, r) => {
        storedKind[k] = sourceCode(r[3])
        storedPrice[k] = Number(r[2])
        storedConfidence[k] = Number(r[4])
        storedMerged[k] = Number(r[5])
      })
      const counts: Counts = { inserted: 0, updated: 0, unchanged: 0, kept: 0 }
      const out = writer("consolidated_prices", ["pool", "slot_start", "price", "source", "confidence", "run_id", "snapshots_merged"])
      const first = (result.from - result.contextFrom) / result.slotMillis
      for (let p = 0; p < result.pools.length; p++) {
        const base = p * result.slots
        const pool = result.pools[p]!
        for (let s = first; s < result.slots; s++) {
          const k = base + s
          const kind = result.kind[k]!
          if (kind === Consolidation.KIND_NONE) continue
          const confidence = CONFIDENCE[kind]!
          const merged = kind === Consolidation.KIND_AGENT ? result.merged[k]! : 0
          const price = result.price[k]!
          if (storedKind[k] === 0) counts.inserted++
          else if (confidence < storedConfidence[k]!) {
            counts.kept++
            continue
          } else if (
            storedPrice[k] === price && storedKind[k] === kind && storedConfidence[k] === confidence && storedMerged[k] === merged
          ) {
            counts.unchanged++
            continue
          } else counts.updated++
          out.params().push(pool, result.contextFrom + s * result.slotMillis, price, SOURCES[kind], confidence, runId, merged)
          if (out.full()) yield* out.send
        }
      }
      yield* out.done
      return counts
    })

  const upsertCanonical = (result: Consolidation.Result, runId: string) =>
    Effect.gen(function*() {
      const size = result.pools.length * result.slots
      const stored: Array<ReadonlyArray<unknown> | undefined> = new Array(size)
      yield* lockExisting(result, "price, source, confidence, CAST(features AS CHAR)", "canonical_prices", (k, r) => {
        stored[k] = r
      })
      const counts: Counts = { inserted: 0, updated: 0, unchanged: 0, kept: 0 }
      const out = writer("canonical_prices", ["pool", "slot_start", "price", "source", "confidence", "run_id", "features"])
      const first = (result.from - result.contextFrom) / result.slotMillis
      for (let p = 0; p < result.pools.length; p++) {
        const base = p * result.slots
        const pool = result.pools[p]!
        for (let s = first; s < result.slots; s++) {
          const k = base + s
          const kind = result.kind[k]!
          if (kind !== Consolidation.KIND_AGENT && kind !== Consolidation.KIND_BACKFILLED) continue
          const confidence = CONFIDENCE[kind]!
          const price = result.price[k]!
          const spread = Number.isNaN(result.spread[k]!) ? null : result.spread[k]!
          const row = stored[k]
          if (row === undefined) counts.inserted++
          else if (confidence < Number(row[4])) {
            counts.kept++
            continue
          } else if (Number(row[2]) === price && row[3] === SOURCES[kind] && Number(row[4]) === confidence) {
            const f = JSON.parse(String(row[5])) as Record<string, unknown>
            if (
              f.rollingMean === result.rollingMean[k] && f.volatility === result.volatility[k] && f.spreadToOnDemand === spread &&
              f.notices === result.notices[k] && f.interruptions === result.interruptions[k]
            ) {
              counts.unchanged++
              continue
            }
            counts.updated++
          } else counts.updated++
          out.params().push(
            pool,
            result.contextFrom + s * result.slotMillis,
            price,
            SOURCES[kind],
            confidence,
            runId,
            JSON.stringify({
              rollingMean: result.rollingMean[k],
              volatility: result.volatility[k],
              spreadToOnDemand: spread,
              notices: result.notices[k],
              interruptions: result.interruptions[k]
            })
          )
          if (out.full()) yield* out.send
        }
      }
      yield* out.done
      return counts
    })

  return {
    snapshotColumns,
    // One transaction per tier, the two on their own connections side by side (the server
    // writes both at once). Inside a caller's transaction they share it, one after the other.
    upsertResult: (result, runId) =>
      Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (outer) =>
        Effect.all({
          consolidated: run("upsertResult", sql.withTransaction(upsertConsolidated(result, runId))),
          canonical: run("upsertResult", sql.withTransaction(upsertCanonical(result, runId)))
        }, { concurrency: Option.isSome(outer) ? 1 : 2 }))
  }
}
