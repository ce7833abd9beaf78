/*
 * Migration 7's data step: the points of the row-per-point tier tables (`consolidated_prices`,
 * `canonical_prices`) copied into blocks. Re-runnable: every block is rebuilt from the old
 * table, and a table that is gone (dropped by a later release) is skipped.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { EngineError, Pool } from "@spotfleet/engine"
import { Effect } from "effect"
import * as PriceBlockSql from "./priceBlockSql.js"
import * as PriceBlocks from "./priceBlocks.js"

/** Old rows per read (keyset pages in key order, so a block's rows are contiguous). */
const PAGE = 20_000

interface OldTier {
  readonly table: string
  readonly layout: PriceBlocks.Layout
  /** The columns after pool, slot_start and run_id. */
  readonly select: string
  readonly values: (row: ReadonlyArray<unknown>) => ReadonlyArray<number>
}

const num = (v: unknown) => Number(v)

const tiers: ReadonlyArray<OldTier> = [
  {
    table: "consolidated_prices",
    layout: PriceBlocks.consolidatedLayout,
    select: "price, source, confidence, snapshots_merged",
    values: (r) => [num(r[3]), PriceBlocks.sourceCode(String(r[4])), num(r[5]), num(r[6])]
  },
  {
    table: "canonical_prices",
    layout: PriceBlocks.canonicalLayout,
    select: "price, source, confidence, CAST(features AS CHAR)",
    values: (r) => {
      const f = JSON.parse(String(r[6])) as Record<string, number | null>
      return [
        num(r[3]),
        PriceBlocks.sourceCode(String(r[4])),
        num(r[5]),
        num(f.rollingMean),
        num(f.volatility),
        f.spreadToOnDemand === null || f.spreadToOnDemand === undefined ? Number.NaN : num(f.spreadToOnDemand),
        num(f.notices),
        num(f.interruptions)
      ]
    }
  }
]

/** The move, reading `page` old rows at a time (tests use small pages). */
export const moveWith = (page: number): Effect.Effect<void, SqlError | EngineError.StoreError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const blocks = PriceBlockSql.makeSql(sql)
  for (const tier of tiers) {
    const exists = yield* sql.unsafe(
      "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? LIMIT 1",
      [tier.table]
    ).values
    if (exists.length === 0) continue
    let current: PriceBlocks.Block | undefined
    let after: readonly [string, number] | undefined
    for (;;) {
      const rows = yield* sql.unsafe(
        `SELECT pool, slot_start, run_id, ${tier.select} FROM ${tier.table} ` +
          (after === undefined ? "" : "WHERE pool > ? OR (pool = ? AND slot_start > ?) ") +
          `ORDER BY pool, slot_start LIMIT ${page}`,
        after === undefined ? [] : [after[0], after[0], after[1]]
      ).values
      const full: Array<PriceBlocks.Block> = []
      for (const r of rows) {
        const pool = String(r[0])
        const slot = num(r[1])
        const start = PriceBlocks.blockOf(slot)
        if (current === undefined || current.pool !== pool || current.start !== start) {
          if (current !== undefined) full.push(current)
          current = new PriceBlocks.Block(pool as Pool.PoolId, start, tier.layout)
        }
        current.add(slot, String(r[2]), tier.values(r))
      }
      yield* blocks.write(tier.layout, full)
      if (rows.length < page) break
      const last = rows[rows.length - 1]!
      after = [String(last[0]), num(last[1])]
    }
    if (current !== undefined) yield* blocks.write(tier.layout, [current])
  }
  })

export const run: Effect.Effect<void, SqlError | EngineError.StoreError, SqlClient.SqlClient> = moveWith(PAGE)
