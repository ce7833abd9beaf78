import * as SqlClient from "@effect/sql/SqlClient"
import { DecisionLog, DecisionModel } from "@spotfleet/engine"
import { Effect, Schema } from "effect"
import * as Rows from "./rows.js"
import * as SqlRun from "./sqlRun.js"

const decodeRecord = Rows.decoderOf(DecisionLog.DecisionRecord, "decision")
const encodeFeatures = Schema.encodeSync(DecisionModel.Features)
const encodeVerdicts = Schema.encodeSync(Schema.Array(DecisionLog.GuardVerdict))

const columns = "id, tenant_id, agent_id, model_name, model_version, CAST(features AS CHAR) AS features, action, target_pool, " +
  "confidence, reasoning, latency_ms, timed_out, CAST(guards AS CHAR) AS guards, acted, CAST(outcome AS CHAR) AS outcome, created_at"

/**
 * The parts of a record without a column of their own (migration 2's `decisions` table) are kept
 * in its `outcome` JSON under `record`; a realised outcome can be added beside it later.
 */
interface Extra {
  readonly mode: "active" | "shadow"
  readonly error: string | null
  readonly allowed: boolean
  readonly dryRun: boolean
  readonly flowId: string | null
  readonly note: string | null
  readonly expectedSavingsPercent: number | null
  readonly risk: number | null
}

const bool = (v: unknown) => v === true || v === 1 || v === "1"

export const make = Effect.gen(function*() {
  const { exec, query, run } = SqlRun.helpers(yield* SqlClient.SqlClient)

  const append: DecisionLog.DecisionLogService["append"] = (r) => {
    const extra: Extra = {
      mode: r.mode,
      error: r.error,
      allowed: r.allowed,
      dryRun: r.dryRun,
      flowId: r.flowId,
      note: r.note,
      expectedSavingsPercent: r.decision.expectedSavingsPercent,
      risk: r.decision.risk
    }
    return run(
      "appendDecision",
      Effect.asVoid(exec(
        "INSERT INTO decisions (id, tenant_id, agent_id, model_name, model_version, features, action, target_pool, confidence, " +
          "reasoning, latency_ms, timed_out, guards, acted, command_id, outcome, created_at) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
        [
          r.id,
          r.tenantId,
          r.agentId,
          r.model,
          r.modelVersion,
          JSON.stringify(encodeFeatures(r.features)),
          r.decision.action,
          r.decision.targetPool,
          r.decision.confidence,
          r.decision.reasoning,
          r.latencyMillis,
          r.timedOut,
          JSON.stringify(encodeVerdicts(r.verdicts)),
          r.acted,
          JSON.stringify({ record: extra }),
          r.createdAt
        ]
      ))
    )
  }

  const list: DecisionLog.DecisionLogService["list"] = (tenantId, options = {}) => {
    const where = ["tenant_id = ?"]
    const params: Array<unknown> = [tenantId]
    if (options.agentId !== undefined) {
      where.push("agent_id = ?")
      params.push(options.agentId)
    }
    if (options.since !== undefined) {
      where.push("created_at >= ?")
      params.push(options.since)
    }
    const limit = Math.max(0, Math.min(100_000, Math.floor(options.limit ?? 100)))
    return run(
      "listDecisions",
      Effect.flatMap(
        query(`SELECT ${columns} FROM decisions WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ${limit}`, params),
        (rows) =>
          Effect.forEach(rows, (r) => {
            const extra = (JSON.parse(String(r.outcome ?? "{}")) as { record?: Extra }).record
            return decodeRecord({
              id: r.id,
              tenantId: r.tenant_id,
              agentId: r.agent_id,
              model: r.model_name ?? "",
              modelVersion: r.model_version ?? "",
              mode: extra?.mode ?? "active",
              createdAt: Number(r.created_at),
              features: JSON.parse(String(r.features)),
              decision: {
                action: r.action,
                targetPool: r.target_pool ?? null,
                confidence: r.confidence === null ? 0 : Number(r.confidence),
                reasoning: r.reasoning ?? "",
                expectedSavingsPercent: extra?.expectedSavingsPercent ?? null,
                risk: extra?.risk ?? null
              },
              latencyMillis: r.latency_ms === null ? 0 : Number(r.latency_ms),
              timedOut: bool(r.timed_out),
              error: extra?.error ?? null,
              verdicts: JSON.parse(String(r.guards)),
              allowed: extra?.allowed ?? false,
              dryRun: extra?.dryRun ?? false,
              acted: bool(r.acted),
              flowId: extra?.flowId ?? null,
              note: extra?.note ?? null
            })
          })
      )
    )
  }

  return DecisionLog.DecisionLog.of({ append, list })
})
