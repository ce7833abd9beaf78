/**
 * Hot reads by key, coalesced: the reads of one kind asked for in the same turn of the event
 * loop go to the server as one statement (`… WHERE id IN (…)`), and each caller gets the rows of
 * its own key. A read asked for alone is one prepared statement. The raw pool transport feeds
 * {@link read} from a `Batcher` (`start: "nextTurn"`, concurrent: reads need no ordering).
 *
 * Why: the agents' hot paths (command polls, price reports) each read one or two rows, and with
 * batches of calls at the HTTP layer (AgentFastPath) those reads arrive together. One statement
 * per read costs this process a round trip each (≈ 50 µs of CPU in mysql2 and the socket) and
 * the database a statement each; one statement per batch costs about the same as one read.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import { placeholders } from "./sqlRun.js"
import type { Row, Statement } from "./transport.js"

/** A key: an id and the tenant that must own it. */
export type Key = readonly [string, string]

/** A kind of keyed read. */
export interface Kind {
  /** The statement for one key (parameters: the pair). */
  readonly one: string
  /** The statement for `n` keys, given the keys; it must answer the pair of each row in `k0`, `k1`. */
  readonly many: (keys: ReadonlyArray<Key>) => Statement
}

/** `WHERE <column> IN (…)` over the first half of each pair (the pair's second half is checked on the rows). */
export const byFirst = (select: string, column: string) => (keys: ReadonlyArray<Key>): Statement => {
  const firsts = [...new Set(keys.map((k) => k[0]))]
  return { text: `${select} WHERE ${column} IN (${placeholders(firsts.length)})`, params: firsts }
}

/** What {@link read} needs of a transport: a prepared statement, and a statement sent as text (its IN list varies). */
export interface Ops {
  readonly prepared: (text: string, params: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<Row>, SqlError>
  readonly text: (text: string, params: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<Row>, SqlError>
}

/** Reads the rows of each key of a batch, in order. */
export const read = (ops: Ops, kind: Kind) => (keys: ReadonlyArray<Key>): Effect.Effect<ReadonlyArray<ReadonlyArray<Row>>, SqlError> => {
  if (keys.length === 1) return Effect.map(ops.prepared(kind.one, keys[0]!), (rows) => [rows])
  const { params, text } = kind.many(keys)
  return Effect.map(ops.text(text, params), (rows) => {
    const byKey = new Map<string, Array<Row>>()
    for (const row of rows) {
      const k = `${row["k0"]}\u0000${row["k1"]}`
      const list = byKey.get(k)
      if (list === undefined) byKey.set(k, [row])
      else list.push(row)
    }
    return keys.map((key) => byKey.get(`${key[0]}\u0000${key[1]}`) ?? [])
  })
}
