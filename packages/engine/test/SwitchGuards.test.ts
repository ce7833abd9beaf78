import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { CommandResult, Priority } from "../src/Command.js"
import { Actor } from "../src/DomainEvent.js"
import { type CommandId, sequentialIds, TenantId } from "../src/Ids.js"
import * as Pool from "../src/Pool.js"
import * as StateMachine from "../src/StateMachine.js"
import type { AgentAggregate, Input } from "../src/StateMachine.js"
import * as SwitchGuards from "../src/SwitchGuards.js"

const poolA = Pool.make("t3.medium", "us-east-1a")
const poolB = Pool.make("t3.medium", "us-east-1b")
const poolC = Pool.make("t3.medium", "us-east-1c")
const pools = [poolA, poolB, poolC] as const
const actor = Actor.make({ kind: "system", id: null })
const ok = (cloudInstanceId: string | null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })
const failed = CommandResult.make({ success: false, message: "no capacity", cloudInstanceId: null, data: {} })

/** A fresh agent (PRIMARY i-primary in pool A) and a way to drive it; rejected inputs change nothing. */
const agent = () => {
  const ids = sequentialIds()
  let now = 1_000
  const ctx = () => ({ now, ids, actor })
  let state: AgentAggregate = Either.getOrThrow(StateMachine.register({
    tenantId: TenantId.make("t-1"),
    logicalAgentId: "web-1",
    cloudInstanceId: "i-primary",
    pool: poolA,
    metadata: {}
  }, ctx())).aggregate
  let launched = 0
  const apply = (input: Input) => {
    const t = StateMachine.transition(state, input, ctx())
    if (Either.isRight(t)) state = t.right.aggregate
    return t
  }
  /** Poll and answer every delivered command (launches get a fresh cloud id). */
  const execute = (success: boolean) => {
    const t = apply({ _tag: "Deliver", limit: 10, leaseMillis: 60_000 })
    if (Either.isLeft(t)) return
    for (const c of t.right.delivered) {
      apply({ _tag: "ReportResult", commandId: c.id as CommandId, result: success ? ok(c.type === "LAUNCH_INSTANCE" ? `i-${++launched}` : null) : failed })
    }
  }
  const primaryCloudId = () => state.instances.find((i) => i.role === "PRIMARY")?.cloudInstanceId ?? "i-primary"
  return {
    get state() {
      return state
    },
    tick: (ms: number) => void (now += ms),
    apply,
    execute,
    primaryCloudId,
    switchTo: (pool: Pool.PoolId, priority: number) => StateMachine.transition(state, { _tag: "Switch", pool, priority, trigger: "manual" }, ctx())
  }
}

describe("SwitchGuards", () => {
  it("lists every guard that blocks a switch, in order; the state machine rejects with the first", () => {
    const a = agent()
    assert.deepStrictEqual(SwitchGuards.blockers(a.state, { pool: poolB, priority: Priority.manual }), [])
    assert.isTrue(Either.isRight(a.switchTo(poolB, Priority.manual)))

    // Disabled, with a notice (and the emergency flow it opened), asked for the pool it runs in:
    // four blockers, in the module's order.
    a.apply({ _tag: "UpdateConfig", patch: { enabled: false } })
    a.apply({ _tag: "Notice", kind: "termination", cloudInstanceId: "i-primary", deadline: 1_000_000, launchPools: [] })
    const flow = a.state.agent.flow!
    const blocked = SwitchGuards.blockers(a.state, { pool: poolA, priority: Priority.manual })
    assert.deepStrictEqual(blocked.map((b) => b._tag), ["InvalidTransition", "InvalidTransition", "InvalidInput", "FlowConflict"])
    assert.deepStrictEqual(blocked.map(SwitchGuards.describe), [
      `agent ${a.state.agent.id} is disabled`,
      `agent ${a.state.agent.id} has an emergency in progress`,
      `the agent already runs in ${poolA}`,
      `agent ${a.state.agent.id} already has a ${flow.kind} flow (priority ${flow.priority}) in progress`
    ])
    const rejected = a.switchTo(poolA, Priority.manual)
    assert.isTrue(Either.isLeft(rejected))
    assert.deepStrictEqual(Either.flip(rejected).pipe(Either.getOrThrow), blocked[0])
  })

  it("an open flow blocks a switch of the same or a lower priority; a higher one supersedes it", () => {
    const a = agent()
    a.apply({ _tag: "RequestReplica", pool: poolC, priority: Priority.mlUrgent })
    assert.strictEqual(a.state.agent.flow?.kind, "replica")
    const same = SwitchGuards.blockers(a.state, { pool: poolB, priority: Priority.mlUrgent })
    assert.deepStrictEqual(same.map((b) => b._tag), ["FlowConflict"])
    assert.deepStrictEqual(Either.flip(a.switchTo(poolB, Priority.mlUrgent)).pipe(Either.getOrThrow), same[0])
    assert.deepStrictEqual(SwitchGuards.blockers(a.state, { pool: poolB, priority: Priority.mlNormal }).map((b) => b._tag), ["FlowConflict"])
    assert.deepStrictEqual(SwitchGuards.blockers(a.state, { pool: poolB, priority: Priority.manual }), [])
    assert.isTrue(Either.isRight(a.switchTo(poolB, Priority.manual)))
  })

  it("a switch keeps the operating system and the zone form of the PRIMARY's pool", () => {
    const a = agent()
    const suse = Pool.make("t3.medium", "us-east-1b", "spot", "suse")
    const byId = Pool.make("t3.medium", "use1-az2")
    assert.deepStrictEqual(SwitchGuards.blockers(a.state, { pool: suse, priority: Priority.manual }).map(SwitchGuards.describe), [
      `${suse} is a suse pool; the agent runs linux (${poolA}) and a switch keeps the operating system`
    ])
    assert.deepStrictEqual(SwitchGuards.blockers(a.state, { pool: byId, priority: Priority.manual }).map(SwitchGuards.describe), [
      `${byId} names its zone by AZ ID; the agent's pool ${poolA} by AZ name`
    ])
    assert.isTrue(Either.isLeft(a.switchTo(suse, Priority.manual)))
    assert.deepStrictEqual(SwitchGuards.blockers(a.state, { pool: Pool.make("m5.large", "us-east-1c"), priority: Priority.manual }), [])
  })

  it("an agent without a PRIMARY has nothing to switch from (and no pool to compare)", () => {
    const a = agent()
    a.apply({ _tag: "ConfirmTerminated", cloudInstanceId: "i-primary", launchPools: [poolB] })
    assert.isUndefined(a.state.instances.find((i) => i.role === "PRIMARY"))
    const blocked = SwitchGuards.blockers({ ...a.state, agent: { ...a.state.agent, flow: null, notice: null } as AgentAggregate["agent"] }, {
      pool: poolA,
      priority: Priority.manual
    })
    assert.deepStrictEqual(blocked.map(SwitchGuards.describe), [`agent ${a.state.agent.id} has no PRIMARY to switch from`])
  })

  it("property: whatever state an agent is in, a switch starts exactly when there is no blocker, else fails with the first", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("replica" as const), pool: fc.constantFrom(...pools), priority: fc.constantFrom(10, 25, 50, 75) }),
      fc.record({ kind: fc.constant("switch" as const), pool: fc.constantFrom(...pools), priority: fc.constantFrom(25, 50, 75) }),
      fc.record({ kind: fc.constant("execute" as const), success: fc.boolean() }),
      fc.record({ kind: fc.constant("notice" as const), termination: fc.boolean() }),
      fc.record({ kind: fc.constant("enabled" as const), on: fc.boolean() }),
      fc.record({ kind: fc.constant("cancel" as const) }),
      fc.record({ kind: fc.constant("tick" as const), seconds: fc.integer({ min: 1, max: 900 }) })
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), fc.constantFrom(...pools), fc.constantFrom(25, 50, 75, 100), (steps, pool, priority) => {
        const a = agent()
        for (const s of steps) {
          switch (s.kind) {
            case "replica":
              a.apply({ _tag: "RequestReplica", pool: s.pool, priority: s.priority })
              break
            case "switch":
              a.apply({ _tag: "Switch", pool: s.pool, priority: s.priority, trigger: "manual" })
              break
            case "execute":
              a.execute(s.success)
              break
            case "notice":
              a.apply({
                _tag: "Notice",
                kind: s.termination ? "termination" : "rebalance",
                cloudInstanceId: a.primaryCloudId(),
                deadline: 10_000_000,
                launchPools: []
              })
              break
            case "enabled":
              a.apply({ _tag: "UpdateConfig", patch: { enabled: s.on } })
              break
            case "cancel":
              a.apply({ _tag: "CancelSwitch" })
              break
            case "tick":
              a.tick(s.seconds * 1000)
              a.apply({ _tag: "Maintain" })
              break
          }
        }
        const blocked = SwitchGuards.blockers(a.state, { pool, priority })
        const result = a.switchTo(pool, priority)
        if (blocked.length === 0) assert.isTrue(Either.isRight(result), `no blocker, yet rejected: ${Either.isLeft(result) ? result.left.message : ""}`)
        else assert.deepStrictEqual(Either.flip(result).pipe(Either.getOrThrow), blocked[0])
      }),
      { numRuns: Number(process.env.SPOTFLEET_PROPERTY_RUNS ?? 300) }
    )
  })
})
