/**
 * EventLog on MySQL: the `events` table, ids taken from the `event_sequence` row (migration 3).
 * Appends and log commits made together share one transaction (group commit): the sequence row
 * stays locked until COMMIT, so one commit per append would queue every writer behind every log
 * flush. Inside a caller's transaction they stay in it.
 */
import type { SqlError } from "@effect/sql/SqlError"
import type { DomainEvent, EngineError, EventLog, IdempotencyStore } from "@spotfleet/engine"
import { Effect, Either } from "effect"
import * as Errors from "./errors.js"
import * as Idempotency from "./idempotency.js"
import * as PriceStoreSql from "./priceStore.js"
import * as Rows from "./rows.js"
import { placeholders, type Run, where } from "./sqlRun.js"
import { header, type Results, type Statement, standalone, type Transport } from "./transport.js"

/** LIMIT is inlined (prepared-statement LIMIT parameters are rejected by some MySQL 8 versions). */
export const limitClause = (limit: number | undefined) =>
  limit === undefined ? "" : ` LIMIT ${Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(limit)))}`

/** The SQL expression of the id of event `k` of `n` inserted by {@link insertEvents} (known inside the transaction only). */
const eventId = (n: number, k: number) => `@spotfleet_last_event - ${n - 1 - k}`

/**
 * The statements that take `drafts.length` event ids from the `event_sequence` row and insert
 * the events; they must run inside the writing transaction (the row stays locked until COMMIT,
 * so ids follow commit order). `LAST_INSERT_ID(expr)` hands the last id back as the first
 * statement's insert id (see {@link eventsOf}) and keeps it in a session variable for the rest.
 */
export const insertEvents = (drafts: ReadonlyArray<DomainEvent.EventDraft>): Array<Statement> => {
  const n = drafts.length
  return n === 0 ? [] : [
    { text: "UPDATE event_sequence SET last_id = LAST_INSERT_ID(last_id + ?) WHERE name = 'events'", params: [n] },
    { text: "SET @spotfleet_last_event = LAST_INSERT_ID()", params: [] },
    {
      text: `INSERT INTO events (id, ${Rows.eventWriteColumns.join(", ")}) VALUES ` +
        drafts.map((_, k) => `(${eventId(n, k)}, ${placeholders(Rows.eventWriteColumns.length)})`).join(", "),
      params: drafts.flatMap(Rows.eventValues)
    }
  ]
}

/** The events {@link insertEvents} wrote, from the results of a transaction where its statements start at `at`. */
export const eventsOf = (drafts: ReadonlyArray<DomainEvent.EventDraft>, results: Results, at: number): Array<DomainEvent.DomainEvent> => {
  if (drafts.length === 0) return []
  const last = header(results[at]).insertId
  return drafts.map((d, k) => Rows.eventOf(d, last - (drafts.length - 1 - k)))
}

/**
 * Log commits (a batch of price reports) as one transaction: every idempotency key first (a twin
 * request holding the same key makes the insert wait for the twin's outcome; a key that exists
 * fails the transaction), then the price rows (snapshots, then on-demand prices), the events,
 * and the events' ids into the records. Answers each commit's events.
 */
const writeLogCommits = (transport: Transport, commits: ReadonlyArray<EventLog.LogCommit>) => {
  const before = [
    ...commits.flatMap((c) => c.idempotency === undefined ? [] : [Idempotency.insert(c.idempotency)]),
    ...PriceStoreSql.snapshotStatements(commits.flatMap((c) => c.snapshots ?? [])),
    ...PriceStoreSql.onDemandStatements(commits.flatMap((c) => c.onDemand ?? []))
  ]
  const drafts = commits.flatMap((c) => c.events)
  const idsUpdates: Array<Statement> = []
  let at = 0
  for (const c of commits) {
    const first = at
    at += c.events.length
    if (c.idempotency !== undefined) idsUpdates.push(eventIdsUpdate(c.idempotency, c.events.map((_, j) => eventId(drafts.length, first + j))))
  }
  return Effect.map(transport.transaction([...before, ...insertEvents(drafts), ...idsUpdates]), (results) => {
    const events = eventsOf(drafts, results, before.length)
    let from = 0
    return commits.map((c) => events.slice(from, (from += c.events.length)))
  })
}

/**
 * The statement that puts the ids of a log commit's events into its idempotency record
 * (`EventLog.LogCommit`): `ids` are SQL expressions (the ids are known in the transaction only).
 */
const eventIdsUpdate = (record: IdempotencyStore.IdempotencyRecord, ids: ReadonlyArray<string>): Statement => ({
  text: `UPDATE idempotency SET response = JSON_SET(response, '$.eventIds', JSON_ARRAY(${ids.join(", ")})) WHERE tenant_id = ? AND idem_key = ?`,
  params: [record.tenantId, record.key]
})

type LogAnswer = Either.Either<ReadonlyArray<DomainEvent.DomainEvent>, EngineError.DuplicateKey | SqlError>

/** The port on `transport`. */
export const make = (transport: Transport, { run }: Run): EventLog.EventLogService => {
  const keyTaken = (c: EventLog.LogCommit) => Idempotency.keyTaken(c.idempotency?.key ?? "")
  const takenOr = (c: EventLog.LogCommit, e: SqlError) => Errors.duplicateKeyName(e) !== null ? keyTaken(c) : e

  const appendNow = (drafts: ReadonlyArray<DomainEvent.EventDraft>) =>
    drafts.length === 0
      ? Effect.succeed<Array<DomainEvent.DomainEvent>>([])
      : Effect.map(transport.transaction(insertEvents(drafts)), (results) => eventsOf(drafts, results, 0))

  const appendGrouped = transport.group((batches: ReadonlyArray<ReadonlyArray<DomainEvent.EventDraft>>) =>
    Effect.map(appendNow(batches.flat()), (events) => {
      let at = 0
      return batches.map((drafts) => events.slice(at, (at += drafts.length)))
    })
  )

  /**
   * Log commits made together share a transaction, as many as fit in
   * {@link PriceStoreSql.APPEND_ROWS} snapshot rows. One commit that fails (a taken key, a row
   * the database rejects) fails the whole transaction: its commits are then written one by one,
   * so each gets its own answer. A deadlock or lock wait timeout fails them all (each caller
   * retries).
   */
  const logGrouped = transport.group((commits: ReadonlyArray<EventLog.LogCommit>) => {
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
    const write = (script: ReadonlyArray<EventLog.LogCommit>): Effect.Effect<ReadonlyArray<LogAnswer>> =>
      writeLogCommits(transport, script).pipe(
        Effect.map((answers): ReadonlyArray<LogAnswer> => answers.map((events) => Either.right(events))),
        Effect.catchAll((e) =>
          script.length > 1 && !Errors.isRetryable(e)
            ? Effect.map(Effect.forEach(script, (c) => write([c])), (answers) => answers.flat())
            : Effect.succeed(script.map((c) => Either.left(takenOr(c, e))))
        )
      )
    return Effect.map(Effect.forEach(scripts, write), (answers) => answers.flat())
  })

  const commit: EventLog.EventLogService["commit"] = (c) => {
    const alone = () =>
      Effect.map(writeLogCommits(transport, [c]), (answers) => answers[0]!).pipe(
        Effect.catchIf((e) => Errors.duplicateKeyName(e) !== null, () => Effect.fail(keyTaken(c)))
      )
    return run(
      "commitLog",
      (c.snapshots?.length ?? 0) > PriceStoreSql.APPEND_ROWS
        ? alone()
        : standalone(alone, () => Effect.flatMap(logGrouped.one(c), Either.match({ onLeft: Effect.fail, onRight: Effect.succeed })))
    )
  }

  return {
    commit,
    read: ({ afterId, agentId, limit, tenantId, types }) => {
      if (types !== undefined && types.length === 0) return Effect.succeed([])
      const filter = where()
        .and(true, "id > ?", afterId)
        .and(types !== undefined, `type IN (${placeholders(types?.length ?? 0)})`, ...(types ?? []))
        .and(tenantId !== null, "tenant_id = ?", tenantId)
        .and(agentId !== undefined, "agent_id = ?", agentId)
      return run(
        "readEvents",
        Effect.flatMap(
          transport.query(`SELECT ${Rows.eventColumns} FROM events${filter.text()} ORDER BY id${limitClause(limit)}`, filter.params),
          (rows) => Rows.decodeRows(rows, Rows.decodeEvent)
        )
      )
    },
    append: (drafts) => run("appendEvents", standalone(() => appendNow(drafts), () => appendGrouped.one(drafts))),
    latestId: run("latestEventId", Effect.map(transport.query("SELECT COALESCE(MAX(id), 0) AS id FROM events"), (rows) => Number(rows[0]?.id ?? 0)))
  }
}
