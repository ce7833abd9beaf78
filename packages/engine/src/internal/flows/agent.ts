/**
 * The agent itself: a registration on a new instance, liveness, configuration changes.
 */
import { type AgentConfig, AgentConfig as AgentConfigSchema, type AgentConfigPatch } from "../../Agent.js"
import { Priority } from "../../Command.js"
import { InvalidInput, InvalidTransition } from "../../EngineError.js"
import { ParseResult } from "effect"
import { type Draft, type InputOf, invalidInput, reject } from "../draft.js"
import * as Promotion from "./promotion.js"
import * as Reconcile from "./reconcile.js"

export const mergeConfig = (current: AgentConfig, patch: AgentConfigPatch): AgentConfig => {
  const merged = { ...current, ...patch }
  if (merged.autoSwitch && merged.manualReplica) {
    reject(new InvalidInput({ field: patch.autoSwitch ? "autoSwitch" : "manualReplica", reason: "autoSwitch and manualReplica cannot both be on" }))
  }
  try {
    return AgentConfigSchema.make(merged)
  } catch (e) {
    if (ParseResult.isParseError(e)) return reject(invalidInput(e))
    throw e
  }
}

export function reRegister(d: Draft, input: InputOf<"Register">): void {
  const known = d.byCloudId(input.cloudInstanceId)
  if (known !== undefined) {
    if (known.role === "ZOMBIE" || known.role === "TERMINATED") {
      reject(new InvalidTransition({ reason: `instance ${input.cloudInstanceId} is ${known.role} and can never become PRIMARY again` }))
    }
    return // re-registration of a running instance: nothing changes
  }
  const old = d.primary()
  if (old !== undefined) Promotion.demote(d, old)
  d.addInstance({ role: "PRIMARY", pool: input.pool, cloudInstanceId: input.cloudInstanceId, roleHint: null, trigger: "registration" })
  d.setAgent({ metadata: { ...d.agent.metadata, ...input.metadata } })
  d.emit("AgentReregistered", { cloudInstanceId: input.cloudInstanceId, replaced: old?.cloudInstanceId ?? null })
  if (d.agent.degraded) {
    d.setAgent({ degraded: false })
    d.emit("AgentRecovered", { cloudInstanceId: input.cloudInstanceId })
  }
}

export function markLiveness(d: Draft, input: InputOf<"MarkOnline" | "MarkOffline">): void {
  const liveness = input._tag === "MarkOnline" ? "online" : "offline"
  if (d.agent.liveness === liveness) return
  d.setAgent({ liveness })
  d.emit(liveness === "online" ? "AgentOnline" : "AgentOffline", {})
}

export function updateConfig(d: Draft, input: InputOf<"UpdateConfig">): void {
  const before = d.agent.config
  const after = mergeConfig(before, input.patch)
  const changedKeys = (Object.keys(after) as Array<keyof AgentConfig>).filter((k) => before[k] !== after[k])
  if (changedKeys.length === 0) return
  d.setAgent({ config: after, configVersion: d.agent.configVersion + 1 })
  d.emit("ConfigChanged", { before, after, changed: changedKeys, configVersion: d.agent.configVersion })
  for (const c of d.commands) {
    if (c.type === "APPLY_CONFIG" && c.status === "pending") d.setCommand(c, "superseded", { completedAt: d.now }, { reason: "newer config" })
  }
  d.queue({
    type: "APPLY_CONFIG",
    priority: Priority.maintenance,
    flowId: null,
    instanceId: null,
    params: {
      config_version: d.agent.configVersion,
      config_updates: {
        auto_switching: after.autoSwitch,
        auto_terminate: after.autoTerminate,
        manual_replica: after.manualReplica,
        emergency_only: !after.autoSwitch && !after.manualReplica
      }
    }
  })
  if (before.manualReplica && !after.manualReplica) {
    if (d.agent.flow?.kind === "replica") d.supersedeFlow(d.agent.flow, "manual replica off")
    // A replica an open flow is about (being promoted by an emergency or a switch) is not the
    // kept-warm replica any more: it stays.
    for (const r of d.replicas()) {
      if (d.flowFor(r) === null) Reconcile.queueTerminate(d, d.setRole(r, "TERMINATED", "replica removed or lost"), 0)
    }
  }
}
