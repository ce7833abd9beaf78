/**
 * A simulated agent over real HTTP: it polls its pending commands and carries them out the way
 * the agent on a VM does (launch → a new cloud instance id, promote, terminate, apply config),
 * reporting each result. `fail` decides which commands fail (e.g. no spot capacity).
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { call, type TestServer } from "./utils.js"

export interface Command {
  readonly id: string
  readonly requestId: string
  readonly type: string
  readonly priority: number
  readonly status: string
  readonly params: Record<string, unknown>
  readonly expiresAt: number | null
}

export interface Instance {
  readonly id: string
  readonly cloudInstanceId: string | null
  readonly pool: string
  readonly lifecycle: string
  readonly role: string
}

let counter = 0

export const ok = <A>(res: { readonly status: number; readonly text: string; readonly body: A }, what: string): A => {
  assert.strictEqual(res.status, 200, `${what}: ${res.status} ${res.text}`)
  return res.body
}

export interface SimAgent {
  readonly agentId: string
  readonly token: string
  /** One poll; every command handed out is executed and reported. Answers the commands. */
  readonly step: (options?: { readonly fail?: (c: Command) => string | null }) => Effect.Effect<ReadonlyArray<Command>, never, TestServer>
  readonly poll: Effect.Effect<ReadonlyArray<Command>, never, TestServer>
  readonly execute: (c: Command, failure?: string | null) => Effect.Effect<string | null, never, TestServer>
  readonly instances: Effect.Effect<ReadonlyArray<Instance>, never, TestServer>
  readonly commands: Effect.Effect<ReadonlyArray<Command>, never, TestServer>
  /** Asserts the invariant: exactly one PRIMARY. */
  readonly onePrimary: (when: string) => Effect.Effect<Instance, never, TestServer>
  readonly roles: Effect.Effect<Record<string, string>, never, TestServer>
  readonly notice: (kind: "termination" | "rebalance", cloudInstanceId: string, headers?: Record<string, string>) => Effect.Effect<unknown, never, TestServer>
}

export const register = (token: string, args: { readonly logicalAgentId: string; readonly pool: string; readonly config?: Record<string, unknown> }) =>
  Effect.gen(function*() {
    const instanceId = `i-sim-${++counter}-${crypto.randomUUID().slice(0, 8)}`
    const res = yield* call("POST", "/api/agents/register", {
      token,
      body: { logicalAgentId: args.logicalAgentId, instanceId, pool: args.pool, ...(args.config ? { config: args.config } : {}) }
    })
    const body = ok(res, "register") as { agentId: string }
    return { ...make(token, body.agentId), instanceId }
  })

export const make = (token: string, agentId: string): SimAgent => {
  const base = `/api/agents/${agentId}`
  const poll = Effect.map(call("GET", `${base}/pending-commands`, { token }), (r) => (ok(r, "poll") as { commands: Array<Command> }).commands)
  const execute = (c: Command, failure: string | null = null) =>
    Effect.gen(function*() {
      if (failure !== null) {
        ok(yield* call("POST", `${base}/commands/${c.id}/executed`, { token, body: { success: false, message: failure } }), "executed")
        return null
      }
      const cloudId = c.type === "LAUNCH_INSTANCE" ? `i-sim-${++counter}-${crypto.randomUUID().slice(0, 8)}` : null
      ok(
        yield* call("POST", `${base}/commands/${c.id}/executed`, { token, body: { success: true, ...(cloudId === null ? {} : { instanceId: cloudId }) } }),
        `executed ${c.type}`
      )
      return cloudId
    })
  const instances = Effect.map(call("GET", `${base}/instances`, { token }), (r) => (ok(r, "instances") as { instances: Array<Instance> }).instances)
  const commands = Effect.map(call("GET", `${base}/commands`, { token }), (r) => (ok(r, "commands") as { commands: Array<Command> }).commands)
  return {
    agentId,
    token,
    poll,
    execute,
    instances,
    commands,
    step: (options = {}) =>
      Effect.gen(function*() {
        const cs = yield* poll
        for (const c of cs) yield* execute(c, options.fail?.(c) ?? null)
        return cs
      }),
    onePrimary: (when) =>
      Effect.gen(function*() {
        const primaries = (yield* instances).filter((i) => i.role === "PRIMARY")
        assert.strictEqual(primaries.length, 1, `exactly one PRIMARY ${when}`)
        return primaries[0]!
      }),
    roles: Effect.map(instances, (is) => Object.fromEntries(is.filter((i) => i.cloudInstanceId !== null).map((i) => [i.cloudInstanceId, i.role]))),
    notice: (kind, cloudInstanceId, headers = {}) =>
      Effect.map(call("POST", `${base}/${kind}-notice`, { token, body: { instanceId: cloudInstanceId }, headers }), (r) => ok(r, `${kind} notice`))
  }
}
