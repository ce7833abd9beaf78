/**
 * The schema of the MySQL adapter as plain SQL statements, one list per migration. It is the
 * single source of truth: the migrator runs these statements, and the compatibility test reads
 * them to check they stay inside what MySQL 8, MariaDB 10.6+ and MySQL-compatible distributed
 * databases all accept.
 *
 * Conventions:
 * - timestamps are epoch milliseconds in BIGINT columns (the engine's domain uses ms numbers);
 * - ids are VARCHAR(128) with a binary collation (ids compare exactly, as in the engine);
 * - no foreign keys, triggers or stored procedures (Vitess and TiDB lack or restrict them); the
 *   aggregate boundaries are kept by the adapter's transactions instead;
 * - every statement is re-runnable (`CREATE TABLE IF NOT EXISTS`), so a migration interrupted
 *   half-way can simply run again.
 */

import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { EngineError } from "@spotfleet/engine"
import type { Effect } from "effect"
import * as MovePoints from "./movePoints.js"

const table = (name: string, body: string): string =>
  `CREATE TABLE IF NOT EXISTS ${name} (\n${body}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

/** Migration 1: the tables behind the engine's store ports. */
const core: ReadonlyArray<string> = [
  table(
    "tenants",
    `  id VARCHAR(128) NOT NULL,
  name VARCHAR(128) NOT NULL,
  max_agents INT NOT NULL,
  max_instances INT NOT NULL,
  dry_run BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_tenants_name (name),
  CONSTRAINT ck_tenants_limits CHECK (max_agents > 0 AND max_instances > 0)`
  ),
  table(
    "tenant_tokens",
    `  token_hash VARCHAR(255) NOT NULL,
  tenant_id VARCHAR(128) NOT NULL,
  label VARCHAR(255) NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (token_hash),
  KEY ix_tenant_tokens_tenant (tenant_id)`
  ),
  table(
    "agents",
    `  id VARCHAR(128) NOT NULL,
  tenant_id VARCHAR(128) NOT NULL,
  logical_agent_id VARCHAR(255) NOT NULL,
  auto_switch BOOLEAN NOT NULL,
  manual_replica BOOLEAN NOT NULL,
  auto_terminate BOOLEAN NOT NULL,
  terminate_wait_seconds INT NOT NULL,
  enabled BOOLEAN NOT NULL,
  min_savings_percent DOUBLE NOT NULL,
  risk_threshold DOUBLE NOT NULL,
  max_switches_per_day INT NOT NULL,
  max_switches_per_week INT NOT NULL,
  min_pool_duration_hours DOUBLE NOT NULL,
  config_version INT NOT NULL,
  liveness VARCHAR(16) NOT NULL,
  last_heartbeat_at BIGINT NULL,
  notice JSON NULL,
  degraded BOOLEAN NOT NULL DEFAULT FALSE,
  flow JSON NULL,
  metadata JSON NOT NULL,
  created_at BIGINT NOT NULL,
  version INT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_agents_tenant_logical (tenant_id, logical_agent_id),
  KEY ix_agents_liveness (liveness, last_heartbeat_at),
  CONSTRAINT ck_agents_switch_xor_replica CHECK (NOT (auto_switch AND manual_replica)),
  CONSTRAINT ck_agents_liveness CHECK (liveness IN ('online', 'offline'))`
  ),
  table(
    "instances",
    `  id VARCHAR(128) NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  tenant_id VARCHAR(128) NOT NULL,
  cloud_instance_id VARCHAR(128) NULL,
  pool VARCHAR(128) NOT NULL,
  lifecycle VARCHAR(16) NOT NULL,
  role VARCHAR(16) NOT NULL,
  role_hint VARCHAR(16) NULL,
  launch_command_id VARCHAR(128) NULL,
  launch_requested_at BIGINT NULL,
  launch_confirmed_at BIGINT NULL,
  promoted_at BIGINT NULL,
  demoted_at BIGINT NULL,
  terminated_at BIGINT NULL,
  hourly_price DOUBLE NULL,
  created_at BIGINT NOT NULL,
  primary_agent_id VARCHAR(128) GENERATED ALWAYS AS (CASE WHEN role = 'PRIMARY' THEN agent_id ELSE NULL END) STORED,
  PRIMARY KEY (id),
  UNIQUE KEY uq_instances_one_primary (primary_agent_id),
  UNIQUE KEY uq_instances_cloud (tenant_id, cloud_instance_id),
  KEY ix_instances_agent (agent_id),
  KEY ix_instances_pool_role (pool, role),
  CONSTRAINT ck_instances_role CHECK (role IN ('LAUNCHING', 'PRIMARY', 'REPLICA', 'ZOMBIE', 'TERMINATED')),
  CONSTRAINT ck_instances_lifecycle CHECK (lifecycle IN ('spot', 'on-demand'))`
  ),
  table(
    "commands",
    `  id VARCHAR(128) NOT NULL,
  request_id VARCHAR(191) NOT NULL,
  tenant_id VARCHAR(128) NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  type VARCHAR(32) NOT NULL,
  status VARCHAR(16) NOT NULL,
  priority INT NOT NULL,
  flow_id VARCHAR(128) NULL,
  instance_id VARCHAR(128) NULL,
  params JSON NOT NULL,
  created_at BIGINT NOT NULL,
  not_before BIGINT NOT NULL,
  expires_at BIGINT NULL,
  delivered_at BIGINT NULL,
  lease_expires_at BIGINT NULL,
  deliveries INT NOT NULL DEFAULT 0,
  completed_at BIGINT NULL,
  result JSON NULL,
  seq INT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_commands_request (request_id),
  KEY ix_commands_agent (agent_id, status, priority),
  KEY ix_commands_tenant_created (tenant_id, created_at),
  CONSTRAINT ck_commands_status CHECK (status IN ('pending', 'delivered', 'succeeded', 'failed', 'expired', 'superseded'))`
  ),
  table(
    "events",
    `  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant_id VARCHAR(128) NOT NULL,
  agent_id VARCHAR(128) NULL,
  type VARCHAR(64) NOT NULL,
  at BIGINT NOT NULL,
  actor_kind VARCHAR(16) NOT NULL,
  actor_id VARCHAR(255) NULL,
  data JSON NOT NULL,
  PRIMARY KEY (id),
  KEY ix_events_tenant (tenant_id, id),
  KEY ix_events_agent (agent_id, id),
  KEY ix_events_type_at (type, at)`
  ),
  table(
    "idempotency",
    `  tenant_id VARCHAR(128) NOT NULL,
  idem_key VARCHAR(255) NOT NULL,
  operation VARCHAR(128) NOT NULL,
  response JSON NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, idem_key),
  KEY ix_idempotency_created (created_at)`
  ),
  table(
    "job_leases",
    `  name VARCHAR(128) NOT NULL,
  holder VARCHAR(255) NOT NULL,
  fencing_token BIGINT NOT NULL DEFAULT 0,
  acquired_at BIGINT NOT NULL,
  lease_until BIGINT NOT NULL,
  PRIMARY KEY (name)`
  )
]

/** Migration 2: fleet history, the price tiers, the ML registry and notifications. */
const history: ReadonlyArray<string> = [
  table(
    "pools",
    `  id VARCHAR(128) NOT NULL,
  instance_type VARCHAR(64) NOT NULL,
  region VARCHAR(64) NOT NULL,
  az VARCHAR(64) NOT NULL,
  lifecycle VARCHAR(16) NOT NULL,
  interruption_band TINYINT NULL,
  last_interruption_at BIGINT NULL,
  quarantined_until BIGINT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_pools_type_region (instance_type, region),
  CONSTRAINT ck_pools_band CHECK (interruption_band IS NULL OR interruption_band BETWEEN 0 AND 4)`
  ),
  table(
    "pool_boot_samples",
    `  id BIGINT NOT NULL AUTO_INCREMENT,
  pool VARCHAR(128) NOT NULL,
  instance_id VARCHAR(128) NULL,
  boot_millis BIGINT NOT NULL,
  observed_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_pool_boot_samples_pool (pool, observed_at),
  CONSTRAINT ck_pool_boot_samples_positive CHECK (boot_millis >= 0)`
  ),
  table(
    "switches",
    `  id VARCHAR(128) NOT NULL,
  tenant_id VARCHAR(128) NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  flow_id VARCHAR(128) NULL,
  decision_id VARCHAR(128) NULL,
  trigger_kind VARCHAR(16) NOT NULL,
  from_instance_id VARCHAR(128) NULL,
  to_instance_id VARCHAR(128) NULL,
  from_pool VARCHAR(128) NULL,
  to_pool VARCHAR(128) NOT NULL,
  initiated_at BIGINT NOT NULL,
  launched_at BIGINT NULL,
  ready_at BIGINT NULL,
  promoted_at BIGINT NULL,
  old_terminated_at BIGINT NULL,
  downtime_seconds DOUBLE NULL,
  from_price DOUBLE NULL,
  to_price DOUBLE NULL,
  savings_per_hour DOUBLE NULL,
  PRIMARY KEY (id),
  KEY ix_switches_tenant (tenant_id, initiated_at),
  KEY ix_switches_agent (agent_id, initiated_at),
  CONSTRAINT ck_switches_trigger CHECK (trigger_kind IN ('manual', 'ml', 'emergency'))`
  ),
  table(
    "price_snapshots",
    `  id BIGINT NOT NULL AUTO_INCREMENT,
  pool VARCHAR(128) NOT NULL,
  price DOUBLE NOT NULL,
  observed_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  tenant_id VARCHAR(128) NULL,
  reporter_agent_id VARCHAR(128) NULL,
  reporter_role VARCHAR(16) NULL,
  source VARCHAR(16) NOT NULL,
  duplicate BOOLEAN NOT NULL DEFAULT FALSE,
  PRIMARY KEY (id),
  KEY ix_price_snapshots_observed (observed_at),
  KEY ix_price_snapshots_pool (pool, observed_at),
  KEY ix_price_snapshots_received (received_at),
  CONSTRAINT ck_price_snapshots_source CHECK (source IN ('agent', 'backfill')),
  CONSTRAINT ck_price_snapshots_price CHECK (price > 0)`
  ),
  table(
    "consolidated_prices",
    `  pool VARCHAR(128) NOT NULL,
  slot_start BIGINT NOT NULL,
  price DOUBLE NOT NULL,
  source VARCHAR(16) NOT NULL,
  confidence DOUBLE NOT NULL,
  run_id VARCHAR(128) NOT NULL,
  snapshots_merged INT NOT NULL DEFAULT 0,
  PRIMARY KEY (pool, slot_start),
  KEY ix_consolidated_run (run_id),
  CONSTRAINT ck_consolidated_source CHECK (source IN ('agent', 'interpolated', 'backfilled')),
  CONSTRAINT ck_consolidated_confidence CHECK (confidence BETWEEN 0 AND 1),
  CONSTRAINT ck_consolidated_price CHECK (price > 0)`
  ),
  table(
    "canonical_prices",
    `  pool VARCHAR(128) NOT NULL,
  slot_start BIGINT NOT NULL,
  price DOUBLE NOT NULL,
  source VARCHAR(16) NOT NULL,
  confidence DOUBLE NOT NULL,
  run_id VARCHAR(128) NOT NULL,
  features JSON NOT NULL,
  PRIMARY KEY (pool, slot_start),
  CONSTRAINT ck_canonical_source CHECK (source IN ('agent', 'backfilled')),
  CONSTRAINT ck_canonical_confidence CHECK (confidence >= 0.9 AND confidence <= 1),
  CONSTRAINT ck_canonical_price CHECK (price > 0)`
  ),
  table(
    "on_demand_prices",
    `  instance_type VARCHAR(64) NOT NULL,
  region VARCHAR(64) NOT NULL,
  price DOUBLE NOT NULL,
  observed_at BIGINT NOT NULL,
  PRIMARY KEY (instance_type, region),
  CONSTRAINT ck_on_demand_price CHECK (price > 0)`
  ),
  table(
    "consolidation_runs",
    `  id VARCHAR(128) NOT NULL,
  window_start BIGINT NOT NULL,
  window_end BIGINT NOT NULL,
  fill_policy VARCHAR(16) NOT NULL,
  status VARCHAR(16) NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NULL,
  duration_millis DOUBLE NULL,
  pool_count INT NOT NULL DEFAULT 0,
  snapshot_count INT NOT NULL DEFAULT 0,
  duplicate_count INT NOT NULL DEFAULT 0,
  agent_points INT NOT NULL DEFAULT 0,
  filled_points INT NOT NULL DEFAULT 0,
  backfilled_points INT NOT NULL DEFAULT 0,
  written_points INT NOT NULL DEFAULT 0,
  canonical_points INT NOT NULL DEFAULT 0,
  error TEXT NULL,
  PRIMARY KEY (id),
  KEY ix_consolidation_runs_started (started_at),
  KEY ix_consolidation_runs_window (window_start, window_end),
  CONSTRAINT ck_consolidation_runs_status CHECK (status IN ('running', 'succeeded', 'failed')),
  CONSTRAINT ck_consolidation_runs_fill CHECK (fill_policy IN ('linear', 'step'))`
  ),
  table(
    "models",
    `  name VARCHAR(128) NOT NULL,
  version VARCHAR(64) NOT NULL,
  artifact_digest VARCHAR(128) NOT NULL,
  input_layout_version INT NOT NULL,
  status VARCHAR(16) NOT NULL,
  traffic_share DOUBLE NOT NULL DEFAULT 0,
  confidence_threshold DOUBLE NOT NULL DEFAULT 0.7,
  created_at BIGINT NOT NULL,
  activated_at BIGINT NULL,
  retired_at BIGINT NULL,
  PRIMARY KEY (name, version),
  KEY ix_models_status (status),
  CONSTRAINT ck_models_status CHECK (status IN ('registered', 'shadow', 'active', 'retired')),
  CONSTRAINT ck_models_share CHECK (traffic_share BETWEEN 0 AND 1),
  CONSTRAINT ck_models_threshold CHECK (confidence_threshold BETWEEN 0 AND 1)`
  ),
  table(
    "decisions",
    `  id VARCHAR(128) NOT NULL,
  tenant_id VARCHAR(128) NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  model_name VARCHAR(128) NULL,
  model_version VARCHAR(64) NULL,
  features JSON NOT NULL,
  action VARCHAR(32) NOT NULL,
  target_pool VARCHAR(128) NULL,
  confidence DOUBLE NULL,
  reasoning TEXT NULL,
  latency_ms DOUBLE NULL,
  timed_out BOOLEAN NOT NULL DEFAULT FALSE,
  guards JSON NOT NULL,
  acted BOOLEAN NOT NULL DEFAULT FALSE,
  command_id VARCHAR(128) NULL,
  outcome JSON NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_decisions_agent (agent_id, created_at),
  KEY ix_decisions_tenant (tenant_id, created_at),
  KEY ix_decisions_model (model_name, model_version, created_at),
  CONSTRAINT ck_decisions_action CHECK (action IN ('STAY', 'SWITCH', 'CREATE_REPLICA', 'WAIT'))`
  ),
  table(
    "notifications",
    `  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant_id VARCHAR(128) NOT NULL,
  agent_id VARCHAR(128) NULL,
  event_id BIGINT NULL,
  kind VARCHAR(64) NOT NULL,
  severity VARCHAR(16) NOT NULL,
  title VARCHAR(255) NOT NULL,
  body TEXT NULL,
  created_at BIGINT NOT NULL,
  read_at BIGINT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_notifications_event_kind (event_id, kind),
  KEY ix_notifications_tenant (tenant_id, created_at),
  CONSTRAINT ck_notifications_severity CHECK (severity IN ('info', 'warning', 'critical'))`
  )
]

/**
 * Migration 3: event ids from a counter row instead of AUTO_INCREMENT. The row is locked from the
 * moment a transaction takes its ids until it commits, so ids are handed out in commit order and a
 * reader tailing the log by id (SSE, read models, other processes) never skips an event that
 * commits late; a rollback gives its ids back, so there are no gaps either.
 */
const eventSequence: ReadonlyArray<string> = [
  table(
    "event_sequence",
    `  name VARCHAR(32) NOT NULL,
  last_id BIGINT NOT NULL,
  PRIMARY KEY (name)`
  ),
  // Re-running it keeps the counter as it is.
  "INSERT INTO event_sequence (name, last_id) SELECT 'events', COALESCE(MAX(id), 0) FROM events " +
  "ON DUPLICATE KEY UPDATE last_id = event_sequence.last_id"
]

/**
 * Migration 4: the record of background job runs (the lease rows themselves are `job_leases` of
 * migration 1). One row per run: who ran it under which fencing token, when, and what it did.
 */
const jobRuns: ReadonlyArray<string> = [
  table(
    "job_runs",
    `  id BIGINT NOT NULL AUTO_INCREMENT,
  name VARCHAR(128) NOT NULL,
  holder VARCHAR(255) NOT NULL,
  fencing_token BIGINT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  detail JSON NOT NULL,
  PRIMARY KEY (id),
  KEY ix_job_runs_name (name, id),
  KEY ix_job_runs_finished (finished_at),
  CONSTRAINT ck_job_runs_outcome CHECK (outcome IN ('succeeded', 'failed'))`
  )
]

/**
 * Migration 5: the model registry's invariants. `model_active` holds the active version of each
 * model name: its primary key is the name, so two active versions of one name cannot exist, and
 * activate/rollback swap it in the same transaction as `models.status`. `model_activations` is
 * the stack of activations that `rollback` pops.
 */
const modelRegistry: ReadonlyArray<string> = [
  table(
    "model_active",
    `  name VARCHAR(128) NOT NULL,
  version VARCHAR(64) NOT NULL,
  activated_at BIGINT NOT NULL,
  PRIMARY KEY (name)`
  ),
  table(
    "model_activations",
    `  name VARCHAR(128) NOT NULL,
  seq BIGINT NOT NULL,
  version VARCHAR(64) NOT NULL,
  activated_at BIGINT NOT NULL,
  PRIMARY KEY (name, seq)`
  )
]

/**
 * Migration 6: the consolidation job's reads answered from one index. Snapshots arrive in time
 * order, so the rows of one pool are spread over every page of the table: reading a pool's
 * window through `(pool, observed_at)` looked each row up in the clustered index, and listing
 * the pools with snapshots of a source scanned the whole table. The new index holds every
 * column those reads need, with `source` before `observed_at`, so
 * - `snapshotColumns` is an index range scan per pool (no row lookups);
 * - `snapshotPools` is a loose index scan (`GROUP BY pool` with `MIN(observed_at)`: one dive
 *   per pool);
 * - every other read of the old index keeps a usable prefix (the adapter names both sources
 *   when a query is not about one), so it replaces `ix_price_snapshots_pool` rather than adding
 *   a fifth index to the table agents append to.
 *
 * One ALTER (both changes or neither); MySQL 8 has no `ADD KEY IF NOT EXISTS`, so it is guarded
 * by a look at information_schema instead (see `Statement`).
 */
const snapshotReadIndex: ReadonlyArray<Statement> = [
  {
    sql: "ALTER TABLE price_snapshots " +
      "ADD KEY ix_price_snapshots_pool_source (pool, source, observed_at, reporter_role, price), " +
      "DROP KEY ix_price_snapshots_pool",
    skipIf: "SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() " +
      "AND TABLE_NAME = 'price_snapshots' AND INDEX_NAME = 'ix_price_snapshots_pool_source' LIMIT 1"
  }
]

/**
 * Migration 7: the consolidated and canonical tiers stored in blocks, one row per pool and UTC
 * day (see `priceBlocks.ts` for the value layout and why). Expand and migrate only: the points
 * already stored are copied into blocks (a data step: the layout is binary, so the rows are
 * packed by the adapter, not by SQL), and `consolidated_prices` / `canonical_prices` stay for
 * the servers of the previous release that run beside this one during a rolling deployment (and
 * for a rollback). A later release drops them (contract). Re-runnable: the tables are created if
 * absent and the copy rebuilds every block from the old tables, so an interrupted copy is simply
 * redone.
 */
/** A tier's block table: one row per pool and UTC day. */
const blockTable = (name: string): string =>
  table(
    name,
    `  pool VARCHAR(128) NOT NULL,
  block_start BIGINT NOT NULL,
  point_count INT NOT NULL,
  run_id VARCHAR(128) NOT NULL,
  points MEDIUMBLOB NOT NULL,
  PRIMARY KEY (pool, block_start),
  CONSTRAINT ck_${name}_count CHECK (point_count > 0)`
  )

const priceBlocks: ReadonlyArray<string | Statement | DataStep> = [
  blockTable("consolidated_blocks"),
  blockTable("canonical_blocks"),
  {
    description: "copy the points of consolidated_prices and canonical_prices into blocks",
    run: MovePoints.run
  }
]

/**
 * Migration 8: observed terminations and notice identity on instances (the reconcile loop,
 * docs/STATE_MACHINE.md "Reconciliation"). Expand only: two nullable columns that servers of the
 * previous release neither read nor write, so both releases run side by side during a rolling
 * deployment. Instances already TERMINATED count as confirmed at their termination time (the
 * previous release had no way to observe it; the reconcile loop terminates any that an agent's
 * inventory still lists running). Re-runnable: the ALTER is guarded, the UPDATE only touches rows
 * it has not touched.
 */
const observedTermination: ReadonlyArray<Statement> = [
  {
    sql: "ALTER TABLE instances ADD COLUMN termination_confirmed_at BIGINT NULL, ADD COLUMN termination_notice_at BIGINT NULL",
    skipIf: "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() " +
      "AND TABLE_NAME = 'instances' AND COLUMN_NAME = 'termination_confirmed_at' LIMIT 1"
  },
  {
    sql: "UPDATE instances SET termination_confirmed_at = COALESCE(terminated_at, created_at) " +
      "WHERE role = 'TERMINATED' AND termination_confirmed_at IS NULL"
  }
]

/**
 * Migration 9: the unreconciled instances (`Instance.isUnreconciled`: TERMINATED, end not
 * observed) from an index. The `unreconciled-instances` job reads them every minute and there are
 * normally few, but TERMINATED rows pile up with every switch: without the index each read
 * scanned the whole table. Rows with equal `(role, termination_confirmed_at)` are in id order
 * within the index (InnoDB appends the primary key), so the job's keyset pages need no sort.
 * Expand only (an index); guarded like migration 6.
 */
const unreconciledIndex: ReadonlyArray<Statement> = [
  {
    sql: "ALTER TABLE instances ADD KEY ix_instances_unreconciled (role, termination_confirmed_at)",
    skipIf: "SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() " +
      "AND TABLE_NAME = 'instances' AND INDEX_NAME = 'ix_instances_unreconciled' LIMIT 1"
  }
]

/**
 * Migration 10: the notifications' reads from indexes. A tenant's list is newest first by id and
 * pages by id (`(tenant_id, id)`), its unread list and count look at `read_at IS NULL`
 * (`(tenant_id, read_at)`, id order within it from the primary key InnoDB appends). Expand only;
 * guarded like migration 6.
 */
const notificationIndexes: ReadonlyArray<Statement> = ["ix_notifications_tenant_id (tenant_id, id)", "ix_notifications_unread (tenant_id, read_at)"].map(
  (key) => ({
    sql: `ALTER TABLE notifications ADD KEY ${key}`,
    skipIf: "SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() " +
      `AND TABLE_NAME = 'notifications' AND INDEX_NAME = '${key.split(" ")[0]}' LIMIT 1`
  })
)

/**
 * A statement that cannot be written re-runnable in the MySQL 8 / MariaDB common subset (an
 * ALTER TABLE): it is skipped when `skipIf`, a query, returns a row, i.e. when it already took
 * effect in an earlier, interrupted run.
 */
export interface Statement {
  readonly sql: string
  readonly skipIf?: string | undefined
}

/**
 * A step that moves data in a way SQL cannot express (it runs re-runnable code through the
 * migration's connection). Its SQL is plain SELECT/INSERT on tables of the schema.
 */
export interface DataStep {
  readonly description: string
  readonly run: Effect.Effect<void, SqlError | EngineError.StoreError, SqlClient.SqlClient>
}

/** A migration: an id, a name and the statements it runs in order. */
export interface MigrationSpec {
  readonly id: number
  readonly name: string
  /** The SQL of every statement step, in order (what reviews and the compatibility test read). */
  readonly statements: ReadonlyArray<string>
  /** The steps the migrator runs, with their guards, data steps among them. */
  readonly steps: ReadonlyArray<Statement | DataStep>
}

export const isDataStep = (step: Statement | DataStep): step is DataStep => "run" in step

const migration = (id: number, name: string, steps: ReadonlyArray<string | Statement | DataStep>): MigrationSpec => {
  const normalized = steps.map((s) => (typeof s === "string" ? { sql: s } : s))
  return {
    id,
    name,
    statements: normalized.flatMap((s) => (isDataStep(s) ? [] : [s.sql])),
    steps: normalized
  }
}

/** Every migration, in order. Append new ones; never edit a released one. */
export const migrations: ReadonlyArray<MigrationSpec> = [
  migration(1, "core", core),
  migration(2, "history", history),
  migration(3, "event_sequence", eventSequence),
  migration(4, "job_runs", jobRuns),
  migration(5, "model_registry", modelRegistry),
  migration(6, "snapshot_read_index", snapshotReadIndex),
  migration(7, "price_blocks", priceBlocks),
  migration(8, "observed_termination", observedTermination),
  migration(9, "unreconciled_index", unreconciledIndex),
  migration(10, "notification_indexes", notificationIndexes)
]

/** The tables the adapter creates (for tests and tooling). */
export const tableNames: ReadonlyArray<string> = migrations.flatMap((m) =>
  m.statements.flatMap((s) => {
    const created = /^CREATE TABLE IF NOT EXISTS (\w+)/.exec(s)
    return created === null ? [] : [created[1]!]
  })
)
