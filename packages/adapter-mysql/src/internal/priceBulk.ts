/*
 * The columnar fast path of the MySQL price store (`PriceStore.bulk`): snapshots are read as
 * value arrays straight into typed arrays, and a `Consolidation.Result` is written without a
 * record per point: one range read of the stored blocks of the window (FOR UPDATE; blocks are
 * one pool-day each, see `priceBlocks.ts`), the write rules applied in memory, then the changed
 * blocks upserted. The two tiers are written in two transactions at once, on two connections.
 * Snapshots are read from the covering index of migration 6. Works the same on MySQL 8 and
 * MariaDB (no LOAD DATA, no row aliases).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Consolidation, type EngineError, type Pool, type PriceStore } from "@spotfleet/engine"
import { Effect, Option } from "effect"
import * as PriceBlockSql from "./priceBlockSql.js"
import * as PriceBlocks from "./priceBlocks.js"
import { placeholders } from "./sqlRun.js"

type Run = <A, E, R>(
  operation: string,
  effect: Effect.Effect<A, E | SqlError, R>
) => Effect.Effect<A, Exclude<E, SqlError> | EngineError.StoreError, R>

/** Pools per IN list when reading. */
const READ_POOLS = 500

/** The confidence of each point kind (`Consolidation.KIND_*`), as the record path stamps it. */
const CONFIDENCE = [0, 1, 0.8, 0.9] as const

/**
 * The indices of `rows` (id first) in id order. Ids are unique and a batch's ids lie within a
 * few times its size of each other (reports arrive interleaved over all pools), so they are
 * placed by id offset in one pass, O(rows + id span), instead of a comparison sort (≈ 1.5 M
 * comparisons per 90,000-row batch); a sparse span falls back to the sort.
 */
const idOrder = (rows: ReadonlyArray<ReadonlyArray<unknown>>): Uint32Array => {
  const n = rows.length
  const ids = new Float64Array(n)
  let min = Infinity, max = -Infinity
  for (let i = 0; i < n; i++) {
    const id = Number(rows[i]![0])
    ids[i] = id
    if (id < min) min = id
    if (id > max) max = id
  }
  const order = new Uint32Array(n)
  const span = max - min + 1
  if (n > 0 && span <= 32 * n + 4096) {
    const at = new Int32Array(span).fill(-1)
    for (let i = 0; i < n; i++) at[ids[i]! - min] = i
    let k = 0
    for (let j = 0; j < span; j++) if (at[j]! >= 0) order[k++] = at[j]!
    if (k === n) return order
  }
  const sorted = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a]! - ids[b]!)
  order.set(sorted)
  return order
}

interface Counts {
  inserted: number
  updated: number
  unchanged: number
  kept: number
}

export const make = (sql: SqlClient.SqlClient, run: Run, blocks: PriceBlockSql.BlockSql): PriceStore.PriceStoreBulk => {
  const values = (text: string, params: ReadonlyArray<unknown>) => sql.unsafe(text, params).values

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
              // source, no row lookups. Not `ORDER BY id`: the server sorted a batch (≈ 90,000
              // rows) through temporary files, which cost more than the scan; sorting the ids
              // here takes ≈ 20 ms.
              // Role and source come back as numbers (role code as in `Consolidation.roleCode`,
              // 1 for an agent snapshot): two fewer strings to decode per row.
              "SELECT id, pool, observed_at, price, " +
                "CASE reporter_role WHEN 'PRIMARY' THEN 2 WHEN 'REPLICA' THEN 1 ELSE 0 END, source = 'agent' " +
                "FROM price_snapshots " +
                "FORCE INDEX (ix_price_snapshots_pool_source) " +
                `WHERE pool IN (${placeholders(batch.length)}) AND source IN ('agent', 'backfill') ` +
                "AND observed_at >= ? AND observed_at < ?",
              [...batch, from, to]
            )
          )
        }
        const rows = chunks.length === 1 ? chunks[0]! : chunks.flat()
        // Append (id) order, as the port promises (ties between equal snapshots go to the later one).
        const order = idOrder(rows)
        let agentCount = 0
        for (const r of rows) if (Number(r[5]) === 1) agentCount++
        const poolIndex = new Map<string, number>()
        const poolList: Array<Pool.PoolId> = []
        const ids = new Float64Array(agentCount)
        const pool = new Uint32Array(agentCount)
        const observedAt = new Float64Array(agentCount)
        const price = new Float64Array(agentCount)
        const role = new Uint8Array(agentCount)
        const backfill = new Map<Pool.PoolId, Array<Consolidation.HistoryRecord>>()
        let n = 0
        for (let j = 0; j < order.length; j++) {
          const r = rows[order[j]!]!
          const name = r[1] as Pool.PoolId
          if (Number(r[5]) !== 1) {
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
          role[n] = Number(r[4])
          n++
        }
        return {
          agent: { length: n, pools: poolList, pool, observedAt, price, role },
          agentIds: ids,
          backfill
        } satisfies PriceStore.SnapshotColumnsRead
      })
    )

  /**
   * One tier of a result written through its blocks: the blocks of the result's pools over the
   * window read and locked, each point compared with the stored one (a lower confidence never
   * replaces a higher one; an identical point is left alone), the changed blocks written.
   */
  const upsertTier = (
    result: Consolidation.Result,
    runId: string,
    layout: PriceBlocks.Layout,
    include: (kind: number) => boolean,
    values: (k: number, kind: number, out: Array<number>) => void
  ) =>
    Effect.gen(function*() {
      const set = new PriceBlocks.BlockSet(layout)
      yield* blocks.lockRange(set, result.pools, result.from, result.to)
      const counts: Counts = { inserted: 0, updated: 0, unchanged: 0, kept: 0 }
      const first = (result.from - result.contextFrom) / result.slotMillis
      const point: Array<number> = []
      for (let p = 0; p < result.pools.length; p++) {
        const base = p * result.slots
        const pool = result.pools[p]!
        let block: PriceBlocks.Block | undefined
        for (let s = first; s < result.slots; s++) {
          const k = base + s
          const kind = result.kind[k]!
          if (!include(kind)) continue
          const slotStart = result.contextFrom + s * result.slotMillis
          if (block === undefined || slotStart >= block.start + PriceBlocks.BLOCK_MILLIS) block = set.of(pool, slotStart)
          values(k, kind, point)
          const i = block.find(slotStart)
          if (i < 0) {
            block.add(slotStart, runId, point)
            counts.inserted++
          } else if (point[PriceBlocks.CONFIDENCE_FIELD]! < block.fields[PriceBlocks.CONFIDENCE_FIELD]![i]!) counts.kept++
          else if (block.holds(i, point)) counts.unchanged++
          else {
            block.set(i, runId, point)
            counts.updated++
          }
        }
      }
      yield* blocks.write(layout, set.dirty())
      return counts
    })

  const upsertConsolidated = (result: Consolidation.Result, runId: string) =>
    upsertTier(result, runId, PriceBlocks.consolidatedLayout, (kind) => kind !== Consolidation.KIND_NONE, (k, kind, out) => {
      out[0] = result.price[k]!
      out[1] = kind
      out[2] = CONFIDENCE[kind]!
      out[3] = kind === Consolidation.KIND_AGENT ? result.merged[k]! : 0
    })

  const upsertCanonical = (result: Consolidation.Result, runId: string) =>
    upsertTier(
      result,
      runId,
      PriceBlocks.canonicalLayout,
      (kind) => kind === Consolidation.KIND_AGENT || kind === Consolidation.KIND_BACKFILLED,
      (k, kind, out) => {
        out[0] = result.price[k]!
        out[1] = kind
        out[2] = CONFIDENCE[kind]!
        out[3] = result.rollingMean[k]!
        out[4] = result.volatility[k]!
        out[5] = result.spread[k]!
        out[6] = result.notices[k]!
        out[7] = result.interruptions[k]!
      }
    )

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
