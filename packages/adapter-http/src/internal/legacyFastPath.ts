/**
 * The v5 (legacy) dialect on the node:http fast path: the calls the real agent makes all the
 * time — heartbeat (every 30 s), command poll (every 5 s), price report — and its interruption
 * notices, answered from the same lanes and batching as v1 (internal/fastPath.ts) and the same
 * call implementation as the HttpApi routes (internal/legacyCalls.ts), so the answers are the
 * routes' answers byte for byte (`test/AgentFastPathV5.test.ts` sends each both ways).
 *
 * Heartbeats of a batch are written to the store together (`Engine.heartbeats`, one write);
 * each is then answered on its own (its inventory reconciled, its config attached). A poll of an
 * agent with nothing queued is answered from the engine's one-read peek, without loading the
 * agent. A heartbeat is never answered non-2xx for what the server can get past by itself: any
 * failure inside is answered 200 `deferred`, as the HttpApi route does (internal/legacyHeartbeat.ts).
 *
 * A request this module does not take (a caller the token cache does not know, a body its schema
 * rejects, another agent's token) is left to the HttpApi routes, which answer it as before.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Ids } from "@spotfleet/engine"
import { Effect, Either, Schema } from "effect"
import {
  LegacyCommandList,
  LegacyHeartbeatRequest,
  LegacyHeartbeatResponse,
  LegacyAck,
  LegacyPricingReport,
  LegacyPricingResponse,
  LegacyRebalanceRecommendation,
  LegacyTerminationReport
} from "../LegacyApi.js"
import type { TenantTokens } from "../Auth.js"
import * as fastPath from "./fastPath.js"
import type { LegacyCalls } from "./legacyCalls.js"
import * as heartbeats from "./legacyHeartbeat.js"

/** The v5 calls the fast path answers. */
export type LegacyCall = "heartbeat" | "commands-pending" | "pricing-report" | "termination-report" | "rebalance-recommendation"

/** The v5-only paths (the shared ones, `heartbeat` and `pricing-report`, are told apart by their body). */
export const legacyRoute = /^\/api\/agents\/([^/?#]+)\/(commands\/pending|termination-report|rebalance-recommendation)$/

const decodeHeartbeat = Schema.decodeUnknownEither(LegacyHeartbeatRequest)
const decodePricingReport = Schema.decodeUnknownEither(LegacyPricingReport)
const decodeTermination = Schema.decodeUnknownEither(LegacyTerminationReport)
const decodeRebalance = Schema.decodeUnknownEither(LegacyRebalanceRecommendation)
const encodeHeartbeat = Schema.encodeEither(LegacyHeartbeatResponse)
const encodeCommands = Schema.encodeEither(LegacyCommandList)
const encodePricing = Schema.encodeEither(LegacyPricingResponse)
const encodeAck = Schema.encodeEither(LegacyAck)

/** Inventories of at most this many instances are kept to be compared with the next one. */
const memoMaxInstances = 8

/** Agents whose last inventory is kept. */
const memoMaxAgents = 50_000

interface Item {
  readonly tenantId: Ids.TenantId
  readonly agentId: Ids.AgentId
  readonly response: ServerResponse
}

/** The call of a {@link legacyRoute} match. */
export const callOf = (segment: string): LegacyCall =>
  segment === "commands/pending" ? "commands-pending" : segment as LegacyCall

/**
 * The v5 fast path of one server: `accept` takes a call — what to run to answer it, once the
 * rate limiter lets it through — or leaves it (`undefined`: HttpApi answers it).
 */
export interface LegacyFastPath {
  readonly accept: (
    request: IncomingMessage,
    response: ServerResponse,
    call: LegacyCall,
    rawAgentId: string,
    payload: unknown
  ) => (() => void) | undefined
}

/** Builds the v5 fast path over the server's lanes, its v5 calls and its token cache. */
export const make = (args: {
  readonly lanes: fastPath.Lanes
  readonly calls: LegacyCalls
  readonly tokens: TenantTokens["Type"]
  readonly now: () => number
}): LegacyFastPath => {
  const { calls, lanes, tokens } = args

  /**
   * Heartbeats: one store write for the batch, their inventories to the engine together, each
   * answer built from the cache (internal/legacyCalls.ts). Anything that fails inside is a 200
   * `deferred` for each, as on the HttpApi route (`keepOnline`).
   */
  const heartbeatLane = lanes.lane<Item & { readonly payload: typeof LegacyHeartbeatRequest.Type }>((batch) =>
    lanes.answerBatch(
      batch,
      Effect.flatMap(calls.heartbeats(batch), (answers) => {
        const out: Array<fastPath.Answer> = []
        for (const answer of answers) {
          const body = encodeHeartbeat(answer)
          if (Either.isLeft(body)) return Effect.die(body.left)
          out.push(fastPath.ok(body.right))
        }
        return Effect.succeed(out)
      }).pipe(Effect.catchAllCause((cause) =>
        Effect.as(
          Effect.logWarning(`v5 heartbeats of ${batch.length} agents failed, sent 200 deferred`, cause),
          batch.map((item) => fastPath.ok(heartbeats.deferred(item.agentId, false)))
        )
      ))
    )
  )

  /** Command polls: most find nothing, and the engine's peek answers those without the agent. */
  const pollLane = lanes.lane<Item>(lanes.sideBySide(({ agentId, tenantId }) =>
    Effect.map(Effect.flatMap(calls.poll(tenantId, agentId), (list) => fastPath.encoded(encodeCommands(list))), fastPath.ok)
  ))

  const priceLane = lanes.lane<Item & { readonly payload: typeof LegacyPricingReport.Type }>(
    lanes.sideBySide(({ agentId, payload, tenantId }) =>
      Effect.map(Effect.flatMap(calls.pricingReport(tenantId, agentId, payload), (r) => fastPath.encoded(encodePricing(r))), fastPath.ok)
    )
  )

  /** Interruption notices (rare, urgent): answered as they come, side by side. */
  const noticeLane = lanes.lane<
    Item & (
      | { readonly kind: "termination"; readonly payload: typeof LegacyTerminationReport.Type }
      | { readonly kind: "rebalance"; readonly payload: typeof LegacyRebalanceRecommendation.Type }
    )
  >(lanes.sideBySide((item) =>
    Effect.map(
      Effect.flatMap(
        item.kind === "termination"
          ? calls.terminationReport(item.tenantId, item.agentId, item.payload)
          : calls.rebalanceRecommendation(item.tenantId, item.agentId, item.payload),
        (ack) => fastPath.encoded(encodeAck(ack))
      ),
      fastPath.ok
    )
  ))

  /**
   * The last inventory each agent sent, as decoded: the agent sends the same one every 30 s while
   * nothing changes, and decoding it is most of a heartbeat's cost. An inventory equal (as JSON)
   * to the decoded last one is not decoded again; the rest of the body is. Kept for small
   * inventories only ({@link memoMaxInstances}) and {@link memoMaxAgents} agents, the least
   * recently used going first, so its memory stays bounded.
   */
  const inventories = new Map<string, typeof LegacyHeartbeatRequest.Type["inventory_snapshot"]>()
  const decodeBeat = (key: string, payload: unknown): typeof LegacyHeartbeatRequest.Type | undefined => {
    const raw = isObject(payload) ? payload.inventory_snapshot : undefined
    const last = raw === undefined ? undefined : inventories.get(key)
    if (last !== undefined && sameJson(last, raw)) {
      const rest = decodeHeartbeat({ ...(payload as Record<string, unknown>), inventory_snapshot: undefined })
      return Either.isLeft(rest) ? undefined : { ...rest.right, inventory_snapshot: last }
    }
    const beat = decodeHeartbeat(payload)
    if (Either.isLeft(beat)) return undefined
    const decoded = beat.right.inventory_snapshot
    inventories.delete(key)
    if (decoded && (decoded.instances?.length ?? 0) <= memoMaxInstances) {
      inventories.set(key, decoded)
      if (inventories.size > memoMaxAgents) inventories.delete(inventories.keys().next().value!)
    }
    return beat.right
  }

  const accept: LegacyFastPath["accept"] = (request, response, call, rawAgentId, payload) => {
    const caller = fastPath.knownCaller(tokens, args.now(), request, rawAgentId)
    if (caller === undefined) return undefined
    const item = { tenantId: caller.principal.tenantId, agentId: caller.agentId, response }
    switch (call) {
      case "heartbeat": {
        const beat = decodeBeat(`${item.tenantId}/${item.agentId}`, payload)
        return beat === undefined ? undefined : () => heartbeatLane({ ...item, payload: beat })
      }
      case "commands-pending":
        return () => pollLane(item)
      case "pricing-report": {
        const report = decodePricingReport(payload)
        return Either.isLeft(report) ? undefined : () => priceLane({ ...item, payload: report.right })
      }
      case "termination-report": {
        const notice = decodeTermination(payload)
        return Either.isLeft(notice) ? undefined : () => noticeLane({ ...item, kind: "termination", payload: notice.right })
      }
      case "rebalance-recommendation": {
        const notice = decodeRebalance(payload)
        return Either.isLeft(notice) ? undefined : () => noticeLane({ ...item, kind: "rebalance", payload: notice.right })
      }
    }
  }

  return { accept }
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Whether two parsed JSON values are equal. */
export const sameJson = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const k of keys) {
    if (!Object.hasOwn(b, k) || !sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false
  }
  return true
}
