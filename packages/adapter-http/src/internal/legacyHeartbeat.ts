/**
 * The v5 heartbeat's error policy and its `config`. The real v5 agent takes any non-2xx (or no
 * answer) to a heartbeat as the end: it goes offline and stays so until its process restarts
 * (a 404 does not make it register again). So a heartbeat is answered non-2xx only when the
 * request itself is refused (bad token, malformed, rate limited: docs/DEPLOYMENT_RUNBOOK.md
 * lists them); everything the server could get past by itself is a 200 the agent survives:
 *
 * - an agent the store does not know (e.g. after the embedded store restarted): `status:
 *   "unknown"`, `success: false`;
 * - a heartbeat that could not be recorded (the store unavailable after a few quick retries, an
 *   internal failure, the store unavailable while the token is looked up): `status: "deferred"`,
 *   `success: false`; the next heartbeat, 30 s later, records it.
 */
import { type HttpApp, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schedule } from "effect"
import * as ApiError from "../ApiError.js"
import * as errors from "./errors.js"
import { escapeLogField } from "./inputLimits.js"

/** The settings the v5 agent reads, as register and heartbeat answers carry them. */
export interface LegacyConfig {
  readonly auto_switch_enabled: boolean
  readonly auto_terminate_enabled: boolean
}

/**
 * The v5 config of agents by their config version, so a heartbeat renders it without loading the
 * agent (it is loaded once per agent and config change). Bounded: the oldest entry goes first.
 */
export interface ConfigCache {
  readonly get: (key: string, version: number) => LegacyConfig | undefined
  readonly set: (key: string, version: number, config: LegacyConfig) => void
  /** The last config known for `key`, whatever its version. */
  readonly last: (key: string) => LegacyConfig | undefined
}

/** A config cache of at most `size` agents. */
export const makeConfigCache = (size: number): ConfigCache => {
  const entries = new Map<string, { readonly version: number; readonly config: LegacyConfig }>()
  return {
    get: (key, version) => {
      const entry = entries.get(key)
      return entry !== undefined && entry.version === version ? entry.config : undefined
    },
    set: (key, version, config) => {
      entries.delete(key)
      entries.set(key, { version, config })
      if (entries.size > size) entries.delete(entries.keys().next().value!)
    },
    last: (key) => entries.get(key)?.config
  }
}

/** Store failures retried before a heartbeat is deferred: about 0.7 s in all. */
export const storeRetry = Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(3)))

/** The answer to a heartbeat of an agent the store does not know. */
export const unknownAgent = (agentId: string, reconnect: boolean) => ({
  success: false,
  agent_id: agentId,
  status: "unknown",
  reconnected: reconnect,
  config_version: 0,
  inventory_checked: 0,
  message: "this agent is not registered here (the server's store does not know it); restart the agent to register again"
})

/** The answer to a heartbeat that could not be recorded. */
export const deferred = (agentId: string, reconnect: boolean, config?: LegacyConfig) => ({
  success: false,
  agent_id: agentId,
  status: "deferred",
  reconnected: reconnect,
  config_version: 0,
  inventory_checked: 0,
  ...(config === undefined ? {} : { config }),
  message: "the heartbeat could not be recorded now; the next one will be"
})

const v5HeartbeatPath = /^\/api\/v5\/agents\/([^/?#]+)\/heartbeat\/?(?:[?#].*)?$/

/** The agent of a `POST /api/v5/agents/{id}/heartbeat`, else `undefined`. */
export const directHeartbeatAgent = (method: string, url: string): string | undefined =>
  method === "POST" ? v5HeartbeatPath.exec(url)?.[1] : undefined

/**
 * Runs a v5 heartbeat's app so that a server-side failure (any 5xx answer, or a defect) is
 * answered 200 `deferred` instead, and logged.
 */
export const keepOnline = (agentId: string) => <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  app.pipe(
    Effect.flatMap((response) =>
      response.status < 500
        ? Effect.succeed(response)
        : Effect.as(
          Effect.logWarning(`v5 heartbeat of agent ${escapeLogField(agentId)}: answered ${response.status}, sent 200 deferred instead`),
          HttpServerResponse.unsafeJson(deferred(agentId, false))
        )
    ),
    Effect.catchAllCause((cause) =>
      // A refusal (4xx) stays what it is; the outer error handler renders it.
      Option.match(errors.fromCause(cause), { onNone: () => true, onSome: (e) => ApiError.statusOf(e) < 500 })
        ? Effect.failCause(cause)
        : Effect.as(
          Effect.logWarning(`v5 heartbeat of agent ${escapeLogField(agentId)} failed, sent 200 deferred`, cause),
          HttpServerResponse.unsafeJson(deferred(agentId, false))
        )
    )
  )
