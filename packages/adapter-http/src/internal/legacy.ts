/**
 * Pure helpers of the legacy v5 dialect: timestamps, command rendering, dialect detection on
 * the paths v1 and v5 share.
 */
import type { Command, StateMachine } from "@spotfleet/engine"
import type { LegacyInventoryInstance } from "../LegacyApi.js"

// ---------------------------------------------------------------------------------------------
// timestamps
// ---------------------------------------------------------------------------------------------

const isoPattern = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/** Whether a pricing record's `price_type` names an on-demand price ("ondemand", "on-demand", "On_Demand"…; absent: spot). */
export const isOnDemandPriceType = (priceType: string | null | undefined): boolean =>
  (priceType ?? "spot").toLowerCase().replace(/[-_\s]/g, "") === "ondemand"

/**
 * Epoch milliseconds of an ISO 8601 date-time as the agent writes it. A time without a zone
 * (`2026-11-26T20:52:41.779922`, Python's naive `utcnow().isoformat()`) is UTC — never the
 * server's local zone. Fractions beyond milliseconds are truncated. `undefined` when it is not
 * such a date-time.
 */
export const parseTimestamp = (input: unknown): number | undefined => {
  if (typeof input !== "string") return undefined
  const m = isoPattern.exec(input.trim())
  if (m === null) return undefined
  const [, date, hm, seconds, fraction, zone] = m
  const millis = (fraction ?? "").padEnd(3, "0").slice(0, 3)
  let offset = "Z"
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const digits = zone.replace(":", "")
    offset = `${digits.slice(0, 3)}:${digits.length > 3 ? digits.slice(3, 5) : "00"}`
  }
  const ms = Date.parse(`${date}T${hm}:${seconds ?? "00"}.${millis}${offset}`)
  return Number.isFinite(ms) ? ms : undefined
}

/** A naive UTC timestamp with microseconds, the way the agent itself writes them. */
/**
 * One instance of a v5 inventory as the engine reads it. `pool` is set by the agent for spot
 * instances only: an instance with a type and zone but no pool is on-demand.
 */
export const inventoryItem = (i: typeof LegacyInventoryInstance.Type): StateMachine.InventoryItem => {
  const spot = typeof i.pool === "string" && i.pool.length > 0 ? i.pool : null
  const placed = spot ?? (i.instance_type && i.az ? `ondemand:${i.instance_type}.${i.az}` : null)
  const tags: Record<string, string> = {}
  if (typeof i.tags === "object" && i.tags !== null && !Array.isArray(i.tags)) {
    for (const [key, value] of Object.entries(i.tags)) if (typeof value === "string") tags[key] = value
  }
  return {
    cloudInstanceId: i.instance_id,
    state: i.state ?? null,
    pool: placed,
    tags,
    launchedAt: parseTimestamp(i.launch_time) ?? null
  }
}

export const formatTimestamp = (ms: number): string => new Date(ms).toISOString().replace("Z", "000")

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

/** A command in the shape the legacy agent executes. */
export interface LegacyCommandShape {
  readonly id: string
  readonly request_id: string
  readonly command_type: Command.CommandType
  readonly instance_id: string | null
  readonly params: Record<string, unknown>
  readonly metadata: Record<string, unknown>
  readonly priority: number
  readonly created_at: string
}

const str = (u: unknown): string | null => (typeof u === "string" && u.length > 0 ? u : null)

/**
 * Renders an engine command for the legacy agent:
 * - `request_id` is the command's unique request id (never null);
 * - `params` and `metadata` are always objects (the agent merges params, then metadata);
 * - LAUNCH_INSTANCE: the temporary instance id top-level as `instance_id` (echoed back as
 *   `temp_instance_id`), `target_pool` `spot:<type>.<az>` for a spot pool so that it launches
 *   spot (an on-demand pool keeps its `ondemand:` id, so it launches on-demand);
 * - TERMINATE_INSTANCE: the cloud instance id inside `params.instance_id`;
 * - PROMOTE_REPLICA_TO_PRIMARY: `replica_instance_id` and `old_primary_id` in `params`.
 */
export const renderCommand = (command: Command.Command): LegacyCommandShape => {
  const params: Record<string, unknown> = { ...command.params }
  let instanceId: string | null
  switch (command.type) {
    case "LAUNCH_INSTANCE": {
      instanceId = str(params.temp_instance_id) ?? command.instanceId
      params.temp_instance_id = instanceId
      const target = str(params.target_pool)
      const lifecycle = str(params.lifecycle)
      const type = str(params.instance_type)
      const az = str(params.az)
      // The agent launches spot only when target_pool contains "spot".
      if (lifecycle !== "on-demand" && type !== null && az !== null && (target === null || !target.includes("spot"))) {
        params.target_pool = `spot:${type}.${az}`
      }
      break
    }
    case "TERMINATE_INSTANCE":
      instanceId = str(params.instance_id)
      break
    case "PROMOTE_REPLICA_TO_PRIMARY":
      instanceId = str(params.replica_instance_id)
      break
    default:
      instanceId = null
  }
  const metadata: Record<string, unknown> = { command_id: command.id }
  if (command.flowId !== null) metadata.flow_id = command.flowId
  if (command.expiresAt !== null) metadata.expires_at = formatTimestamp(command.expiresAt)
  return {
    id: command.id,
    request_id: command.requestId,
    command_type: command.type,
    instance_id: instanceId,
    params,
    metadata,
    priority: command.priority,
    created_at: formatTimestamp(command.createdAt)
  }
}

// ---------------------------------------------------------------------------------------------
// dialect detection on shared paths
// ---------------------------------------------------------------------------------------------

/** Where the legacy group serves the calls whose path it shares with agent API v1. */
export const aliasPrefix = "/api/v5/agents/"

const sharedPath = /^\/api\/agents\/(register|[^/?#]+\/(?:heartbeat|pricing-report|pending-commands))\/?(?:[?#].*)?$/

/** Which shared route a request is on (`null` when it is not on one). */
export const sharedRoute = (method: string, url: string): "register" | "heartbeat" | "pricing-report" | "pending-commands" | null => {
  const m = sharedPath.exec(url)
  if (m === null) return null
  const route = m[1] === "register" ? "register" : url.split("?")[0]!.split("/")[4]!
  if (route === "pending-commands") return method === "GET" ? "pending-commands" : null
  return method === "POST" ? (route as "register" | "heartbeat" | "pricing-report") : null
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Whether a request on a shared path is in the legacy dialect, from what only that dialect
 * sends: snake_case registration facts without v1's `logicalAgentId`; a heartbeat with an
 * inventory, health metrics or the reconnect flag; a `pricing_data_array`; a GET carrying
 * `Content-Type: application/json` (the legacy agent sends it on every request, GETs included —
 * the handler then answers in the dialect the agent registered with).
 */
export const isLegacyRequest = (
  route: "register" | "heartbeat" | "pricing-report" | "pending-commands",
  contentType: string | undefined,
  body: unknown
): boolean => {
  switch (route) {
    case "pending-commands":
      return contentType !== undefined && contentType.toLowerCase().includes("json")
    case "register":
      return isObject(body) && !("logicalAgentId" in body) &&
        ("logical_agent_id" in body || "agent_version" in body || "mode" in body || "instance_id" in body)
    case "heartbeat":
      return isObject(body) && ("inventory_snapshot" in body || "reconnect" in body || "health_metrics" in body)
    case "pricing-report":
      return isObject(body) && "pricing_data_array" in body
  }
}

/** The legacy group's path for a request on a shared path. */
export const aliasUrl = (url: string): string => aliasPrefix + url.slice("/api/agents/".length)
