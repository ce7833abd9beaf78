import { assert, describe, it } from "@effect/vitest"
import { Batcher } from "@spotfleet/engine"
import { Cause, Deferred, Effect, Exit, Fiber } from "effect"

/** A write that records each batch and waits for `gate` (when given) before answering `item * 10`. */
const recording = (gate?: Deferred.Deferred<void>) => {
  const batches: Array<ReadonlyArray<number>> = []
  const write = (items: ReadonlyArray<number>) =>
    Effect.gen(function*() {
      batches.push(items)
      if (gate !== undefined && batches.length === 1) yield* Deferred.await(gate)
      return items.map((n) => n * 10)
    })
  return { batches, write }
}

/** Lets the event loop run a few turns (forked callers reach the batcher, batches start). */
const turns = Effect.forEach([1, 2, 3, 4, 5], () => Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void))), { discard: true })

describe("Batcher", () => {
  it.effect("start now: a lone call is written within the caller's turn", () =>
    Effect.gen(function*() {
      const { batches, write } = recording()
      const batcher = yield* Batcher.make(write, { start: "now" })
      let sameTurn = false
      yield* Effect.async<void>((resume) => {
        Effect.runFork(batcher.one(7))
        sameTurn = batches.length === 1
        resume(Effect.void)
      })
      assert.isTrue(sameTurn, "written before the turn ended")
    }))

  it.effect("the calls of one turn share one write, each caller gets its own result", () =>
    Effect.gen(function*() {
      const { batches, write } = recording()
      const batcher = yield* Batcher.make(write)
      const results = yield* Effect.all([1, 2, 3].map(batcher.one), { concurrency: "unbounded" })
      assert.deepStrictEqual(results, [10, 20, 30])
      assert.deepStrictEqual(batches, [[1, 2, 3]])
    }))

  it.effect("one batch at a time: the calls that arrive meanwhile go together in the next", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const { batches, write } = recording(gate)
      const batcher = yield* Batcher.make(write, { start: "now" })
      const first = yield* Effect.fork(batcher.one(1))
      yield* turns
      assert.deepStrictEqual(batches, [[1]])
      const later = yield* Effect.fork(Effect.all([2, 3, 4].map(batcher.one), { concurrency: "unbounded" }))
      yield* turns
      assert.strictEqual(batches.length, 1, "nothing else is written while a batch is in flight")
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* Fiber.join(first), 10)
      assert.deepStrictEqual(yield* Fiber.join(later), [20, 30, 40])
      assert.deepStrictEqual(batches, [[1], [2, 3, 4]])
    }))

  it.effect("concurrent: a batch starts while another is in flight", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const { batches, write } = recording(gate)
      const batcher = yield* Batcher.make(write, { concurrent: true })
      const first = yield* Effect.fork(batcher.one(1))
      yield* turns
      assert.deepStrictEqual(batches, [[1]])
      assert.strictEqual(yield* batcher.one(2), 20, "answered while the first batch is still in flight")
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* Fiber.join(first), 10)
    }))

  it.effect("maxSize splits a turn's calls; all() answers several items in order", () =>
    Effect.gen(function*() {
      const { batches, write } = recording()
      const batcher = yield* Batcher.make(write, { maxSize: 2 })
      assert.deepStrictEqual(yield* batcher.all([1, 2, 3, 4, 5]), [10, 20, 30, 40, 50])
      assert.deepStrictEqual(batches, [[1, 2], [3, 4], [5]])
      assert.deepStrictEqual(yield* batcher.all([]), [])
    }))

  it.effect("a failed write fails every caller of its batch, and only those", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make((items: ReadonlyArray<number>) =>
        items.includes(13) ? Effect.fail(`unlucky batch of ${items.length}`) : Effect.succeed(items), { maxSize: 2 })
      const exits = yield* Effect.all([1, 13, 2].map((n) => Effect.exit(batcher.one(n))), { concurrency: "unbounded" })
      assert.deepStrictEqual(exits[0], Exit.fail("unlucky batch of 2"))
      assert.deepStrictEqual(exits[1], Exit.fail("unlucky batch of 2"))
      assert.deepStrictEqual(exits[2], Exit.succeed(2))
      const failedAll = yield* Effect.exit(batcher.all([5, 13]))
      assert.deepStrictEqual(failedAll, Exit.fail("unlucky batch of 2"))
    }))

  it.effect("a write that answers the wrong number of results is a defect for its callers", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make((items: ReadonlyArray<number>) => Effect.succeed(items.slice(1)))
      const exit = yield* Effect.exit(batcher.one(1))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
    }))
})
