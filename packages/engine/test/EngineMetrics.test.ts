import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { Actor, DomainEvent, type EventType } from "../src/DomainEvent.js"
import * as EngineMetrics from "../src/EngineMetrics.js"
import { AgentId, TenantId } from "../src/Ids.js"

let nextId = 1
const event = (type: EventType, data: Record<string, unknown>) =>
  DomainEvent.make({
    id: nextId++,
    tenantId: TenantId.make("tenant-1"),
    agentId: AgentId.make("agent-1"),
    type,
    at: 0,
    actor: Actor.make({ kind: "system", id: null }),
    data
  })

const count = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (s) => s.count)

describe("EngineMetrics.recordEvents", () => {
  it.effect("counts orphans adopted by what they became, and terminations retried", () =>
    Effect.gen(function*() {
      const replica = Metric.tagged(EngineMetrics.orphansAdopted, "as", "replica")
      const zombie = Metric.tagged(EngineMetrics.orphansAdopted, "as", "zombie")
      const before = { replica: yield* count(replica), zombie: yield* count(zombie), retried: yield* count(EngineMetrics.terminationsRetried) }
      yield* EngineMetrics.recordEvents([
        event("InstanceAdopted", { instanceId: "inst-1", cloudInstanceId: "i-1", pool: "t3.medium.us-east-1a", as: "replica", matchedBy: "token" }),
        event("InstanceAdopted", { instanceId: "inst-2", cloudInstanceId: "i-2", pool: "t3.medium.us-east-1a", as: "zombie", matchedBy: "tags" }),
        event("InstanceAdopted", { instanceId: "inst-3", cloudInstanceId: "i-3", pool: "t3.medium.us-east-1a", as: "zombie", matchedBy: "pool" }),
        event("TerminationRetried", { instanceId: "inst-4", cloudInstanceId: "i-4", attempt: 2, reason: "still in inventory", notBefore: 60_000 }),
        // Giving up queues nothing: not a retry.
        event("TerminationRetried", { instanceId: "inst-5", cloudInstanceId: "i-5", attempt: null, reason: "no answer", gaveUp: true }),
        event("TerminationConfirmed", { instanceId: "inst-4", cloudInstanceId: "i-4", how: "inventory" })
      ])
      assert.deepStrictEqual(
        { replica: yield* count(replica), zombie: yield* count(zombie), retried: yield* count(EngineMetrics.terminationsRetried) },
        { replica: before.replica + 1, zombie: before.zombie + 2, retried: before.retried + 1 }
      )
    }))
})
