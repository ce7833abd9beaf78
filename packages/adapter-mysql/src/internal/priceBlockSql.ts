/*
 * The SQL side of the price blocks (priceBlocks.ts holds their format): locked reads for writes,
 * plain reads, pipelined multi-row writes.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { EngineError, type Pool } from "@spotfleet/engine"
import { Effect, Fiber } from "effect"
import { Block, BlockFormatError, blockOf, BlockSet, type Layout } from "./priceBlocks.js"
import { placeholders } from "./sqlRun.js"

/** Block rows per multi-row INSERT, and the size after which a statement is sent anyway. */
const WRITE_ROWS = 200
const WRITE_BYTES = 4 * 1024 * 1024
/** Pools (or keys) per IN list when reading. */
const READ_KEYS = 500


/** The SQL side of the blocks: locked reads for writes, plain reads, pipelined writes. */
export interface BlockSql {
  /** Reads and locks (FOR UPDATE) the blocks of `pools` overlapping `[from, to)` into `set`. */
  readonly lockRange: (
    set: BlockSet,
    pools: ReadonlyArray<Pool.PoolId>,
    from: number,
    to: number
  ) => Effect.Effect<void, SqlError | EngineError.StoreError>
  /** Reads and locks the blocks at these `[pool, block start]` keys into `set`. */
  readonly lockKeys: (
    set: BlockSet,
    keys: ReadonlyArray<readonly [Pool.PoolId, number]>
  ) => Effect.Effect<void, SqlError | EngineError.StoreError>
  /** The blocks of one pool overlapping `[from, to)`, in day order (no locks). */
  readonly read: (
    layout: Layout,
    pool: Pool.PoolId,
    from: number,
    to: number
  ) => Effect.Effect<Array<Block>, SqlError | EngineError.StoreError>
  /**
   * Writes the blocks (insert or replace), a few hundred per statement; the next statement is
   * encoded while the server runs the previous one.
   */
  readonly write: (layout: Layout, blocks: ReadonlyArray<Block>) => Effect.Effect<void, SqlError>
}

export const makeSql = (sql: SqlClient.SqlClient): BlockSql => {
  const values = (text: string, params: ReadonlyArray<unknown>) => sql.unsafe(text, params).values
  const decodeRows = (layout: Layout, rows: ReadonlyArray<ReadonlyArray<unknown>>, onBlock: (b: Block) => void) =>
    Effect.try({
      try: () => {
        for (const r of rows) onBlock(Block.decode(r[0] as Pool.PoolId, Number(r[1]), layout, r[2] as Uint8Array))
      },
      catch: (e) =>
        new EngineError.StoreError({
          operation: "readPriceBlocks",
          reason: e instanceof BlockFormatError ? e.message : `unreadable ${layout.table} block`
        })
    })

  return {
    lockRange: (set, pools, from, to) =>
      Effect.gen(function*() {
        for (let i = 0; i < pools.length; i += READ_KEYS) {
          const batch = pools.slice(i, i + READ_KEYS)
          const rows = yield* values(
            `SELECT pool, block_start, points FROM ${set.layout.table} ` +
              `WHERE pool IN (${placeholders(batch.length)}) AND block_start >= ? AND block_start < ? FOR UPDATE`,
            [...batch, blockOf(from), to]
          )
          yield* decodeRows(set.layout, rows, (b) => set.put(b))
        }
      }),
    lockKeys: (set, keys) =>
      Effect.gen(function*() {
        for (let i = 0; i < keys.length; i += READ_KEYS) {
          const batch = keys.slice(i, i + READ_KEYS)
          const rows = yield* values(
            `SELECT pool, block_start, points FROM ${set.layout.table} ` +
              `WHERE (pool, block_start) IN (${batch.map(() => "(?, ?)").join(", ")}) FOR UPDATE`,
            batch.flat()
          )
          yield* decodeRows(set.layout, rows, (b) => set.put(b))
        }
      }),
    read: (layout, pool, from, to) =>
      Effect.flatMap(
        values(
          `SELECT pool, block_start, points FROM ${layout.table} WHERE pool = ? AND block_start >= ? AND block_start < ? ` +
            "ORDER BY block_start",
          [pool, blockOf(from), to]
        ),
        (rows) => {
          const out: Array<Block> = []
          return Effect.as(decodeRows(layout, rows, (b) => out.push(b)), out)
        }
      ),
    write: (layout, blocks) =>
      Effect.gen(function*() {
        const statement = (rows: number) =>
          `INSERT INTO ${layout.table} (pool, block_start, point_count, run_id, points) VALUES ` +
          Array.from({ length: rows }, () => "(?, ?, ?, ?, ?)").join(", ") +
          " ON DUPLICATE KEY UPDATE point_count = VALUES(point_count), run_id = VALUES(run_id), points = VALUES(points)"
        let pending: Fiber.RuntimeFiber<unknown, SqlError> | undefined
        let params: Array<unknown> = []
        let bytes = 0
        const send = Effect.suspend(() => {
          const batch = params
          params = []
          bytes = 0
          return Effect.gen(function*() {
            if (pending !== undefined) yield* Fiber.join(pending)
            pending = batch.length === 0 ? undefined : yield* Effect.fork(sql.unsafe(statement(batch.length / 5), batch).raw)
          })
        })
        // Each statement's blocks are encoded while the server runs the previous statement.
        for (const block of blocks) {
          const value = block.encode()
          params.push(block.pool, block.start, block.size, block.lastRun, value)
          bytes += value.length
          if (params.length >= WRITE_ROWS * 5 || bytes >= WRITE_BYTES) yield* send
        }
        yield* send
        if (pending !== undefined) yield* Fiber.join(pending)
      })
  }
}
