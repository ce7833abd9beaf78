/**
 * Every time budget of the engine in one place, each with the reason for its default. The state
 * machine reads them through its `TransitionContext` (an engine passes what `EngineOptions`
 * overrides), so a deployment can tune them without touching a rule.
 *
 * @since 0.2.0
 */
import type { CommandType } from "./Command.js"

/**
 * How long each kind of command may stay open (pending or delivered) before it expires, counted
 * from when it becomes deliverable (`notBefore`). No command lives forever, so no flow waits
 * forever on one. An emergency command expires earlier when its notice deadline comes first.
 *
 * - LAUNCH_INSTANCE 15 min: the v5 agent waits up to 300 s for a launch to run, after a poll
 *   every 5 s and a lease that may be redelivered once; anything past that is a lost launch.
 * - PROMOTE_REPLICA_TO_PRIMARY 10 min: re-tagging takes seconds; a PROMOTE not done in 10 min
 *   is in the hands of an agent that is gone.
 * - TERMINATE_INSTANCE 15 min: the v5 agent waits up to 180 s for the cloud to confirm; the
 *   instance is terminated again (see {@link terminateRetry}) until it is seen gone.
 * - APPLY_CONFIG and SELF_DESTRUCT 1 h: housekeeping for an agent that polls again later.
 *
 * @since 0.2.0
 * @category defaults
 */
export const commandTtlSeconds: Readonly<Record<CommandType, number>> = {
  LAUNCH_INSTANCE: 900,
  PROMOTE_REPLICA_TO_PRIMARY: 600,
  TERMINATE_INSTANCE: 900,
  APPLY_CONFIG: 3_600,
  SELF_DESTRUCT: 3_600
}

/**
 * Retries of a TERMINATE that failed or ran out while the instance may still run: exponential
 * backoff from `baseSeconds` (doubling, capped at `maxSeconds`), at most `maxAttempts` commands
 * in a row without an observation. An inventory that still lists the instance running queues
 * another attempt (with the same capped backoff) whatever the count, until the inventory stops
 * listing it. A PROMOTE is never retried as a command: a failed promotion ends its flow, and the
 * flow decides what comes next.
 *
 * @since 0.2.0
 * @category defaults
 */
export const terminateRetry = {
  baseSeconds: 30,
  maxSeconds: 900,
  maxAttempts: 6
} as const

/**
 * The longest a flow may stay open whatever its steps do (a backstop: every step has its own
 * TTL, so a flow normally ends well before). One hour covers an emergency that walks a fallback
 * chain of several pools, one launch TTL each.
 *
 * @since 0.2.0
 * @category defaults
 */
export const flowTtlSeconds = 3_600

/**
 * Deadlines of interruption notices that arrive without a usable one: the cloud gives about two
 * minutes for a termination; a rebalance recommendation is best effort, typically minutes ahead.
 * A termination time already past when the notice arrives (clock skew, or a notice re-sent after
 * a restart lost the first) is not a reason to give up: the default budget applies from now.
 *
 * @since 0.2.0
 * @category defaults
 */
export const noticeDeadlineSeconds = {
  termination: 120,
  rebalance: 600
} as const

/**
 * A replica still launching when a termination deadline is this close gets its PROMOTE handed
 * out anyway (to agents that can promote by temporary id), so it is promoted the moment it runs
 * instead of one poll later.
 *
 * @since 0.2.0
 * @category defaults
 */
export const promoteMarginSeconds = 20

/**
 * Reconciliation of an agent's inventory:
 * - `orphanGraceSeconds` (10 min): an instance with our management tags that no agent knows is
 *   adopted (and terminated after the agent's terminate wait) only once it has run this long: a
 *   launch of another agent in the same account must have time to report itself first.
 * - `lateLaunchWindowSeconds` (30 min): a launch the engine gave up on (expired, lease lost) is
 *   matched with an unknown instance of the same pool for this long after it was requested.
 * - `recoveryBackoffSeconds` (30 s): a DEGRADED agent (no PRIMARY) whose emergency ended without
 *   one starts another attempt (promote a ready replica, or launch) after this pause.
 * - `unchangedInventorySeconds` (120 s): an inventory the engine reconciled without a change is
 *   not reconciled again when a heartbeat brings it unchanged, while the agent has not changed
 *   here since, for this long (`Engine.observeInventory`); then it is (changes made by another
 *   server process are seen within this bound).
 *
 * @since 0.2.0
 * @category defaults
 */
export const reconcile = {
  orphanGraceSeconds: 600,
  lateLaunchWindowSeconds: 1_800,
  recoveryBackoffSeconds: 30,
  unchangedInventorySeconds: 120
} as const

/**
 * Deliveries of one command before a lease that ran out fails it: the agent got it five times
 * and never answered (`TransitionContext.maxDeliveries`, `EngineOptions.maxDeliveries`).
 *
 * @since 0.2.0
 * @category defaults
 */
export const maxDeliveries = 5

/**
 * How long a delivered command is leased to the agent before it is handed out again: ten
 * minutes, since the v5 agent runs a poll's commands one after another and a launch may take
 * five (`EngineOptions.leaseSeconds`).
 *
 * @since 0.2.0
 * @category defaults
 */
export const leaseSeconds = 600

/**
 * How long a poll that found nothing to deliver may stand for the agent's next polls when
 * `EngineOptions.idlePollSeconds` turns it on (off by default): while no commit of the agent went
 * through this engine since, they are answered without the store (`Engine.pollCommands`). Only a
 * commit gives an idle agent something to deliver, so with one engine per store nothing is
 * delayed; a command queued by another server process would be found only within this bound —
 * an emergency PROMOTE among them — so several processes on one database leave it off.
 *
 * @since 0.2.0
 * @category defaults
 */
export const idlePollSeconds = 20
