/**
 * What keeps a switch from starting: the guards of the state machine's `Switch` input as one
 * pure function. The state machine rejects a switch with the first of them; the switch
 * simulation lists them all. Both call this, so what a simulation says would block a switch is
 * exactly what blocks it.
 *
 * The guards, in the order they are checked:
 *
 * 1. the agent is disabled (`config.enabled` off);
 * 2. a notice (termination or rebalance) is being handled;
 * 3. the agent has no PRIMARY to switch from;
 * 4. the PRIMARY already runs in the target pool, or the target pool is of another product
 *    (operating system: a switch launches the same image) or names its zone in the other form
 *    (AZ ID for AZ name or back: the agent launches in the form it reports);
 * 5. a flow of the same or a higher priority is open (a lower one would be superseded).
 *
 * @since 0.2.0
 */
import { FlowConflict, InvalidInput, InvalidTransition } from "./EngineError.js"
import { Either } from "effect"
import * as Pool from "./Pool.js"
import type { PoolId } from "./Pool.js"
import type { AgentAggregate } from "./StateMachine.js"

/**
 * One reason a switch cannot start: the rejection the state machine answers the switch with.
 *
 * @since 0.2.0
 * @category models
 */
export type SwitchBlocker = InvalidTransition | InvalidInput | FlowConflict

/**
 * A switch as the guards see it: where to, and at which priority (`Command.Priority`: a manual
 * switch is `manual`, an ML one `mlNormal` or `mlUrgent`).
 *
 * @since 0.2.0
 * @category models
 */
export interface SwitchRequest {
  readonly pool: PoolId
  readonly priority: number
}

/**
 * Every guard that blocks `request` for the agent now, in the order of the module's list; empty
 * when the switch may start.
 *
 * @since 0.2.0
 * @category guards
 */
export const blockers = (aggregate: AgentAggregate, request: SwitchRequest): ReadonlyArray<SwitchBlocker> => {
  const { agent } = aggregate
  const found: Array<SwitchBlocker> = []
  if (!agent.config.enabled) found.push(new InvalidTransition({ reason: `agent ${agent.id} is disabled` }))
  if (agent.notice !== null) found.push(new InvalidTransition({ reason: `agent ${agent.id} has an emergency in progress` }))
  const primary = aggregate.instances.find((i) => i.role === "PRIMARY")
  if (primary === undefined) found.push(new InvalidTransition({ reason: `agent ${agent.id} has no PRIMARY to switch from` }))
  else if (primary.pool === request.pool) found.push(new InvalidInput({ field: "pool", reason: `the agent already runs in ${request.pool}` }))
  else {
    const [from, to] = [Pool.parse(primary.pool), Pool.parse(request.pool)]
    if (Either.isRight(from) && Either.isRight(to)) {
      if (from.right.product !== to.right.product) {
        found.push(new InvalidInput({
          field: "pool",
          reason: `${request.pool} is a ${to.right.product} pool; the agent runs ${from.right.product} (${primary.pool}) and a switch keeps the operating system`
        }))
      } else if (from.right.zoneKind !== to.right.zoneKind) {
        found.push(new InvalidInput({
          field: "pool",
          reason: `${request.pool} names its zone by AZ ${to.right.zoneKind === "id" ? "ID" : "name"}; the agent's pool ${primary.pool} by AZ ${from.right.zoneKind === "id" ? "ID" : "name"}`
        }))
      }
    }
  }
  const open = agent.flow
  if (open !== null && request.priority <= open.priority) {
    found.push(new FlowConflict({ agentId: agent.id, openFlow: open.kind, openPriority: open.priority, requestedPriority: request.priority }))
  }
  return found
}

/**
 * A blocker in words, as a person reads it (the reason alone, without the field name of an
 * `InvalidInput`).
 *
 * @since 0.2.0
 * @category guards
 */
export const describe = (blocker: SwitchBlocker): string => blocker._tag === "InvalidInput" ? blocker.reason : blocker.message
