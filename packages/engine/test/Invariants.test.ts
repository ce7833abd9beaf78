/**
 * Property tests of the invariants of docs/DESIGN.md, "Roles and transitions": random interleavings
 * of registrations, launches, confirmations, promotions, demotions, notices, duplicate requests and
 * concurrent writers on several fibers never produce two PRIMARYs, a promoted zombie, a lost or
 * duplicated command, a lost report, or autoSwitch together with manualReplica.
 *
 * The store is wrapped so that every read and write yields to other fibers a random number of
 * times (seeded by fast-check, so failures replay): that turns the fibers into concurrent
 * writers racing on the same aggregates, exactly what optimistic versioning must survive.
 */
import { describe, it } from "@effect/vitest"
import { Context, Effect, Either, Layer, Option, Random, TestClock, TestContext } from "effect"
import * as fc from "fast-check"
import { AgentStore, type AgentStoreService } from "../src/AgentStore.js"
import { CommandResult } from "../src/Command.js"
import * as Engine from "../src/Engine.js"
import type { AgentId, TenantId } from "../src/Ids.js"
import { sequentialIds } from "../src/Ids.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"
import * as StateMachine from "../src/StateMachine.js"

const NUM_RUNS = Number(process.env.SPOTFLEET_PROPERTY_RUNS ?? 2000)
const pools = [Pool.make("t3.medium", "us-east-1a"), Pool.make("t3.medium", "us-east-1b"), Pool.make("m5.large", "us-east-1a")]

const agentIx = fc.integer({ min: 0, max: 1 })
const key = fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined })
const op = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant("register" as const), agent: agentIx, instance: fc.integer({ min: 0, max: 3 }), key }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("replica" as const), agent: agentIx, key }) },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant("poll" as const),
      agent: agentIx,
      act: fc.constantFrom("succeed", "fail", "ignore", "duplicate", "confirm-first"),
      yields: fc.integer({ min: 0, max: 3 })
    })
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("promote" as const), agent: agentIx, pick: fc.nat(5), key }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("notice" as const), agent: agentIx, kind: fc.constantFrom("rebalance" as const, "termination" as const), key }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("reclaim" as const), agent: agentIx, pick: fc.nat(5) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("config" as const),
      agent: agentIx,
      autoSwitch: fc.option(fc.boolean(), { nil: undefined }),
      manualReplica: fc.option(fc.boolean(), { nil: undefined }),
      autoTerminate: fc.option(fc.boolean(), { nil: undefined }),
      key
    })
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("retire" as const), agent: agentIx, pick: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("switch" as const), agent: agentIx, pool: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("remove" as const), agent: agentIx, pick: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("tick" as const), seconds: fc.integer({ min: 1, max: 700 }) }) }
)
type Op = typeof op extends fc.Arbitrary<infer A> ? A : never

const scenario = fc.record({
  fibers: fc.array(fc.array(op, { minLength: 1, maxLength: 12 }), { minLength: 2, maxLength: 4 }),
  seed: fc.integer()
})

/** Everything observed during one run that must never happen. */
class Observer {
  readonly violations: Array<string> = []
  readonly retired = new Set<string>()
  readonly leases = new Map<string, number>()
  readonly reported = new Set<string>()
  readonly idempotent = new Map<string, string>()

  commit(before: StateMachine.AgentAggregate | null, after: StateMachine.AgentAggregate) {
    for (const v of StateMachine.checkInvariants(after)) this.violations.push(v)
    for (const i of after.instances) {
      if (i.role === "PRIMARY" && this.retired.has(i.id)) this.violations.push(`retired instance ${i.id} became PRIMARY`)
      if (i.role === "ZOMBIE" || i.role === "TERMINATED") this.retired.add(i.id)
    }
    if (before !== null) {
      const kept = new Set(after.commands.map((c) => c.id))
      for (const c of before.commands) if (!kept.has(c.id)) this.violations.push(`command ${c.id} lost`)
      const keptInstances = new Set(after.instances.map((i) => i.id))
      for (const i of before.instances) if (!keptInstances.has(i.id)) this.violations.push(`instance ${i.id} lost`)
    }
  }
}

/** The memory store, with every call yielding to other fibers a random number of times. */
const chaoticStore = (observer: Observer) =>
  Layer.effectContext(Effect.gen(function*() {
    const context = yield* MemoryStore.make
    const inner = Context.get(context, AgentStore)
    const jitter = Effect.flatMap(Random.nextIntBetween(0, 4), (n) => Effect.repeatN(Effect.yieldNow(), n))
    const wrapped: AgentStoreService = {
      ...inner,
      load: (id) => Effect.zipRight(jitter, Effect.zipLeft(inner.load(id), jitter)),
      findByLogicalId: (t, l) => Effect.zipRight(jitter, inner.findByLogicalId(t, l)),
      commit: (commit) =>
        Effect.zipRight(
          jitter,
          Effect.tap(inner.commit(commit), () => Effect.sync(() => observer.commit(commit.before, commit.after)))
        )
    }
    return Context.add(context, AgentStore, wrapped)
  }))

const ok = (cloudInstanceId: string | null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })
const failed = CommandResult.make({ success: false, message: "InsufficientInstanceCapacity", cloudInstanceId: null, data: {} })

const runScenario = (fibers: ReadonlyArray<ReadonlyArray<Op>>, seed: number) => {
  const observer = new Observer()
  let launched = 0
  const program = Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const store = yield* AgentStore
    const tenant = yield* engine.createTenant({ name: "prop", tokenHash: "0123456789abcdef0123456789abcdef" })
    const tenantId: TenantId = tenant.id
    const agentOf = (ix: number) =>
      Effect.map(store.findByLogicalId(tenantId, `agent-${ix}`), Option.map((a) => a.agent.id))

    const withAgent = (ix: number, f: (id: AgentId) => Effect.Effect<unknown, unknown>) =>
      Effect.flatMap(agentOf(ix), Option.match({ onNone: () => Effect.void, onSome: f }))

    const pick = (id: AgentId, n: number, roles: ReadonlyArray<string>) =>
      Effect.map(engine.getAgent(tenantId, id), (v) => {
        const candidates = v.instances.filter((i) => roles.includes(i.role))
        return candidates.length === 0 ? undefined : candidates[n % candidates.length]
      })

    /** Duplicate-key requests must return the first answer. */
    const idem = <A>(label: string, k: number | undefined, effect: (key: string | undefined) => Effect.Effect<A, unknown>) => {
      const fullKey = k === undefined ? undefined : `${label}-${k}`
      return Effect.tap(effect(fullKey), (answer) =>
        Effect.sync(() => {
          if (fullKey === undefined) return
          const encoded = JSON.stringify(answer)
          const first = observer.idempotent.get(fullKey)
          if (first === undefined) observer.idempotent.set(fullKey, encoded)
          else if (first !== encoded) observer.violations.push(`key ${fullKey} answered differently`)
        }))
    }

    const step = (o: Op): Effect.Effect<unknown, unknown> => {
      switch (o.k) {
        case "register":
          return idem(`register-${o.agent}-${o.instance}`, o.key, (idempotencyKey) =>
            engine.register(tenantId, {
              logicalAgentId: `agent-${o.agent}`,
              cloudInstanceId: `i-a${o.agent}-${o.instance}`,
              pool: pools[o.instance % pools.length]!
            }, { idempotencyKey }))
        case "replica":
          return withAgent(o.agent, (id) => idem(`replica-${o.agent}`, o.key, (idempotencyKey) => engine.requestReplica(tenantId, id, {}, { idempotencyKey })))
        case "poll":
          return withAgent(o.agent, (id) =>
            Effect.gen(function*() {
              const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
              const commands = yield* engine.pollCommands(tenantId, id)
              for (const c of commands) {
                const lease = observer.leases.get(c.id)
                if (lease !== undefined && lease > now) observer.violations.push(`command ${c.id} delivered twice within its lease`)
                observer.leases.set(c.id, c.leaseExpiresAt ?? 0)
              }
              yield* Effect.repeatN(Effect.yieldNow(), o.yields)
              for (const c of commands) {
                if (o.act === "ignore") continue
                const cloudId = c.type === "LAUNCH_INSTANCE" ? `i-l-${++launched}` : null
                if (o.act === "confirm-first" && cloudId !== null) {
                  yield* Effect.ignore(engine.confirmLaunch(tenantId, id, { commandId: c.id, cloudInstanceId: cloudId }))
                }
                const result = o.act === "fail" ? failed : ok(cloudId)
                const times = o.act === "duplicate" ? 3 : 1
                for (let n = 0; n < times; n++) {
                  const reported = yield* Effect.either(engine.reportResult(tenantId, id, { commandId: c.id, result }))
                  if (Either.isRight(reported)) {
                    observer.reported.add(`${id}/${c.id}`)
                    if (reported.right.status === "pending" || reported.right.status === "delivered") {
                      observer.violations.push(`report of ${c.id} accepted but command still ${reported.right.status}`)
                    }
                  }
                }
              }
            }))
        case "promote":
          return withAgent(o.agent, (id) =>
            Effect.flatMap(pick(id, o.pick, ["REPLICA", "ZOMBIE", "TERMINATED", "LAUNCHING"]), (i): Effect.Effect<unknown, unknown> =>
              i === undefined ? Effect.void : idem(`promote-${i.id}`, o.key, (idempotencyKey) => engine.promote(tenantId, id, i.id, { idempotencyKey }))))
        case "notice":
          return withAgent(o.agent, (id) =>
            Effect.flatMap(pick(id, 0, ["PRIMARY"]), (i): Effect.Effect<unknown, unknown> =>
              i === undefined || i.cloudInstanceId === null
                ? Effect.void
                : idem(`notice-${i.id}-${o.kind}`, o.key, (idempotencyKey) =>
                  engine.notice(tenantId, id, { kind: o.kind, cloudInstanceId: i.cloudInstanceId! }, { idempotencyKey }))))
        case "reclaim":
          return withAgent(o.agent, (id) =>
            Effect.flatMap(pick(id, o.pick, ["PRIMARY", "REPLICA", "ZOMBIE"]), (i): Effect.Effect<unknown, unknown> =>
              i === undefined || i.cloudInstanceId === null
                ? Effect.void
                : engine.confirmTerminated(tenantId, id, { cloudInstanceId: i.cloudInstanceId })))
        case "config": {
          const patch = {
            ...(o.autoSwitch === undefined ? {} : { autoSwitch: o.autoSwitch }),
            ...(o.manualReplica === undefined ? {} : { manualReplica: o.manualReplica }),
            ...(o.autoTerminate === undefined ? {} : { autoTerminate: o.autoTerminate })
          }
          return withAgent(o.agent, (id) => idem(`config-${JSON.stringify(patch)}`, o.key, (idempotencyKey) => engine.updateConfig(tenantId, id, patch, { idempotencyKey })))
        }
        case "retire":
          return withAgent(o.agent, (id) =>
            Effect.flatMap(pick(id, o.pick, ["ZOMBIE", "REPLICA"]), (i): Effect.Effect<unknown, unknown> => i === undefined ? Effect.void : engine.retireZombie(tenantId, id, i.id)))
        case "switch":
          return withAgent(o.agent, (id) => engine.switchPool(tenantId, id, { pool: pools[o.pool]! }))
        case "remove":
          return withAgent(o.agent, (id) =>
            Effect.flatMap(pick(id, o.pick, ["REPLICA", "LAUNCHING"]), (i): Effect.Effect<unknown, unknown> => i === undefined ? Effect.void : engine.removeReplica(tenantId, id, i.id)))
        case "tick":
          return TestClock.adjust(`${o.seconds} seconds`)
      }
    }

    yield* Effect.all(
      fibers.map((ops) =>
        Effect.forEach(ops, (o) =>
          step(o).pipe(
            Effect.catchAll((e) => {
              const tag = (e as { _tag?: string })._tag
              // Typed rejections are fine; anything untyped is a bug.
              return tag === undefined ? Effect.sync(() => observer.violations.push(`untyped failure ${String(e)}`)) : Effect.void
            })
          ), { discard: true })
      ),
      { concurrency: "unbounded", discard: true }
    )

    // Final state: every aggregate consistent, every accepted report settled.
    for (const ix of [0, 1]) {
      const found = yield* store.findByLogicalId(tenantId, `agent-${ix}`)
      if (Option.isNone(found)) continue
      for (const v of StateMachine.checkInvariants(found.value)) observer.violations.push(`final: ${v}`)
      for (const c of found.value.commands) {
        if (observer.reported.has(`${found.value.agent.id}/${c.id}`) && (c.status === "pending" || c.status === "delivered")) {
          observer.violations.push(`report of ${c.id} lost: still ${c.status}`)
        }
      }
    }
  })
  return program.pipe(
    Effect.provide(Engine.layer({ ids: sequentialIds(), leaseSeconds: 300, maxConflictRetries: 64 })),
    Effect.provide(chaoticStore(observer)),
    Effect.withRandom(Random.make(seed)),
    Effect.provide(TestContext.TestContext),
    Effect.as(observer)
  )
}

describe("invariants under random concurrent interleavings", () => {
  it("never two PRIMARYs, a promoted zombie, a lost or duplicated command, a lost report, or autoSwitch with manualReplica", async () => {
    let scenarios = 0
    let conflicts = 0
    await fc.assert(
      fc.asyncProperty(scenario, async ({ fibers, seed }) => {
        const observer = await Effect.runPromise(runScenario(fibers, seed))
        scenarios++
        conflicts += observer.violations.length
        if (observer.violations.length > 0) throw new Error(observer.violations.join("\n"))
      }),
      { numRuns: NUM_RUNS }
    )
    if (scenarios !== NUM_RUNS || conflicts !== 0) throw new Error(`ran ${scenarios} of ${NUM_RUNS} scenarios`)
  }, 300_000)
})
