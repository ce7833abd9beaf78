/**
 * Group commit for standalone writes: the calls made in the same turn of the event loop, and
 * those that arrive while a batch is being written, are written together (one transaction, one
 * log flush, one round trip). There is no timer — a lone call waits one turn at most — so a
 * quiet server answers as fast as without batching; under load batches grow by themselves (a
 * batch of calls from the HTTP layer arrives in one turn). Every caller gets its own part of
 * the result, or the batch's failure.
 */
import { Effect, Exit, Runtime } from "effect"

/** Most calls written by one batch. */
const maxBatch = 500

/**
 * Wraps `writeAll` (which answers one result per item, in order) so that concurrent calls share
 * batches. The batches run in fibers of `runtime` (the store's, so its tracer and logger
 * settings apply), never in a caller's context.
 */
export const make = <I, O, E>(
  runtime: Runtime.Runtime<never>,
  writeAll: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>
) => {
  const runFork = Runtime.runFork(runtime)
  let waiting: Array<{ readonly item: I; readonly resume: (effect: Effect.Effect<O, E>) => void }> = []
  let writing = false
  const drain = (): void => {
    if (waiting.length === 0) {
      writing = false
      return
    }
    writing = true
    const batch = waiting.slice(0, maxBatch)
    waiting = waiting.slice(batch.length)
    runFork(writeAll(batch.map((w) => w.item))).addObserver((exit) => {
      if (Exit.isSuccess(exit)) batch.forEach((w, i) => w.resume(Effect.succeed(exit.value[i]!)))
      else batch.forEach((w) => w.resume(Effect.failCause(exit.cause)))
      drain()
    })
  }
  return (item: I): Effect.Effect<O, E> =>
    Effect.async<O, E>((resume) => {
      waiting.push({ item, resume })
      if (!writing) {
        writing = true
        setImmediate(drain)
      }
    })
}
