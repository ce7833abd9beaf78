import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { CommandResult } from "../src/Command.js"
import { Actor } from "../src/DomainEvent.js"
import { type CommandId, type InstanceId, sequentialIds, TenantId } from "../src/Ids.js"
import * as Pool from "../src/Pool.js"
import * as StateMachine from "../src/StateMachine.js"
import type { AgentAggregate, Input, Transition } from "../src/StateMachine.js"

const poolA = Pool.make("t3.medium", "us-east-1a")
const poolB = Pool.make("t3.medium", "us-east-1b")
const actor = Actor.make({ kind: "system", id: null })

const setup = (config: Parameters<typeof StateMachine.register>[0]["config"] = undefined) => {
  const ids = sequentialIds()
  let now = 1_000
  const ctx = () => ({ now, ids, actor })
  const created = Either.getOrThrow(StateMachine.register({
    tenantId: TenantId.make("t-1"),
    logicalAgentId: "web-1",
    cloudInstanceId: "i-primary",
    pool: poolA,
    metadata: {},
    config
  }, ctx()))
  let state: AgentAggregate = created.aggregate
  const apply = (input: Input): Transition => {
    const t = Either.getOrThrow(StateMachine.transition(state, input, ctx()))
    state = t.aggregate
    assert.deepStrictEqual(StateMachine.checkInvariants(state), [])
    return t
  }
  const rejected = (input: Input) => Either.flip(StateMachine.transition(state, input, ctx())).pipe(Either.getOrThrow)
  const role = (cloudId: string) => state.instances.find((i) => i.cloudInstanceId === cloudId)?.role
  const byCloud = (cloudId: string) => state.instances.find((i) => i.cloudInstanceId === cloudId)!
  const open = () => state.commands.filter((c) => c.status === "pending" || c.status === "delivered")
  const ok = (cloudInstanceId: string | null = null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })
  const fail = CommandResult.make({ success: false, message: "no capacity", cloudInstanceId: null, data: {} })
  const deliver = () => apply({ _tag: "Deliver", limit: 10, leaseMillis: 60_000 }).delivered
  /** Poll, then report every delivered command with the given result. */
  const execute = (result: (type: string) => CommandResult) => {
    for (const c of deliver()) apply({ _tag: "ReportResult", commandId: c.id as CommandId, result: result(c.type) })
  }
  const replica = (cloudId: string) => {
    apply({ _tag: "RequestReplica", pool: null, priority: 75 })
    execute(() => ok(cloudId))
    return byCloud(cloudId)
  }
  return {
    get state() {
      return state
    },
    tick: (ms: number) => void (now += ms),
    apply,
    rejected,
    role,
    byCloud,
    open,
    ok,
    fail,
    deliver,
    execute,
    replica,
    created
  }
}

describe("StateMachine", () => {
  it("registration creates the agent with one PRIMARY and events", () => {
    const m = setup()
    assert.strictEqual(m.role("i-primary"), "PRIMARY")
    assert.strictEqual(m.state.agent.version, 1)
    assert.deepStrictEqual(m.created.events.map((e) => e.type), ["AgentRegistered", "RoleChanged"])
    assert.deepStrictEqual(m.created.events[1]!.data, {
      instanceId: m.byCloud("i-primary").id,
      cloudInstanceId: "i-primary",
      pool: poolA,
      from: "NONE",
      to: "PRIMARY",
      trigger: "registration"
    })
  })

  it("re-registration of the PRIMARY is a no-op; a new instance takes over and the old one is demoted", () => {
    const m = setup()
    assert.isFalse(m.apply({ _tag: "Register", cloudInstanceId: "i-primary", pool: poolA, metadata: {} }).changed)
    m.apply({ _tag: "Register", cloudInstanceId: "i-new", pool: poolA, metadata: {} })
    assert.strictEqual(m.role("i-new"), "PRIMARY")
    assert.strictEqual(m.role("i-primary"), "TERMINATED")
    const reused = m.rejected({ _tag: "Register", cloudInstanceId: "i-primary", pool: poolA, metadata: {} })
    assert.strictEqual(reused._tag, "InvalidTransition")
  })

  it("launch → confirm → promote: the replica becomes PRIMARY and the old one TERMINATED with a delayed TERMINATE", () => {
    const m = setup()
    const r = m.replica("i-r1")
    assert.strictEqual(r.role, "REPLICA")
    assert.isNull(m.state.agent.flow)
    m.apply({ _tag: "Promote", instanceId: r.id as InstanceId, priority: 75 })
    m.execute(() => m.ok())
    assert.strictEqual(m.role("i-r1"), "PRIMARY")
    assert.strictEqual(m.role("i-primary"), "TERMINATED")
    const terminate = m.open().find((c) => c.type === "TERMINATE_INSTANCE")!
    assert.deepStrictEqual(terminate.params, { instance_id: "i-primary" })
    assert.strictEqual(terminate.notBefore - terminate.createdAt, m.state.agent.config.terminateWaitSeconds * 1000)
    assert.deepStrictEqual(m.deliver(), []) // not before terminateWaitSeconds
    m.tick(300_000)
    assert.deepStrictEqual(m.deliver().map((c) => c.type), ["TERMINATE_INSTANCE"])
  })

  it("with autoTerminate off the demoted PRIMARY becomes a ZOMBIE, which is retired later and never promoted", () => {
    const m = setup({ autoTerminate: false })
    const r = m.replica("i-r1")
    m.apply({ _tag: "Promote", instanceId: r.id as InstanceId, priority: 75 })
    m.execute(() => m.ok())
    assert.strictEqual(m.role("i-primary"), "ZOMBIE")
    const zombie = m.byCloud("i-primary")
    assert.strictEqual(m.rejected({ _tag: "Promote", instanceId: zombie.id as InstanceId, priority: 100 })._tag, "InvalidTransition")
    m.apply({ _tag: "RetireZombie", instanceId: zombie.id as InstanceId })
    assert.strictEqual(m.role("i-primary"), "TERMINATED")
    assert.deepStrictEqual(m.open().map((c) => c.type), ["TERMINATE_INSTANCE"])
  })

  it("a failed launch terminates the LAUNCHING instance and ends the flow", () => {
    const m = setup()
    m.apply({ _tag: "RequestReplica", pool: poolB, priority: 75 })
    const launching = m.state.instances.find((i) => i.role === "LAUNCHING")!
    assert.strictEqual(launching.pool, poolB)
    m.execute(() => m.fail)
    assert.strictEqual(m.state.instances.find((i) => i.id === launching.id)!.role, "TERMINATED")
    assert.isNull(m.state.agent.flow)
  })

  it("autoSwitch and manualReplica are never both on; the error names the field", () => {
    const m = setup()
    m.apply({ _tag: "UpdateConfig", patch: { autoSwitch: true } })
    const e = m.rejected({ _tag: "UpdateConfig", patch: { manualReplica: true } })
    assert.strictEqual(e._tag, "InvalidInput")
    if (e._tag === "InvalidInput") assert.strictEqual(e.field, "manualReplica")
    const range = m.rejected({ _tag: "UpdateConfig", patch: { riskThreshold: 3 } })
    assert.strictEqual(range._tag, "InvalidInput")
    if (range._tag === "InvalidInput") assert.strictEqual(range.field, "riskThreshold")
  })

  it("config changes bump configVersion and queue one APPLY_CONFIG, superseding an older pending one", () => {
    const m = setup()
    m.apply({ _tag: "UpdateConfig", patch: { autoTerminate: false } })
    m.apply({ _tag: "UpdateConfig", patch: { terminateWaitSeconds: 60 } })
    assert.strictEqual(m.state.agent.configVersion, 3)
    const applies = m.state.commands.filter((c) => c.type === "APPLY_CONFIG")
    assert.deepStrictEqual(applies.map((c) => c.status), ["superseded", "pending"])
    assert.isFalse(m.apply({ _tag: "UpdateConfig", patch: { terminateWaitSeconds: 60 } }).changed)
  })

  it("manual replica keeps one REPLICA; turning it off removes it", () => {
    const m = setup()
    m.apply({ _tag: "UpdateConfig", patch: { manualReplica: true } })
    const launch = m.open().find((c) => c.type === "LAUNCH_INSTANCE")!
    assert.strictEqual(launch.priority, 10)
    m.execute((type) => (type === "LAUNCH_INSTANCE" ? m.ok("i-r1") : m.ok()))
    assert.strictEqual(m.role("i-r1"), "REPLICA")
    // The replica is lost: another one is launched right away.
    m.apply({ _tag: "ConfirmTerminated", cloudInstanceId: "i-r1" })
    assert.strictEqual(m.state.instances.filter((i) => i.role === "LAUNCHING").length, 1)
    m.execute((type) => (type === "LAUNCH_INSTANCE" ? m.ok("i-r2") : m.ok()))
    m.apply({ _tag: "UpdateConfig", patch: { manualReplica: false } })
    assert.strictEqual(m.role("i-r2"), "TERMINATED")
    assert.isTrue(m.open().some((c) => c.type === "TERMINATE_INSTANCE" && c.params.instance_id === "i-r2"))
  })

  it("one open flow: lower or equal priority is rejected, higher supersedes undelivered steps", () => {
    const m = setup()
    m.apply({ _tag: "Switch", pool: poolB, priority: 25, trigger: "ml" })
    const mlLaunch = m.open()[0]!
    const conflict = m.rejected({ _tag: "RequestReplica", pool: null, priority: 25 })
    assert.strictEqual(conflict._tag, "FlowConflict")
    m.apply({ _tag: "Switch", pool: poolB, priority: 75, trigger: "manual" })
    assert.strictEqual(m.state.commands.find((c) => c.id === mlLaunch.id)!.status, "superseded")
    assert.strictEqual(m.state.agent.flow!.priority, 75)
    assert.strictEqual(m.rejected({ _tag: "Switch", pool: Pool.make("m5.large", "us-east-1a"), priority: 75, trigger: "manual" })._tag, "FlowConflict")
  })

  it("a switch launches in the target pool, promotes on arrival, and demotes the old PRIMARY", () => {
    const m = setup()
    assert.strictEqual(m.rejected({ _tag: "Switch", pool: poolA, priority: 75, trigger: "manual" })._tag, "InvalidInput")
    m.apply({ _tag: "Switch", pool: poolB, priority: 75, trigger: "manual" })
    const [launch] = m.deliver()
    assert.strictEqual(launch!.params.target_pool, "spot:t3.medium.us-east-1b")
    m.apply({ _tag: "ReportResult", commandId: launch!.id as CommandId, result: m.ok("i-b") })
    const [promote] = m.deliver()
    assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
    assert.deepStrictEqual(promote!.params, { replica_instance_id: "i-b", old_primary_id: "i-primary" })
    m.apply({ _tag: "ReportResult", commandId: promote!.id as CommandId, result: m.ok() })
    assert.strictEqual(m.role("i-b"), "PRIMARY")
    assert.strictEqual(m.role("i-primary"), "TERMINATED")
    assert.isNull(m.state.agent.flow)
  })

  it("a termination notice promotes a ready replica at emergency priority, expiring at the deadline", () => {
    const m = setup()
    m.replica("i-r1")
    m.apply({ _tag: "Notice", kind: "termination", cloudInstanceId: "i-primary", deadline: 121_000, launchPools: [] })
    const [promote] = m.deliver()
    assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
    assert.strictEqual(promote!.priority, 100)
    assert.strictEqual(promote!.expiresAt, 121_000)
    // Re-sent notices change nothing.
    assert.isFalse(m.apply({ _tag: "Notice", kind: "termination", cloudInstanceId: "i-primary", deadline: 121_000, launchPools: [] }).changed)
    m.apply({ _tag: "ReportResult", commandId: promote!.id as CommandId, result: m.ok() })
    assert.strictEqual(m.role("i-r1"), "PRIMARY")
    assert.isNull(m.state.agent.notice)
  })

  it("without a replica a termination notice launches one and promotes it on arrival; spot failure falls back to on-demand", () => {
    const m = setup()
    const chain = [poolB, Pool.make("t3.medium", "us-east-1a", "on-demand")]
    m.apply({ _tag: "Notice", kind: "termination", cloudInstanceId: "i-primary", deadline: 121_000, launchPools: chain })
    const [spot] = m.deliver()
    assert.strictEqual(spot!.params.target_pool, "spot:t3.medium.us-east-1b")
    assert.strictEqual(spot!.type, "LAUNCH_INSTANCE")
    assert.strictEqual(spot!.priority, 100)
    m.apply({ _tag: "ReportResult", commandId: spot!.id as CommandId, result: m.fail })
    const [onDemand] = m.deliver()
    assert.strictEqual(onDemand!.params.target_pool, "ondemand:t3.medium.us-east-1a")
    m.apply({ _tag: "ReportResult", commandId: onDemand!.id as CommandId, result: m.ok("i-od") })
    const [promote] = m.deliver()
    assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
    m.apply({ _tag: "ReportResult", commandId: promote!.id as CommandId, result: m.ok() })
    assert.strictEqual(m.role("i-od"), "PRIMARY")
  })

  it("the cloud reclaiming the PRIMARY without a replica leaves the agent DEGRADED until a new one is promoted", () => {
    const m = setup()
    m.apply({ _tag: "ConfirmTerminated", cloudInstanceId: "i-primary" })
    assert.isTrue(m.state.agent.degraded)
    assert.strictEqual(m.role("i-primary"), "TERMINATED")
    m.execute((type) => (type === "LAUNCH_INSTANCE" ? m.ok("i-new") : m.ok()))
    m.execute(() => m.ok())
    assert.strictEqual(m.role("i-new"), "PRIMARY")
    assert.isFalse(m.state.agent.degraded)
  })

  it("commands expire; leases run out, are redelivered a bounded number of times, then fail", () => {
    const m = setup()
    m.apply({ _tag: "Notice", kind: "rebalance", cloudInstanceId: "i-primary", deadline: 60_000, launchPools: [] })
    const launch = m.open()[0]!
    assert.strictEqual(launch.expiresAt, 60_000)
    m.tick(60_000)
    m.apply({ _tag: "Maintain" })
    assert.strictEqual(m.state.commands.find((c) => c.id === launch.id)!.status, "expired")
    assert.isNull(m.state.agent.notice)

    m.apply({ _tag: "RequestReplica", pool: null, priority: 75 })
    for (let n = 1; n <= 5; n++) {
      const [c] = m.deliver()
      assert.strictEqual(c!.deliveries, n)
      m.tick(60_000)
    }
    m.apply({ _tag: "Maintain" })
    const failed = m.state.commands.filter((c) => c.type === "LAUNCH_INSTANCE").at(-1)!
    assert.strictEqual(failed.status, "failed")
    assert.strictEqual(m.state.instances.find((i) => i.id === failed.instanceId)!.role, "TERMINATED")
  })

  it("a duplicate result changes nothing; a disabled agent gets no launches", () => {
    const m = setup()
    const r = m.replica("i-r1")
    const launch = m.state.commands.find((c) => c.instanceId === r.id)!
    assert.isFalse(m.apply({ _tag: "ReportResult", commandId: launch.id as CommandId, result: m.ok("i-r1") }).changed)
    m.apply({ _tag: "Notice", kind: "rebalance", cloudInstanceId: "i-primary", deadline: 5_000, launchPools: [] })
    assert.strictEqual(m.open().length, 0) // a replica exists: nothing to launch
    m.apply({ _tag: "RemoveReplica", instanceId: r.id as InstanceId })
    m.apply({ _tag: "UpdateConfig", patch: { enabled: false } })
    assert.strictEqual(m.rejected({ _tag: "RequestReplica", pool: null, priority: 75 })._tag, "InvalidTransition")
  })

  it("a launch that succeeds after its command expired is recorded and terminated, never promoted", () => {
    const m = setup()
    m.apply({ _tag: "Notice", kind: "termination", cloudInstanceId: "i-primary", deadline: 30_000, launchPools: [] })
    const [launch] = m.deliver()
    m.tick(30_000)
    m.apply({ _tag: "Maintain" })
    assert.strictEqual(m.state.commands.find((c) => c.id === launch!.id)!.status, "expired")
    assert.isNull(m.state.agent.flow)
    m.apply({ _tag: "ReportResult", commandId: launch!.id as CommandId, result: m.ok("i-late") })
    assert.strictEqual(m.role("i-late"), "TERMINATED")
    assert.isTrue(m.open().some((c) => c.type === "TERMINATE_INSTANCE" && c.params.instance_id === "i-late"))
    assert.strictEqual(m.role("i-primary"), "PRIMARY")
  })

  it("tenant limits stop launches", () => {
    const ids = sequentialIds()
    const ctx = { now: 0, ids, actor, limits: { maxAgents: 10, maxInstances: 1 } as never }
    const created = Either.getOrThrow(StateMachine.register({
      tenantId: TenantId.make("t"),
      logicalAgentId: "a",
      cloudInstanceId: "i-1",
      pool: poolA,
      metadata: {}
    }, ctx))
    const e = Either.flip(StateMachine.transition(created.aggregate, { _tag: "RequestReplica", pool: null, priority: 75 }, ctx))
    assert.strictEqual(Either.getOrThrow(e)._tag, "LimitExceeded")
  })
})

describe("bad input is a rejection, never a defect", () => {
  it("registration with a malformed pool or an empty id names the field", () => {
    const ctx = { now: 0, ids: sequentialIds(), actor }
    const base = { tenantId: TenantId.make("t"), logicalAgentId: "a", cloudInstanceId: "i-1", pool: poolA, metadata: {} }
    const badPool = Either.flip(StateMachine.register({ ...base, pool: "not a pool" as never }, ctx)).pipe(Either.getOrThrow)
    assert.strictEqual(badPool._tag, "InvalidInput")
    if (badPool._tag === "InvalidInput") assert.strictEqual(badPool.field, "pool")
    const empty = Either.flip(StateMachine.register({ ...base, logicalAgentId: "" }, ctx)).pipe(Either.getOrThrow)
    assert.strictEqual(empty._tag, "InvalidInput")
    if (empty._tag === "InvalidInput") assert.strictEqual(empty.field, "logicalAgentId")
    const created = Either.getOrThrow(StateMachine.register(base, ctx))
    const again = Either.flip(StateMachine.transition(created.aggregate, { _tag: "Register", cloudInstanceId: "", pool: poolA, metadata: {} }, ctx))
    assert.strictEqual(Either.getOrThrow(again)._tag, "InvalidInput")
  })
})
