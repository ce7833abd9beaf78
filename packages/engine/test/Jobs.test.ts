import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Metric, Option, Scope, TestClock } from "effect"
import { AgentStore } from "../src/AgentStore.js"
import { CommandResult } from "../src/Command.js"
import * as Engine from "../src/Engine.js"
import * as EngineMetrics from "../src/EngineMetrics.js"
import * as JobLease from "../src/JobLease.js"
import * as Jobs from "../src/Jobs.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"

const pool = Pool.make("t3.medium", "us-east-1a")
const ok = (cloudInstanceId: string | null = null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })
const TestLayer = Layer.mergeAll(Engine.layer({ leaseSeconds: 300 }), JobLease.layerMemory).pipe(Layer.provideMerge(MemoryStore.layer))
/** The memory store without its optional bulk reads: the jobs fall back to loading every aggregate. */
const PerAgentStore = Layer.effectContext(Effect.map(MemoryStore.make, (stores) => {
  const { busyAgents: _busy, listInstances: _instances, ...store } = Context.get(stores, AgentStore)
  return Context.add(stores, AgentStore, store)
}))
const PerAgentLayer = Layer.mergeAll(Engine.layer({ leaseSeconds: 300 }), JobLease.layerMemory).pipe(Layer.provideMerge(PerAgentStore))
/** Both ways the jobs read the fleet; `bulk` says whether the store in it has the bulk reads. */
const variants = [
  { name: "bulk reads", layer: TestLayer, bulk: true },
  { name: "per-agent loads", layer: PerAgentLayer, bulk: false }
] as const

const setup = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "c".repeat(64) })
  const register = (name: string) =>
    Effect.map(engine.register(tenant.id, { logicalAgentId: name, cloudInstanceId: `i-${name}`, pool }), (r) => r.agent.id)
  return { engine, t: tenant.id, register }
})

describe("jobs", () => {
  it.effect("liveness: silent agents go offline, agents executing a command stay online, a heartbeat brings them back", () =>
    Effect.gen(function*() {
      const { engine, register, t } = yield* setup
      const quiet = yield* register("quiet")
      const busy = yield* register("busy")
      const chatty = yield* register("chatty")
      yield* engine.requestReplica(t, busy, {})
      yield* engine.pollCommands(t, busy) // a 5-minute launch is running at the agent
      yield* TestClock.adjust("60 seconds")
      yield* engine.heartbeat(t, chatty)
      assert.deepStrictEqual(yield* Jobs.liveness(), { checked: 0, markedOffline: 0, busy: 0 })
      yield* TestClock.adjust("40 seconds")
      assert.deepStrictEqual(yield* Jobs.liveness(), { checked: 2, markedOffline: 1, busy: 1 })
      assert.strictEqual((yield* engine.getAgent(t, quiet)).agent.liveness, "offline")
      assert.strictEqual((yield* engine.getAgent(t, busy)).agent.liveness, "online")
      assert.strictEqual((yield* engine.getAgent(t, chatty)).agent.liveness, "online")
      // The lease runs out without a result: now the busy agent is silent too.
      yield* TestClock.adjust("5 minutes")
      const second = yield* Jobs.liveness()
      assert.strictEqual(second.markedOffline, 2)
      yield* engine.heartbeat(t, quiet)
      assert.strictEqual((yield* engine.getAgent(t, quiet)).agent.liveness, "online")
      const types = (yield* engine.events(t, { afterId: 0, limit: 1000, agentId: quiet })).map((e) => e.type)
      assert.includeMembers(types, ["AgentOffline", "AgentOnline"])
    }).pipe(Effect.provide(TestLayer)))

  for (const variant of variants) {
    it.effect(`zombie retention (${variant.name}): ZOMBIE → TERMINATED after 30 days, with a TERMINATE command`, () =>
      Effect.gen(function*() {
        const { engine, register, t } = yield* setup
        const id = yield* register("web")
        yield* register("quiet")
        yield* engine.updateConfig(t, id, { autoTerminate: false })
        yield* engine.requestReplica(t, id, {})
        for (const c of yield* engine.pollCommands(t, id)) yield* engine.reportResult(t, id, { commandId: c.id, result: ok(c.type === "LAUNCH_INSTANCE" ? "i-r" : null) })
        const replica = (yield* engine.getAgent(t, id)).instances.find((i) => i.cloudInstanceId === "i-r")!
        yield* engine.promote(t, id, replica.id)
        for (const c of yield* engine.pollCommands(t, id)) yield* engine.reportResult(t, id, { commandId: c.id, result: ok() })
        const zombie = () => Effect.map(engine.getAgent(t, id), (v) => v.instances.find((i) => i.cloudInstanceId === "i-web")!)
        assert.strictEqual((yield* zombie()).role, "ZOMBIE")
        yield* TestClock.adjust("29 days")
        // In bulk the job looks at the one ZOMBIE; otherwise at both agents.
        assert.deepStrictEqual(yield* Jobs.zombieRetention(), { checked: variant.bulk ? 1 : 2, retired: 0 })
        yield* TestClock.adjust("1 day")
        assert.deepStrictEqual(yield* Jobs.zombieRetention(), { checked: variant.bulk ? 1 : 2, retired: 1 })
        assert.deepStrictEqual(yield* Jobs.zombieRetention(), { checked: variant.bulk ? 0 : 2, retired: 0 })
        assert.strictEqual((yield* zombie()).role, "TERMINATED")
        const [terminate] = yield* engine.pollCommands(t, id)
        assert.strictEqual(terminate!.type, "TERMINATE_INSTANCE")
        assert.deepStrictEqual(terminate!.params, { instance_id: "i-web" })
      }).pipe(Effect.provide(variant.layer)))

    it.effect(`unreconciled instances (${variant.name}): counted into the gauges until seen gone`, () =>
      Effect.gen(function*() {
        const { engine, register, t } = yield* setup
        const store = yield* AgentStore
        const id = yield* register("web")
        yield* register("quiet")
        const gauges = Effect.all([Metric.value(EngineMetrics.instancesUnreconciled), Metric.value(EngineMetrics.unreconciledOldestSeconds)]).pipe(
          Effect.map(([count, oldest]) => [count.value, oldest.value])
        )
        assert.deepStrictEqual(yield* Jobs.unreconciledInstances, { checked: variant.bulk ? 0 : 2, unreconciled: 0, oldestSeconds: 0 })
        assert.deepStrictEqual(yield* gauges, [0, 0])
        // A ZOMBIE retired: TERMINATED, its TERMINATE queued, the cloud still runs it.
        yield* engine.updateConfig(t, id, { autoTerminate: false })
        yield* engine.requestReplica(t, id, {})
        for (const c of yield* engine.pollCommands(t, id)) yield* engine.reportResult(t, id, { commandId: c.id, result: ok("i-r") })
        const replica = (yield* engine.getAgent(t, id)).instances.find((i) => i.cloudInstanceId === "i-r")!
        yield* engine.promote(t, id, replica.id)
        for (const c of yield* engine.pollCommands(t, id)) yield* engine.reportResult(t, id, { commandId: c.id, result: ok() })
        const zombie = (yield* engine.getAgent(t, id)).instances.find((i) => i.cloudInstanceId === "i-web")!
        yield* TestClock.adjust("1 minute")
        yield* engine.retireZombie(t, id, zombie.id)
        yield* TestClock.adjust("10 minutes")
        // In bulk the job reads the one unreconciled instance; otherwise every agent.
        assert.deepStrictEqual(yield* Jobs.unreconciledInstances, { checked: variant.bulk ? 1 : 2, unreconciled: 1, oldestSeconds: 600 })
        assert.deepStrictEqual(yield* gauges, [1, 600])
        // The agent runs its TERMINATE and reports it done: seen gone.
        const [terminate] = yield* engine.pollCommands(t, id)
        assert.strictEqual(terminate!.type, "TERMINATE_INSTANCE")
        yield* engine.reportResult(t, id, { commandId: terminate!.id, result: ok() })
        assert.isNotNull(Option.getOrThrow(yield* store.load(id)).instances.find((i) => i.id === zombie.id)!.terminationConfirmedAt)
        assert.deepStrictEqual(yield* Jobs.unreconciledInstances, { checked: variant.bulk ? 0 : 2, unreconciled: 0, oldestSeconds: 0 })
        assert.deepStrictEqual(yield* gauges, [0, 0])
      }).pipe(Effect.provide(variant.layer)))

    it.effect(`the sweep (${variant.name}) returns a command whose lease ran out to pending for redelivery`, () =>
      Effect.gen(function*() {
        const { engine, register, t } = yield* setup
        const id = yield* register("web")
        yield* register("quiet")
        yield* engine.requestReplica(t, id, {})
        const [launch] = yield* engine.pollCommands(t, id)
        yield* TestClock.adjust("301 seconds")
        // In bulk the sweep looks at the one agent with an open command; otherwise at both.
        const swept = yield* Jobs.sweep
        assert.deepStrictEqual(swept, { checked: variant.bulk ? 1 : 2, maintained: 1 })
        const command = (yield* engine.getAgent(t, id)).commands.find((c) => c.id === launch!.id)!
        assert.strictEqual(command.status, "pending")
        assert.strictEqual(command.deliveries, 1)
        assert.deepStrictEqual(yield* Jobs.sweep, { checked: variant.bulk ? 1 : 2, maintained: 0 })
      }).pipe(Effect.provide(variant.layer)))
  }

  it.effect("a singleton job runs in one holder per period; another takes over when the holder stops", () =>
    Effect.gen(function*() {
      let runs = 0
      const spec: Jobs.JobSpec<never> = { name: "count", every: "10 seconds", run: Effect.sync(() => ({ run: ++runs })) }
      const holders = ["a", "b", "c"]
      for (let period = 0; period < 3; period++) {
        const ran = yield* Effect.forEach(holders, (h) => Jobs.tick(spec, h), { concurrency: "unbounded" })
        assert.deepStrictEqual(ran, [true, false, false])
        yield* TestClock.adjust("10 seconds")
      }
      // "a" dies: nobody renews its lease (ttl 30 s from its last tick at t = 20 s).
      yield* TestClock.adjust("10 seconds") // t = 40 s
      assert.deepStrictEqual(yield* Effect.forEach(["b", "c"], (h) => Jobs.tick(spec, h)), [false, false])
      yield* TestClock.adjust("11 seconds") // t = 51 s: the lease ran out
      assert.deepStrictEqual(yield* Effect.forEach(["b", "c"], (h) => Jobs.tick(spec, h)), [true, false])
      assert.strictEqual(runs, 4)
      const recorded = yield* Effect.flatMap(JobLease.JobLease, (l) => l.runs("count", 10))
      assert.deepStrictEqual(recorded.map((r) => [r.holder, r.fencingToken, r.outcome]), [["b", 2, "succeeded"], ["a", 1, "succeeded"], ["a", 1, "succeeded"], ["a", 1, "succeeded"]])
    }).pipe(Effect.provide(JobLease.layerMemory)))

  it.effect("runForever: a standby takes over within a tenth of the lease time after the holder's lease runs out", () =>
    Effect.gen(function*() {
      const ran: Array<[string, number]> = []
      const spec = (holder: string): Jobs.JobSpec<never> => ({
        name: "standby",
        every: "10 seconds",
        run: Effect.map(TestClock.currentTimeMillis, (now) => (ran.push([holder, now / 1000]), {}))
      })
      const a = yield* Effect.fork(Jobs.runForever(spec("a"), "a"))
      yield* TestClock.adjust("1 second")
      const b = yield* Effect.fork(Jobs.runForever(spec("b"), "b"))
      yield* TestClock.adjust("20 seconds") // t = 21 s
      assert.deepStrictEqual(ran, [["a", 0], ["a", 10], ["a", 20]])
      // "a" crashes: no release. Its lease (30 s from t = 20 s) runs out at t = 50 s; b polls every 3 s.
      yield* Fiber.interrupt(a)
      yield* TestClock.adjust("28 seconds") // t = 49 s
      assert.strictEqual(ran.length, 3)
      yield* TestClock.adjust("3 seconds") // t = 52 s
      assert.deepStrictEqual(ran.slice(3), [["b", 52]])
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(ran.slice(3), [["b", 52], ["b", 62]])
      yield* Fiber.interrupt(b)
    }).pipe(Effect.provide(JobLease.layerMemory)))

  it.effect("runScoped: closing the scope stops the jobs and releases their leases, so a standby takes over at once", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const specs = (holder: string): ReadonlyArray<Jobs.JobSpec<never>> =>
        ["one", "two"].map((name) => ({ name, every: "1 minute", run: Effect.sync(() => (ran.push(`${name}@${holder}`), {})) }))
      const scopeA = yield* Scope.make()
      yield* Scope.extend(Jobs.runScoped(specs("a"), "a"), scopeA)
      yield* TestClock.adjust("1 second")
      const scopeB = yield* Scope.make()
      yield* Scope.extend(Jobs.runScoped(specs("b"), "b"), scopeB)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual([...ran].sort(), ["one@a", "two@a"])
      yield* Scope.close(scopeA, Exit.void)
      // b polls every 18 s (a tenth of the 3-minute lease): it takes over at its next poll, not after 3 minutes.
      yield* TestClock.adjust("18 seconds")
      assert.deepStrictEqual(ran.slice(2).sort(), ["one@b", "two@b"])
      yield* TestClock.adjust("10 minutes")
      assert.isTrue(ran.slice(4).every((r) => r.endsWith("@b")))
      yield* Scope.close(scopeB, Exit.void)
      const runs = yield* Effect.flatMap(JobLease.JobLease, (l) => l.runs("one", 100))
      assert.deepStrictEqual([...new Set(runs.map((r) => `${r.holder}:${r.fencingToken}`))], ["b:2", "a:1"])
    }).pipe(Effect.provide(JobLease.layerMemory)))

  it.effect("job-run retention purges the record of runs older than its window", () =>
    Effect.gen(function*() {
      const spec: Jobs.JobSpec<never> = { name: "tiny", every: "1 hour", run: Effect.succeed({}) }
      yield* Jobs.tick(spec, "a")
      yield* TestClock.adjust("1 day")
      yield* Jobs.tick(spec, "a")
      assert.deepStrictEqual(yield* Jobs.jobRunRetention({ window: "12 hours" }), { jobRunsPurged: 1 })
      assert.strictEqual((yield* Effect.flatMap(JobLease.JobLease, (l) => l.runs("tiny", 10))).length, 1)
    }).pipe(Effect.provide(JobLease.layerMemory)))

  it.effect("a failed run is recorded and the runner carries on", () =>
    Effect.gen(function*() {
      const spec: Jobs.JobSpec<never> = { name: "flaky", every: "1 minute", run: Effect.fail({ _tag: "Boom", message: "broken" }) }
      assert.isTrue(yield* Jobs.tick(spec, "a"))
      const [run] = yield* Effect.flatMap(JobLease.JobLease, (l) => l.runs("flaky", 1))
      assert.strictEqual(run!.outcome, "failed")
      assert.deepStrictEqual(run!.detail, { error: "Boom", message: "broken" })
    }).pipe(Effect.provide(JobLease.layerMemory)))
})
