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
export const recordEvents = (events: ReadonlyArray<DomainEvent>): Effect.Effect<void> =>
  Effect.forEach(events, (e) => {
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
      case "FlowFinished":
        return d.kind === "emergency" && d.result === "failed"
          ? Metric.increment(Metric.tagged(Metric.tagged(emergencyEvents, "kind", "emergency"), "result", "failed"))
          : Effect.void
      default:
        return Effect.void
    }
  }, { discard: true })
