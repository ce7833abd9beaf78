/**
 * The rules of reconciliation (docs/STATE_MACHINE.md, "Reconciliation"), one by one through the
 * engine with TestClock: what each difference between an inventory and the aggregate means and
 * what is done about it, the TERMINATE retry policy, TTLs, notice identity, the early PROMOTE and
 * the recovery of a DEGRADED agent.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { CommandResult } from "../src/Command.js"
import * as Engine from "../src/Engine.js"
import type { AgentId, TenantId } from "../src/Ids.js"
import * as Jobs from "../src/Jobs.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"
import type { InventoryItem } from "../src/StateMachine.js"
import * as Timing from "../src/Timing.js"

const poolA = Pool.make("t3.medium", "us-east-1a")
const poolB = Pool.make("t3.medium", "us-east-1b")

const ok = (cloudInstanceId: string | null = null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })
const failed = (message: string) => CommandResult.make({ success: false, message, cloudInstanceId: null, data: {} })

const TestEngine = Engine.layer().pipe(Layer.provideMerge(MemoryStore.layer))

const running = (cloudInstanceId: string, pool: string, tags: Record<string, string> = { ManagedBy: "spotfleet" }, launchedAt: number | null = null): InventoryItem => ({
  cloudInstanceId,
  state: "running",
  pool,
  tags,
  launchedAt
})

const harness = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "b".repeat(64) })
  const t: TenantId = tenant.id
  const register = (name: string, pool: Pool.PoolId = poolA, metadata: Record<string, unknown> = {}) =>
    Effect.map(engine.register(t, { logicalAgentId: name, cloudInstanceId: `i-${name}`, pool, metadata }), (r) => r.agent.id)
  const view = (id: AgentId) => engine.getAgent(t, id)
  const roleOf = (id: AgentId, cloudId: string) => Effect.map(view(id), (v) => v.instances.find((i) => i.cloudInstanceId === cloudId)?.role)
  const poll = (id: AgentId) => engine.pollCommands(t, id)
  const report = (id: AgentId, commandId: string, result: CommandResult) => engine.reportResult(t, id, { commandId: commandId as never, result })
  const inventory = (id: AgentId, instances: ReadonlyArray<InventoryItem>) => engine.reconcileInventory(t, id, { instances })
  const eventsOf = (id: AgentId, type: string) =>
    Effect.map(engine.events(t, { afterId: 0, limit: 10_000, agentId: id }), (es) => es.filter((e) => e.type === type).map((e) => e.data))
  const sweep = Effect.flatMap(Effect.context<Engine.Engine | MemoryStore.Stores>(), (c) => Effect.provide(Jobs.sweep, c))
  /** The agent's PRIMARY demoted by a promotion, `autoTerminate` on with no wait: answers the old PRIMARY's TERMINATE. */
  const demoted = (name: string) =>
    Effect.gen(function*() {
      const id = yield* register(name)
      yield* engine.updateConfig(t, id, { terminateWaitSeconds: 0 })
      for (const c of yield* poll(id)) yield* report(id, c.id, ok())
      yield* engine.requestReplica(t, id, {})
      const [launch] = yield* poll(id)
      yield* report(id, launch!.id, ok(`i-${name}-r`))
      const replica = (yield* view(id)).instances.find((i) => i.cloudInstanceId === `i-${name}-r`)!
      yield* engine.promote(t, id, replica.id)
      const [promote] = yield* poll(id)
      yield* report(id, promote!.id, ok())
      const [terminate] = yield* poll(id)
      assert.strictEqual(terminate!.type, "TERMINATE_INSTANCE")
      return { id, terminate: terminate!, replica: `i-${name}-r` }
    })
  return { engine, t, register, view, roleOf, poll, report, inventory, eventsOf, sweep, demoted }
})

describe("reconciliation", () => {
  it.effect("a failed TERMINATE is retried with growing backoff, bounded without observations, re-armed by an inventory", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const { id, replica, terminate } = yield* h.demoted("a")
      let last = terminate
      const gaps: Array<number> = []
      for (let attempt = 1; attempt < Timing.terminateRetry.maxAttempts; attempt++) {
        yield* h.report(id, last.id, failed("UnauthorizedOperation"))
        const pending = (yield* h.view(id)).commands.find((c) => c.type === "TERMINATE_INSTANCE" && c.status === "pending")!
        gaps.push((pending.notBefore - (yield* TestClock.currentTimeMillis)) / 1000)
        yield* TestClock.adjust(`${pending.notBefore - (yield* TestClock.currentTimeMillis)} millis`)
        const [again] = yield* h.poll(id)
        last = again!
      }
      assert.deepStrictEqual(gaps, [30, 60, 120, 240, 480])
      // The last attempt allowed without an observation fails: nothing more is queued…
      yield* h.report(id, last.id, failed("UnauthorizedOperation"))
      const open = (yield* h.view(id)).commands.filter((c) => c.type === "TERMINATE_INSTANCE" && (c.status === "pending" || c.status === "delivered"))
      assert.strictEqual(open.length, 0)
      assert.deepStrictEqual((yield* h.eventsOf(id, "TerminationRetried")).at(-1)?.gaveUp, true)
      // …until an inventory lists the instance running: another attempt, at the capped backoff.
      yield* h.inventory(id, [running("i-a", poolA), running(replica, poolA)])
      const rearmed = (yield* h.view(id)).commands.find((c) => c.type === "TERMINATE_INSTANCE" && c.status === "pending")!
      assert.strictEqual(rearmed.notBefore - (yield* TestClock.currentTimeMillis), Timing.terminateRetry.maxSeconds * 1000)
      // Seen gone: confirmed, and the instance no longer counts as running.
      yield* h.inventory(id, [running(replica, poolA)])
      const old = (yield* h.view(id)).instances.find((i) => i.cloudInstanceId === "i-a")!
      assert.isNumber(old.terminationConfirmedAt)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a TERMINATE that expires is retried; a successful one confirms", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const { id, terminate } = yield* h.demoted("b")
      assert.strictEqual(terminate.expiresAt! - terminate.notBefore, Timing.commandTtlSeconds.TERMINATE_INSTANCE * 1000)
      yield* TestClock.adjust(`${Timing.commandTtlSeconds.TERMINATE_INSTANCE} seconds`)
      yield* h.sweep
      const commands = (yield* h.view(id)).commands.filter((c) => c.type === "TERMINATE_INSTANCE")
      assert.deepStrictEqual(commands.map((c) => c.status), ["expired", "pending"])
      yield* TestClock.adjust("30 seconds")
      const [retry] = yield* h.poll(id)
      yield* h.report(id, retry!.id, ok())
      const old = (yield* h.view(id)).instances.find((i) => i.cloudInstanceId === "i-b")!
      assert.strictEqual(old.terminationConfirmedAt, yield* TestClock.currentTimeMillis)
      assert.deepStrictEqual((yield* h.eventsOf(id, "TerminationConfirmed")).map((d) => d.how), ["terminate-succeeded"])
    }).pipe(Effect.provide(TestEngine)))

  it.effect("unknown instances: ours and old enough adopted as ZOMBIE and terminated after the wait; young, unmanaged or another agent's left alone", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register("c")
      const other = yield* h.register("other", poolB)
      const now = yield* TestClock.currentTimeMillis
      const graceMillis = Timing.reconcile.orphanGraceSeconds * 1000
      yield* h.inventory(id, [
        running("i-c", poolA),
        running("i-other", poolB), // another agent's PRIMARY
        running("i-young", poolA, { ManagedBy: "SpotOptimizer" }, now - graceMillis + 60_000),
        running("i-old", poolA, { ManagedBy: "SpotOptimizer" }, now - graceMillis - 1),
        running("i-tagged-other", poolA, { ManagedBy: "spotfleet", "spotfleet:agent-id": other }, now - graceMillis - 1),
        running("i-db", poolA, { Name: "database" }, now - graceMillis - 1)
      ])
      const v = yield* h.view(id)
      const roles = Object.fromEntries(v.instances.filter((i) => i.cloudInstanceId !== null).map((i) => [i.cloudInstanceId, i.role]))
      assert.deepStrictEqual(roles, { "i-c": "PRIMARY", "i-old": "ZOMBIE" })
      assert.strictEqual(yield* h.roleOf(other, "i-other"), "PRIMARY")
      const terminate = v.commands.find((c) => c.type === "TERMINATE_INSTANCE")!
      assert.strictEqual(terminate.params.instance_id, "i-old")
      assert.strictEqual(terminate.notBefore - now, 300_000, "after the agent's terminate wait")
      // The same inventory again changes nothing.
      const version = v.agent.version
      yield* h.inventory(id, [running("i-c", poolA), running("i-old", poolA, { ManagedBy: "SpotOptimizer" }, now - graceMillis - 1)])
      assert.strictEqual((yield* h.view(id)).agent.version, version)
      // Tagged with this agent's id: adopted without waiting for the grace.
      yield* h.inventory(id, [running("i-c", poolA), running("i-mine", poolA, { ManagedBy: "spotfleet", "spotfleet:agent-id": id }, now)])
      assert.strictEqual(yield* h.roleOf(id, "i-mine"), "ZOMBIE")
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a launch in flight is confirmed from the inventory by its token or, without one, by its pool", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register("d")
      yield* h.engine.requestReplica(h.t, id, {})
      const [launch] = yield* h.poll(id)
      yield* h.inventory(id, [running("i-d", poolA), running("i-d-r", poolA, { ManagedBy: "SpotOptimizer", "spotfleet:launch-token": String(launch!.params.temp_instance_id) })])
      assert.strictEqual(yield* h.roleOf(id, "i-d-r"), "REPLICA")
      // The late report of the same launch changes nothing.
      const version = (yield* h.view(id)).agent.version
      yield* h.report(id, launch!.id, ok("i-d-r"))
      assert.strictEqual((yield* h.view(id)).instances.filter((i) => i.role === "REPLICA").length, 1)
      assert.isAtLeast((yield* h.view(id)).agent.version, version)

      const e = yield* h.register("e")
      yield* h.engine.requestReplica(h.t, e, {})
      const [launchE] = yield* h.poll(e)
      // No token: the launch in the agent's hands in the same pool is the one.
      yield* h.inventory(e, [running("i-e", poolA), running("i-e-r", poolA, { ManagedBy: "SpotOptimizer" }, yield* TestClock.currentTimeMillis)])
      assert.strictEqual(yield* h.roleOf(e, "i-e-r"), "REPLICA")
      assert.deepStrictEqual((yield* h.eventsOf(e, "InstanceAdopted")).map((d) => d.matchedBy), ["pool"])
      assert.strictEqual((yield* h.view(e)).commands.find((c) => c.id === launchE!.id)?.status, "delivered")
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a launch given up on that arrives while the agent has a PRIMARY is terminated; while it has none, it is promoted", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register("f")
      yield* h.engine.requestReplica(h.t, id, {})
      const [launch] = yield* h.poll(id)
      yield* TestClock.adjust(`${Timing.commandTtlSeconds.LAUNCH_INSTANCE} seconds`)
      yield* h.sweep
      assert.strictEqual((yield* h.view(id)).commands.find((c) => c.id === launch!.id)?.status, "expired")
      yield* h.report(id, launch!.id, ok("i-f-late"))
      const late = (yield* h.view(id)).instances.find((i) => i.cloudInstanceId === "i-f-late")!
      assert.strictEqual(late.role, "TERMINATED")
      assert.strictEqual((yield* h.view(id)).commands.find((c) => c.type === "TERMINATE_INSTANCE")?.params.instance_id, "i-f-late")

      const g = yield* h.register("g")
      yield* h.engine.requestReplica(h.t, g, {})
      const [launchG] = yield* h.poll(g)
      yield* TestClock.adjust(`${Timing.commandTtlSeconds.LAUNCH_INSTANCE} seconds`)
      yield* h.sweep
      yield* h.engine.confirmTerminated(h.t, g, { cloudInstanceId: "i-g" }) // the cloud takes the PRIMARY
      assert.isTrue((yield* h.view(g)).agent.degraded)
      yield* h.inventory(g, [running("i-g-late", poolA, { ManagedBy: "SpotOptimizer" }, yield* TestClock.currentTimeMillis)])
      const v = yield* h.view(g)
      const adopted = v.instances.find((i) => i.cloudInstanceId === "i-g-late")!
      assert.strictEqual(adopted.role, "REPLICA")
      assert.strictEqual(v.agent.flow?.kind, "emergency")
      const promote = v.commands.find((c) => c.type === "PROMOTE_REPLICA_TO_PRIMARY" && c.instanceId === adopted.id)!
      assert.strictEqual(promote.params.replica_instance_id, "i-g-late")
      // The launch the emergency had started from scratch is not needed any more.
      const fresh = v.commands.filter((c) => c.type === "LAUNCH_INSTANCE" && c.id !== launchG!.id)
      assert.deepStrictEqual(fresh.map((c) => c.status), ["superseded"])
      yield* h.report(g, promote.id, ok())
      assert.strictEqual(yield* h.roleOf(g, "i-g-late"), "PRIMARY")
      assert.isFalse((yield* h.view(g)).agent.degraded)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a DEGRADED agent whose emergency ended without a PRIMARY tries again after the recovery pause", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register("h")
      yield* h.engine.confirmTerminated(h.t, id, { cloudInstanceId: "i-h" })
      const [launch] = yield* h.poll(id)
      yield* h.report(id, launch!.id, failed("InsufficientInstanceCapacity"))
      const failedView = yield* h.view(id)
      assert.isNull(failedView.agent.flow, "the chain is exhausted")
      assert.isTrue(failedView.agent.degraded)
      yield* h.sweep
      assert.isNull((yield* h.view(id)).agent.flow, "not before the pause")
      yield* TestClock.adjust(`${Timing.reconcile.recoveryBackoffSeconds} seconds`)
      yield* h.sweep
      const [again] = yield* h.poll(id)
      assert.strictEqual(again?.type, "LAUNCH_INSTANCE")
      assert.strictEqual(again?.priority, 100)
      yield* h.report(id, again!.id, ok("i-h-2"))
      const [promote] = yield* h.poll(id)
      yield* h.report(id, promote!.id, ok())
      assert.strictEqual(yield* h.roleOf(id, "i-h-2"), "PRIMARY")
    }).pipe(Effect.provide(TestEngine)))

  it.effect("turning manual replica off keeps the replica an emergency is promoting; a PROMOTE of a retired replica ends its flow", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register("m")
      yield* h.engine.updateConfig(h.t, id, { manualReplica: true })
      for (const c of yield* h.poll(id)) yield* h.report(id, c.id, c.type === "LAUNCH_INSTANCE" ? ok("i-m-r") : ok())
      assert.strictEqual(yield* h.roleOf(id, "i-m-r"), "REPLICA")
      yield* h.engine.confirmTerminated(h.t, id, { cloudInstanceId: "i-m" })
      const [promote] = yield* h.poll(id)
      assert.strictEqual(promote?.type, "PROMOTE_REPLICA_TO_PRIMARY")
      yield* h.engine.updateConfig(h.t, id, { manualReplica: false })
      assert.strictEqual(yield* h.roleOf(id, "i-m-r"), "REPLICA", "the replica being promoted stays")
      yield* h.report(id, promote!.id, ok())
      assert.strictEqual(yield* h.roleOf(id, "i-m-r"), "PRIMARY")
      assert.isFalse((yield* h.view(id)).agent.degraded)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a flow open past its TTL is closed by the sweep with its reason", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register("i")
      yield* h.engine.switchPool(h.t, id, { pool: poolB })
      // The agent polls and keeps the launch without ever answering; every lease runs out and it
      // is handed out again, until the launch's TTL ends the flow.
      for (let n = 0; n < 4; n++) {
        yield* h.poll(id)
        yield* TestClock.adjust("300 seconds")
      }
      yield* h.sweep
      const v = yield* h.view(id)
      assert.isNull(v.agent.flow)
      const finished = yield* h.eventsOf(id, "FlowFinished")
      assert.deepStrictEqual(finished.map((d) => [d.kind, d.result]), [["switch", "failed"]])
      assert.match(String(finished[0]!.reason), /expired/)
    }).pipe(Effect.provide(Engine.layer({ flowTtlSeconds: 7_200 }).pipe(Layer.provideMerge(MemoryStore.layer)))))

  it.effect("the flow TTL backstop closes a flow whose steps would outlive it", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register("j")
      yield* h.engine.switchPool(h.t, id, { pool: poolB })
      yield* TestClock.adjust("61 seconds")
      yield* h.sweep
      const finished = yield* h.eventsOf(id, "FlowFinished")
      assert.deepStrictEqual(finished.map((d) => d.reason), ["open longer than its TTL (60 s)"])
      assert.strictEqual((yield* h.view(id)).commands.find((c) => c.type === "LAUNCH_INSTANCE")?.status, "superseded")
    }).pipe(Effect.provide(Engine.layer({ flowTtlSeconds: 60 }).pipe(Layer.provideMerge(MemoryStore.layer)))))
})

describe("notices", () => {
  it.effect("a repeat of (instance, time) is the same notice, before and after its deadline; another time for a PRIMARY still running is a new one", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register("k")
      const t0 = yield* TestClock.currentTimeMillis
      const notice = { kind: "termination" as const, cloudInstanceId: "i-k", deadline: t0 + 60_000 }
      yield* h.engine.notice(h.t, id, notice)
      yield* h.engine.notice(h.t, id, notice)
      yield* TestClock.adjust("90 seconds")
      yield* h.sweep
      assert.isNull((yield* h.view(id)).agent.notice, "cleared at its deadline")
      yield* h.engine.notice(h.t, id, notice)
      yield* h.engine.notice(h.t, id, { kind: "rebalance", cloudInstanceId: "i-k" })
      assert.strictEqual((yield* h.eventsOf(id, "NoticeReceived")).length, 1)
      // The cloud did not take it after all and gives another notice, with another time.
      yield* h.engine.notice(h.t, id, { ...notice, deadline: t0 + 300_000 })
      assert.strictEqual((yield* h.eventsOf(id, "NoticeReceived")).length, 2)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a termination time already past: the budget starts now, the identity keeps the reported time", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register("l")
      const t0 = yield* TestClock.currentTimeMillis
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-l", deadline: t0 - 5_000 })
      const v = yield* h.view(id)
      assert.strictEqual(v.agent.notice?.deadline, t0 + Timing.noticeDeadlineSeconds.termination * 1000)
      assert.strictEqual(v.instances.find((i) => i.cloudInstanceId === "i-l")?.terminationNoticeAt, t0 - 5_000)
      const [data] = yield* h.eventsOf(id, "NoticeReceived")
      assert.deepStrictEqual([data!.deadline, data!.reportedDeadline], [t0 + 120_000, t0 - 5_000])
    }).pipe(Effect.provide(TestEngine)))

  it.effect("the early PROMOTE goes to agents that can promote by temporary id, once; never to those that cannot", () =>
    Effect.gen(function*() {
      const h = yield* harness
      for (const [name, metadata, expected] of [
        ["v1", {}, 1],
        ["v5", { capabilities: { promoteByTempId: false } }, 0]
      ] as const) {
        const id = yield* h.register(name, poolA, metadata)
        const t0 = yield* TestClock.currentTimeMillis
        yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: `i-${name}`, deadline: t0 + 30_000 })
        const [launch] = yield* h.poll(id)
        assert.strictEqual(launch?.type, "LAUNCH_INSTANCE")
        yield* TestClock.adjust("11 seconds")
        const handed = [...yield* h.poll(id)]
        for (const c of handed) yield* h.report(id, c.id, failed("replica not running yet"))
        yield* TestClock.adjust("1 second")
        handed.push(...yield* h.poll(id))
        assert.strictEqual(handed.filter((c) => c.type === "PROMOTE_REPLICA_TO_PRIMARY").length, expected, name)
        // The replica arrives: it is promoted by its cloud id.
        yield* h.report(id, launch!.id, ok(`i-${name}-r`))
        const [promote] = yield* h.poll(id)
        assert.strictEqual(promote?.params.replica_instance_id, `i-${name}-r`)
      }
    }).pipe(Effect.provide(TestEngine)))
})
