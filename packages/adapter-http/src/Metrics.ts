/**
 * Prometheus metrics of DESIGN.md §10 that exist so far, rendered from Effect's metric registry
 * (`Metric.snapshot`) in the text exposition format.
 *
 * - Counters and histograms the engine records as it commits (`spotfleet_heartbeats_received_total`,
 *   `spotfleet_commands_total{type,status}`, `spotfleet_optimistic_conflicts_total`, emergency
 *   metrics): whatever is in the registry is rendered; the core names are always present (0 until
 *   the first increment), each with `# HELP` and `# TYPE`.
 * - `spotfleet_agents{status}`, `spotfleet_instances{role}`, `spotfleet_zombies`: gauges read from
 *   the store at scrape time (cached for a few seconds).
 * - Gauges and counters that the engine's jobs set (`spotfleet_instances_unreconciled`, the
 *   savings counters): in the process that runs the job, 0 in the others.
 *
 * @since 0.1.0
 */
import { AutoSwitch, Engine, EngineMetrics, Instance, Jobs } from "@spotfleet/engine"
import { Context, Duration, Effect, Layer, Metric, Option } from "effect"
import * as Prometheus from "./internal/prometheus.js"

/** @since 0.1.0 @category metrics */
export const agentsGauge = Metric.gauge("spotfleet_agents", { description: "Agents by status (online, offline, degraded)" })

/** @since 0.1.0 @category metrics */
export const instancesGauge = Metric.gauge("spotfleet_instances", { description: "Instances by role" })

/**
 * Agents with more than one PRIMARY instance: always 0 unless the one-PRIMARY invariant broke
 * (DESIGN.md §3). Read from the store at scrape time.
 *
 * @since 0.1.0
 * @category metrics
 */
export const multiplePrimariesGauge = Metric.gauge("spotfleet_agents_with_multiple_primaries", {
  description: "Agents with more than one PRIMARY instance (the invariant says never)"
})

/** @since 0.1.0 @category metrics */
export const zombiesGauge = Metric.gauge("spotfleet_zombies", { description: "Demoted instances kept running (ZOMBIE)" })

const declared: ReadonlyArray<Prometheus.Declared> = [
  { name: "spotfleet_heartbeats_received_total", type: "counter", help: "Heartbeats accepted from agents" },
  { name: "spotfleet_commands_total", type: "counter", help: "Command status changes, by command type and the status reached" },
  {
    name: "spotfleet_optimistic_conflicts_total",
    type: "counter",
    help: "Writes that lost an optimistic-locking race and were retried from a fresh read"
  },
  { name: "spotfleet_zombies", type: "gauge", help: "Demoted instances kept running (ZOMBIE)" },
  { name: "spotfleet_heartbeats_missed_total", type: "counter", help: "Agents found without a heartbeat for longer than the offline threshold" },
  { name: "spotfleet_emergency_events_total", type: "counter", help: "Emergency steps by kind (rebalance, termination, reclaimed, launch) and result" },
  { name: "spotfleet_switches_total", type: "counter", help: "Finished switches by trigger (manual, ml, emergency) and result (succeeded, failed, cancelled)" },
  {
    name: "spotfleet_savings_dollars_total",
    type: "counter",
    help: "Gross savings: on-demand baseline of the hours with a PRIMARY minus what the PRIMARYs cost (net = baseline - spend)"
  },
  { name: "spotfleet_baseline_cost_dollars_total", type: "counter", help: "On-demand baseline: the on-demand price of each PRIMARY over the hours it was PRIMARY" },
  {
    name: "spotfleet_spend_dollars_total",
    type: "counter",
    help: "Spend of every running instance (PRIMARY, REPLICA, ZOMBIE, retired but still running); net savings = baseline - spend"
  },
  { name: "spotfleet_leaked_spend_dollars_total", type: "counter", help: "Spend of instances retired by the engine but still running (unreconciled)" },
  { name: "spotfleet_instances_unreconciled", type: "gauge", help: "Instances running but not wanted: retired (TERMINATED) by the engine, not yet seen gone" },
  { name: "spotfleet_instances_unreconciled_oldest_seconds", type: "gauge", help: "Seconds since the longest-unreconciled instance was retired (0 when none)" },
  {
    name: "spotfleet_orphans_adopted_total",
    type: "counter",
    help: "Instances the cloud ran that the engine did not know, adopted, by what they became (replica, zombie, terminated)"
  },
  { name: "spotfleet_terminations_retried_total", type: "counter", help: "TERMINATE commands queued again for retired instances that still run" },
  { name: "spotfleet_ml_decisions_total", type: "counter", help: "Switch decisions by model and action" },
  { name: "spotfleet_agents_with_multiple_primaries", type: "gauge", help: "Agents with more than one PRIMARY instance (the invariant says never)" },
  { name: "spotfleet_consolidation_points_total", type: "counter", help: "Points written by consolidation runs, by kind" }
]

/** Histograms are exposed (all buckets 0) before their first observation. */
const histograms = [
  EngineMetrics.commandDelivery,
  EngineMetrics.emergencyPromotion,
  EngineMetrics.switchDowntime,
  AutoSwitch.decisionSeconds
]

/**
 * Renders every metric for `/metrics`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetricsService {
  readonly render: Effect.Effect<string>
  /** Brings the store gauges up to date (at most every 5 s), as a scrape does. */
  readonly refresh: Effect.Effect<void>
}

/**
 * The metrics tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class Metrics extends Context.Tag("@spotfleet/adapter-http/Metrics")<Metrics, MetricsService>() {}

/**
 * Renders a snapshot of the global metric registry (plus the declared spotfleet metrics at 0).
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderSnapshot: Effect.Effect<string> = Effect.map(Metric.snapshot, (pairs) => Prometheus.render(pairs, declared))

/**
 * The metrics layer: reads the store for the gauges on scrape (at most every 5 s) and renders the
 * registry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Metrics, never, Engine.Engine> = Layer.effect(
  Metrics,
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    yield* Effect.forEach(histograms, (h) => Metric.value(h), { discard: true })
    yield* Metric.value(Jobs.heartbeatsMissed)
    const gauges = Effect.gen(function*() {
      const agentCounts: Record<string, number> = { online: 0, offline: 0, degraded: 0 }
      const roleCounts: Record<string, number> = Object.fromEntries(Instance.Role.literals.map((r) => [r, 0]))
      let multiplePrimaries = 0
      const tenants = yield* engine.listTenants
      for (const tenant of tenants) {
        const agents = yield* engine.listAgents(tenant.id)
        for (const agent of agents) {
          const status = agent.degraded ? "degraded" : agent.liveness
          agentCounts[status] = (agentCounts[status] ?? 0) + 1
          const view = yield* Effect.option(engine.getAgent(tenant.id, agent.id))
          if (Option.isSome(view)) {
            for (const instance of view.value.instances) roleCounts[instance.role] = (roleCounts[instance.role] ?? 0) + 1
            if (view.value.instances.filter((i) => i.role === "PRIMARY").length > 1) multiplePrimaries++
          }
        }
      }
      for (const [status, n] of Object.entries(agentCounts)) yield* Metric.set(Metric.tagged(agentsGauge, "status", status), n)
      for (const [role, n] of Object.entries(roleCounts)) yield* Metric.set(Metric.tagged(instancesGauge, "role", role), n)
      yield* Metric.set(zombiesGauge, roleCounts["ZOMBIE"] ?? 0)
      yield* Metric.set(multiplePrimariesGauge, multiplePrimaries)
    }).pipe(Effect.catchAllCause(() => Effect.void))
    const cachedGauges = yield* Effect.cachedWithTTL(gauges, Duration.seconds(5))
    return Metrics.of({ render: Effect.zipRight(cachedGauges, renderSnapshot), refresh: cachedGauges })
  })
)
