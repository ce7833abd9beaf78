/**
 * The automatic-switch decision loop (docs/DESIGN.md, "Switching"): for every agent with
 * `autoSwitch` on, build the features from the price tiers and the pool ledger, ask the model
 * within its time budget, check the guard rails, and queue a switch (priority 50 when confident,
 * else 25) when every guard passes and the tenant is not in dry-run. Every decision is logged,
 * acted on or not.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Either, Metric, MetricBoundaries, Option } from "effect"
import type { Agent } from "./Agent.js"
import { AgentStore } from "./AgentStore.js"
import { Priority } from "./Command.js"
import { DecisionLog, DecisionRecord, GuardVerdict } from "./DecisionLog.js"
import { Candidate, DecisionModel, decideWithin, Features, riskOf } from "./DecisionModel.js"
import { Engine, type AgentView } from "./Engine.js"
import * as GuardRails from "./GuardRails.js"
import { type Interruption, InterruptionData } from "./InterruptionData.js"
import { ModelRouter } from "./ModelRegistry.js"
import type { Instance } from "./Instance.js"
import * as Pool from "./Pool.js"
import { interruptionsPerDay, type Ledger } from "./PoolLedger.js"
import type { OnDemandPrice, PriceSnapshot } from "./Pricing.js"
import { PriceStore } from "./PriceStore.js"
import * as SwitchHistory from "./SwitchHistory.js"
import { TenantStore } from "./TenantStore.js"

/** @since 0.1.0 @category metrics */
export const decisionSeconds = Metric.histogram(
  "spotfleet_ml_decision_seconds",
  MetricBoundaries.fromIterable([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.45, 0.5, 1]),
  "Time to a switch decision: features built and the model asked (budget 0.45 s)"
)

/** @since 0.1.0 @category metrics */
export const decisions = Metric.counter("spotfleet_ml_decisions_total", {
  description: "Switch decisions by model and action",
  incremental: true
})

const HOUR = 3_600_000
const DAY = 24 * HOUR

/**
 * Builds the model's features for one agent from raw prices of the last 24 hours.
 *
 * @since 0.1.0
 * @category features
 */
export const buildFeatures = (args: {
  readonly view: AgentView
  readonly now: number
  /** Snapshots of the current pool and the candidate pools, any order. */
  readonly snapshots: ReadonlyArray<PriceSnapshot>
  readonly onDemand: ReadonlyArray<OnDemandPrice>
  readonly ledger: Ledger
  /** The interruption band of each pool the cloud knows (`InterruptionData`); others are null. */
  readonly interruptions?: ReadonlyMap<string, Interruption> | undefined
}): Features | null => {
  const primary = args.view.instances.find((i) => i.role === "PRIMARY")
  if (primary === undefined) return null
  const parts = Pool.parse(primary.pool)
  if (Either.isLeft(parts)) return null
  const latest = new Map<string, PriceSnapshot>()
  const series = new Map<string, Array<number>>()
  for (const s of args.snapshots) {
    const prev = latest.get(s.pool)
    if (prev === undefined || s.observedAt > prev.observedAt) latest.set(s.pool, s)
    if (s.observedAt >= args.now - DAY) (series.get(s.pool) ?? series.set(s.pool, []).get(s.pool)!).push(s.price)
  }
  const current = latest.get(primary.pool)
  // Stored on-demand prices are Linux/UNIX prices.
  const onDemand = parts.right.product === "linux"
    ? args.onDemand.find((p) => p.instanceType === parts.right.instanceType && p.region === parts.right.region)
    : undefined
  const currentPrice = primary.lifecycle === "on-demand" ? onDemand?.price : current?.price
  if (currentPrice === undefined) return null
  const prices = series.get(primary.pool) ?? []
  const mean = prices.length === 0 ? 0 : prices.reduce((a, b) => a + b, 0) / prices.length
  const sd = prices.length === 0 ? 0 : Math.sqrt(prices.reduce((a, b) => a + (b - mean) ** 2, 0) / prices.length)
  const candidates: Array<Candidate> = []
  for (const [pool, snapshot] of latest) {
    if (pool === primary.pool) continue
    const record = args.ledger.pools.get(snapshot.pool)
    candidates.push(Candidate.make({
      pool: snapshot.pool,
      price: snapshot.price,
      medianBootSeconds: record?.medianBootSeconds ?? null,
      interruptionsPerDay: record === undefined ? 0 : interruptionsPerDay(record, args.now),
      interruptionBand: args.interruptions?.get(snapshot.pool)?.band ?? null
    }))
  }
  return Features.make({
    layoutVersion: 1,
    agentId: args.view.agent.id,
    currentPool: primary.pool,
    currentPrice,
    onDemandPrice: onDemand?.price ?? null,
    volatility: mean > 0 ? sd / mean : 0,
    hoursInPool: (args.now - (primary.promotedAt ?? primary.launchConfirmedAt ?? primary.createdAt)) / HOUR,
    noticeInProgress: args.view.agent.notice !== null,
    candidates
  })
}

/**
 * Options of one pass of the loop.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** Log decisions without queuing anything, whatever the tenants' settings. */
  readonly dryRun?: boolean | undefined
  /** The model's time budget (default 450 ms). */
  readonly budget?: Duration.DurationInput | undefined
  readonly confidenceThreshold?: number | undefined
}

/**
 * What one pass did.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunSummary {
  readonly agents: number
  readonly decisions: number
  readonly switches: number
  readonly wouldSwitch: number
  readonly timeouts: number
}

const candidatesOf = (pools: ReadonlyArray<Pool.PoolId>, primary: Instance) => {
  const parts = Pool.parse(primary.pool)
  if (Either.isLeft(parts)) return []
  return pools.filter((p) => {
    const q = Pool.parse(p)
    return Either.isRight(q) && q.right.instanceType === parts.right.instanceType && Pool.canMoveTo(parts.right, q.right) &&
      q.right.lifecycle === "spot"
  })
}

/**
 * One pass over every agent with `autoSwitch` on.
 *
 * @since 0.1.0
 * @category loop
 */
export const runOnce = (options: RunOptions = {}) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const agents = yield* AgentStore
    const prices = yield* PriceStore
    const model = yield* DecisionModel
    // With a registry router: the agent's A/B or active version acts, shadow versions only log.
    const router = yield* Effect.serviceOption(ModelRouter)
    const log = yield* DecisionLog
    // Interruption bands when an InterruptionData service is provided; without one they are unknown.
    const interruptionData = yield* Effect.serviceOption(InterruptionData)
    const interruptions = new Map<string, Interruption>()
    const bandOf = (pool: string | null) =>
      Effect.gen(function*() {
        if (pool === null || Option.isNone(interruptionData)) return undefined
        if (!interruptions.has(pool)) {
          const found = yield* interruptionData.value.forPool(pool)
          if (Option.isSome(found)) interruptions.set(pool, found.value)
        }
        return interruptions.get(pool)
      })
    const tenants = yield* TenantStore
    const now = yield* Clock.currentTimeMillis
    const ledger = yield* engine.poolLedger
    const onDemand = yield* prices.onDemandPrices
    const recentPools = yield* prices.snapshotPools({ from: now - HOUR, to: now + 1 })
    const summary = { agents: 0, decisions: 0, switches: 0, wouldSwitch: 0, timeouts: 0 }
    // One pass reads each pool set and each tenant once, however many agents share them.
    const snapshotsOf = new Map<string, ReadonlyArray<PriceSnapshot>>()
    const dryRunOf = new Map<string, boolean>()
    let afterId: Agent["id"] | undefined
    while (true) {
      // Only the agents with automatic switching on (checked again below all the same).
      const page = yield* agents.list(null, { autoSwitch: true, afterId, limit: 500 })
      for (const agent of page) {
        if (!agent.config.autoSwitch) continue
        summary.agents++
        const started = yield* Clock.currentTimeMillis
        const view = yield* engine.getAgent(agent.tenantId, agent.id)
        const primary = view.instances.find((i) => i.role === "PRIMARY")
        if (primary === undefined) continue
        const pools = [primary.pool, ...candidatesOf(recentPools, primary)]
        const poolKey = pools.join(",")
        let snapshots = snapshotsOf.get(poolKey)
        if (snapshots === undefined) {
          snapshots = yield* prices.snapshots({ from: now - DAY, to: now + 1, pools })
          snapshotsOf.set(poolKey, snapshots)
        }
        for (const pool of pools) yield* bandOf(pool)
        const features = buildFeatures({ view, now, snapshots, onDemand, ledger, interruptions })
        if (features === null) continue
        // The risk the workload bears where it is: a target no riskier than this passes the risk guard.
        const currentRecord = ledger.pools.get(primary.pool)
        const currentRisk = primary.lifecycle === "on-demand" ? 0 : riskOf(Candidate.make({
          pool: primary.pool,
          price: features.currentPrice,
          medianBootSeconds: null,
          interruptionsPerDay: currentRecord === undefined ? 0 : interruptionsPerDay(currentRecord, now),
          interruptionBand: interruptions.get(primary.pool)?.band ?? null
        }))
        const routed = Option.isSome(router) ? yield* router.value.route(agent.id) : { acting: null, shadows: [] }
        const acting = routed.acting?.model ?? model
        const timed = yield* decideWithin(acting, features, options.budget)
        const history = yield* engine.switches(agent.tenantId, { agentId: agent.id, since: now - 7 * DAY })
        const counted = history.filter((r) => r.trigger !== "emergency")
        const guardContext = (threshold: number | undefined, target: Interruption | undefined): GuardRails.GuardContext => ({
          config: view.agent.config,
          confidenceThreshold: options.confidenceThreshold ?? threshold,
          switchesLastDay: SwitchHistory.countSince(counted, agent.id, now - DAY),
          switchesLastWeek: SwitchHistory.countSince(counted, agent.id, now - 7 * DAY),
          hoursInPool: features.hoursInPool,
          noticeInProgress: view.agent.notice !== null,
          flowInProgress: view.agent.flow !== null,
          currentRisk,
          targetBand: target?.band ?? null,
          targetBandLabel: target?.label ?? null
        })
        const verdicts = GuardRails.evaluate(
          timed.decision,
          guardContext(routed.acting?.confidenceThreshold, yield* bandOf(timed.decision.targetPool))
        )
        const allowed = GuardRails.allows(timed.decision, verdicts)
        let tenantDryRun = dryRunOf.get(agent.tenantId)
        if (tenantDryRun === undefined) {
          tenantDryRun = Option.match(yield* tenants.get(agent.tenantId), { onNone: () => false, onSome: (t) => t.dryRun })
          dryRunOf.set(agent.tenantId, tenantDryRun)
        }
        const dryRun = options.dryRun === true || tenantDryRun
        let acted = false
        let flowId: string | null = null
        let note: string | null = null
        if (allowed && dryRun) {
          note = "dry run: would switch"
          summary.wouldSwitch++
        } else if (allowed) {
          const switched = yield* Effect.either(engine.switchPool(agent.tenantId, agent.id, {
            pool: timed.decision.targetPool!,
            trigger: "ml",
            priority: timed.decision.confidence >= 0.9 ? Priority.mlUrgent : Priority.mlNormal
          }))
          if (Either.isRight(switched)) {
            acted = true
            flowId = switched.right.agent.flow?.id ?? null
            summary.switches++
          } else {
            note = `not queued: ${switched.left.message}`
          }
        }
        const latencyMillis = (yield* Clock.currentTimeMillis) - started
        yield* log.append(DecisionRecord.make({
          id: `dec-${globalThis.crypto.randomUUID()}`,
          tenantId: agent.tenantId,
          agentId: agent.id,
          model: acting.name,
          modelVersion: acting.version,
          mode: "active",
          createdAt: now,
          features,
          decision: timed.decision,
          latencyMillis: timed.latencyMillis,
          timedOut: timed.timedOut,
          error: timed.error,
          verdicts: verdicts.map((v) => GuardVerdict.make(v)),
          allowed,
          dryRun,
          acted,
          flowId,
          note
        }))
        summary.decisions++
        if (timed.timedOut) summary.timeouts++
        yield* Metric.update(decisionSeconds, latencyMillis / 1000)
        yield* Metric.increment(Metric.tagged(Metric.tagged(decisions, "model", acting.name), "action", timed.decision.action))
        // Shadow versions: same features, same guards, logged as "shadow"; they never queue anything.
        for (const shadow of routed.shadows) {
          const answer = yield* decideWithin(shadow.model, features, options.budget)
          const shadowVerdicts = GuardRails.evaluate(
            answer.decision,
            guardContext(shadow.confidenceThreshold, yield* bandOf(answer.decision.targetPool))
          )
          const wouldAct = GuardRails.allows(answer.decision, shadowVerdicts)
          yield* log.append(DecisionRecord.make({
            id: `dec-${globalThis.crypto.randomUUID()}`,
            tenantId: agent.tenantId,
            agentId: agent.id,
            model: shadow.model.name,
            modelVersion: shadow.model.version,
            mode: "shadow",
            createdAt: now,
            features,
            decision: answer.decision,
            latencyMillis: answer.latencyMillis,
            timedOut: answer.timedOut,
            error: answer.error,
            verdicts: shadowVerdicts.map((v) => GuardVerdict.make(v)),
            allowed: wouldAct,
            dryRun,
            acted: false,
            flowId: null,
            note: wouldAct ? "shadow: would switch" : null
          }))
          yield* Metric.increment(Metric.tagged(Metric.tagged(decisions, "model", shadow.model.name), "action", answer.decision.action))
        }
      }
      if (page.length < 500) break
      afterId = page[page.length - 1]!.id
    }
    return summary as RunSummary
  })
