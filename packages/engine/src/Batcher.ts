/**
 * One batching primitive for the adapters' hot paths (group commit, coalesced reads, batched
 * heartbeat writes): calls made close together share one `write` of all their items, and each
 * caller gets its own part of the result, or the batch's failure.
 *
 * There is no timer. A batch starts either at once (`start: "now"`: a lone call is written
 * without waiting) or at the end of the current turn of the event loop (`start: "nextTurn"`: a
 * batch of calls from the HTTP layer, which arrives in one turn, goes together). By default one
 * batch is written at a time and the calls that arrive meanwhile go together in the next, so
 * under load batches grow by themselves and a quiet process answers as fast as without batching;
 * `concurrent: true` sends every turn's batch at once (reads, which need no ordering).
 *
 * Batches run in fibers of the runtime given to {@link make} (the owner's tracer and logger
 * apply), never in a caller's fiber: interrupting a caller does not take its item back.
 *
 * @since 0.2.0
 */
import { Effect, Exit, Runtime } from "effect"

/**
 * How a batcher forms batches.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Most items written by one batch (default 500); the rest wait for the next. */
  readonly maxSize?: number | undefined
  /** When a batch starts once there is something to write and nothing is in flight (default `"nextTurn"`). */
  readonly start?: "now" | "nextTurn" | undefined
  /** Whether a batch may start while another is in flight (default false). */
  readonly concurrent?: boolean | undefined
}

/**
 * A batcher: `one` adds an item to the next batch, `all` adds several (answered together, in order).
 *
 * @since 0.2.0
 * @category models
 */
export interface Batcher<in I, out O, out E> {
  readonly one: (item: I) => Effect.Effect<O, E>
  readonly all: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>
}

const nextTurn: (f: () => void) => void = typeof globalThis.setImmediate === "function"
  ? (f) => {
    globalThis.setImmediate(f)
  }
  : (f) => {
    globalThis.setTimeout(f, 0)
  }

interface Waiting<I, O, E> {
  readonly item: I
  readonly resume: (exit: Exit.Exit<O, E>) => void
}

/**
 * A batcher whose batches run in `runtime`. `write` answers one result per item, in order (a
 * different count is a defect of `write`, reported to every caller of the batch).
 *
 * @since 0.2.0
 * @category constructors
 */
export const unsafeMake = <I, O, E, R>(
  runtime: Runtime.Runtime<R>,
  write: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E, R>,
  options: Options = {}
): Batcher<I, O, E> => {
  const maxSize = Math.max(1, options.maxSize ?? 500)
  const startNow = options.start === "now"
  const concurrent = options.concurrent === true
  const runFork = Runtime.runFork(runtime)
  let waiting: Array<Waiting<I, O, E>> = []
  /** A flush is scheduled, or (one at a time) a batch is in flight. */
  let busy = false

  const send = (batch: ReadonlyArray<Waiting<I, O, E>>, then: () => void) => {
    runFork(write(batch.map((w) => w.item))).addObserver((exit) => {
      if (Exit.isFailure(exit)) {
        for (const w of batch) w.resume(Exit.failCause(exit.cause))
      } else if (exit.value.length !== batch.length) {
        const defect = Exit.die(new Error(`Batcher: write answered ${exit.value.length} results for ${batch.length} items`))
        for (const w of batch) w.resume(defect)
      } else {
        batch.forEach((w, i) => w.resume(Exit.succeed(exit.value[i]!)))
      }
      then()
    })
  }

  const take = () => {
    const batch = waiting.length <= maxSize ? waiting : waiting.slice(0, maxSize)
    waiting = waiting.length <= maxSize ? [] : waiting.slice(maxSize)
    return batch
  }

  /** One at a time: write what waits, then what arrived meanwhile, until nothing is left. */
  const drain = (): void => {
    if (waiting.length === 0) {
      busy = false
      return
    }
    busy = true
    send(take(), drain)
  }

  /** Concurrent: send everything that waits now, in batches of at most maxSize. */
  const flush = (): void => {
    busy = false
    while (waiting.length > 0) send(take(), () => {})
  }

  const kick = () => {
    if (busy) return
    busy = true
    const go = concurrent ? flush : drain
    if (startNow) go()
    else nextTurn(go)
  }

  const one = (item: I): Effect.Effect<O, E> =>
    Effect.async<O, E>((resume) => {
      waiting.push({ item, resume })
      kick()
    })

  const all = (items: ReadonlyArray<I>): Effect.Effect<ReadonlyArray<O>, E> =>
    items.length === 0
      ? Effect.succeed([])
      : Effect.async<ReadonlyArray<O>, E>((resume) => {
        const results = new Array<O>(items.length)
        let left = items.length
        let failed = false
        items.forEach((item, i) => {
          waiting.push({
            item,
            resume: (exit) => {
              if (failed) return
              if (Exit.isFailure(exit)) {
                failed = true
                return resume(Effect.failCause(exit.cause))
              }
              results[i] = exit.value
              if (--left === 0) resume(Effect.succeed(results))
            }
          })
        })
        kick()
      })

  return { one, all }
}

/**
 * A batcher whose batches run in the current runtime (see {@link unsafeMake}).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = <I, O, E, R>(
  write: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E, R>,
  options: Options = {}
): Effect.Effect<Batcher<I, O, E>, never, R> => Effect.map(Effect.runtime<R>(), (runtime) => unsafeMake(runtime, write, options))
