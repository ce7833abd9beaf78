/**
 * The engine's Prometheus metrics (DESIGN.md §10) as Effect `Metric`s. Most are derived from the
 * events of each committed change, so every path that changes state is counted the same way;
 * a transport renders them (adapter-http serves `/metrics`).
 *
 * @since 0.1.0
 */
import { Effect, Metric, MetricBoundaries } from "effect"
import type { DomainEvent } from "./DomainEvent.js"

/** @since 0.1.0 @category metrics */
export const heartbeatsReceived = Metric.counter("spotfleet_heartbeats_received_total", {
  description: "Heartbeats accepted from agents",
  incremental: true
})

/** @since 0.1.0 @category metrics */
export const commands = Metric.counter("spotfleet_commands_total", {
  description: "Command status changes, by command type and the status reached",
  incremental: true
})

/** @since 0.1.0 @category metrics */
export const commandDelivery = Metric.histogram(
  "spotfleet_command_delivery_seconds",
  MetricBoundaries.fromIterable([0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]),
  "Time from a command becoming deliverable to its delivery to the agent"
)

/** @since 0.1.0 @category metrics */
export const emergencyPromotion = Metric.histogram(
  "spotfleet_emergency_promotion_seconds",
  MetricBoundaries.fromIterable([1, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300]),
  "Time from an interruption notice to the new PRIMARY confirmed (target: 99% within 120 s)"
)

/** @since 0.1.0 @category metrics */
export const emergencyEvents = Metric.counter("spotfleet_emergency_events_total", {
  description: "Emergency steps by kind (rebalance, termination, reclaimed, launch) and result",
  incremental: true
})

/** @since 0.1.0 @category metrics */
export const optimisticConflicts = Metric.counter("spotfleet_optimistic_conflicts_total", {
  description: "Writes that lost an optimistic-locking race and were retried from a fresh read",
  incremental: true
})

/**
 * Downtime of a switch in seconds (target: p95 under 10 s). `source="derived"`: promote command
 * delivered → acknowledged, observed when the flow finishes; `source="agent"`: what the agent
 * measured and sent in its switch-report. A switch the agent reports on is in both series, so the
 * series are read apart, never summed.
 *
 * @since 0.1.0
 * @category metrics
 */
export const switchDowntime = Metric.histogram(
  "spotfleet_switch_downtime_seconds",
  MetricBoundaries.fromIterable([0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120]),
  "Downtime of a switch (old PRIMARY stops serving to new PRIMARY serving), by source (derived, agent)"
)

/**
 * Finished switches (manual and ML switches, manual promotions, emergency promotions), by
 * trigger (manual, ml, emergency) and result (succeeded, failed, cancelled). A flow that ended
 * without changing the PRIMARY (a rebalance that only prepared a replica) is not a switch.
 *
 * @since 0.1.0
 * @category metrics
 */
export const switches = Metric.counter("spotfleet_switches_total", {
  description: "Finished switches by trigger (manual, ml, emergency) and result (succeeded, failed, cancelled)",
  incremental: true
})

/**
 * Gross savings (`Savings`): the on-demand baseline of the hours with a PRIMARY minus what the
 * PRIMARYs cost, advanced by `SavingsAccrual`. Net savings are baseline − spend
 * ({@link baselineCostDollars} − {@link spendDollars}).
 *
 * @since 0.1.0
 * @category metrics
 */
export const savingsDollars = Metric.counter("spotfleet_savings_dollars_total", {
  description: "Gross savings: on-demand baseline of the hours with a PRIMARY minus what the PRIMARYs cost (net = baseline - spend)",
  incremental: true
})

/**
 * What the hours with a PRIMARY would have cost on demand (`Savings`), advanced by
 * `SavingsAccrual`. `(baseline − spend) ÷ baseline` is the net savings ratio.
 *
 * @since 0.1.0
 * @category metrics
 */
export const baselineCostDollars = Metric.counter("spotfleet_baseline_cost_dollars_total", {
  description: "On-demand baseline: the on-demand price of each PRIMARY over the hours it was PRIMARY",
  incremental: true
})

/**
 * What every running instance cost (`Savings`: PRIMARY, REPLICA, ZOMBIE, and instances retired but
 * still running), advanced by `SavingsAccrual`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const spendDollars = Metric.counter("spotfleet_spend_dollars_total", {
  description: "Spend of every running instance (PRIMARY, REPLICA, ZOMBIE, retired but still running); net savings = baseline - spend",
  incremental: true
})

/**
 * Of {@link spendDollars}, what instances cost while unreconciled: retired by the engine
 * (TERMINATED) but still running. Advanced by `SavingsAccrual`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const leakedSpendDollars = Metric.counter("spotfleet_leaked_spend_dollars_total", {
  description: "Spend of instances retired by the engine but still running (unreconciled)",
  incremental: true
})

/**
 * Instances running but not wanted (`Instance.isUnreconciled`: TERMINATED, with a cloud id, end
 * not yet observed), set by the `unreconciled-instances` job (`Jobs.unreconciledInstances`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const instancesUnreconciled = Metric.gauge("spotfleet_instances_unreconciled", {
  description: "Instances running but not wanted: retired (TERMINATED) by the engine, not yet seen gone"
})

/**
 * Seconds since the longest-unreconciled instance was retired (0 when there is none), set with
 * {@link instancesUnreconciled}: a normal termination is confirmed within seconds, so an old one
 * is an instance the reconcile loop does not get rid of.
 *
 * @since 0.2.0
 * @category metrics
 */
export const unreconciledOldestSeconds = Metric.gauge("spotfleet_instances_unreconciled_oldest_seconds", {
  description: "Seconds since the longest-unreconciled instance was retired (0 when none)"
})

/**
 * Instances the cloud ran that the engine did not know, taken in (`InstanceAdopted` events), by
 * what they became (`as`: replica, zombie, terminated — recorded and terminated at once).
 *
 * @since 0.2.0
 * @category metrics
 */
export const orphansAdopted = Metric.counter("spotfleet_orphans_adopted_total", {
  description: "Instances the cloud ran that the engine did not know, adopted, by what they became (replica, zombie, terminated)",
  incremental: true
})

/**
 * TERMINATE commands queued again for retired instances still running (`TerminationRetried`
 * events). An event that says the engine gave up (`gaveUp`, no command queued) is not counted:
 * such an instance stays unreconciled, which `spotfleet_instances_unreconciled` and its alert show.
 *
 * @since 0.2.0
 * @category metrics
 */
export const terminationsRetried = Metric.counter("spotfleet_terminations_retried_total", {
  description: "TERMINATE commands queued again for retired instances that still run",
  incremental: true
})

const switchKinds = new Set(["switch", "promotion", "emergency"])

/** Manual switches run at priority 75, ML ones at 50 or 25 (DESIGN.md §2). */
const triggerOf = (kind: unknown, priority: unknown) =>
  kind === "emergency" ? "emergency" : kind === "promotion" ? "manual" : typeof priority === "number" && priority < 75 ? "ml" : "manual"

const switchRecorded = (trigger: string, result: string) =>
  Metric.increment(Metric.tagged(Metric.tagged(switches, "trigger", trigger), "result", result))

const statusOf: Partial<Record<DomainEvent["type"], string>> = {
  CommandQueued: "queued",
  CommandDelivered: "delivered",
  CommandRedelivered: "redelivered",
  CommandSucceeded: "succeeded",
  CommandFailed: "failed",
  CommandExpired: "expired",
  CommandSuperseded: "superseded"
}

const str = (v: unknown, fallback: string) => (typeof v === "string" ? v : fallback)

/**
 * Records the metrics carried by committed events.
 *
 * @since 0.1.0
 * @category metrics
 */
export const recordEvents = (events: ReadonlyArray<DomainEvent>): Effect.Effect<void> => {
  // A switch finishes in the same commit as its promotion is acknowledged (StateMachine
  // applyPromotion), so the promotions of this batch tell switches from flows that changed nothing.
  const promoted = new Map<string, number | null>()
  for (const e of events) {
    if (e.type === "CommandSucceeded" && e.data.type === "PROMOTE_REPLICA_TO_PRIMARY" && typeof e.data.flowId === "string") {
      promoted.set(e.data.flowId, typeof e.data.secondsSinceDelivered === "number" ? e.data.secondsSinceDelivered : null)
    }
  }
  return Effect.forEach(events, (e) => {
    const d = e.data
    const status = statusOf[e.type]
    if (status !== undefined) {
      const counted = Metric.increment(Metric.tagged(Metric.tagged(commands, "type", str(d.type, "UNKNOWN")), "status", status))
      return e.type === "CommandDelivered" && typeof d.waitedSeconds === "number"
        ? Effect.zipRight(counted, Metric.update(commandDelivery, d.waitedSeconds))
        : counted
    }
    switch (e.type) {
      case "NoticeReceived":
        return Metric.increment(Metric.tagged(Metric.tagged(emergencyEvents, "kind", str(d.kind, "unknown")), "result", "received"))
      case "AgentDegraded":
        return Metric.increment(Metric.tagged(Metric.tagged(emergencyEvents, "kind", "reclaimed"), "result", d.hadNotice === true ? "after_notice" : "without_notice"))
      case "EmergencyLaunch":
        return Metric.increment(Metric.tagged(Metric.tagged(emergencyEvents, "kind", "launch"), "result", str(d.step, "launch")))
      case "EmergencyPromotion": {
        if (typeof d.secondsSinceNotice !== "number") return Effect.void
        const result = d.beforeDeadline === true ? "promoted" : "promoted_late"
        return Effect.zipRight(
          Metric.increment(Metric.tagged(Metric.tagged(emergencyEvents, "kind", str(d.kind, "termination")), "result", result)),
          Metric.update(emergencyPromotion, d.secondsSinceNotice)
        )
      }
      case "FlowFinished": {
        const failedEmergency = d.kind === "emergency" && d.result === "failed"
          ? Metric.increment(Metric.tagged(Metric.tagged(emergencyEvents, "kind", "emergency"), "result", "failed"))
          : Effect.void
        if (!switchKinds.has(str(d.kind, "")) || typeof d.flowId !== "string") return failedEmergency
        const trigger = triggerOf(d.kind, d.priority)
        if (d.result === "succeeded") {
          if (!promoted.has(d.flowId)) return failedEmergency
          const downtime = promoted.get(d.flowId)
          return Effect.zipRight(
            switchRecorded(trigger, "succeeded"),
            typeof downtime === "number" ? Metric.update(Metric.tagged(switchDowntime, "source", "derived"), downtime) : Effect.void
          )
        }
        return Effect.zipRight(failedEmergency, switchRecorded(trigger, d.result === "superseded" ? "cancelled" : "failed"))
      }
      case "InstanceAdopted":
        return Metric.increment(Metric.tagged(orphansAdopted, "as", str(d.as, "unknown")))
      case "TerminationRetried":
        return d.gaveUp === true ? Effect.void : Metric.increment(terminationsRetried)
      case "SwitchReported":
        return typeof d.downtimeSeconds === "number"
          ? Metric.update(Metric.tagged(switchDowntime, "source", "agent"), d.downtimeSeconds)
          : Effect.void
      default:
        return Effect.void
    }
  }, { discard: true })
}
