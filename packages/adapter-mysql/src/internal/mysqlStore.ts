import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type { Statement } from "@effect/sql/Statement"
import {
  type Agent,
  AgentStore,
  type DomainEvent,
  EngineError,
  EventLog,
  IdempotencyStore,
  PriceStore,
  type StateMachine,
  TenantStore
} from "@spotfleet/engine"
import { Context, Duration, Effect, Either, Option, Redacted, type Scope } from "effect"
import * as Mysql from "mysql2"
import * as Errors from "./errors.js"
import * as GroupCommit from "./groupCommit.js"
import * as HeartbeatBatch from "./heartbeatBatch.js"
import * as OneTrip from "./oneTrip.js"
import * as PriceStoreSql from "./priceStore.js"
import * as ReadBatch from "./readBatch.js"
import * as Rows from "./rows.js"
import { helpers, placeholders } from "./sqlRun.js"

type Row = Record<string, unknown>

/** Options of the store. */
export interface Options {
  /** Retries of a transaction that hit a deadlock or a lock wait timeout (default 5). */
  readonly lockRetries?: number | undefined
  /**
   * Size of the store's own mysql2 pool for heartbeats (default: the client's `maxConnections`,
   * else 10; 0 = send heartbeats through the `SqlClient` too). Used only when the client in
   * context is a `MysqlClient` (its config says where to connect).
   */
  readonly heartbeatConnections?: number | undefined
}

interface ResultHeader {
  readonly affectedRows: number
  readonly insertId: number
}

const header = (raw: unknown): ResultHeader => {
  const r = raw as Partial<ResultHeader> | null
  return { affectedRows: Number(r?.affectedRows ?? 0), insertId: Number(r?.insertId ?? 0) }
}

const insertSql = (tableName: string, columns: ReadonlyArray<string>, rows: number) =>
  `INSERT INTO ${tableName} (${columns.join(", ")}) VALUES ${Array.from({ length: rows }, () => `(${placeholders(columns.length)})`).join(", ")}`
const updateSet = (columns: ReadonlyArray<string>) => columns.map((c) => `${c} = ?`).join(", ")

/** LIMIT is inlined (prepared-statement LIMIT parameters are rejected by some MySQL 8 versions). */
const limitClause = (limit: number | undefined) =>
  limit === undefined ? "" : ` LIMIT ${Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(limit)))}`

/**
 * A small mysql2 pool of the store's own for heartbeats, built from the config of the
 * `MysqlClient` in context and closed with the scope; null without a MysqlClient or when
 * disabled.
 */
const ownPool = (options: Options): Effect.Effect<Mysql.Pool | null, never, Scope.Scope> =>
  Effect.flatMap(Effect.serviceOption(MysqlClient.MysqlClient), (client) => {
    if (Option.isNone(client)) return Effect.succeed(null)
    const config = client.value.config
    const connections = options.heartbeatConnections ?? config.maxConnections ?? 10
    if (connections <= 0) return Effect.succeed(null)
    const idleTimeout = config.connectionTTL === undefined ? {} : { idleTimeout: Duration.toMillis(config.connectionTTL) }
    return Effect.acquireRelease(
      Effect.sync(() => {
        const pool = config.url !== undefined
          ? Mysql.createPool({ uri: Redacted.value(config.url) as string, connectionLimit: connections, multipleStatements: true, ...idleTimeout })
          : Mysql.createPool({
            ...config.poolConfig,
            ...(config.host === undefined ? {} : { host: config.host }),
            ...(config.port === undefined ? {} : { port: config.port }),
            ...(config.database === undefined ? {} : { database: config.database }),
            ...(config.username === undefined ? {} : { user: config.username }),
            ...(config.password === undefined ? {} : { password: Redacted.value(config.password) as string }),
            connectionLimit: connections,
            multipleStatements: true,
            ...idleTimeout
          })
        OneTrip.configurePool(pool)
        return pool
      }),
      (pool) => Effect.async<void>((resume) => pool.end(() => resume(Effect.void)))
    )
  })

export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    // Our SQL names its columns itself: never let a host client's name transforms touch it.
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const lockRetries = options.lockRetries ?? 5

    const query = (text: string, params: ReadonlyArray<unknown> = []): Statement<Row> => sql.unsafe<Row>(text, params)
    const exec = (text: string, params: ReadonlyArray<unknown> = []): Effect.Effect<ResultHeader, SqlError> =>
      Effect.map(sql.unsafe(text, params).raw, header)

    /**
     * The store's own mysql2 pool (the default with a MysqlClient), for the hot paths:
     * heartbeats are written in batches on it (group commit, see heartbeatBatch), since
     * @effect/sql's statement machinery (span, scope, compilation) costs more CPU than a one-row
     * write and one commit per heartbeat more database time; commits and event appends go to it
     * in one round trip each (see oneTrip). No `sql.execute` span is recorded for those.
     */
    const heartbeatPool = yield* ownPool(options)

    /** Retries lock failures (deadlock, lock wait timeout), then maps what is left of the driver's errors to StoreError. */
    const { run } = helpers(sql, lockRetries)

    const decodeAll = Rows.decodeRows

    // ---------------------------------------------------------------- agents

    const loadIn = (agentId: string) =>
      Effect.gen(function*() {
        const agentRows = yield* query(`SELECT ${Rows.agentColumns} FROM agents WHERE id = ?`, [agentId])
        if (agentRows.length === 0) return Option.none<StateMachine.AgentAggregate>()
        const instanceRows = yield* query(
          `SELECT ${Rows.instanceColumns} FROM instances WHERE agent_id = ? ORDER BY created_at, id`,
          [agentId]
        )
        const commandRows = yield* query(`SELECT ${Rows.commandColumns} FROM commands WHERE agent_id = ? ORDER BY seq, id`, [agentId])
        const agent = yield* Rows.decodeAgent(agentRows[0]!)
        const instances = yield* decodeAll(instanceRows, Rows.decodeInstance)
        const commands = yield* decodeAll(commandRows, Rows.decodeCommand)
        return Option.some<StateMachine.AgentAggregate>({ agent, instances, commands })
      })

    /** One consistent snapshot of the three tables. */
    const load = (agentId: string) => run("load", sql.withTransaction(loadIn(agentId)))

    const findByLogicalId: AgentStore.AgentStoreService["findByLogicalId"] = (tenantId, logicalAgentId) =>
      run(
        "findByLogicalId",
        sql.withTransaction(Effect.gen(function*() {
          const rows = yield* query("SELECT id FROM agents WHERE tenant_id = ? AND logical_agent_id = ?", [tenantId, logicalAgentId])
          return rows.length === 0 ? Option.none() : yield* loadIn(String(rows[0]!.id))
        }))
      )

    const findByCloudInstanceId: AgentStore.AgentStoreService["findByCloudInstanceId"] = (tenantId, cloudInstanceId) =>
      run(
        "findByCloudInstanceId",
        Effect.map(
          query("SELECT agent_id FROM instances WHERE tenant_id = ? AND cloud_instance_id = ?", [tenantId, cloudInstanceId]),
          (rows) => Option.map(Option.fromNullable(rows[0]), (r) => r.agent_id as Agent.Agent["id"])
        )
      )

    const ownersOf: NonNullable<AgentStore.AgentStoreService["ownersOf"]> = (tenantId, cloudInstanceIds) =>
      cloudInstanceIds.length === 0
        ? Effect.succeed(new Map())
        : run(
          "ownersOf",
          Effect.map(
            query(
              `SELECT cloud_instance_id, agent_id FROM instances WHERE tenant_id = ? AND cloud_instance_id IN (${cloudInstanceIds.map(() => "?").join(", ")})`,
              [tenantId, ...cloudInstanceIds]
            ),
            (rows) => new Map(rows.map((r) => [r.cloud_instance_id as string, r.agent_id as Agent.Agent["id"]]))
          )
        )

    const list: AgentStore.AgentStoreService["list"] = (tenantId, listOptions = {}) => {
      const where: Array<string> = []
      const params: Array<unknown> = []
      if (tenantId !== null) {
        where.push("tenant_id = ?")
        params.push(tenantId)
      }
      if (listOptions.liveness !== undefined) {
        where.push("liveness = ?")
        params.push(listOptions.liveness)
      }
      if (listOptions.heartbeatBefore !== undefined) {
        where.push("COALESCE(last_heartbeat_at, 0) < ?")
        params.push(listOptions.heartbeatBefore)
      }
      if (listOptions.autoSwitch !== undefined) {
        where.push("auto_switch = ?")
        params.push(listOptions.autoSwitch)
      }
      if (listOptions.afterId !== undefined) {
        where.push("id > ?")
        params.push(listOptions.afterId)
      }
      const text = `SELECT ${Rows.agentColumns} FROM agents${where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`} ORDER BY id${
        limitClause(listOptions.limit)
      }`
      return run("list", Effect.flatMap(query(text, params), (rows) => decodeAll(rows, Rows.decodeAgent)))
    }

    const countAgents: AgentStore.AgentStoreService["countAgents"] = (tenantId) =>
      run("countAgents", Effect.map(query("SELECT COUNT(*) AS n FROM agents WHERE tenant_id = ?", [tenantId]), (rows) => Number(rows[0]?.n ?? 0)))

    /**
     * Inserts events with ids taken from the `event_sequence` row (migration 3). Must run inside
     * the writing transaction: the row stays locked until COMMIT, so ids follow commit order.
     * `LAST_INSERT_ID(expr)` hands the new value back in the same round trip.
     */
    const insertEvents = (drafts: ReadonlyArray<DomainEvent.EventDraft>) =>
      drafts.length === 0
        ? Effect.succeed<ReadonlyArray<DomainEvent.DomainEvent>>([])
        : Effect.gen(function*() {
          const taken = yield* exec(
            "UPDATE event_sequence SET last_id = LAST_INSERT_ID(last_id + ?) WHERE name = 'events'",
            [drafts.length]
          )
          const first = Number(taken.insertId) - drafts.length + 1
          yield* exec(
            insertSql("events", ["id", ...Rows.eventWriteColumns], drafts.length),
            drafts.flatMap((d, n) => [first + n, ...Rows.eventValues(d)])
          )
          return drafts.map((d, n) => Rows.eventOf(d, first + n))
        })

    const duplicate = (entity: string, key: string) => Effect.fail(new EngineError.DuplicateKey({ entity, key }))

    const agentColumnsForUpdate = Rows.agentWriteColumns.filter((c) => c !== "created_at" && c !== "tenant_id")

    /** A statement of a commit; `versionCheck`: it must touch exactly one row, else the commit is a VersionConflict. */
    interface Planned extends OneTrip.Statement {
      readonly versionCheck?: boolean
    }

    /**
     * The statements of a commit, events aside, in the order they run. Only what changed (by
     * reference) is written.
     */
    const commitPlan = ({ after, before, idempotency }: AgentStore.Commit): Array<Planned> => {
      const agent = after.agent
      const plan: Array<Planned> = []
      // The idempotency key first: a twin request holding the same key makes this insert wait
      // for the twin's outcome, and a key that exists fails the commit with DuplicateKey (the
      // engine then replays the first answer) rather than with a VersionConflict.
      if (idempotency !== undefined) {
        plan.push({
          text: "INSERT INTO idempotency (tenant_id, idem_key, operation, response, created_at) VALUES (?, ?, ?, ?, ?)",
          params: [idempotency.tenantId, idempotency.key, idempotency.operation, Rows.toJsonValue(idempotency.response), idempotency.createdAt]
        })
      }
      if (before === null) {
        // last_heartbeat_at is set apart from the other columns (see below).
        plan.push({
          text: insertSql("agents", ["id", ...Rows.agentWriteColumns, "last_heartbeat_at"], 1),
          params: [agent.id, ...Rows.agentValues(agent), agent.lastHeartbeatAt]
        })
      } else {
        const all = Rows.agentValues(agent)
        const values = Rows.agentWriteColumns.flatMap((c, n) => (c === "created_at" || c === "tenant_id" ? [] : [all[n]]))
        // Heartbeats are written apart from commits (touchHeartbeat): never move the time back.
        plan.push({
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
        plan.push(
          knownInstances.has(instance.id)
            ? { text: `UPDATE instances SET ${updateSet(Rows.instanceWriteColumns)} WHERE id = ? AND agent_id = ?`, params: [...values, instance.id, agent.id] }
            : { text: insertSql("instances", ["id", ...Rows.instanceWriteColumns], 1), params: [instance.id, ...values] }
        )
      }
      const beforeCommands = new Set(before?.commands ?? [])
      const knownCommands = new Set((before?.commands ?? []).map((c) => c.id))
      for (const command of after.commands) {
        if (beforeCommands.has(command)) continue
        const values = Rows.commandValues(command)
        plan.push(
          knownCommands.has(command.id)
            ? { text: `UPDATE commands SET ${updateSet(Rows.commandWriteColumns)} WHERE id = ?`, params: [...values, command.id] }
            : { text: insertSql("commands", ["id", ...Rows.commandWriteColumns], 1), params: [command.id, ...values] }
        )
      }
      return plan
    }

    const conflict = ({ after, before }: AgentStore.Commit) =>
      new EngineError.VersionConflict({ agentId: after.agent.id, expectedVersion: before?.agent.version ?? 0 })

    /**
     * What a unique key that rejected a commit means to the engine. The key's name tells the
     * table, except for primary keys: there the duplicate entry's value tells whose key it was.
     */
    const commitRejected = (
      c: AgentStore.Commit,
      error: SqlError
    ): Effect.Effect<never, SqlError | EngineError.VersionConflict | EngineError.DuplicateKey> => {
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

    /** A commit statement by statement in a transaction of the SqlClient (no own pool, or inside a caller's transaction). */
    const commitIn = (c: AgentStore.Commit) =>
      Effect.gen(function*() {
        for (const statement of commitPlan(c)) {
          const written = yield* exec(statement.text, statement.params)
          if (statement.versionCheck === true && written.affectedRows === 0) return yield* Effect.fail(conflict(c))
        }
        return yield* insertEvents(c.events)
      }).pipe(Effect.catchIf((e): e is SqlError => e instanceof SqlError, (e) => commitRejected(c, e)))

    /**
     * The statements that take `n` event ids from the `event_sequence` row (migration 3) and
     * insert the events, inside the script's transaction: the row stays locked until COMMIT, so
     * ids follow commit order. The last id is the sequence UPDATE's insert id.
     */
    const eventStatements = (drafts: ReadonlyArray<DomainEvent.EventDraft>): Array<OneTrip.Statement> => {
      const n = drafts.length
      return [
        { text: "UPDATE event_sequence SET last_id = LAST_INSERT_ID(last_id + ?) WHERE name = 'events'", params: [n] },
        { text: "SET @spotfleet_last_event = LAST_INSERT_ID()", params: [] },
        {
          text: `INSERT INTO events (id, ${Rows.eventWriteColumns.join(", ")}) VALUES ` +
            drafts.map((_, k) => `(@spotfleet_last_event - ${n - 1 - k}, ${placeholders(Rows.eventWriteColumns.length)})`).join(", "),
          params: drafts.flatMap(Rows.eventValues)
        }
      ]
    }

    /** Runs a script in one round trip on the store's own pool. */
    const oneTrip = (statements: ReadonlyArray<OneTrip.Statement>) =>
      Effect.async<OneTrip.Results, SqlError>((resume) => {
        OneTrip.run(heartbeatPool!, statements, (cause, results) => {
          resume(cause !== null ? Effect.fail(new SqlError({ cause, message: "Failed to execute statement" })) : Effect.succeed(results!))
        })
      })

    /**
     * Runs a script that ends with {@link eventStatements} for `drafts` and answers the events
     * with their ids (from the sequence UPDATE's insert id).
     */
    const oneTripWithEvents = (statements: ReadonlyArray<OneTrip.Statement>, drafts: ReadonlyArray<DomainEvent.EventDraft>) =>
      drafts.length === 0
        ? Effect.as(oneTrip(statements), [] as ReadonlyArray<DomainEvent.DomainEvent>)
        : Effect.map(oneTrip([...statements, ...eventStatements(drafts)]), (results) => {
          const last = Number(header(results[OneTrip.FIRST + statements.length]).insertId)
          return drafts.map((d, k) => Rows.eventOf(d, last - (drafts.length - 1 - k)))
        })

    /** A commit in one round trip: the version check is a guard statement that fails the script. */
    const commitOneTrip = (c: AgentStore.Commit) =>
      oneTripWithEvents(
        commitPlan(c).flatMap((statement) => statement.versionCheck === true ? [statement, ...OneTrip.guardOneRow] : [statement]),
        c.events
      ).pipe(
        Effect.catchAll((e) => Errors.driverError(e).errno === OneTrip.GUARD_ERRNO ? Effect.fail(conflict(c)) : commitRejected(c, e))
      )

    const commit: AgentStore.AgentStoreService["commit"] = (c) =>
      run(
        "commit",
        Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (inTransaction) =>
          heartbeatPool === null || Option.isSome(inTransaction) ? sql.withTransaction(commitIn(c)) : commitOneTrip(c))
      )

    /**
     * Without the store's own pool (heartbeatConnections 0) a heartbeat is one statement through
     * the SqlClient: HeartbeatBatch.singleSql, its answer in the insert id (0: read instead).
     */
    const HEARTBEAT_READ = "SELECT config_version, liveness FROM agents WHERE id = ? AND tenant_id = ?"

    const touchedOf = (touched: HeartbeatBatch.Touched): AgentStore.HeartbeatTouch => ({
      liveness: touched.online ? "online" : "offline",
      configVersion: touched.configVersion
    })


    /** Heartbeats on the store's own pool are written in batches (group commit, see heartbeatBatch). */
    const batcher = heartbeatPool === null ? null : HeartbeatBatch.make(heartbeatPool)

    const touchOnce = (tenantId: string, agentId: string, at: number) =>
      batcher !== null
        ? Effect.async<Option.Option<AgentStore.HeartbeatTouch>, SqlError>((resume) => {
          batcher.touch(tenantId, agentId, at, (cause, touched) => {
            resume(
              cause !== null
                ? Effect.fail(new SqlError({ cause, message: "Failed to execute statement" }))
                : Effect.succeed(
                  touched === undefined
                    ? Option.none()
                    : Option.some(touchedOf(touched))
                )
            )
          })
        })
        : Effect.flatMap(
          exec(HeartbeatBatch.singleSql, [at, at, agentId, tenantId]),
          (written): Effect.Effect<Option.Option<AgentStore.HeartbeatTouch>, SqlError> =>
            written.insertId > 0
              ? Effect.succeed(Option.some(touchedOf(HeartbeatBatch.unpack(written.insertId))))
              // No row matched, or a MySQL-compatible server without the insert-id idiom: read.
              : Effect.map(query(HEARTBEAT_READ, [agentId, tenantId]), (rows) =>
                Option.map(Option.fromNullable(rows[0]), (row) => ({
                  liveness: row.liveness as Agent.Liveness,
                  configVersion: Number(row.config_version)
                })))
        )

    const touchHeartbeat: AgentStore.AgentStoreService["touchHeartbeat"] = (tenantId, agentId, at) =>
      // No version: a heartbeat is not a state change and must not conflict with flows;
      // GREATEST keeps it from moving back. The success path skips the retry machinery.
      touchOnce(tenantId, agentId, at).pipe(
        Effect.catchAll((e) => run("touchHeartbeat", Errors.isRetryable(e) ? touchOnce(tenantId, agentId, at) : Effect.fail(e)))
      )

    const touchAllOnce = (beats: ReadonlyArray<AgentStore.HeartbeatCall>, at: number) =>
      Effect.async<ReadonlyArray<Option.Option<AgentStore.HeartbeatTouch>>, SqlError>((resume) => {
        batcher!.touchAll(beats, at, (cause, touched) => {
          resume(
            cause !== null
              ? Effect.fail(new SqlError({ cause, message: "Failed to execute statement" }))
              : Effect.succeed(touched!.map((t) => t === undefined ? Option.none() : Option.some(touchedOf(t))))
          )
        })
      })

    /**
     * A batch of heartbeats in one batch of the batcher (its UPDATEs and SELECT in one round trip), retried once
     * when the error allows it (a heartbeat write is idempotent). Without the store's own pool,
     * one statement each.
     */
    const touchHeartbeats: NonNullable<AgentStore.AgentStoreService["touchHeartbeats"]> = (beats, at) =>
      batcher === null
        ? Effect.forEach(beats, (b) => touchHeartbeat(b.tenantId, b.agentId, at))
        : touchAllOnce(beats, at).pipe(
          Effect.catchAll((e) => run("touchHeartbeats", Errors.isRetryable(e) ? touchAllOnce(beats, at) : Effect.fail(e)))
        )

    /**
     * A read of the agents' hot paths (polls, price reports): on the store's own pool when there
     * is one, like heartbeats (the SqlClient's per-statement machinery costs more CPU than such
     * a one-row read), coalesced with the reads of the same kind asked for in the same turn (see
     * readBatch); else through the SqlClient. Retried once when the error allows it.
     */
    const hotReader = (kind: ReadBatch.Kind) => {
      const read = heartbeatPool === null ? null : ReadBatch.make(heartbeatPool, kind)
      return <A>(operation: string, key: readonly [string, string], decode: (rows: ReadonlyArray<Row>) => A) => {
        const once: Effect.Effect<A, SqlError> = read === null
          ? Effect.map(query(kind.one, key), decode)
          : Effect.async((resume) => {
            read(key, (cause, rows) => {
              resume(cause !== null ? Effect.fail(new SqlError({ cause, message: "Failed to execute statement" })) : Effect.succeed(decode(rows!)))
            })
          })
        return once.pipe(Effect.catchAll((e) => run(operation, Errors.isRetryable(e) ? once : Effect.fail(e))))
      }
    }

    /** Whether an agent has a notice or an open command (keyed by agent id and tenant). */
    const BUSY_WHERE = "(a.notice IS NOT NULL OR a.flow IS NOT NULL OR a.degraded OR EXISTS (SELECT 1 FROM commands c " +
      "WHERE c.agent_id = a.id AND c.status IN ('pending', 'delivered')))"
    const BUSY_SQL = `${BUSY_WHERE} AS busy`
    const peekPollRead = hotReader({
      one: `SELECT ${BUSY_SQL} FROM agents a WHERE a.id = ? AND a.tenant_id = ?`,
      many: ReadBatch.byFirst(`SELECT a.id AS k0, a.tenant_id AS k1, ${BUSY_SQL} FROM agents a`, "a.id")
    })
    const peekPoll: NonNullable<AgentStore.AgentStoreService["peekPoll"]> = (tenantId, agentId) =>
      peekPollRead("peekPoll", [agentId, tenantId], (rows) => Option.map(Option.fromNullable(rows[0]), (r) => Number(r.busy) !== 0))

    /** The agent's ownership (a row with NULL instance columns when it has no live instance) and its live instances. */
    const LIVE_FROM = "FROM agents a LEFT JOIN instances i ON i.agent_id = a.id AND i.role IN ('PRIMARY', 'REPLICA')"
    const liveInstancesRead = hotReader({
      one: `SELECT i.role, i.cloud_instance_id, i.pool ${LIVE_FROM} WHERE a.id = ? AND a.tenant_id = ?`,
      many: ReadBatch.byFirst(`SELECT a.id AS k0, a.tenant_id AS k1, i.role, i.cloud_instance_id, i.pool ${LIVE_FROM}`, "a.id")
    })
    const liveInstances: NonNullable<AgentStore.AgentStoreService["liveInstances"]> = (tenantId, agentId) =>
      liveInstancesRead("liveInstances", [agentId, tenantId], (rows) =>
        rows.length === 0
          ? Option.none()
          : Option.some(rows.flatMap((r): Array<AgentStore.LiveInstance> =>
            r.role === null || r.role === undefined
              ? []
              : [{
                role: r.role as AgentStore.LiveInstance["role"],
                cloudInstanceId: (r.cloud_instance_id as string | null) ?? null,
                pool: r.pool as AgentStore.LiveInstance["pool"]
              }]
          )))

    /** `Instance.isUnreconciled` in SQL. */
    const UNRECONCILED = "role = 'TERMINATED' AND termination_confirmed_at IS NULL AND cloud_instance_id IS NOT NULL"

    const listInstances: NonNullable<AgentStore.AgentStoreService["listInstances"]> = (tenantId, listOptions = {}) => {
      const where: Array<string> = []
      const params: Array<unknown> = []
      if (tenantId !== null) {
        where.push("tenant_id = ?")
        params.push(tenantId)
      }
      if (listOptions.roles !== undefined) {
        if (listOptions.roles.length === 0) return Effect.succeed([])
        where.push(`role IN (${placeholders(listOptions.roles.length)})`)
        params.push(...listOptions.roles)
      }
      if (listOptions.notTerminatedBy !== undefined) {
        where.push("(terminated_at IS NULL OR terminated_at > ?)")
        params.push(listOptions.notTerminatedBy)
      }
      if (listOptions.runningAfter !== undefined) {
        where.push(
          "launch_confirmed_at IS NOT NULL AND cloud_instance_id IS NOT NULL AND (termination_confirmed_at IS NULL OR termination_confirmed_at > ?)"
        )
        params.push(listOptions.runningAfter)
      }
      if (listOptions.unreconciled !== undefined) {
        // `true` reads the (role, termination_confirmed_at) index of migration 9.
        where.push(`${listOptions.unreconciled ? "" : "NOT "}(${UNRECONCILED})`)
      }
      if (listOptions.afterId !== undefined) {
        where.push("id > ?")
        params.push(listOptions.afterId)
      }
      const text = `SELECT tenant_id, ${Rows.instanceColumns} FROM instances${where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`} ORDER BY id${
        limitClause(listOptions.limit)
      }`
      return run(
        "listInstances",
        Effect.flatMap(query(text, params), (rows) =>
          decodeAll(rows, (row) =>
            Either.map(Rows.decodeInstance(row), (instance) => ({ tenantId: row.tenant_id as Agent.Agent["tenantId"], instance }))))
      )
    }

    /** Agents with a notice or an open command (the poll peek's test), one page in one read. */
    const busyAgents: NonNullable<AgentStore.AgentStoreService["busyAgents"]> = (tenantId, busyOptions = {}) => {
      const where = [
        BUSY_WHERE
      ]
      const params: Array<unknown> = []
      if (tenantId !== null) {
        where.push("a.tenant_id = ?")
        params.push(tenantId)
      }
      if (busyOptions.afterId !== undefined) {
        where.push("a.id > ?")
        params.push(busyOptions.afterId)
      }
      return run(
        "busyAgents",
        Effect.map(
          query(`SELECT a.id, a.tenant_id, a.version FROM agents a WHERE ${where.join(" AND ")} ORDER BY a.id${limitClause(busyOptions.limit)}`, params),
          (rows) =>
            rows.map((r): AgentStore.AgentRef => ({
              tenantId: r.tenant_id as Agent.Agent["tenantId"],
              agentId: r.id as Agent.Agent["id"],
              version: Number(r.version)
            }))
        )
      )
    }

    const agentStore: AgentStore.AgentStoreService = {
      load,
      findByLogicalId,
      findByCloudInstanceId,
      ownersOf,
      list,
      countAgents,
      commit,
      touchHeartbeat,
      touchHeartbeats,
      peekPoll,
      liveInstances,
      listInstances,
      busyAgents
    }

    // ---------------------------------------------------------------- event log

    /**
     * Standalone appends (price reports, jobs) share transactions when they arrive together: the
     * event sequence row is locked until commit, so one commit per append would queue every
     * writer behind every log flush. Inside a caller's transaction the append stays in it.
     */
    const runtime = yield* Effect.runtime<never>()
    const appendGrouped = GroupCommit.make(runtime, (batches: ReadonlyArray<ReadonlyArray<DomainEvent.EventDraft>>) =>
      Effect.map(heartbeatPool === null ? sql.withTransaction(insertEvents(batches.flat())) : oneTripWithEvents([], batches.flat()), (events) => {
        let at = 0
        return batches.map((drafts) => events.slice(at, (at += drafts.length)))
      })
    )

    // ---------------------------------------------------------------- log commits

    /**
     * The statement that puts the ids of a log commit's events into its idempotency record
     * (`EventLog.LogCommit`): `ids` are SQL expressions (the ids are known in the script only).
     */
    const eventIdsUpdate = (record: IdempotencyStore.IdempotencyRecord, ids: ReadonlyArray<string>): OneTrip.Statement => ({
      text: `UPDATE idempotency SET response = JSON_SET(response, '$.eventIds', JSON_ARRAY(${ids.join(", ")})) WHERE tenant_id = ? AND idem_key = ?`,
      params: [record.tenantId, record.key]
    })

    /** The price rows of log commits: snapshots, then on-demand prices. */
    const priceStatements = (commits: ReadonlyArray<EventLog.LogCommit>): Array<OneTrip.Statement> => [
      ...PriceStoreSql.snapshotStatements(commits.flatMap((c) => c.snapshots ?? [])),
      ...PriceStoreSql.onDemandStatements(commits.flatMap((c) => c.onDemand ?? []))
    ]

    const keyTaken = (c: EventLog.LogCommit) => new EngineError.DuplicateKey({ entity: "idempotency key", key: c.idempotency?.key ?? "" })

    /**
     * Log commits (a batch of price reports) in one transaction in one round trip: every
     * idempotency key first (a twin request holding the same key makes the insert wait for the
     * twin's outcome; a key that exists fails the script), then the price rows, the events, and
     * the events' ids into the records. Answers each commit's events.
     */
    const logCommitsOneTrip = (commits: ReadonlyArray<EventLog.LogCommit>) => {
      const keys = commits.flatMap((c): Array<OneTrip.Statement> =>
        c.idempotency === undefined ? [] : [{ text: IDEMPOTENCY_INSERT, params: idempotencyValues(c.idempotency) }]
      )
      const before = [...keys, ...priceStatements(commits)]
      const drafts = commits.flatMap((c) => c.events)
      const n = drafts.length
      const updates: Array<OneTrip.Statement> = []
      let at = 0
      for (const c of commits) {
        const first = at
        at += c.events.length
        if (c.idempotency !== undefined) {
          // Event k of the script gets the id @spotfleet_last_event − (n − 1 − k) (see eventStatements).
          updates.push(eventIdsUpdate(c.idempotency, c.events.map((_, j) => `@spotfleet_last_event - ${n - 1 - (first + j)}`)))
        }
      }
      return Effect.map(oneTrip(n === 0 ? [...before, ...updates] : [...before, ...eventStatements(drafts), ...updates]), (results) => {
        const last = n === 0 ? 0 : Number(header(results[OneTrip.FIRST + before.length]).insertId)
        const events = drafts.map((d, k) => Rows.eventOf(d, last - (n - 1 - k)))
        let from = 0
        return commits.map((c) => events.slice(from, (from += c.events.length)))
      })
    }

    type LogAnswer = Either.Either<ReadonlyArray<DomainEvent.DomainEvent>, EngineError.DuplicateKey | SqlError>

    /**
     * Log commits made together share a script (group commit), as many as fit in
     * {@link PriceStoreSql.APPEND_ROWS} snapshot rows. One commit that fails (a taken key, a row
     * the database rejects) fails the whole script: its commits are then written one by one, so
     * each gets its own answer. A deadlock or lock wait timeout fails them all (each caller
     * retries).
     */
    const logGrouped = heartbeatPool === null ? null : GroupCommit.make(runtime, (commits: ReadonlyArray<EventLog.LogCommit>) => {
      const scripts: Array<Array<EventLog.LogCommit>> = []
      let rows = Infinity
      for (const c of commits) {
        const size = c.snapshots?.length ?? 0
        if (rows + size > PriceStoreSql.APPEND_ROWS) {
          scripts.push([])
          rows = 0
        }
        scripts[scripts.length - 1]!.push(c)
        rows += size
      }
      const failed = (c: EventLog.LogCommit, e: SqlError): LogAnswer => Either.left(Errors.duplicateKeyName(e) !== null ? keyTaken(c) : e)
      const write = (script: ReadonlyArray<EventLog.LogCommit>): Effect.Effect<ReadonlyArray<LogAnswer>> =>
        logCommitsOneTrip(script).pipe(
          Effect.map((answers): ReadonlyArray<LogAnswer> => answers.map((events) => Either.right(events))),
          Effect.catchAll((e) =>
            script.length > 1 && !Errors.isRetryable(e)
              ? Effect.map(Effect.forEach(script, (c) => write([c])), (answers) => answers.flat())
              : Effect.succeed(script.map((c) => failed(c, e)))
          )
        )
      return Effect.map(Effect.forEach(scripts, write), (answers) => answers.flat())
    })

    /** A log commit statement by statement in a transaction of the SqlClient (no own pool, or inside a caller's transaction). */
    const logCommitIn = (c: EventLog.LogCommit) =>
      Effect.gen(function*() {
        if (c.idempotency !== undefined) yield* exec(IDEMPOTENCY_INSERT, idempotencyValues(c.idempotency))
        for (const statement of priceStatements([c])) yield* exec(statement.text, statement.params)
        const events = yield* insertEvents(c.events)
        if (c.idempotency !== undefined) {
          const response = { ...(c.idempotency.response as object), eventIds: events.map((e) => e.id) }
          yield* exec("UPDATE idempotency SET response = ? WHERE tenant_id = ? AND idem_key = ?", [
            Rows.toJsonValue(response),
            c.idempotency.tenantId,
            c.idempotency.key
          ])
        }
        return events
      }).pipe(Effect.catchIf((e): e is SqlError => e instanceof SqlError && Errors.duplicateKeyName(e) !== null, () => Effect.fail(keyTaken(c))))

    const commitLog: EventLog.EventLogService["commit"] = (c) =>
      run(
        "commitLog",
        Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (inTransaction) =>
          logGrouped === null || Option.isSome(inTransaction) || (c.snapshots?.length ?? 0) > PriceStoreSql.APPEND_ROWS
            ? sql.withTransaction(logCommitIn(c))
            : Effect.flatMap(logGrouped(c), Either.match({ onLeft: Effect.fail, onRight: Effect.succeed })))
      )

    const eventLog: EventLog.EventLogService = {
      commit: commitLog,
      read: ({ afterId, agentId, limit, tenantId, types }) => {
        if (types !== undefined && types.length === 0) return Effect.succeed([])
        const where = ["id > ?"]
        const params: Array<unknown> = [afterId]
        if (types !== undefined) {
          where.push(`type IN (${placeholders(types.length)})`)
          params.push(...types)
        }
        if (tenantId !== null) {
          where.push("tenant_id = ?")
          params.push(tenantId)
        }
        if (agentId !== undefined) {
          where.push("agent_id = ?")
          params.push(agentId)
        }
        return run(
          "readEvents",
          Effect.flatMap(
            query(`SELECT ${Rows.eventColumns} FROM events WHERE ${where.join(" AND ")} ORDER BY id${limitClause(limit)}`, params),
            (rows) => decodeAll(rows, Rows.decodeEvent)
          )
        )
      },
      append: (drafts) =>
        run(
          "appendEvents",
          Effect.flatMap(
            Effect.serviceOption(SqlClient.TransactionConnection),
            (inTransaction) => Option.isSome(inTransaction) ? sql.withTransaction(insertEvents(drafts)) : appendGrouped(drafts)
          )
        ),
      latestId: run("latestEventId", Effect.map(query("SELECT COALESCE(MAX(id), 0) AS id FROM events"), (rows) => Number(rows[0]?.id ?? 0)))
    }

    // ---------------------------------------------------------------- idempotency

    /**
     * A one-statement write outside any transaction on the store's own pool when there is one
     * (as the hot reads; the agents' price reports append their snapshots so), else through the
     * SqlClient. Inside a transaction it stays in it.
     */
    const hotExec = (text: string, params: ReadonlyArray<unknown>): Effect.Effect<ResultHeader, SqlError> =>
      heartbeatPool === null
        ? exec(text, params)
        : Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (inTransaction) =>
          Option.isSome(inTransaction)
            ? exec(text, params)
            : Effect.async<ResultHeader, SqlError>((resume) => {
              heartbeatPool.execute<Mysql.ResultSetHeader>(text, params as Array<Mysql.ExecuteValues>, (cause, result) => {
                resume(cause !== null ? Effect.fail(new SqlError({ cause, message: "Failed to execute statement" })) : Effect.succeed(header(result)))
              })
            }))

    const IDEMPOTENCY_COLUMNS = "tenant_id, idem_key, operation, CAST(response AS CHAR) AS response, created_at"
    const idempotencyRead = hotReader({
      one: `SELECT ${IDEMPOTENCY_COLUMNS} FROM idempotency WHERE tenant_id = ? AND idem_key = ?`,
      // Both halves of the primary key in IN lists (a range on it); rows of other pairs are dropped.
      many: (keys) => {
        const tenants = [...new Set(keys.map((k) => k[0]))]
        const idemKeys = [...new Set(keys.map((k) => k[1]))]
        return {
          text: `SELECT tenant_id AS k0, idem_key AS k1, ${IDEMPOTENCY_COLUMNS} FROM idempotency ` +
            `WHERE tenant_id IN (${placeholders(tenants.length)}) AND idem_key IN (${placeholders(idemKeys.length)})`,
          params: [...tenants, ...idemKeys]
        }
      }
    })

    const IDEMPOTENCY_INSERT = "INSERT INTO idempotency (tenant_id, idem_key, operation, response, created_at) VALUES (?, ?, ?, ?, ?)"
    const idempotencyValues = (record: IdempotencyStore.IdempotencyRecord) =>
      [record.tenantId, record.key, record.operation, Rows.toJsonValue(record.response), record.createdAt] as const

    /**
     * Records put together (a batch of agent reports) are inserted in one round trip, one
     * `INSERT IGNORE` each: a statement that inserted nothing met an existing key (the first
     * record stays). The values are ours and valid, so IGNORE can only skip duplicates here.
     */
    const putGrouped = heartbeatPool === null ? null : GroupCommit.make(runtime, (records: ReadonlyArray<IdempotencyStore.IdempotencyRecord>) =>
      Effect.map(
        oneTrip(records.map((r) => ({ text: IDEMPOTENCY_INSERT.replace("INSERT", "INSERT IGNORE"), params: idempotencyValues(r) }))),
        (results) => records.map((_, i) => header(results[OneTrip.FIRST + i]).affectedRows === 1)
      ))

    const idempotencyStore: IdempotencyStore.IdempotencyStoreService = {
      // A hot read (every agent report with a request id checks it first).
      get: (tenantId, key) =>
        Effect.flatMap(
          idempotencyRead("getIdempotency", [tenantId, key], (rows) => rows[0]),
          (row) => (row === undefined ? Effect.succeed(Option.none()) : Effect.map(Rows.decodeIdempotency(row), Option.some))
        ),
      put: (record) =>
        run(
          "putIdempotency",
          Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (inTransaction) =>
            putGrouped === null || Option.isSome(inTransaction)
              ? exec(IDEMPOTENCY_INSERT, idempotencyValues(record)).pipe(
                Effect.catchIf((e) => Errors.duplicateKeyName(e) !== null, () => duplicate("idempotency key", record.key)),
                Effect.asVoid
              )
              : Effect.flatMap(putGrouped(record), (written) => written ? Effect.void : duplicate("idempotency key", record.key)))
        ),
      purgeBefore: (time) =>
        run("purgeIdempotency", Effect.map(exec("DELETE FROM idempotency WHERE created_at < ?", [time]), (h) => h.affectedRows))
    }

    // ---------------------------------------------------------------- tenants

    const tenantStore: TenantStore.TenantStoreService = {
      create: (tenant) =>
        run(
          "createTenant",
          exec(`INSERT INTO tenants (${Rows.tenantColumns}) VALUES (?, ?, ?, ?, ?, ?)`, [
            tenant.id,
            tenant.name,
            tenant.limits.maxAgents,
            tenant.limits.maxInstances,
            tenant.dryRun,
            tenant.createdAt
          ]).pipe(
            Effect.catchIf(
              (e) => Errors.duplicateKeyName(e) !== null,
              (e) => duplicate("tenant", Errors.duplicateKeyName(e) === "uq_tenants_name" ? tenant.name : tenant.id)
            ),
            Effect.asVoid
          )
        ),
      get: (tenantId) =>
        run(
          "getTenant",
          Effect.flatMap(
            query(`SELECT ${Rows.tenantColumns} FROM tenants WHERE id = ?`, [tenantId]),
            (rows) => (rows.length === 0 ? Effect.succeed(Option.none()) : Effect.map(Rows.decodeTenant(rows[0]!), Option.some))
          )
        ),
      list: run(
        "listTenants",
        Effect.flatMap(query(`SELECT ${Rows.tenantColumns} FROM tenants ORDER BY created_at, id`), (rows) => decodeAll(rows, Rows.decodeTenant))
      ),
      update: (tenant) =>
        run(
          "updateTenant",
          exec("UPDATE tenants SET name = ?, max_agents = ?, max_instances = ?, dry_run = ? WHERE id = ?", [
            tenant.name,
            tenant.limits.maxAgents,
            tenant.limits.maxInstances,
            tenant.dryRun,
            tenant.id
          ]).pipe(
            // The port has no DuplicateKey here: a rename onto another tenant's name is a store failure.
            Effect.asVoid
          )
        ),
      addToken: (token) =>
        run(
          "addToken",
          exec("INSERT INTO tenant_tokens (token_hash, tenant_id, label, created_at) VALUES (?, ?, ?, ?)", [
            token.tokenHash,
            token.tenantId,
            token.label,
            token.createdAt
          ]).pipe(
            Effect.catchIf((e) => Errors.duplicateKeyName(e) !== null, () => duplicate("token", "(hidden)")),
            Effect.asVoid
          )
        ),
      findByTokenHash: (tokenHash) =>
        run(
          "findByTokenHash",
          Effect.flatMap(
            query(
              `SELECT ${Rows.tenantColumns.split(", ").map((c) => `t.${c}`).join(", ")} FROM tenant_tokens k ` +
                "JOIN tenants t ON t.id = k.tenant_id WHERE k.token_hash = ?",
              [tokenHash]
            ),
            (rows) => (rows.length === 0 ? Effect.succeed(Option.none()) : Effect.map(Rows.decodeTenant(rows[0]!), Option.some))
          )
        )
    }

    return Context.make(AgentStore.AgentStore, agentStore).pipe(
      Context.add(EventLog.EventLog, eventLog),
      Context.add(IdempotencyStore.IdempotencyStore, idempotencyStore),
      Context.add(TenantStore.TenantStore, tenantStore),
      Context.add(
        PriceStore.PriceStore,
        PriceStoreSql.make(
          sql,
          run,
          (text, params) => Effect.map(hotExec(text, params), (h) => h.affectedRows),
          (writeAll) => GroupCommit.make(runtime, writeAll)
        )
      )
    )
  })
