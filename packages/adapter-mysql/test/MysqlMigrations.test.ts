import { SqlClient } from "@effect/sql"
import { assert, describe, it as plainIt } from "@effect/vitest"
import { type Pool, PriceStore } from "@spotfleet/engine"
import { Effect } from "effect"
import * as MovePoints from "../src/internal/movePoints.js"
import * as Schema from "../src/internal/schema.js"
import * as MysqlMigrations from "../src/MysqlMigrations.js"
import * as MysqlStore from "../src/MysqlStore.js"
import { describeMysql, it, layerDatabase, TestDatabase } from "./utils.js"

/** Everything information_schema says about the database's tables, in a stable order. */
const schemaSnapshot = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const db = (yield* TestDatabase).name
  const tables = yield* sql`SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = ${db} ORDER BY TABLE_NAME`
  const columns = yield* sql`SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE,
      COLLATION_NAME, EXTRA, GENERATION_EXPRESSION
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${db} ORDER BY TABLE_NAME, ORDINAL_POSITION`
  const indexes = yield* sql`SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME
    FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ${db} ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`
  const checks = yield* sql`SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
    WHERE CONSTRAINT_SCHEMA = ${db} ORDER BY CONSTRAINT_NAME`
  return { tables, columns, indexes, checks }
})

describeMysql("MysqlMigrations on an empty database", () => {
  it.layer(layerDatabase({ migrate: false }), { timeout: "60 seconds" })((it) => {
    it.effect("run from empty, again (no-op), and re-run every statement: the schema never changes", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        assert.deepStrictEqual((yield* schemaSnapshot).tables, [])
        const first = yield* MysqlMigrations.run
        assert.deepStrictEqual(first, MysqlMigrations.statements.map((m) => [m.id, m.name] as const))
        const after = yield* schemaSnapshot
        const names = after.tables.map((t) => t.TABLE_NAME)
        for (
          const t of [
            "tenants", "tenant_tokens", "agents", "instances", "commands", "events", "idempotency", "job_leases", "pools",
            "pool_boot_samples", "switches", "price_snapshots", "consolidated_prices", "canonical_prices", "consolidated_blocks",
            "canonical_blocks", "on_demand_prices",
            "consolidation_runs", "models", "decisions", "notifications", MysqlMigrations.table
          ]
        ) assert.include(names, t)

        assert.deepStrictEqual(yield* MysqlMigrations.run, [])
        assert.deepStrictEqual(yield* schemaSnapshot, after)

        // Forget that they ran: every statement must be safe to run again (an interrupted run).
        yield* sql`DELETE FROM ${sql(MysqlMigrations.table)}`
        assert.strictEqual((yield* MysqlMigrations.run).length, MysqlMigrations.statements.length)
        assert.deepStrictEqual(yield* schemaSnapshot, after)

        // Concurrent starts serialize on the advisory lock: nothing runs twice, nothing fails.
        const concurrent = yield* Effect.all([MysqlMigrations.run, MysqlMigrations.run], { concurrency: "unbounded" })
        assert.deepStrictEqual(concurrent, [[], []])
      }))

    it.effect("snapshots are read through one covering index (migration 6 replaced the (pool, observed_at) one)", () =>
      Effect.gen(function*() {
        yield* MysqlMigrations.run
        const keys = new Map<string, Array<string>>()
        for (const i of (yield* schemaSnapshot).indexes) {
          if (i.TABLE_NAME !== "price_snapshots") continue
          keys.set(String(i.INDEX_NAME), [...(keys.get(String(i.INDEX_NAME)) ?? []), String(i.COLUMN_NAME)])
        }
        assert.deepStrictEqual(keys.get("ix_price_snapshots_pool_source"), ["pool", "source", "observed_at", "reporter_role", "price"])
        assert.isFalse(keys.has("ix_price_snapshots_pool"))
      }))

    it.effect("the one-PRIMARY column is STORED, generated from role and agent_id, with a unique index", () =>
      Effect.gen(function*() {
        yield* MysqlMigrations.run
        const snapshot = yield* schemaSnapshot
        const column = snapshot.columns.find((c) => c.TABLE_NAME === "instances" && c.COLUMN_NAME === "primary_agent_id")!
        assert.match(String(column.EXTRA), /STORED GENERATED/i)
        assert.match(String(column.GENERATION_EXPRESSION), /PRIMARY/)
        const index = snapshot.indexes.filter((i) => i.INDEX_NAME === "uq_instances_one_primary")
        assert.deepStrictEqual(index.map((i) => [i.COLUMN_NAME, Number(i.NON_UNIQUE)]), [["primary_agent_id", 0]])
        assert.isTrue(snapshot.checks.some((c) => c.CONSTRAINT_NAME === "ck_agents_switch_xor_replica"))
      }))
  })
})

describeMysql("MysqlMigrations 7 copies stored tier points into blocks", () => {
  it.layer(layerDatabase({ migrate: false }), { timeout: "60 seconds" })((it) => {
    it.effect("points written by a release before migration 7 read back the same through the store", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        // The schema as migration 6 left it (every statement re-runnable, so the migrator can
        // run them again below as if they had never been recorded).
        for (const m of Schema.migrations.filter((m) => m.id <= 6)) {
          for (const step of m.steps) {
            if (Schema.isDataStep(step)) continue
            if (step.skipIf !== undefined && (yield* sql.unsafe(step.skipIf)).length > 0) continue
            yield* sql.unsafe(step.sql)
          }
        }
        const day = Date.UTC(2024, 0, 1)
        const slot = 300_000
        const pools = ["c5.large.us-east-1a", "m5.large.us-east-1b"]
        const consolidated: Array<ReadonlyArray<unknown>> = []
        const canonical: Array<ReadonlyArray<unknown>> = []
        // Two days of one pool (a block each) and a point of another.
        for (let s = 280; s < 300; s++) consolidated.push([pools[0], day + s * slot, 0.03 + s / 1e5, s % 4 === 0 ? "interpolated" : "agent", s % 4 === 0 ? 0.8 : 1, `run-${s % 2}`, s % 4 === 0 ? 0 : 1])
        consolidated.push([pools[1], day + 7 * slot, 0.05, "backfilled", 0.9, "run-x", 0])
        for (let s = 280; s < 290; s++) {
          canonical.push([pools[0], day + s * slot, 0.03, "agent", 1, "run-0", JSON.stringify({ rollingMean: 0.03, volatility: s / 1e4, spreadToOnDemand: s % 2 === 0 ? null : 0.61, notices: s % 3, interruptions: 0 })])
        }
        for (const row of consolidated) {
          yield* sql.unsafe("INSERT INTO consolidated_prices (pool, slot_start, price, source, confidence, run_id, snapshots_merged) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        }
        for (const row of canonical) {
          yield* sql.unsafe("INSERT INTO canonical_prices (pool, slot_start, price, source, confidence, run_id, features) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        }

        // The copy in pages of 7 rows (blocks span pages), then the migration itself: it copies
        // everything again (re-runnable). Both give the same blocks.
        for (const statement of Schema.migrations.find((m) => m.id === 7)!.statements) {
          if (statement.startsWith("CREATE TABLE")) yield* sql.unsafe(statement)
        }
        yield* MovePoints.moveWith(7)
        const paged = yield* sql.unsafe("SELECT pool, block_start, point_count, HEX(points) AS points FROM consolidated_blocks ORDER BY pool, block_start")
        const ran = yield* MysqlMigrations.run
        assert.deepInclude(ran, [7, "price_blocks"])
        // Expand only: the previous release's tables stay for servers still running it (and a rollback).
        const tables = (yield* schemaSnapshot).tables.map((t) => t.TABLE_NAME)
        assert.include(tables, "consolidated_prices")
        assert.include(tables, "canonical_prices")
        const blocks = yield* sql.unsafe<{ pool: string; block_start: number; point_count: number }>(
          "SELECT pool, block_start, point_count FROM consolidated_blocks ORDER BY pool, block_start"
        )
        assert.deepStrictEqual(blocks.map((b) => [b.pool, Number(b.block_start), Number(b.point_count)]), [
          [pools[0], day, 8],
          [pools[0], day + 86_400_000, 12],
          [pools[1], day, 1]
        ])

        assert.deepStrictEqual(
          yield* sql.unsafe("SELECT pool, block_start, point_count, HEX(points) AS points FROM consolidated_blocks ORDER BY pool, block_start"),
          paged
        )

        const store = yield* Effect.provide(PriceStore.PriceStore, MysqlStore.layer)
        const read = (yield* store.consolidated({ pool: pools[0] as Pool.PoolId, from: 0, to: day * 2 }))
          .concat(yield* store.consolidated({ pool: pools[1] as Pool.PoolId, from: 0, to: day * 2 }))
        assert.deepStrictEqual(read.map((p) => [p.pool, p.slotStart, p.price, p.source, p.confidence, p.runId, p.snapshotsMerged]), consolidated)
        const features = yield* store.canonical({ pool: pools[0] as Pool.PoolId, from: 0, to: day * 2 })
        assert.deepStrictEqual(
          features.map((p) => [p.pool, p.slotStart, p.price, p.source, p.confidence, p.runId, JSON.stringify(p.features)]),
          canonical
        )
      }).pipe(Effect.scoped))
  })
})

describeMysql("MysqlMigrations 8 records observed terminations", () => {
  it.layer(layerDatabase({ migrate: false }), { timeout: "60 seconds" })((it) => {
    it.effect("instances terminated before migration 8 read back as confirmed; live ones stay unconfirmed", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        for (const m of Schema.migrations.filter((m) => m.id <= 7)) {
          for (const step of m.steps) {
            if (Schema.isDataStep(step)) continue
            if (step.skipIf !== undefined && (yield* sql.unsafe(step.skipIf)).length > 0) continue
            yield* sql.unsafe(step.sql)
          }
        }
        const insert = "INSERT INTO instances (id, agent_id, tenant_id, cloud_instance_id, pool, lifecycle, role, created_at, terminated_at) " +
          "VALUES (?, 'a1', 't1', ?, 'c5.large.us-east-1a', 'spot', ?, 10, ?)"
        yield* sql.unsafe(insert, ["i-old", "i-1", "TERMINATED", 500])
        yield* sql.unsafe(insert, ["i-live", "i-2", "REPLICA", null])
        const ran = yield* MysqlMigrations.run
        assert.deepInclude(ran, [8, "observed_termination"])
        const rows = yield* sql.unsafe<{ id: string; termination_confirmed_at: number | null }>(
          "SELECT id, termination_confirmed_at FROM instances ORDER BY id"
        )
        assert.deepStrictEqual(rows.map((r) => [r.id, r.termination_confirmed_at === null ? null : Number(r.termination_confirmed_at)]), [
          ["i-live", null],
          ["i-old", 500]
        ])
        // Re-running the migration changes nothing (the Migrator runs what comes after the
        // latest recorded migration: forget 8 and every later one).
        yield* sql`DELETE FROM ${sql(MysqlMigrations.table)} WHERE migration_id >= 8`
        assert.deepStrictEqual((yield* MysqlMigrations.run)[0], [8, "observed_termination"])
      }).pipe(Effect.scoped))
  })
})

/**
 * MariaDB accepts things MySQL 8 rejects (and both accept things Vitess/TiDB lack). The schema
 * must stay in the common subset. Each rule names what it catches; `exceptions` documents the
 * constructs that look suspicious but are valid on MySQL 8.
 */
const forbidden: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bRETURNING\b/i, "RETURNING (MariaDB only)"],
  [/\bSEQUENCE\b|\bNEXTVAL\b|\bNEXT\s+VALUE\s+FOR\b/i, "sequences (MariaDB only)"],
  [/\bINET[46]\b|\bUUID\s*(?:,|\)|NOT|NULL|DEFAULT)/i, "INET4/INET6/UUID column types (MariaDB 10.5+/10.7+ only)"],
  [/\bADD\s+(?:COLUMN\s+)?IF\s+NOT\s+EXISTS\b/i, "ADD COLUMN IF NOT EXISTS (MariaDB only)"],
  [/\bDROP\s+(?:COLUMN|INDEX|KEY|CONSTRAINT)\s+IF\s+EXISTS\b/i, "DROP COLUMN/INDEX IF EXISTS (MariaDB only)"],
  [/\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+IF\s+NOT\s+EXISTS\b/i, "CREATE INDEX IF NOT EXISTS (MariaDB only)"],
  [/\bCREATE\s+OR\s+REPLACE\s+TABLE\b/i, "CREATE OR REPLACE TABLE (MariaDB only)"],
  [/\bPERSISTENT\b/i, "PERSISTENT generated columns (MariaDB spelling; MySQL says STORED)"],
  [/\bWITH\s+SYSTEM\s+VERSIONING\b|\bPERIOD\s+FOR\b/i, "system-versioned / application-time tables (MariaDB only)"],
  [/\bCOMPRESSED\b/i, "COMPRESSED columns (MariaDB only)"],
  [/\bINVISIBLE\b/i, "invisible columns (different semantics in MariaDB and MySQL)"],
  [/\bVALUE\s*\(/i, "VALUE() in ON DUPLICATE KEY UPDATE (MariaDB alias)"],
  [/\bEXCEPT\b|\bINTERSECT\b/i, "EXCEPT/INTERSECT (MySQL 8.0.31+ only)"],
  [/uca1400|utf8mb3_|\butf8\b(?!mb4)/i, "MariaDB-only or deprecated collations/charsets"],
  [/\bFOREIGN\s+KEY\b|\bREFERENCES\b/i, "foreign keys (Vitess/TiDB restrictions, docs/DESIGN.md: Scale-out)"],
  [/\bCREATE\s+(?:TRIGGER|PROCEDURE|FUNCTION|EVENT)\b/i, "triggers, routines, events (Vitess/TiDB restrictions)"],
  [/\bFULLTEXT\b|\bSPATIAL\b/i, "FULLTEXT/SPATIAL indexes (TiDB restrictions)"],
  [/\bDEFAULT\s+NEXTVAL|\bDEFAULT\s*\(/i, "expression defaults (MySQL 8.0.13+ needs parentheses; MariaDB differs)"],
  [/\bLONG\s+VARCHAR\b|\bNATIONAL\b/i, "obsolete types"]
]

/** Column types the schema may use (all identical on MySQL 8 and MariaDB 10.6+). */
const allowedTypes = new Set(["VARCHAR", "BIGINT", "INT", "TINYINT", "DOUBLE", "BOOLEAN", "JSON", "TEXT", "MEDIUMBLOB"])

/**
 * Documented exceptions: constructs that differ between the two but are valid on both.
 * - `JSON`: native type on MySQL 8; on MariaDB an alias of LONGTEXT with a JSON_VALID check.
 *   The adapter reads JSON columns with `CAST(col AS CHAR)` so both return text.
 * - `CREATE TABLE IF NOT EXISTS`: valid on MySQL 8 (only the ALTER/INDEX forms are MariaDB-only).
 * - `GENERATED ALWAYS AS (...) STORED`: the MySQL 8 spelling, which MariaDB also accepts.
 * - `CHECK (...)`: enforced on MySQL 8.0.16+ and MariaDB 10.2+; parsed but ignored by older
 *   MySQL and by TiDB < 7.2 (the adapter's version check keeps the invariants there).
 */
const exceptions = ["JSON", "CREATE TABLE IF NOT EXISTS", "GENERATED ALWAYS AS (...) STORED", "CHECK"]

describe("MysqlMigrations SQL stays in the MySQL 8 / MariaDB common subset", () => {
  const all = MysqlMigrations.statements.flatMap((m) => m.statements.map((s) => ({ migration: `${m.id}_${m.name}`, s })))

  plainIt("has statements to check", () => {
    assert.isAtLeast(all.length, 19)
    assert.strictEqual(exceptions.length, 4)
  })

  plainIt("uses no MariaDB-only (or distributed-unfriendly) feature", () => {
    const found: Array<string> = []
    for (const { migration, s } of all) {
      for (const [pattern, what] of forbidden) if (pattern.test(s)) found.push(`${migration}: ${what}`)
    }
    assert.deepStrictEqual(found, [])
  })

  plainIt("the rules catch what they name", () => {
    const samples = [
      "INSERT INTO t VALUES (1) RETURNING id",
      "CREATE SEQUENCE s",
      "CREATE TABLE t (a INET6 NOT NULL)",
      "ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT",
      "CREATE OR REPLACE TABLE t (a INT)",
      "CREATE TABLE t (a INT AS (b) PERSISTENT)",
      "CREATE TABLE t (a INT, FOREIGN KEY (a) REFERENCES u (id))"
    ]
    for (const sample of samples) assert.isTrue(forbidden.some(([p]) => p.test(sample)), sample)
  })

  plainIt("guards every statement that is not re-runnable by itself", () => {
    const steps = Schema.migrations.flatMap((m) => m.steps).filter((s) => !Schema.isDataStep(s)) as Array<Schema.Statement>
    assert.deepStrictEqual(steps.map((s) => s.sql), all.map(({ s }) => s))
    for (const step of steps) {
      if (/^ALTER /.test(step.sql)) assert.isDefined(step.skipIf, step.sql)
    }
  })

  plainIt("uses only column types both databases spell and store alike, with utf8mb4_bin tables", () => {
    for (const { s } of all) {
      // Data statements (the event counter's seed) are checked by the feature rules above.
      if (/^(INSERT|UPDATE) /.test(s)) continue
      // Added columns: nullable, of an allowed type, guarded so the ALTER can run again.
      if (/^ALTER TABLE \w+ ADD COLUMN /.test(s)) {
        assert.match(s, /^ALTER TABLE \w+ ADD COLUMN \w+ \w+ NULL(?:, ADD COLUMN \w+ \w+ NULL)*$/)
        for (const [, type] of s.matchAll(/ADD COLUMN \w+ (\w+)/g)) assert.isTrue(allowedTypes.has(type!), `column type in: ${s}`)
        continue
      }
      // Index changes: keys only (no column types to check), each guarded so it can run again.
      if (/^ALTER TABLE /.test(s)) {
        assert.match(s, /^ALTER TABLE \w+ (?:ADD KEY \w+ \([\w, ]+\)|DROP KEY \w+)(?:, (?:ADD KEY \w+ \([\w, ]+\)|DROP KEY \w+))*$/)
        continue
      }
      assert.match(s, /^CREATE TABLE IF NOT EXISTS \w+ \(/)
      assert.match(s, /\) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin$/)
      const body = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"))
      for (const line of body.split("\n").map((l) => l.trim()).filter((l) => l.length > 0)) {
        if (/^(PRIMARY KEY|UNIQUE KEY|KEY|CONSTRAINT)\b/.test(line)) continue
        const type = /^\w+ (\w+)/.exec(line)?.[1]
        assert.isTrue(type !== undefined && allowedTypes.has(type), `column type in: ${line}`)
      }
    }
  })
})
