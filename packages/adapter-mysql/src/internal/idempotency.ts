/**
 * IdempotencyStore on MySQL: one row per (tenant, key). The record is also written by commits
 * (agentCommit.ts) and log commits (eventLog.ts), first in their transaction, with
 * {@link insert}: a twin request holding the same key makes that insert wait for the twin's
 * outcome, and a key that exists fails the commit with DuplicateKey.
 */
import { EngineError, type IdempotencyStore } from "@spotfleet/engine"
import { Effect, Option } from "effect"
import * as Errors from "./errors.js"
import type * as ReadBatch from "./readBatch.js"
import * as Rows from "./rows.js"
import { placeholders, type Run } from "./sqlRun.js"
import { header, standalone, type Statement, type Transport } from "./transport.js"

const INSERT = "INSERT INTO idempotency (tenant_id, idem_key, operation, response, created_at) VALUES (?, ?, ?, ?, ?)"

/** The statement that inserts `record` (fails on a taken key). */
export const insert = (record: IdempotencyStore.IdempotencyRecord): Statement => ({
  text: INSERT,
  params: [record.tenantId, record.key, record.operation, Rows.toJsonValue(record.response), record.createdAt]
})

/** A taken key. */
export const keyTaken = (key: string) => new EngineError.DuplicateKey({ entity: "idempotency key", key })

const COLUMNS = "tenant_id, idem_key, operation, CAST(response AS CHAR) AS response, created_at"

const read: ReadBatch.Kind = {
  one: `SELECT ${COLUMNS} FROM idempotency WHERE tenant_id = ? AND idem_key = ?`,
  // Both halves of the primary key in IN lists (a range on it); rows of other pairs are dropped.
  many: (keys) => {
    const tenants = [...new Set(keys.map((k) => k[0]))]
    const idemKeys = [...new Set(keys.map((k) => k[1]))]
    return {
      text: `SELECT tenant_id AS k0, idem_key AS k1, ${COLUMNS} FROM idempotency ` +
        `WHERE tenant_id IN (${placeholders(tenants.length)}) AND idem_key IN (${placeholders(idemKeys.length)})`,
      params: [...tenants, ...idemKeys]
    }
  }
}

/** The port on `transport`. */
export const make = (transport: Transport, { retryOnce, run }: Run): IdempotencyStore.IdempotencyStoreService => {
  // A hot read: every agent report with a request id checks it first.
  const readOne = transport.hotRead(read)

  /**
   * Records put together (a batch of agent reports) are inserted in one transaction, one
   * `INSERT IGNORE` each: a statement that inserted nothing met an existing key (the first
   * record stays). The values are ours and valid, so IGNORE can only skip duplicates here.
   */
  const putGrouped = transport.group((records: ReadonlyArray<IdempotencyStore.IdempotencyRecord>) =>
    Effect.map(
      transport.transaction(records.map((r) => {
        const statement = insert(r)
        return { text: statement.text.replace("INSERT", "INSERT IGNORE"), params: statement.params }
      })),
      (results) => results.map((result) => header(result).affectedRows === 1)
    )
  )

  return {
    get: (tenantId, key) =>
      Effect.flatMap(
        retryOnce("getIdempotency", readOne([tenantId, key])),
        (rows) => (rows[0] === undefined ? Effect.succeed(Option.none()) : Effect.map(Rows.decodeIdempotency(rows[0]), Option.some))
      ),
    put: (record) =>
      run(
        "putIdempotency",
        standalone(
          () => {
            const statement = insert(record)
            return Effect.asVoid(
              Effect.catchIf(transport.exec(statement.text, statement.params), (e) => Errors.duplicateKeyName(e) !== null, () => Effect.fail(keyTaken(record.key)))
            )
          },
          () => Effect.flatMap(putGrouped.one(record), (written) => written ? Effect.void : Effect.fail(keyTaken(record.key)))
        )
      ),
    purgeBefore: (time) =>
      run("purgeIdempotency", Effect.map(transport.exec("DELETE FROM idempotency WHERE created_at < ?", [time]), (h) => h.affectedRows))
  }
}
