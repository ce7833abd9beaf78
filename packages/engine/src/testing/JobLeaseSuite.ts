/**
 * The conformance tests of the `JobLease` port: one holder per job at a time, renewal, expiry and
 * takeover with a higher fencing token, release, concurrent acquirers, and the record of runs.
 * Every test uses fresh job names, so the store may be shared.
 *
 * @since 0.1.0
 */
import { assert } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import { JobLease, JobRun } from "../JobLease.js"
import { describeOn, type SuiteOptions, type Tests, unique } from "./fixtures.js"

const jobRun = (name: string, holder: string, startedAt: number, detail: Record<string, unknown> = {}) =>
  JobRun.make({ name, holder, fencingToken: 1, startedAt, finishedAt: startedAt + 5, outcome: "succeeded", detail })

/**
 * Registers these tests with the `it` of a layer that provides `JobLease`.
 *
 * @since 0.1.0
 */
export const tests: Tests<JobLease> = (it) => {
  it.effect("a free lease is taken, others wait, the holder renews; after it runs out another takes it with a higher token", () =>
    Effect.gen(function*() {
      const leases = yield* JobLease
      const job = `job-${unique()}`
      const t = 1_000_000
      assert.deepStrictEqual(yield* leases.acquire(job, "a", t, 30_000), Option.some({ name: job, holder: "a", fencingToken: 1, leaseUntil: t + 30_000 }))
      assert.isTrue(Option.isNone(yield* leases.acquire(job, "b", t + 1_000, 30_000)))
      // renewal keeps the token and moves the expiry
      assert.deepStrictEqual(yield* leases.acquire(job, "a", t + 10_000, 30_000), Option.some({ name: job, holder: "a", fencingToken: 1, leaseUntil: t + 40_000 }))
      assert.isTrue(Option.isNone(yield* leases.acquire(job, "b", t + 39_999, 30_000)))
      // the lease runs out at leaseUntil: another holder takes it, the token goes up
      assert.deepStrictEqual(yield* leases.acquire(job, "b", t + 40_000, 30_000), Option.some({ name: job, holder: "b", fencingToken: 2, leaseUntil: t + 70_000 }))
      assert.isTrue(Option.isNone(yield* leases.acquire(job, "a", t + 40_001, 30_000)))
      assert.deepStrictEqual(yield* leases.acquire(job, "a", t + 70_000, 5_000), Option.some({ name: job, holder: "a", fencingToken: 3, leaseUntil: t + 75_000 }))
      // leases of other jobs are independent
      const other = yield* leases.acquire(`${job}-other`, "b", t + 70_000, 30_000)
      assert.deepStrictEqual(Option.map(other, (l) => [l.holder, l.fencingToken]), Option.some(["b", 1]))
    }))

  it.effect("release frees the lease only for its holder", () =>
    Effect.gen(function*() {
      const leases = yield* JobLease
      const job = `job-${unique()}`
      const t = 2_000_000
      assert.isTrue(Option.isSome(yield* leases.acquire(job, "a", t, 60_000)))
      yield* leases.release(job, "b")
      assert.isTrue(Option.isNone(yield* leases.acquire(job, "b", t + 1, 60_000)))
      yield* leases.release(job, "a")
      const taken = yield* leases.acquire(job, "b", t + 2, 60_000)
      assert.deepStrictEqual(Option.map(taken, (l) => [l.holder, l.fencingToken, l.leaseUntil]), Option.some(["b", 2, t + 60_002]))
      yield* leases.release(job, "a") // too late: b holds it now
      assert.isTrue(Option.isNone(yield* leases.acquire(job, "a", t + 3, 60_000)))
      yield* leases.release(`${job}-never-taken`, "a")
    }))

  it.effect("of many concurrent acquirers exactly one gets the lease", () =>
    Effect.gen(function*() {
      const leases = yield* JobLease
      const job = `job-${unique()}`
      const holders = Array.from({ length: 8 }, (_, i) => `h${i}`)
      const got = yield* Effect.forEach(holders, (h) => leases.acquire(job, h, 3_000_000, 10_000), { concurrency: "unbounded" })
      const winners = got.filter(Option.isSome)
      assert.strictEqual(winners.length, 1)
      assert.strictEqual(winners[0]!.value.fencingToken, 1)
      // and again once it has run out: one new holder, token 2
      const again = yield* Effect.forEach(holders, (h) => leases.acquire(job, h, 3_010_000, 10_000), { concurrency: "unbounded" })
      const next = again.filter(Option.isSome)
      assert.strictEqual(next.length, 1)
      assert.strictEqual(next[0]!.value.fencingToken, next[0]!.value.holder === winners[0]!.value.holder ? 1 : 2)
    }))

  it.effect("records runs, lists them newest first per job, and purges old ones", () =>
    Effect.gen(function*() {
      const leases = yield* JobLease
      const job = `job-${unique()}`
      yield* leases.recordRun(jobRun(job, "a", 1_000, { checked: 3, nested: { list: [1, "x", null] } }))
      yield* leases.recordRun(JobRun.make({
        name: job,
        holder: "b",
        fencingToken: 2,
        startedAt: 2_000,
        finishedAt: 2_500,
        outcome: "failed",
        detail: { error: "StoreError", message: "database unavailable" }
      }))
      yield* leases.recordRun(jobRun(`${job}-other`, "a", 2_100))
      yield* leases.recordRun(jobRun(job, "b", 9_000_000_000_000, { checked: 0 }))
      const runs = yield* leases.runs(job, 10)
      assert.deepStrictEqual(runs.map((r) => [r.holder, r.fencingToken, r.startedAt, r.outcome]), [
        ["b", 1, 9_000_000_000_000, "succeeded"],
        ["b", 2, 2_000, "failed"],
        ["a", 1, 1_000, "succeeded"]
      ])
      assert.deepStrictEqual(runs[2], jobRun(job, "a", 1_000, { checked: 3, nested: { list: [1, "x", null] } }))
      assert.deepStrictEqual(runs[1]!.detail, { error: "StoreError", message: "database unavailable" })
      assert.strictEqual(runs[1]!.finishedAt, 2_500)
      assert.strictEqual((yield* leases.runs(job, 1)).length, 1)
      assert.isAtLeast(yield* leases.purgeRuns(2_600), 2)
      assert.deepStrictEqual((yield* leases.runs(job, 10)).map((r) => r.startedAt), [9_000_000_000_000])
      assert.deepStrictEqual(yield* leases.runs(`${job}-other`, 10), [])
    }))
}

/**
 * Registers the conformance tests of the `JobLease` port on `leaseLayer`.
 *
 * @since 0.1.0
 */
export const suite = <E>(name: string, leaseLayer: Layer.Layer<JobLease, E>, options: SuiteOptions = {}): void =>
  describeOn(`job lease conformance: ${name}`, leaseLayer, options, tests)
