/**
 * Background jobs (DESIGN.md §3, §9): liveness, zombie retention, the command sweep (expiry,
 * leases, notice deadlines), retention and the unreconciled-instances gauge, plus a runner that runs each job in exactly one
 * process at a time through a `JobLease`. Each job is a plain Effect, so a host can also run it
 * on its own schedule.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Metric, Option, type Scope } from "effect"
import type { Agent } from "./Agent.js"
import { type AgentRef, AgentStore, type ListAgentsOptions, type ListInstancesOptions, type TenantInstance } from "./AgentStore.js"
import { Engine, type EngineFailure } from "./Engine.js"
import type { StoreError } from "./EngineError.js"
import * as EngineMetrics from "./EngineMetrics.js"
import { IdempotencyStore } from "./IdempotencyStore.js"
import { type Instance, isUnreconciled } from "./Instance.js"
import { JobLease, JobRun } from "./JobLease.js"

/** @since 0.1.0 @category metrics */
export const heartbeatsMissed = Metric.counter("spotfleet_heartbeats_missed_total", {
  description: "Agents found without a heartbeat for longer than the offline threshold",
  incremental: true
})

/** Every agent, page by page (keyset on id), so a large fleet is never read at once. */
const eachAgent = <E, R>(
  filter: ListAgentsOptions,
  f: (agent: Agent) => Effect.Effect<void, E, R>
): Effect.Effect<number, E | StoreError, R | AgentStore> =>
  Effect.gen(function*() {
    const store = yield* AgentStore
    let afterId: Agent["id"] | undefined
    let seen = 0
    while (true) {
      const page = yield* store.list(null, { ...filter, afterId, limit: PAGE })
      for (const agent of page) yield* f(agent)
      seen += page.length
      if (page.length < PAGE) return seen
      afterId = page[page.length - 1]!.id
    }
  })

const PAGE = 500

/**
 * Every instance the filter lets through, page by page (keyset on id), through
 * `AgentStore.listInstances`; None when the store does not offer it.
 */
const eachInstance = <E, R>(
  filter: ListInstancesOptions,
  f: (found: TenantInstance) => Effect.Effect<void, E, R>
): Effect.Effect<Option.Option<number>, E | StoreError, R | AgentStore> =>
  Effect.gen(function*() {
    const listInstances = (yield* AgentStore).listInstances
    if (listInstances === undefined) return Option.none()
    let afterId: TenantInstance["instance"]["id"] | undefined
    let seen = 0
    while (true) {
      const page = yield* listInstances(null, { ...filter, afterId, limit: PAGE })
      for (const found of page) yield* f(found)
      seen += page.length
      if (page.length < PAGE) return Option.some(seen)
      afterId = page[page.length - 1]!.instance.id
    }
  })

/**
 * Every agent with a notice or an open command, page by page, through `AgentStore.busyAgents`;
 * None when the store does not offer it.
 */
const eachBusyAgent = <E, R>(
  f: (agent: AgentRef) => Effect.Effect<void, E, R>
): Effect.Effect<Option.Option<number>, E | StoreError, R | AgentStore> =>
  Effect.gen(function*() {
    const busyAgents = (yield* AgentStore).busyAgents
    if (busyAgents === undefined) return Option.none()
    let afterId: AgentRef["agentId"] | undefined
    let seen = 0
    while (true) {
      const page = yield* busyAgents(null, { afterId, limit: PAGE })
      for (const agent of page) yield* f(agent)
      seen += page.length
      if (page.length < PAGE) return Option.some(seen)
      afterId = page[page.length - 1]!.agentId
    }
  })

/**
 * Liveness options.
 *
 * @since 0.1.0
 * @category models
 */
export interface LivenessOptions {
  /** An online agent without a heartbeat for this long goes offline (default 90 s: three missed 30 s heartbeats). */
  readonly offlineAfter?: Duration.DurationInput | undefined
}

/**
 * Marks online agents without a recent heartbeat offline, except those executing a command they
 * were handed (a legacy agent sends no heartbeat while a launch runs for up to 5 minutes; the
 * command's lease bounds that). The next heartbeat brings an agent back online.
 *
 * @since 0.1.0
 * @category jobs
 */
export const liveness = (options: LivenessOptions = {}) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const store = yield* AgentStore
    const now = yield* Clock.currentTimeMillis
    const threshold = now - Duration.toMillis(options.offlineAfter ?? "90 seconds")
    let markedOffline = 0
    let busy = 0
    const checked = yield* eachAgent({ liveness: "online", heartbeatBefore: threshold }, (agent) =>
      Effect.gen(function*() {
        const aggregate = yield* store.load(agent.id)
        if (Option.isNone(aggregate)) return
        const executing = aggregate.value.commands.some((c) => c.status === "delivered" && (c.leaseExpiresAt ?? 0) > now)
        if (executing) {
          busy++
          return
        }
        yield* engine.markOffline(agent.tenantId, agent.id)
        yield* Metric.increment(heartbeatsMissed)
        markedOffline++
      }))
    return { checked, markedOffline, busy }
  })

/**
 * Retires ZOMBIEs demoted longer ago than the retention (default 30 days): ZOMBIE → TERMINATED
 * with a TERMINATE command for the instance. With `AgentStore.listInstances` it reads the ZOMBIE
 * instances in bulk (`checked` counts them); without it, it loads every agent's aggregate
 * (`checked` counts the agents).
 *
 * @since 0.1.0
 * @category jobs
 */
export const zombieRetention = (options: { readonly retention?: Duration.DurationInput | undefined } = {}) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const store = yield* AgentStore
    const now = yield* Clock.currentTimeMillis
    const cutoff = now - Duration.toMillis(options.retention ?? "30 days")
    let retired = 0
    const bulk = yield* eachInstance({ roles: ["ZOMBIE"] }, ({ instance: i, tenantId }) =>
      Effect.gen(function*() {
        if (i.role === "ZOMBIE" && (i.demotedAt ?? now) <= cutoff) {
          yield* engine.retireZombie(tenantId, i.agentId, i.id)
          retired++
        }
      }))
    if (Option.isSome(bulk)) return { checked: bulk.value, retired }
    const checked = yield* eachAgent({}, (agent) =>
      Effect.gen(function*() {
        const aggregate = yield* store.load(agent.id)
        if (Option.isNone(aggregate)) return
        for (const i of aggregate.value.instances) {
          if (i.role === "ZOMBIE" && (i.demotedAt ?? now) <= cutoff) {
            yield* engine.retireZombie(agent.tenantId, agent.id, i.id)
            retired++
          }
        }
      }))
    return { checked, retired }
  })

/**
 * Applies time to every agent with something pending: expires commands, sends commands whose
 * lease ran out back to pending (or fails them), clears passed notice deadlines, and hands out a
 * PROMOTE at deadline − margin. Polls do the same for their own agent; this catches agents that
 * stopped polling. With `AgentStore.busyAgents` it reads only the agents with a notice or an
 * open command (`checked` counts them); without it, it loads every agent's aggregate (`checked`
 * counts every agent).
 *
 * @since 0.1.0
 * @category jobs
 */
export const sweep = Effect.gen(function*() {
  const engine = yield* Engine
  const store = yield* AgentStore
  let maintained = 0
  const bulk = yield* eachBusyAgent(({ agentId, tenantId, version }) =>
    Effect.map(engine.maintain(tenantId, agentId), (after) => {
      if (after.agent.version !== version) maintained++
    }))
  if (Option.isSome(bulk)) return { checked: bulk.value, maintained }
  const checked = yield* eachAgent({}, (agent) =>
    Effect.gen(function*() {
      const aggregate = yield* store.load(agent.id)
      if (Option.isNone(aggregate)) return
      // As `AgentStore.busyAgents` answers: a notice, an open flow, DEGRADED, or an open command.
      const pending = agent.notice !== null || agent.flow !== null || agent.degraded ||
        aggregate.value.commands.some((c) => c.status === "pending" || c.status === "delivered")
      if (!pending) return
      const before = aggregate.value.agent.version
      const after = yield* engine.maintain(agent.tenantId, agent.id)
      if (after.agent.version !== before) maintained++
    }))
  return { checked, maintained }
})

/**
 * Counts the unreconciled instances (`Instance.isUnreconciled`: retired by the engine, still
 * running) and sets the gauges `spotfleet_instances_unreconciled` and
 * `spotfleet_instances_unreconciled_oldest_seconds` (`EngineMetrics`). With
 * `AgentStore.listInstances` it reads only those instances (`checked` counts them); without it,
 * it loads every agent's aggregate (`checked` counts the agents). The gauges live in the process
 * that runs the job: run it as a singleton job, as `standard` does.
 *
 * @since 0.2.0
 * @category jobs
 */
export const unreconciledInstances = Effect.gen(function*() {
  const store = yield* AgentStore
  const now = yield* Clock.currentTimeMillis
  let unreconciled = 0
  let oldestRetiredAt = now
  // Stores that ignore the filter answer more instances: each is checked again.
  const see = (i: Instance) => {
    if (!isUnreconciled(i)) return
    unreconciled++
    oldestRetiredAt = Math.min(oldestRetiredAt, i.terminatedAt ?? now)
  }
  const bulk = yield* eachInstance({ unreconciled: true }, ({ instance }) => Effect.sync(() => see(instance)))
  const checked = Option.isSome(bulk) ? bulk.value : yield* eachAgent({}, (agent) =>
    Effect.map(store.load(agent.id), (aggregate) => {
      if (Option.isSome(aggregate)) for (const i of aggregate.value.instances) see(i)
    }))
  const oldestSeconds = Math.max(0, now - oldestRetiredAt) / 1000
  yield* Metric.set(EngineMetrics.instancesUnreconciled, unreconciled)
  yield* Metric.set(EngineMetrics.unreconciledOldestSeconds, oldestSeconds)
  return { checked, unreconciled, oldestSeconds }
})

/**
 * Drops idempotency records older than the replay window (default 24 h).
 *
 * @since 0.1.0
 * @category jobs
 */
export const retention = (options: { readonly idempotencyWindow?: Duration.DurationInput | undefined } = {}) =>
  Effect.gen(function*() {
    const idempotency = yield* IdempotencyStore
    const now = yield* Clock.currentTimeMillis
    const purged = yield* idempotency.purgeBefore(now - Duration.toMillis(options.idempotencyWindow ?? "24 hours"))
    return { idempotencyRecordsPurged: purged }
  })

/**
 * Drops the record of job runs older than a window (default 7 days).
 *
 * @since 0.1.0
 * @category jobs
 */
export const jobRunRetention = (options: { readonly window?: Duration.DurationInput | undefined } = {}) =>
  Effect.gen(function*() {
    const leases = yield* JobLease
    const now = yield* Clock.currentTimeMillis
    const purged = yield* leases.purgeRuns(now - Duration.toMillis(options.window ?? "7 days"))
    return { jobRunsPurged: purged }
  })

/**
 * A job to run periodically.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobSpec<R> {
  readonly name: string
  readonly every: Duration.DurationInput
  /** What one run does; its result is recorded with the run. */
  readonly run: Effect.Effect<Readonly<Record<string, unknown>>, EngineFailure | StoreError | { readonly _tag: string }, R>
  /** How long a run may hold the job before another process may take it (default: 3 × `every`). */
  readonly leaseTtl?: Duration.DurationInput | undefined
}

/**
 * The lease time of a job: `leaseTtl`, else 3 × `every`.
 *
 * @since 0.1.0
 * @category runners
 */
export const leaseTtlMillis = <R>(spec: JobSpec<R>): number =>
  Duration.toMillis(spec.leaseTtl ?? Duration.times(Duration.decode(spec.every), 3))

/**
 * One tick of a singleton job: take (or renew) the lease, run, record the run. Returns whether it
 * ran here.
 *
 * @since 0.1.0
 * @category runners
 */
export const tick = <R>(spec: JobSpec<R>, holder: string): Effect.Effect<boolean, StoreError, R | JobLease> =>
  Effect.gen(function*() {
    const leases = yield* JobLease
    const now = yield* Clock.currentTimeMillis
    const ttl = leaseTtlMillis(spec)
    const lease = yield* leases.acquire(spec.name, holder, now, ttl)
    if (Option.isNone(lease)) return false
    const outcome = yield* Effect.either(spec.run)
    const finishedAt = yield* Clock.currentTimeMillis
    yield* leases.recordRun(JobRun.make({
      name: spec.name,
      holder,
      fencingToken: lease.value.fencingToken,
      startedAt: now,
      finishedAt,
      outcome: outcome._tag === "Right" ? "succeeded" : "failed",
      detail: outcome._tag === "Right" ? { ...outcome.right } : { error: outcome.left._tag, message: String((outcome.left as { message?: unknown }).message ?? "") }
    }))
    return true
  })

/**
 * Runs a job forever. The holder of the lease runs it once every `every` (renewing the lease each
 * time); the other processes stand by and try for the lease every tenth of the lease time (at
 * most every `every`), so when the holder dies another one takes over soon after its lease runs
 * out. Never fails: a failed run is recorded and the next tick comes; a store outage is logged
 * and retried.
 *
 * @since 0.1.0
 * @category runners
 */
export const runForever = <R>(spec: JobSpec<R>, holder: string): Effect.Effect<never, never, R | JobLease> => {
  const every = Duration.toMillis(spec.every)
  const standby = Math.max(1, Math.min(every, Math.floor(leaseTtlMillis(spec) / 10)))
  return tick(spec, holder).pipe(
    Effect.catchAll((e) => Effect.as(Effect.logWarning(`job ${spec.name}: ${e.message}`), false)),
    Effect.flatMap((ran) => Effect.sleep(Duration.millis(ran ? every : standby))),
    Effect.forever
  )
}

/**
 * Runs every job with `runForever` in fibers of the current scope. When the scope closes (a
 * graceful shutdown) the fibers stop first, then the leases this holder has are released, so
 * another process takes the jobs over at once instead of after the lease time.
 *
 * @since 0.1.0
 * @category runners
 */
export const runScoped = <R>(
  specs: ReadonlyArray<JobSpec<R>>,
  holder: string
): Effect.Effect<void, never, R | JobLease | Scope.Scope> =>
  Effect.gen(function*() {
    const leases = yield* JobLease
    // Added before the fibers are forked: scope finalizers run in reverse, so this runs after
    // every job fiber was interrupted and nothing can take a lease again behind it.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(
        specs,
        (spec) => Effect.catchAll(leases.release(spec.name, holder), (e) => Effect.logWarning(`job ${spec.name}: release failed: ${e.message}`)),
        { discard: true }
      )
    )
    for (const spec of specs) yield* Effect.forkScoped(runForever(spec, holder))
  })

/**
 * The engine's standard jobs with their default periods.
 *
 * @since 0.1.0
 * @category runners
 */
export const standard = (options: {
  readonly liveness?: LivenessOptions | undefined
  readonly zombieRetention?: Duration.DurationInput | undefined
  /** How long the record of job runs is kept (default 7 days). */
  readonly jobRunRetention?: Duration.DurationInput | undefined
} = {}): ReadonlyArray<JobSpec<Engine | AgentStore | IdempotencyStore | JobLease>> => [
  { name: "liveness", every: "15 seconds", run: liveness(options.liveness) },
  { name: "command-sweep", every: "10 seconds", run: sweep },
  { name: "zombie-retention", every: "1 hour", run: zombieRetention({ retention: options.zombieRetention }) },
  { name: "unreconciled-instances", every: "1 minute", run: unreconciledInstances },
  {
    name: "retention",
    every: "1 hour",
    run: Effect.zipWith(retention(), jobRunRetention({ window: options.jobRunRetention }), (a, b) => ({ ...a, ...b }))
  }
]
