/**
 * An agent's switch report: the downtime it measured for a switch (stated, else completion −
 * start), recorded as one `SwitchReported` event with its idempotency record in one
 * `EventLog.commit`. A report names its PROMOTE command, else it is about the agent's latest
 * switch.
 */
import { Clock, Effect, Schema } from "effect"
import { EventDraft } from "../../DomainEvent.js"
import type { EngineService } from "../../Engine.js"
import { InvalidInput } from "../../EngineError.js"
import * as EngineMetrics from "../../EngineMetrics.js"
import * as SwitchHistory from "../../SwitchHistory.js"
import * as Idempotent from "../idempotent.js"
import { agentActor, type Core } from "./core.js"
import type { ReadModels } from "./readModels.js"

/** A switch report's answer as its idempotency record keeps it (the store sets `eventIds`: `EventLog.LogCommit`). */
const SwitchReportAnswer = Schema.Struct({ flowId: Schema.String, eventIds: Schema.Array(Schema.Int) })

export const make = (core: Core, readModels: ReadModels): EngineService["reportSwitch"] => {
  const { eventLog, idempotent, loadOwned } = core
  const { switchHistory } = readModels
  return (tenantId, agentId, args, callOptions = {}) =>
    Effect.map(
      idempotent(tenantId, callOptions.idempotencyKey, Idempotent.agentOperation("switch-report", agentId), SwitchReportAnswer, (record) =>
        Effect.gen(function*() {
          const aggregate = yield* loadOwned(tenantId, agentId)
          const downtimeSeconds = SwitchHistory.reportedDowntime(args)
          if (downtimeSeconds === undefined) {
            return yield* Effect.fail(new InvalidInput({ field: "downtimeSeconds", reason: "give downtimeSeconds, or startedAt and completedAt" }))
          }
          const promote = args.requestId === undefined
            ? undefined
            : aggregate.commands.find((c) => c.requestId === args.requestId || c.id === args.requestId)
          // Without a command reference the report is about the agent's latest switch.
          const flowId = promote?.flowId ??
            (yield* Effect.map(switchHistory, (h) =>
              [...h.switches.values()].filter((r) => r.agentId === agentId).sort((a, b) => b.initiatedAt - a.initiatedAt)[0]?.flowId ?? null))
          if (flowId === null) return yield* Effect.fail(new InvalidInput({ field: "request_id", reason: "no switch of this agent to report on" }))
          const now = yield* Clock.currentTimeMillis
          const answer = { flowId, eventIds: [] }
          // The event and the key's record in one commit: a failure leaves neither.
          const written = yield* eventLog.commit({
            events: [EventDraft.make({
              tenantId,
              agentId,
              type: "SwitchReported",
              at: now,
              actor: callOptions.actor ?? agentActor(agentId),
              data: {
                flowId,
                downtimeSeconds,
                details: {
                  ...args.details,
                  ...(args.startedAt === undefined ? {} : { startedAt: args.startedAt }),
                  ...(args.completedAt === undefined ? {} : { completedAt: args.completedAt })
                }
              }
            })],
            idempotency: record(answer, now)
          }).pipe(Effect.tap(EngineMetrics.recordEvents))
          return { flowId, eventIds: written.map((e) => e.id) }
        })),
      (answer) => ({ flowId: answer.flowId, eventId: answer.eventIds[0] ?? 0 })
    )
}
