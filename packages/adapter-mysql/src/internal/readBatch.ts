/**
 * Hot reads by key, coalesced: the reads of one kind asked for in the same turn of the event
 * loop go to the server as one statement (`… WHERE id IN (…)`), and each caller gets the rows of
 * its own key. A read asked for alone is one prepared statement, as before.
 *
 * Why: the agents' hot paths (command polls, price reports) each read one or two rows, and with
 * batches of calls at the HTTP layer (AgentFastPath) those reads arrive together. One statement
 * per read costs this process a round trip each (≈ 50 µs of CPU in mysql2 and the socket) and
 * the database a statement each; one statement per batch costs about the same as one read.
 */
import type { Pool, RowDataPacket } from "mysql2"
import { placeholders } from "./sqlRun.js"

type Row = Record<string, unknown>

/** A kind of keyed read. Keys are pairs (an id and the tenant that must own it). */
export interface Kind {
  /** The statement for one key (parameters: the pair). */
  readonly one: string
  /** The statement for `n` keys, given the keys; it must answer the pair of each row in `k0`, `k1`. */
  readonly many: (keys: ReadonlyArray<readonly [string, string]>) => { readonly text: string; readonly params: ReadonlyArray<string> }
}

/** `WHERE <column> IN (…)` over the first half of each pair (the pair's second half is checked on the rows). */
export const byFirst = (select: string, column: string) => (keys: ReadonlyArray<readonly [string, string]>) => {
  const firsts = [...new Set(keys.map((k) => k[0]))]
  return { text: `${select} WHERE ${column} IN (${placeholders(firsts.length)})`, params: firsts }
}

interface Waiting {
  readonly key: readonly [string, string]
  readonly done: (error: Error | null, rows?: ReadonlyArray<Row>) => void
}

/** A coalescing reader of one kind over a mysql2 pool. */
export const make = (pool: Pool, kind: Kind) => {
  let waiting: Array<Waiting> = []

  const send = () => {
    const batch = waiting
    waiting = []
    if (batch.length === 1) {
      const w = batch[0]!
      pool.execute<Array<RowDataPacket>>(kind.one, [w.key[0], w.key[1]], (error, rows) => {
        if (error) w.done(error)
        else w.done(null, rows as Array<Row>)
      })
      return
    }
    const { params, text } = kind.many(batch.map((w) => w.key))
    pool.query<Array<RowDataPacket>>(text, params as Array<string>, (error, rows) => {
      if (error) {
        for (const w of batch) w.done(error)
        return
      }
      const byKey = new Map<string, Array<Row>>()
      for (const row of rows as Array<Row>) {
        const k = `${row["k0"]}\u0000${row["k1"]}`
        const list = byKey.get(k)
        if (list === undefined) byKey.set(k, [row])
        else list.push(row)
      }
      for (const w of batch) w.done(null, byKey.get(`${w.key[0]}\u0000${w.key[1]}`) ?? [])
    })
  }

  /** Reads the rows of `key` (with the other reads of this turn). */
  return (key: readonly [string, string], done: Waiting["done"]): void => {
    waiting.push({ key, done })
    if (waiting.length === 1) setImmediate(send)
  }
}
