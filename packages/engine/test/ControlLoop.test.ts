/**
 * The control loop against a hostile cloud: a fake cloud runs what the agents do, and the agents
 * fail, delay, duplicate and lose every kind of command and report at random, notices arrive (and
 * are re-sent) before, at and after their deadlines, the cloud reclaims instances with or without
 * notice, and the server restarts (a new engine over the same store) in between. The engine only
 * learns what the agents report and what their inventories show.
 *
 * Checked after every step: at most one PRIMARY per agent (and every other aggregate invariant),
 * a retired instance never serves again, no command and no flow open past its TTL. Checked at
 * quiescence, after a few reconcile periods in which the agents work normally: every instance the
 * cloud runs is live in the engine or has an open TERMINATE, every instance the engine has live
 * runs, nothing retired is left unconfirmed, every agent has its PRIMARY (none is left without one
 * while an instance of it runs and could be promoted).
 *
 * `SPOTFLEET_PROPERTY_RUNS` sets the number of scenarios (default 2,000).
 */
import { describe, it } from "@effect/vitest"
import { Clock, Context, Effect, Either, Option, Random } from "effect"
import * as fc from "fast-check"
import { AgentStore } from "../src/AgentStore.js"
import { type Command, CommandResult } from "../src/Command.js"
import * as Engine from "../src/Engine.js"
import type { AgentId, TenantId } from "../src/Ids.js"
import { sequentialIds } from "../src/Ids.js"
import * as Jobs from "../src/Jobs.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"
import * as Savings from "../src/Savings.js"
import * as StateMachine from "../src/StateMachine.js"
import * as Timing from "../src/Timing.js"

const NUM_RUNS = Number(process.env.SPOTFLEET_PROPERTY_RUNS ?? 2000)
const pools = [Pool.make("t3.medium", "us-east-1a"), Pool.make("t3.medium", "us-east-1b"), Pool.make("m5.large", "us-east-1c")]
const AGENTS = [0, 1] as const
/** Agent 0 speaks v1 (it can promote a replica by temporary id); agent 1 declares it cannot, as the v5 agent. */
const metadataOf = (ix: number) => (ix === 0 ? {} : { capabilities: { promoteByTempId: false } })

// -- the fake cloud ---------------------------------------------------------------------------

interface CloudInstance {
  readonly id: string
  readonly pool: Pool.PoolId
  readonly tags: Record<string, string>
  readonly launchedAt: number
  /** The agent whose command launched it (or whose workload it is). */
  readonly launchedFor: number
  state: "running" | "terminated"
  terminatedAt: number | null
  /** The cloud takes it at this time (a termination notice was given). */
  reclaimAt: number | null
}

class FakeCloud {
  readonly instances = new Map<string, CloudInstance>()
  private seq = 0
  /** Reclaimed instances whose agent has not said so yet. */
  readonly reclaimed: Array<{ agent: number; id: string }> = []

  launch(pool: Pool.PoolId, tags: Record<string, string>, now: number, agent: number): CloudInstance {
    const instance: CloudInstance = {
      id: `i-${(++this.seq).toString(16).padStart(8, "0")}`,
      pool,
      tags,
      launchedAt: now,
      launchedFor: agent,
      state: "running",
      terminatedAt: null,
      reclaimAt: null
    }
    this.instances.set(instance.id, instance)
    return instance
  }

  terminate(id: string, now: number): boolean {
    const instance = this.instances.get(id)
    if (instance === undefined) return false
    if (instance.state === "running") {
      instance.state = "terminated"
      instance.terminatedAt = now
    }
    return true
  }

  /** Takes every instance whose reclaim time has come. */
  reclaimDue(now: number) {
    for (const instance of this.instances.values()) {
      if (instance.state === "running" && instance.reclaimAt !== null && instance.reclaimAt <= now) {
        this.terminate(instance.id, now)
        this.reclaimed.push({ agent: instance.launchedFor, id: instance.id })
      }
    }
  }

  running(): ReadonlyArray<CloudInstance> {
    return [...this.instances.values()].filter((i) => i.state === "running")
  }

  /** What an agent's inventory shows: every instance of the account, terminated ones included. */
  inventory(): ReadonlyArray<StateMachine.InventoryItem> {
    return [...this.instances.values()].map((i) => ({
      cloudInstanceId: i.id,
      state: i.state,
      pool: i.pool,
      tags: i.tags,
      launchedAt: i.launchedAt
    }))
  }
}

// -- what happens, at random ------------------------------------------------------------------

/** What an agent does with one command it was handed. */
const Act = fc.constantFrom("ok", "ok", "ok", "ok-lose", "ok-delay", "ok-dup", "fail", "fail-lose", "ignore", "twice")
type Act = typeof Act extends fc.Arbitrary<infer A> ? A : never

const agentIx = fc.constantFrom(...AGENTS)
const op = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant("poll" as const),
      agent: agentIx,
      acts: fc.array(Act, { minLength: 1, maxLength: 3 }),
      token: fc.boolean(),
      confirmFirst: fc.boolean(),
      // The cloud refuses terminations for a while (a permissions problem, say).
      terminateFails: fc.boolean()
    })
  },
  { weight: 5, arbitrary: fc.record({ k: fc.constant("heartbeat" as const), agent: agentIx, inventory: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("notice" as const), agent: agentIx, lead: fc.integer({ min: -30, max: 150 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("resend" as const), agent: agentIx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("unnoticed" as const), agent: agentIx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("reclaimed" as const), lose: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("late" as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("tick" as const), seconds: fc.integer({ min: 1, max: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("restart" as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("switch" as const), agent: agentIx, pool: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("replica" as const), agent: agentIx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("remove" as const), agent: agentIx }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("config" as const),
      agent: agentIx,
      autoTerminate: fc.boolean(),
      manualReplica: fc.boolean(),
      terminateWaitSeconds: fc.constantFrom(0, 0, 300)
    })
  }
)
type Op = typeof op extends fc.Arbitrary<infer A> ? A : never

const scenario = fc.record({ ops: fc.array(op, { minLength: 5, maxLength: 60 }), seed: fc.integer() })
const replay = process.env.SPOTFLEET_REPLAY === undefined ? undefined : JSON.parse(process.env.SPOTFLEET_REPLAY) as { ops: Array<Op>; seed: number }

/** Reconcile periods of normal work at the end: long enough for the orphan grace and the terminate wait. */
const ROUND_SECONDS = 240
const QUIESCENCE_ROUNDS = Math.ceil(
  Math.max(Timing.commandTtlSeconds.LAUNCH_INSTANCE, Timing.reconcile.orphanGraceSeconds + 300) / ROUND_SECONDS
) + 3

const flowTtlMillis = Timing.flowTtlSeconds * 1000

/**
 * A clock only the scenario moves. (TestClock's `adjust` waits on the real clock for fibers to
 * settle, which made the scenarios mostly idle; here there is one fiber and nothing sleeps.)
 */
const manualClock = () => {
  let millis = Date.UTC(2026, 0, 1)
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => millis,
    currentTimeMillis: Effect.sync(() => millis),
    unsafeCurrentTimeNanos: () => BigInt(millis) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(millis) * 1_000_000n),
    sleep: () => Effect.die("nothing sleeps in these scenarios")
  }
  return { clock, advance: (seconds: number) => Effect.sync(() => void (millis += seconds * 1000)) }
}

/** What the scenarios made happen, summed over a run of the property (so a vacuous run shows). */
const coverage = new Map<string, number>()
const count = (what: string) => coverage.set(what, (coverage.get(what) ?? 0) + 1)

const runScenario = (ops: ReadonlyArray<Op>, seed: number) => {
  const violations: Array<string> = []
  const time = manualClock()
  const program = Effect.gen(function*() {
    const stores = yield* MemoryStore.make
    const store = Context.get(stores, AgentStore)
    const ids = sequentialIds()
    const startEngine = Effect.provide(Engine.make({ ids, maxConflictRetries: 64 }), stores)
    let engine = yield* startEngine
    const now = () => Effect.clockWith((c) => c.currentTimeMillis)
    const cloud = new FakeCloud()
    const tenant = yield* engine.createTenant({ name: "loop", tokenHash: "0123456789abcdef0123456789abcdef" })
    const tenantId: TenantId = tenant.id
    const agentIds: Array<AgentId> = []
    const retired = new Set<string>()
    /** Reports an agent will send later (delayed), in the order they were made. */
    const delayed: Array<Effect.Effect<unknown, unknown>> = []
    /** Per agent, the termination notices the cloud gave: instance → termination time. */
    const notices = AGENTS.map(() => new Map<string, number>())
    /** Per agent, temporary launch ids → cloud ids, as the agent remembers them. */
    const launchedByTemp = AGENTS.map(() => new Map<string, string>())
    /**
     * What the engine was told about each cloud instance, and when (accepted calls only): the
     * first time it was named running (a launch report, an inventory listing it), and every time
     * its end was reported (a TERMINATE or reclaim report, an inventory listing it terminated).
     */
    const toldRunning = new Map<string, number>()
    const toldGone = new Map<string, Array<number>>()
    const tellRunning = (id: string, at: number) => {
      if (!toldRunning.has(id)) toldRunning.set(id, at)
    }
    const tellGone = (id: string, at: number) => toldGone.set(id, [...(toldGone.get(id) ?? []), at])
    const scenarioStart = yield* now()

    for (const ix of AGENTS) {
      const boot = cloud.launch(pools[ix]!, { ManagedBy: "spotfleet" }, yield* now(), ix)
      const registered = yield* engine.register(tenantId, {
        logicalAgentId: `agent-${ix}`,
        cloudInstanceId: boot.id,
        pool: boot.pool,
        metadata: metadataOf(ix)
      })
      agentIds.push(registered.agent.id)
      tellRunning(boot.id, yield* now())
    }

    const load = (ix: number) => Effect.map(store.load(agentIds[ix]!), Option.getOrThrow)

    const check = (label: string) =>
      Effect.gen(function*() {
        const t = yield* now()
        for (const ix of AGENTS) {
          const aggregate = yield* load(ix)
          for (const v of StateMachine.checkInvariants(aggregate)) {
            violations.push(`${label}: ${v}`)
            if (process.env.SPOTFLEET_DEBUG) violations.push(JSON.stringify({ flow: aggregate.agent.flow, notice: aggregate.agent.notice, instances: aggregate.instances.map((i) => [i.id, i.role, i.cloudInstanceId]), commands: aggregate.commands.map((c) => [c.id, c.type, c.status, c.flowId, c.instanceId, c.createdAt, c.expiresAt]) }))
          }
          for (const i of aggregate.instances) {
            if (i.role === "PRIMARY" && retired.has(i.id)) violations.push(`${label}: retired instance ${i.id} became PRIMARY`)
            if (i.role === "ZOMBIE" || i.role === "TERMINATED") retired.add(i.id)
          }
          const flow = aggregate.agent.flow
          if (flow !== null && flow.startedAt + flowTtlMillis <= t) violations.push(`${label}: flow ${flow.id} open past its TTL`)
          for (const c of aggregate.commands) {
            if ((c.status === "pending" || c.status === "delivered") && (c.expiresAt === null || c.expiresAt <= t)) {
              violations.push(`${label}: command ${c.id} (${c.type}) open past its TTL (expires ${c.expiresAt}, now ${t})`)
            }
          }
        }
      })

    const report = (ix: number, c: Command, result: CommandResult) =>
      Effect.tap(engine.reportResult(tenantId, agentIds[ix]!, { commandId: c.id, result }), () =>
        Effect.map(now(), (t) => {
          if (!result.success) return
          if (c.type === "LAUNCH_INSTANCE" && result.cloudInstanceId !== null) tellRunning(result.cloudInstanceId, t)
          if (c.type === "TERMINATE_INSTANCE") tellGone(String(c.params.instance_id), t)
        }))
    const success = (cloudInstanceId: string | null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })
    const failure = (message: string) => CommandResult.make({ success: false, message, cloudInstanceId: null, data: {} })

    /** The cloud effect of a command, and the report the agent would send (null: it cannot act). */
    const execute = (ix: number, c: Command, token: boolean, confirmFirst: boolean, times: number) =>
      Effect.gen(function*() {
        const t = yield* now()
        switch (c.type) {
          case "LAUNCH_INSTANCE": {
            const target = String(c.params.target_pool ?? "")
            const pool = (target.startsWith("spot:") ? target.slice("spot:".length) : target) as Pool.PoolId
            const temp = String(c.params.temp_instance_id)
            let first: CloudInstance | undefined
            for (let n = 0; n < times; n++) {
              const tags: Record<string, string> = { ManagedBy: "SpotOptimizer", Role: String(c.params.role_hint) }
              if (token) tags["spotfleet:launch-token"] = temp
              const launched = cloud.launch(pool, tags, t, ix)
              first ??= launched
            }
            launchedByTemp[ix]!.set(temp, first!.id)
            if (confirmFirst) {
              const confirmed = yield* Effect.either(engine.confirmLaunch(tenantId, agentIds[ix]!, { tempInstanceId: temp, cloudInstanceId: first!.id }))
              if (Either.isRight(confirmed)) tellRunning(first!.id, t)
            }
            return success(first!.id)
          }
          case "TERMINATE_INSTANCE": {
            const id = String(c.params.instance_id)
            cloud.terminate(id, t)
            return success(null)
          }
          case "PROMOTE_REPLICA_TO_PRIMARY": {
            const named = c.params.replica_instance_id
            const cloudId = typeof named === "string"
              ? named
              : ix === 0 && typeof c.params.temp_instance_id === "string"
              ? launchedByTemp[ix]!.get(c.params.temp_instance_id)
              : undefined
            const target = cloudId === undefined ? undefined : cloud.instances.get(cloudId)
            if (target === undefined || target.state !== "running") return failure("replica not running")
            return success(typeof named === "string" ? null : cloudId!)
          }
          default:
            return success(null)
        }
      })

    const poll = (ix: number, acts: ReadonlyArray<Act>, token: boolean, confirmFirst: boolean, terminateFails = false) =>
      Effect.gen(function*() {
        const commands = yield* engine.pollCommands(tenantId, agentIds[ix]!)
        for (let n = 0; n < commands.length; n++) {
          const c = commands[n]!
          const act = terminateFails && c.type === "TERMINATE_INSTANCE" ? "fail" : acts[n % acts.length]!
          if (act === "ignore") continue
          if (act === "fail" || act === "fail-lose") {
            if (act === "fail") yield* Effect.ignore(report(ix, c, failure("InsufficientInstanceCapacity")))
            continue
          }
          const result = yield* execute(ix, c, token, confirmFirst, act === "twice" ? 2 : 1)
          const send = Effect.ignore(report(ix, c, result))
          if (act === "ok-lose") continue
          if (act === "ok-delay") delayed.push(send)
          else yield* act === "ok-dup" ? Effect.zipRight(send, send) : send
        }
      })

    const heartbeat = (ix: number, inventory: boolean) =>
      Effect.zipRight(
        Effect.ignore(engine.heartbeat(tenantId, agentIds[ix]!)),
        inventory
          ? Effect.gen(function*() {
            const listed = cloud.inventory()
            const t = yield* now()
            const done = yield* Effect.either(engine.reconcileInventory(tenantId, agentIds[ix]!, { instances: listed }))
            if (Either.isLeft(done)) return
            // An inventory tells only the agent that sent it: what its aggregate holds afterwards.
            const known = new Set(done.right.instances.flatMap((i) => (i.cloudInstanceId === null ? [] : [i.cloudInstanceId])))
            for (const i of listed) {
              if (!known.has(i.cloudInstanceId)) continue
              if (i.state === "running") tellRunning(i.cloudInstanceId, t)
              else tellGone(i.cloudInstanceId, t)
            }
          })
          : Effect.void
      )

    const sendNotices = (ix: number) =>
      Effect.forEach([...notices[ix]!], ([cloudInstanceId, at]) =>
        Effect.ignore(engine.notice(tenantId, agentIds[ix]!, { kind: "termination", cloudInstanceId, deadline: at })), { discard: true })

    const reportReclaims = (lose: boolean) =>
      Effect.gen(function*() {
        const due = cloud.reclaimed.splice(0)
        if (lose) return
        for (const { agent, id } of due) {
          const done = yield* Effect.either(engine.confirmTerminated(tenantId, agentIds[agent]!, { cloudInstanceId: id }))
          if (Either.isRight(done)) tellGone(id, yield* now())
        }
      })

    const tick = (seconds: number) =>
      Effect.gen(function*() {
        yield* time.advance(seconds)
        cloud.reclaimDue(yield* now())
        yield* Effect.provide(Jobs.sweep, Context.add(stores, Engine.Engine, engine))
      })

    const primaryCloudId = (ix: number) =>
      Effect.map(load(ix), (a) => a.instances.find((i) => i.role === "PRIMARY")?.cloudInstanceId ?? null)

    const step = (o: Op): Effect.Effect<unknown, unknown> => {
      switch (o.k) {
        case "poll":
          return poll(o.agent, o.acts, o.token, o.confirmFirst, o.terminateFails)
        case "heartbeat":
          return heartbeat(o.agent, o.inventory)
        case "notice":
          return Effect.gen(function*() {
            const id = yield* primaryCloudId(o.agent)
            const instance = id === null ? undefined : cloud.instances.get(id)
            if (instance === undefined || instance.state !== "running" || instance.reclaimAt !== null) return
            instance.reclaimAt = (yield* now()) + Math.max(0, o.lead) * 1000
            // A negative lead: the notice itself names a time already past (skew, a late copy).
            notices[o.agent]!.set(instance.id, (yield* now()) + o.lead * 1000)
            yield* sendNotices(o.agent)
          })
        case "resend":
          return sendNotices(o.agent)
        case "unnoticed":
          return Effect.gen(function*() {
            // The cloud takes an instance of the agent without any notice.
            const running = cloud.running().filter((i) => i.launchedFor === o.agent)
            const victim = running[(yield* Random.nextIntBetween(0, Math.max(1, running.length)))]
            if (victim !== undefined) victim.reclaimAt = yield* now()
          })
        case "reclaimed":
          return reportReclaims(o.lose)
        case "late":
          return delayed.length === 0 ? Effect.void : delayed.splice(o.pick % delayed.length, 1)[0]!
        case "tick":
          return tick(o.seconds)
        case "restart":
          return Effect.map(startEngine, (fresh) => {
            engine = fresh
          })
        case "switch":
          return Effect.ignore(engine.switchPool(tenantId, agentIds[o.agent]!, { pool: pools[o.pool]! }))
        case "replica":
          return Effect.ignore(engine.requestReplica(tenantId, agentIds[o.agent]!, {}))
        case "remove":
          return Effect.gen(function*() {
            const replica = (yield* load(o.agent)).instances.find((i) => i.role === "REPLICA" || i.role === "LAUNCHING")
            if (replica !== undefined) yield* Effect.ignore(engine.removeReplica(tenantId, agentIds[o.agent]!, replica.id))
          })
        case "config":
          return Effect.ignore(engine.updateConfig(tenantId, agentIds[o.agent]!, {
            autoTerminate: o.autoTerminate,
            manualReplica: o.manualReplica,
            terminateWaitSeconds: o.terminateWaitSeconds
          }))
      }
    }

    for (const [n, o] of ops.entries()) {
      const outcome = yield* Effect.either(step(o))
      if (Either.isLeft(outcome)) {
        const tag = (outcome.left as { _tag?: string })._tag
        if (tag === undefined) violations.push(`step ${n} (${o.k}): untyped failure ${String(outcome.left)}`)
      }
      yield* check(`step ${n} (${o.k})`)
      if (violations.length > 0) return violations
    }

    // Quiescence: the cloud keeps its promises, agents work normally, reports arrive.
    for (const send of delayed.splice(0)) yield* send
    for (let round = 0; round < QUIESCENCE_ROUNDS; round++) {
      yield* tick(ROUND_SECONDS)
      yield* reportReclaims(false)
      for (const ix of AGENTS) {
        yield* heartbeat(ix, true)
        for (let n = 0; n < 6; n++) yield* poll(ix, ["ok"], round % 2 === 0, false)
      }
      yield* check(`quiescence round ${round}`)
      if (violations.length > 0) return violations
    }

    const aggregates = yield* Effect.forEach(AGENTS, load)
    const events = yield* engine.events(tenantId, { afterId: 0, limit: 100_000 })
    for (const e of events) {
      const d = e.data as Record<string, unknown>
      if (e.type === "InstanceAdopted") count(`adopted as ${d.as} by ${d.matchedBy}`)
      else if (e.type === "TerminationRetried") count("termination retried")
      else if (e.type === "TerminationConfirmed") count(`termination confirmed: ${d.how}`)
      else if (e.type === "AgentDegraded") count("agent degraded")
      else if (e.type === "EmergencyPromotion" && d.step === undefined) count(`emergency promotion${d.beforeDeadline === true ? "" : " (late)"}`)
      else if (e.type === "FlowFinished" && typeof d.reason === "string" && d.reason.startsWith("open longer")) count("flow closed by its TTL")
      else if (e.type === "CommandExpired") count(`command expired: ${d.type}`)
      else if (e.type === "NoticeReceived") count("notice received")
    }
    const live = new Map<string, string>()
    const terminating = new Set<string>()
    for (const a of aggregates) {
      for (const i of a.instances) {
        if (i.cloudInstanceId === null) continue
        if (i.role === "PRIMARY" || i.role === "REPLICA" || i.role === "ZOMBIE") live.set(i.cloudInstanceId, i.role)
        if (a.commands.some((c) => c.type === "TERMINATE_INSTANCE" && c.instanceId === i.id && (c.status === "pending" || c.status === "delivered"))) {
          terminating.add(i.cloudInstanceId)
        }
        if (i.role === "TERMINATED" && i.terminationConfirmedAt === null && !terminating.has(i.cloudInstanceId)) {
          violations.push(`quiescent: ${i.cloudInstanceId} retired, still unconfirmed and nothing terminates it`)
        }
      }
      const primaries = a.instances.filter((i) => i.role === "PRIMARY")
      if (primaries.length !== 1 || a.agent.degraded) violations.push(`quiescent: agent ${a.agent.logicalAgentId} has ${primaries.length} PRIMARY (degraded: ${a.agent.degraded})`)
    }
    for (const running of cloud.running()) {
      if (!live.has(running.id) && !terminating.has(running.id)) {
        violations.push(`quiescent: the cloud runs ${running.id} (${JSON.stringify(running.tags)}), which the engine neither has live nor terminates`)
      }
    }
    for (const [id, role] of live) {
      if (cloud.instances.get(id)?.state !== "running") violations.push(`quiescent: the engine has ${id} as ${role}, the cloud does not run it`)
    }

    // Spend against the cloud's run log. The engine counts an instance from when it learned it
    // ran (no later than the first report or inventory that named it running; an adopted orphan
    // from its launch) until it learned it is gone (no earlier than the cloud stopped it, no later
    // than the first report or inventory that said so once the engine knew it): so its spend lies
    // between the run log clipped to what it was told, and the run log widened to it.
    const end = yield* now()
    const intervals = aggregates.flatMap((a) => Savings.runningIntervals(a, end))
    const SPOT = 0.1
    const ON_DEMAND = 0.4
    const priceOf = (pool: string) => (pool.startsWith("ondemand:") ? ON_DEMAND : SPOT)
    const hours = (from: number, to: number) => Math.max(0, to - from) / 3_600_000
    let lower = 0
    let upper = 0
    for (const interval of intervals) {
      const record = aggregates.flatMap((a) => a.instances).find((i) => i.id === interval.instanceId)!
      const ran = cloud.instances.get(record.cloudInstanceId!)
      if (ran === undefined) {
        violations.push(`savings: the engine counts ${record.cloudInstanceId}, which the cloud never ran`)
        continue
      }
      const stopped = Math.min(ran.terminatedAt ?? end, end)
      const told = toldRunning.get(ran.id) ?? end
      const goneTold = (toldGone.get(ran.id) ?? []).find((t) => t >= told) ?? end
      if (interval.start < ran.launchedAt || interval.start > told) {
        violations.push(`savings: ${ran.id} counted from ${interval.start}, launched ${ran.launchedAt}, first named running ${told}`)
      }
      if (interval.end < stopped || interval.end > goneTold) {
        violations.push(`savings: ${ran.id} counted until ${interval.end}, stopped ${stopped}, first reported gone ${goneTold}`)
      }
      lower += priceOf(ran.pool) * hours(told, stopped)
      upper += priceOf(ran.pool) * hours(ran.launchedAt, Math.min(goneTold, end))
    }
    const savings = Savings.accrue(intervals, {
      spot: () => [{ at: 0, price: SPOT }],
      onDemand: () => [{ at: 0, price: ON_DEMAND }]
    }, { from: scenarioStart, to: end })
    const { baselineCost, netSavings } = savings.total
    const epsilon = 1e-9
    if (netSavings > baselineCost - lower + epsilon || netSavings < baselineCost - upper - epsilon) {
      violations.push(`savings: net ${netSavings} outside [${baselineCost - upper}, ${baselineCost - lower}] from the cloud's run log`)
      if (process.env.SPOTFLEET_DEBUG) {
        violations.push(JSON.stringify({ baselineCost, spend: savings.total.actualCost, lower, upper, intervals, cloud: [...cloud.instances.values()].map((i) => [i.id, i.pool, i.launchedAt, i.terminatedAt]) }))
      }
    }
    return violations
  })
  return program.pipe(
    Effect.withRandom(Random.make(seed)),
    Effect.withClock(time.clock)
  )
}

describe("the control loop against a hostile cloud", () => {
  it("keeps one PRIMARY, no command or flow past its TTL, and ends with the cloud and the engine agreeing", async () => {
    let scenarios = 0
    await fc.assert(
      fc.asyncProperty(replay === undefined ? scenario : fc.constant(replay), async ({ ops, seed }) => {
        const violations = await Effect.runPromise(runScenario(ops, seed))
        // Let the test runner's own messages through between scenarios (a long synchronous run
        // starves its worker of the event loop).
        await new Promise((resolve) => setImmediate(resolve))
        scenarios++
        if (violations.length > 0) throw new Error(violations.join("\n"))
      }),
      { numRuns: NUM_RUNS }
    )
    if (scenarios < NUM_RUNS) throw new Error(`ran ${scenarios} of ${NUM_RUNS} scenarios`)
    console.log(`control loop, ${scenarios} scenarios:\n${[...coverage].sort().map(([k, v]) => `  ${k}: ${v}`).join("\n")}`)
    // The cases the loop exists for must have happened, or the scenarios prove nothing.
    for (const needed of ["adopted as zombie by tags", "adopted as replica by pool", "adopted as replica by token", "termination retried", "termination confirmed: inventory", "agent degraded"]) {
      if ((coverage.get(needed) ?? 0) === 0 && NUM_RUNS >= 2000) throw new Error(`no scenario had: ${needed}`)
    }
  }, 600_000)
})
