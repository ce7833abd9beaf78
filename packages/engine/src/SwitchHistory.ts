/**
 * Switch records (DESIGN.md §2 SwitchEvent) as a read model over the event log: every manual,
 * ML and emergency move of a workload to another instance, with its timings and downtime.
 * Downtime is what the agent reported (switch-report), else derived from promote delivered →
 * promote acknowledged.
 *
 * @since 0.1.0
 */
import type { DomainEvent, EventType } from "./DomainEvent.js"
import * as internal from "./internal/switchHistory.js"

/**
 * One switch.
 *
 * @since 0.1.0
 * @category models
 */
export interface SwitchRecord {
  readonly flowId: string
  readonly tenantId: string
  readonly agentId: string
  readonly trigger: "manual" | "ml" | "emergency"
  readonly decisionId: string | null
  readonly fromPool: string | null
  readonly toPool: string | null
  readonly fromInstanceId: string | null
  readonly toInstanceId: string | null
  readonly initiatedAt: number
  /** The new instance reported running. */
  readonly launchedAt: number | null
  readonly promoteDeliveredAt: number | null
  /** The promotion was acknowledged: the new PRIMARY serves. */
  readonly promotedAt: number | null
  readonly oldTerminatedAt: number | null
  readonly finishedAt: number | null
  readonly result: "in_progress" | "succeeded" | "failed" | "cancelled"
  readonly reason: string | null
  readonly downtimeSeconds: number | null
  readonly downtimeSource: "agent" | "derived" | null
}

/**
 * The read model: records by flow id, and the last event id folded in.
 *
 * @since 0.1.0
 * @category models
 */
export interface History {
  readonly switches: ReadonlyMap<string, SwitchRecord>
  /** Pools of the instances seen, to name the target of promotions and emergencies. */
  readonly instancePools: ReadonlyMap<string, string>
  readonly lastEventId: number
}

/** @since 0.1.0 @category constructors */
export const empty: History = internal.empty

/**
 * Folds events (in id order) into the history. Only promotion, switch and emergency flows that
 * change the PRIMARY become records.
 *
 * @since 0.1.0
 * @category combinators
 */
export const fold: (history: History, events: Iterable<DomainEvent>) => History = internal.fold

/**
 * The event types {@link fold} uses; a reader of the log may read only those
 * (`EventLog.ReadOptions.types`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const foldedTypes: ReadonlyArray<EventType> = internal.foldedTypes

/**
 * Downtime figures over one period, compared with the period before it.
 *
 * @since 0.1.0
 * @category models
 */
export interface DowntimeAnalytics {
  readonly count: number
  readonly succeeded: number
  readonly successRate: number | null
  readonly avgSeconds: number | null
  readonly p95Seconds: number | null
  readonly maxSeconds: number | null
  /** Average downtime change vs the previous period of the same length (negative: better). */
  readonly trendAvgSeconds: number | null
}

/**
 * Downtime analytics of the switches initiated in `[from, to)`.
 *
 * @since 0.1.0
 * @category analytics
 */
export const downtimeAnalytics: (
  records: Iterable<SwitchRecord>,
  period: { readonly from: number; readonly to: number }
) => DowntimeAnalytics = internal.downtimeAnalytics

/**
 * Switch history as CSV (RFC 4180 quoting), one row per switch, timestamps in ISO 8601.
 *
 * @since 0.1.0
 * @category export
 */
export const toCsv: (records: Iterable<SwitchRecord>) => string = internal.toCsv

/**
 * Switches of one agent within a time window, for the caps of the guard rails.
 *
 * @since 0.1.0
 * @category analytics
 */
export const countSince: (records: Iterable<SwitchRecord>, agentId: string, since: number, trigger?: SwitchRecord["trigger"]) => number =
  internal.countSince

/**
 * The downtime an agent's switch report states: `downtimeSeconds` when given, else the seconds
 * from `startedAt` to `completedAt` (epoch milliseconds); `undefined` when it states none (a
 * completion before the start states none either).
 *
 * @since 0.2.0
 * @category analytics
 */
export const reportedDowntime = (report: {
  readonly downtimeSeconds?: number | undefined
  readonly startedAt?: number | undefined
  readonly completedAt?: number | undefined
}): number | undefined =>
  report.downtimeSeconds ??
    (report.startedAt !== undefined && report.completedAt !== undefined && report.completedAt >= report.startedAt
      ? (report.completedAt - report.startedAt) / 1000
      : undefined)
