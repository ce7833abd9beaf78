/**
 * The `Engine` service, composed: the write path and what every call shares
 * (`engine/core.ts`), the read models over the event log (`engine/readModels.ts`), tenants and
 * registration (`engine/registration.ts`), the calls of agents (`engine/agentCalls.ts`) and their
 * switch reports (`engine/switchReports.ts`); the operators' calls are here.
 */
import { Clock, Effect } from "effect"
import type { AgentConfigPatch } from "../Agent.js"
import { Actor } from "../DomainEvent.js"
import type { EngineOptions, EngineService } from "../Engine.js"
import * as AgentCalls from "./engine/agentCalls.js"
import * as Core from "./engine/core.js"
import * as ReadModels from "./engine/readModels.js"
import * as Registration from "./engine/registration.js"
import * as SwitchReports from "./engine/switchReports.js"

export const make = (options: EngineOptions = {}) =>
  Effect.gen(function*() {
    const core = yield* Core.make(options)
    const readModels = yield* ReadModels.make(core.eventLog, options)
    const { agents, eventLog, loadOwned, simple } = core
    const { emergencyChain } = readModels
    const { systemActor, userActor } = Core

    const service: EngineService = {
      ...Registration.make(core),
      ...AgentCalls.make(core, readModels),
      reportSwitch: SwitchReports.make(core, readModels),

      getAgent: (tenantId, agentId) => Effect.map(loadOwned(tenantId, agentId), Core.viewOf),
      listAgents: (tenantId) => agents.list(tenantId),
      updateConfig: (tenantId, agentId, patch: AgentConfigPatch, callOptions) =>
        simple("update-config", () => ({ _tag: "UpdateConfig", patch }), userActor)(tenantId, agentId, callOptions),
      requestReplica: (tenantId, agentId, args, callOptions) =>
        simple("request-replica", () => ({ _tag: "RequestReplica", pool: args.pool ?? null, priority: 75 }), userActor)(
          tenantId,
          agentId,
          callOptions
        ),
      removeReplica: (tenantId, agentId, instanceId, callOptions) =>
        simple("remove-replica", () => ({ _tag: "RemoveReplica", instanceId }), userActor)(tenantId, agentId, callOptions),
      promote: (tenantId, agentId, instanceId, callOptions) =>
        simple("promote", () => ({ _tag: "Promote", instanceId, priority: 75 }), userActor)(tenantId, agentId, callOptions),
      switchPool: (tenantId, agentId, args, callOptions) =>
        simple("switch", () => ({
          _tag: "Switch",
          pool: args.pool,
          trigger: args.trigger ?? "manual",
          priority: args.priority ?? (args.trigger === "ml" ? 25 : 75)
        }), args.trigger === "ml" ? Actor.make({ kind: "ml", id: null }) : userActor)(tenantId, agentId, callOptions),
      cancelSwitch: (tenantId, agentId, callOptions) =>
        simple("cancel-switch", () => ({ _tag: "CancelSwitch" }), userActor)(tenantId, agentId, callOptions),

      retireZombie: (tenantId, agentId, instanceId) =>
        simple("retire-zombie", () => ({ _tag: "RetireZombie", instanceId }), systemActor)(tenantId, agentId),
      maintain: (tenantId, agentId) =>
        simple("maintain", (aggregate) =>
          Effect.gen(function*() {
            // A DEGRADED agent may have to launch again: where, best first, from the lost PRIMARY's pool.
            const lost = aggregate.agent.degraded
              ? [...aggregate.instances].filter((i) => i.demotedAt !== null).sort((a, b) => (b.demotedAt ?? 0) - (a.demotedAt ?? 0))[0]
              : undefined
            const launchPools = lost === undefined ? [] : yield* emergencyChain(lost.pool, yield* Clock.currentTimeMillis)
            return { _tag: "Maintain" as const, launchPools }
          }), systemActor)(tenantId, agentId),
      markOffline: (tenantId, agentId) => simple("mark-offline", () => ({ _tag: "MarkOffline" }), systemActor)(tenantId, agentId),

      events: (tenantId, { afterId, agentId, limit }) => eventLog.read({ tenantId, afterId, limit: limit ?? 100, agentId }),
      poolLedger: readModels.poolLedger,
      switches: readModels.switches,
      quarantinedPools: readModels.quarantinedPools
    }
    return service
  })
