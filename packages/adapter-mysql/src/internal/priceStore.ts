import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { type EngineError, type Pool, PriceStore, Pricing } from "@spotfleet/engine"
import { Effect, Option, Schema } from "effect"
import * as PriceBlockSql from "./priceBlockSql.js"
import * as PriceBlocks from "./priceBlocks.js"
import * as PriceBulk from "./priceBulk.js"
import * as Rows from "./rows.js"
import { placeholders } from "./sqlRun.js"

type Row = Record<string, unknown>

const CHUNK = 500
/** Snapshot rows per INSERT (8 columns: 32,000 parameters). */
export const APPEND_ROWS = 4_000
/** Snapshot ids per duplicate-flagging UPDATE (a consolidation run flags all of its duplicates at once). */
const FLAG_ROWS = 5_000
const chunks = <A>(as: ReadonlyArray<A>, size: number = CHUNK): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < as.length; i += size) out.push(as.slice(i, i + size))
  return out
}
const tuples = (rows: number, columns: number) => Array.from({ length: rows }, () => `(${placeholders(columns)})`).join(", ")
const limitClause = (limit: number | undefined) => (limit === undefined ? "" : ` LIMIT ${Math.max(0, Math.floor(limit))}`)
const num = (v: unknown) => Number(v)
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v))

const snapshotWriteColumns = ["tenant_id", "pool", "price", "observed_at", "reporter_agent_id", "reporter_role", "source", "received_at"]

/** The INSERTs of some snapshots, {@link APPEND_ROWS} rows each (for a script: see oneTrip). */
export const snapshotStatements = (drafts: ReadonlyArray<Pricing.SnapshotDraft>): Array<{ readonly text: string; readonly params: ReadonlyArray<unknown> }> =>
  chunks(drafts, APPEND_ROWS).map((batch) => ({
    text: `INSERT INTO price_snapshots (${snapshotWriteColumns.join(", ")}) VALUES ${tuples(batch.length, snapshotWriteColumns.length)}`,
    params: batch.flatMap((d) => [d.tenantId, d.pool, d.price, d.observedAt, d.reporterAgentId, d.reporterRole, d.source, d.receivedAt])
  }))

/** The REPLACEs of some on-demand prices: insert or replace by (instance_type, region), the table's only key. */
export const onDemandStatements = (prices: ReadonlyArray<Pricing.OnDemandPrice>): Array<{ readonly text: string; readonly params: ReadonlyArray<unknown> }> =>
  chunks(prices).map((batch) => ({
    text: `REPLACE INTO on_demand_prices (instance_type, region, price, observed_at) VALUES ${tuples(batch.length, 4)}`,
    params: batch.flatMap((p) => [p.instanceType, p.region, p.price, p.observedAt])
  }))

const decoder = <A, I>(schema: Schema.Schema<A, I>, what: string) => Rows.decoderOf(schema, what)
const decodeSnapshot = decoder(Pricing.PriceSnapshot, "price snapshot")
const decodeConsolidated = decoder(Pricing.ConsolidatedPrice, "consolidated price")
const decodeCanonical = decoder(Pricing.CanonicalPrice, "canonical price")
const decodeOnDemand = decoder(Pricing.OnDemandPrice, "on-demand price")
const decodeRun = decoder(Pricing.ConsolidationRun, "consolidation run")
const encodeFeatures = Schema.encodeSync(Pricing.PriceFeatures)

const snapshotOf = (r: Row) =>
  decodeSnapshot({
    id: num(r.id),
    tenantId: r.tenant_id,
    pool: r.pool,
    price: num(r.price),
    observedAt: num(r.observed_at),
    reporterAgentId: r.reporter_agent_id,
    reporterRole: r.reporter_role,
    source: r.source,
    receivedAt: num(r.received_at),
    duplicate: r.duplicate === 1 || r.duplicate === true
  })
const runOf = (r: Row) =>
  decodeRun({
    id: r.id,
    windowStart: num(r.window_start),
    windowEnd: num(r.window_end),
    fillPolicy: r.fill_policy,
    status: r.status,
    startedAt: num(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    durationMillis: numOrNull(r.duration_millis),
    pools: num(r.pool_count),
    snapshots: num(r.snapshot_count),
    duplicates: num(r.duplicate_count),
    agentPoints: num(r.agent_points),
    filled: num(r.filled_points),
    backfilled: num(r.backfilled_points),
    written: num(r.written_points),
    canonical: num(r.canonical_points),
    error: r.error
  })

/**
 * A tier's points as block values (`priceBlocks.ts`): the numbers stored per point in the
 * layout's field order, and the record read back from them (checked by the engine's schema).
 */
interface Tier<A extends { readonly pool: Pool.PoolId; readonly slotStart: number; readonly confidence: number; readonly runId: string }> {
  readonly layout: PriceBlocks.Layout
  readonly values: (a: A) => ReadonlyArray<number>
  readonly decode: (block: PriceBlocks.Block, i: number) => Effect.Effect<A, EngineError.StoreError>
}


/** The fields both tiers store first: price, source and confidence (then their own). */
const pointOf = (b: PriceBlocks.Block, i: number) => ({
  pool: b.pool,
  slotStart: b.slot[i],
  price: b.fields[0]![i],
  source: PriceBlocks.SOURCES[b.fields[1]![i]!],
  confidence: b.fields[PriceBlocks.CONFIDENCE_FIELD]![i],
  runId: b.runOf(i)
})

const consolidatedTier: Tier<Pricing.ConsolidatedPrice> = {
  layout: PriceBlocks.consolidatedLayout,
  values: (p) => [p.price, PriceBlocks.sourceCode(p.source), p.confidence, p.snapshotsMerged],
  decode: (b, i) => decodeConsolidated({ ...pointOf(b, i), snapshotsMerged: b.fields[3]![i] })
}

const canonicalTier: Tier<Pricing.CanonicalPrice> = {
  layout: PriceBlocks.canonicalLayout,
  values: (p) => {
    const f = encodeFeatures(p.features)
    return [
      p.price,
      PriceBlocks.sourceCode(p.source),
      p.confidence,
      f.rollingMean,
      f.volatility,
      f.spreadToOnDemand ?? Number.NaN,
      f.notices,
      f.interruptions
    ]
  },
  decode: (b, i) => {
    const spread = b.fields[5]![i]!
    return decodeCanonical({
      ...pointOf(b, i),
      features: {
        rollingMean: b.fields[3]![i],
        volatility: b.fields[4]![i],
        spreadToOnDemand: Number.isNaN(spread) ? null : spread,
        notices: b.fields[6]![i],
        interruptions: b.fields[7]![i]
      }
    })
  }
}

export const make = (
  sql: SqlClient.SqlClient,
  run: <A, E, R>(operation: string, effect: Effect.Effect<A, E | SqlError, R>) => Effect.Effect<A, Exclude<E, SqlError> | EngineError.StoreError, R>,
  /**
   * A one-statement write outside any transaction, on the store's own pool when it has one (an
   * agent's price report appends its snapshots so: @effect/sql's per-statement machinery costs
   * more CPU than that insert). Answers the affected rows.
   */
  hotExec?: (text: string, params: ReadonlyArray<unknown>) => Effect.Effect<number, SqlError>,
  /**
   * Makes a group commit (see `Transport.group`, on the engine's `Batcher`): small appends made together (a batch of price
   * reports) then share one INSERT.
   */
  group?: <I, O, E>(writeAll: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>) => (item: I) => Effect.Effect<O, E>
): PriceStore.PriceStoreService => {
  const query = (text: string, params: ReadonlyArray<unknown> = []) => sql.unsafe<Row>(text, params)
  const exec = (text: string, params: ReadonlyArray<unknown> = []) =>
    Effect.map(sql.unsafe(text, params).raw, (r) => Number((r as { affectedRows?: number } | null)?.affectedRows ?? 0))
  const execOne = hotExec ?? exec

  const blocks = PriceBlockSql.makeSql(sql)

  // Points applied one after the other to the locked blocks they fall in (the last point per
  // key wins within a call, as in the reference store); the changed blocks written once.
  const upsert = <A extends { readonly pool: Pool.PoolId; readonly slotStart: number; readonly confidence: number; readonly runId: string }>(
    tier: Tier<A>,
    points: ReadonlyArray<A>
  ) =>
    sql.withTransaction(Effect.gen(function*() {
      let inserted = 0, updated = 0, unchanged = 0, kept = 0
      const set = new PriceBlocks.BlockSet(tier.layout)
      const keys = new Map<string, readonly [Pool.PoolId, number]>()
      for (const p of points) {
        const start = PriceBlocks.blockOf(p.slotStart)
        keys.set(`${p.pool}\u0000${start}`, [p.pool, start])
      }
      yield* blocks.lockKeys(set, [...keys.values()])
      for (const p of points) {
        const block = set.of(p.pool, p.slotStart)
        const values = tier.values(p)
        const i = block.find(p.slotStart)
        if (i < 0) {
          block.add(p.slotStart, p.runId, values)
          inserted++
        } else if (p.confidence < block.fields[PriceBlocks.CONFIDENCE_FIELD]![i]!) kept++
        else if (block.holds(i, values)) unchanged++
        else {
          block.set(i, p.runId, values)
          updated++
        }
      }
      yield* blocks.write(tier.layout, set.dirty())
      return { inserted, updated, unchanged, kept }
    }))

  const readTier = <A extends { readonly pool: Pool.PoolId; readonly slotStart: number; readonly confidence: number; readonly runId: string }>(
    tier: Tier<A>,
    { from, pool, to }: PriceStore.PointQuery
  ) =>
    Effect.flatMap(blocks.read(tier.layout, pool, from, to), (days) => {
      const wanted: Array<readonly [PriceBlocks.Block, number]> = []
      for (const b of days) {
        for (let i = 0; i < b.size; i++) if (b.slot[i]! >= from && b.slot[i]! < to) wanted.push([b, i])
      }
      // Blocks come in day order and hold their points in slot order.
      return Effect.forEach(wanted, ([b, i]) => tier.decode(b, i))
    })

  // One batch of at most APPEND_ROWS rows: one statement.
  const insertWith = (write: (text: string, params: ReadonlyArray<unknown>) => Effect.Effect<number, SqlError>) => (batch: ReadonlyArray<Pricing.SnapshotDraft>) => {
    const [statement] = snapshotStatements(batch)
    return write(statement!.text, statement!.params)
  }
  const insert = insertWith(exec)
  // One statement is atomic on its own: an agent's report needs no BEGIN/COMMIT round trips.
  // Small appends made together (up to APPEND_ROWS rows in all) share it.
  const insertSmall: (drafts: ReadonlyArray<Pricing.SnapshotDraft>) => Effect.Effect<unknown, SqlError> = group === undefined
    ? insertWith(execOne)
    : group((appends: ReadonlyArray<ReadonlyArray<Pricing.SnapshotDraft>>) => {
      const all = appends.flat()
      return Effect.as(
        all.length <= APPEND_ROWS ? insertWith(execOne)(all) : sql.withTransaction(Effect.forEach(chunks(all, APPEND_ROWS), insert, { discard: true })),
        appends.map(() => undefined)
      )
    })

  return {
    bulk: PriceBulk.make(sql, run, blocks),
    appendSnapshots: (drafts) => {
      if (drafts.length === 0) return Effect.succeed(0)
      return run(
        "appendSnapshots",
        Effect.as(
          drafts.length <= APPEND_ROWS
            // Inside a caller's transaction the insert stays in it.
            ? Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (tx) => Option.isSome(tx) ? insert(drafts) : insertSmall(drafts))
            // One transaction: a bulk append is all or nothing (and one log flush, not one per chunk).
            : sql.withTransaction(Effect.forEach(chunks(drafts, APPEND_ROWS), insert, { discard: true })),
          drafts.length
        )
      )
    },
    snapshots: ({ afterId, from, limit, pools, source, to }) => {
      if (pools !== undefined && pools.length === 0) return Effect.succeed([])
      const where = ["observed_at >= ?", "observed_at < ?"]
      const params: Array<unknown> = [from, to]
      // Both sources named when the query is not about one: the range then covers all of
      // ix_price_snapshots_pool_source (pool, source, observed_at).
      if (source !== undefined) {
        where.push("source = ?")
        params.push(source)
      } else where.push("source IN ('agent', 'backfill')")
      if (pools !== undefined) {
        where.push(`pool IN (${placeholders(pools.length)})`)
        params.push(...pools)
      }
      if (afterId !== undefined) {
        where.push("id > ?")
        params.push(afterId)
      }
      return run(
        "readSnapshots",
        Effect.flatMap(
          query(
            "SELECT id, tenant_id, pool, price, observed_at, reporter_agent_id, reporter_role, source, received_at, duplicate " +
              `FROM price_snapshots WHERE ${where.join(" AND ")} ORDER BY id${limitClause(limit)}`,
            params
          ),
          (rows) => Rows.decodeRows(rows, snapshotOf)
        )
      )
    },
    snapshotPools: ({ from, source, to }) =>
      run(
        "snapshotPools",
        Effect.map(
          // GROUP BY with MIN(observed_at) rather than DISTINCT: a loose index scan of
          // ix_price_snapshots_pool_source (one dive per pool) instead of a scan of the window.
          // Forced: right after a bulk append the table's statistics lag, and the optimizer
          // then scanned the window through ix_price_snapshots_observed (1–2 s instead of
          // 50 ms for 900k snapshots).
          query(
            "SELECT pool, MIN(observed_at) AS first_at FROM price_snapshots FORCE INDEX (ix_price_snapshots_pool_source) " +
              "WHERE source = ? AND observed_at >= ? AND observed_at < ? GROUP BY pool ORDER BY pool",
            [source ?? "agent", from, to]
          ),
          (rows) => rows.map((r) => r.pool as Pool.PoolId)
        )
      ),
    pricedPools: ({ from, instanceType, region, to }) => {
      // With a type (and region): a prefix range of the pool keys, spot and on-demand; the exact
      // match is checked on the ids found (a LIKE prefix is looser: us-east-1 matches us-east-10a).
      const like = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`)
      const prefix = instanceType === undefined ? null : `${like(instanceType)}.${region === undefined ? "" : like(region)}%`
      const poolWhere = prefix === null ? "" : "(pool LIKE ? OR pool LIKE ?) AND "
      const poolParams = prefix === null ? [] : [prefix, `ondemand:${prefix}`]
      return run(
        "pricedPools",
        Effect.map(
          query(
            `SELECT pool FROM price_snapshots WHERE ${poolWhere}observed_at >= ? AND observed_at < ? ` +
              `UNION SELECT pool FROM ${PriceBlocks.consolidatedLayout.table} WHERE ${poolWhere}block_start >= ? AND block_start < ? ` +
              `UNION SELECT pool FROM ${PriceBlocks.canonicalLayout.table} WHERE ${poolWhere}block_start >= ? AND block_start < ? ` +
              "ORDER BY pool",
            [
              ...poolParams, from, to,
              ...poolParams, PriceBlocks.blockOf(from), to,
              ...poolParams, PriceBlocks.blockOf(from), to
            ]
          ),
          (rows) =>
            rows.map((r) => r.pool as Pool.PoolId).filter((pool) => PriceStore.isOfTypeAndRegion(pool, instanceType, region))
        )
      )
    },
    flagDuplicates: (ids) =>
      run(
        "flagDuplicates",
        Effect.map(
          Effect.forEach(chunks([...new Set(ids)], FLAG_ROWS), (batch) =>
            exec(`UPDATE price_snapshots SET duplicate = TRUE WHERE duplicate = FALSE AND id IN (${placeholders(batch.length)})`, batch)),
          (counts) => counts.reduce((a, b) => a + b, 0)
        )
      ),
    upsertConsolidated: (points) => run("upsertConsolidated", upsert(consolidatedTier, points)),
    consolidated: (q) => run("readConsolidated", readTier(consolidatedTier, q)),
    upsertCanonical: (points) => run("upsertCanonical", upsert(canonicalTier, points)),
    canonical: (q) => run("readCanonical", readTier(canonicalTier, q)),
    putOnDemandPrices: (prices) =>
      run(
        "putOnDemandPrices",
        Effect.forEach(onDemandStatements(prices), (statement) => exec(statement.text, statement.params), { discard: true })
      ),
    onDemandPrices: run(
      "readOnDemandPrices",
      Effect.flatMap(
        query("SELECT instance_type, region, price, observed_at FROM on_demand_prices ORDER BY instance_type, region"),
        (rows) =>
          Effect.forEach(rows, (r) =>
            decodeOnDemand({ instanceType: r.instance_type, region: r.region, price: num(r.price), observedAt: num(r.observed_at) }))
      )
    ),
    recordRun: (r) =>
      run(
        "recordRun",
        Effect.asVoid(exec(
          "REPLACE INTO consolidation_runs (id, window_start, window_end, fill_policy, status, started_at, finished_at, " +
            "duration_millis, pool_count, snapshot_count, duplicate_count, agent_points, filled_points, backfilled_points, " +
            `written_points, canonical_points, error) VALUES (${placeholders(17)})`,
          [
            r.id,
            r.windowStart,
            r.windowEnd,
            r.fillPolicy,
            r.status,
            r.startedAt,
            r.finishedAt,
            r.durationMillis,
            r.pools,
            r.snapshots,
            r.duplicates,
            r.agentPoints,
            r.filled,
            r.backfilled,
            r.written,
            r.canonical,
            r.error
          ]
        ))
      ),
    runs: (options = {}) =>
      run(
        "readRuns",
        Effect.flatMap(
          query(`SELECT * FROM consolidation_runs ORDER BY started_at DESC, id DESC${limitClause(options.limit)}`),
          (rows) => Rows.decodeRows(rows, runOf)
        )
      )
  }
}

