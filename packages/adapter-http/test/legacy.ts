/**
 * Test helpers for the legacy (v5) dialect: the fixture bodies of `../shared/fixtures/v5`
 * (relative to the repository root), requests carrying exactly the legacy agent's headers, and the
 * fixture replay in lifecycle order.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { assert } from "@effect/vitest"
import { type DomainEvent, Engine, type Ids, PriceStore } from "@spotfleet/engine"
import { Effect } from "effect"
import { call, createTenant } from "./utils.js"

/** `<repo root>/../shared/fixtures/v5`, computed from this file's place in the repository. */
export const fixturesDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../..", "../shared/fixtures/v5")

export const fixturesPresent = existsSync(fixturesDir)

export interface Fixture {
  readonly method: string
  readonly path: string
  readonly body: unknown
}

export const fixtureNames = (): ReadonlyArray<string> =>
  fixturesPresent ? readdirSync(fixturesDir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort() : []

export const loadFixture = (name: string): Fixture => JSON.parse(readFileSync(join(fixturesDir, `${name}.json`), "utf8"))

type Vars = Partial<Record<"agent_id" | "request_id" | "temp_instance_id", string>>

const fill = (value: unknown, vars: Vars): unknown => {
  if (typeof value === "string") {
    return value.replace(/\{(agent_id|request_id|temp_instance_id)\}/g, (whole, key: keyof Vars) => vars[key] ?? whole)
  }
  if (Array.isArray(value)) return value.map((v) => fill(v, vars))
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, vars)]))
  }
  return value
}

/** A request as the legacy agent sends it: bearer token and a JSON content type, GETs included. */
export const legacyCall = (token: string, method: string, path: string, body?: unknown) =>
  call(method, path, {
    token,
    headers: { "content-type": "application/json" },
    ...(body === undefined || body === null ? {} : { body })
  })

/** Sends one fixture with its placeholders filled. */
export const sendFixture = (token: string, name: string, vars: Vars = {}) => {
  const fixture = loadFixture(name)
  return legacyCall(token, fixture.method, fill(fixture.path, vars) as string, fill(fixture.body, vars))
}

export const isNonEmptyObject = (u: unknown): boolean =>
  typeof u === "object" && u !== null && !Array.isArray(u) && Object.keys(u).length > 0

/** "What it needs back": an object with a top-level `commands` array of executable commands. */
export const assertCommandList = (body: any): ReadonlyArray<any> => {
  assert.isTrue(isNonEmptyObject(body), "poll answer is an object")
  assert.isTrue(Array.isArray(body.commands), "poll answer has a commands array")
  for (const c of body.commands) {
    assert.isString(c.request_id)
    assert.isAbove(c.request_id.length, 0)
    assert.isString(c.command_type)
    assert.isTrue(typeof c.params === "object" && c.params !== null && !Array.isArray(c.params), "params is an object")
    assert.isTrue(typeof c.metadata === "object" && c.metadata !== null && !Array.isArray(c.metadata), "metadata is an object")
  }
  return body.commands
}

const count = (events: ReadonlyArray<{ readonly type: string; readonly data: Record<string, unknown> }>, type: string, where: (d: Record<string, unknown>) => boolean = () => true) =>
  events.filter((e) => e.type === type && where(e.data)).length

export const eventsOf = (tenantId: Ids.TenantId, agentId: Ids.AgentId): Effect.Effect<ReadonlyArray<DomainEvent.DomainEvent>, never, Engine.Engine> =>
  Effect.flatMap(Engine.Engine, (engine) => Effect.orDie(engine.events(tenantId, { afterId: 0, limit: 10_000, agentId })))

export const countEvents = count

/**
 * Drives every fixture in lifecycle order against the server in context, checking each answer
 * against "What it needs back" and the engine state along the way and at the end.
 */
export const replay = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const prices = yield* PriceStore.PriceStore
  const tenant = yield* createTenant(`legacy-${crypto.randomUUID()}`)
  const tenantId = tenant.id as Ids.TenantId
  const sent = new Set<string>()
  const send = (name: string, vars: Vars = {}) => {
    sent.add(name)
    return sendFixture(tenant.token, name, vars)
  }
  const ok = (res: { status: number; text: string }, what: string) =>
    assert.isTrue(res.status >= 200 && res.status < 300, `${what}: ${res.status} ${res.text}`)
  const view = (agentId: string) => Effect.orDie(engine.getAgent(tenantId, agentId as Ids.AgentId))
  const primaries = (agentId: string) =>
    Effect.map(view(agentId), (v) => v.instances.filter((i) => i.role === "PRIMARY").map((i) => i.cloudInstanceId))
  const poll = (agentId: string) =>
    Effect.gen(function*() {
      const res = yield* send("poll", { agent_id: agentId })
      ok(res, "poll")
      return assertCommandList(res.body)
    })

  // 1. register (twice: a restart registers again and must find the same agent)
  const reg = yield* send("register")
  ok(reg, "register")
  assert.isString(reg.body.agent_id)
  assert.isAbove(reg.body.agent_id.length, 0)
  assert.isBoolean(reg.body.config.auto_switch_enabled)
  assert.isBoolean(reg.body.config.auto_terminate_enabled)
  const agentId: string = reg.body.agent_id
  const again = yield* send("register")
  ok(again, "register again")
  assert.strictEqual(again.body.agent_id, agentId)
  const registered = yield* view(agentId)
  assert.strictEqual(registered.agent.logicalAgentId, "i-4ff0da58a55cfa7ce")
  assert.deepStrictEqual(yield* primaries(agentId), ["i-4ff0da58a55cfa7ce"])

  // metadata service unreachable: still a non-empty agent_id, no second agent
  const noImds = yield* send("register-no-imds")
  ok(noImds, "register without IMDS")
  assert.isString(noImds.body.agent_id)
  assert.isAbove(noImds.body.agent_id.length, 0)
  // …whose heartbeat is 200 "unknown": any non-2xx would take the agent offline for good
  const unplaced = yield* send("heartbeat-reconnect", { agent_id: noImds.body.agent_id })
  ok(unplaced, "heartbeat of an unplaced agent")
  assert.include(unplaced.body, { success: false, status: "unknown" })

  // 2. reconnect: 200 "unknown" for an unknown agent, a non-empty object with the config for a known one
  const unknown = yield* send("heartbeat-reconnect", { agent_id: "agent-that-does-not-exist" })
  ok(unknown, "heartbeat of an unknown agent")
  assert.include(unknown.body, { success: false, status: "unknown", agent_id: "agent-that-does-not-exist" })
  const reconnect = yield* send("heartbeat-reconnect", { agent_id: agentId })
  ok(reconnect, "reconnect")
  assert.isTrue(isNonEmptyObject(reconnect.body))
  assert.deepStrictEqual(reconnect.body.config, reg.body.config, "the heartbeat carries the config as register does")

  // 3. heartbeat with the region's inventory (one unmanaged instance)
  const beat = yield* send("heartbeat", { agent_id: agentId })
  ok(beat, "heartbeat")
  assert.isTrue(isNonEmptyObject(beat.body))
  const afterBeat = yield* view(agentId)
  assert.deepStrictEqual(afterBeat.instances.map((i) => [i.cloudInstanceId, i.role]), [["i-4ff0da58a55cfa7ce", "PRIMARY"]])

  // 4. nothing to do yet (both poll paths)
  assert.deepStrictEqual(yield* poll(agentId), [])
  const other = yield* legacyCall(tenant.token, "GET", `/api/agents/${agentId}/pending-commands`)
  ok(other, "pending-commands")
  assert.deepStrictEqual(other.body, { commands: [] })

  // 8. prices
  const priced = yield* send("pricing-report", { agent_id: agentId })
  ok(priced, "pricing-report")
  const observed = Date.parse("2026-11-26T20:57:40Z")
  const snapshots = yield* Effect.orDie(prices.snapshots({ from: observed - 60_000, to: observed + 60_000 }))
  const mine = snapshots.filter((s) => s.tenantId === tenantId)
  assert.deepStrictEqual(
    mine.map((s) => [s.pool, s.price, s.observedAt]).sort(),
    [
      ["t3.medium.us-east-1a", 0.0125, Date.parse("2026-11-26T20:57:40.101Z")],
      ["t3.medium.us-east-1b", 0.0131, Date.parse("2026-11-26T20:57:40.402Z")],
      ["t3.medium.us-east-1c", 0.0118, Date.parse("2026-11-26T20:57:40.713Z")]
    ]
  )
  const onDemand = yield* Effect.orDie(prices.onDemandPrices)
  assert.isTrue(onDemand.some((p) => p.instanceType === "t3.medium" && p.region === "us-east-1" && p.price === 0.0416))

  // the operator wants the demoted PRIMARY terminated at once, and automatic switching: an
  // APPLY_CONFIG for the agent
  assert.isFalse(reg.body.config.auto_switch_enabled)
  const patched = yield* call("PATCH", `/api/agents/${agentId}/config`, { token: tenant.token, body: { terminateWaitSeconds: 0, autoSwitch: true } })
  ok(patched, "config")
  const [applyConfig] = yield* poll(agentId)
  assert.strictEqual(applyConfig.command_type, "APPLY_CONFIG")
  assert.isObject(applyConfig.params.config_updates)
  ok(yield* send("action-result-promote", { agent_id: agentId, request_id: applyConfig.request_id }), "APPLY_CONFIG result")
  // …and the next heartbeat's config says so too
  const changed = yield* send("heartbeat", { agent_id: agentId })
  ok(changed, "heartbeat after a config change")
  assert.isTrue(changed.body.config.auto_switch_enabled)

  // 10. rebalance: an emergency replica; its launch fails for capacity
  ok(yield* send("rebalance-recommendation", { agent_id: agentId }), "rebalance")
  const [firstLaunch] = yield* poll(agentId)
  assert.strictEqual(firstLaunch.command_type, "LAUNCH_INSTANCE")
  ok(yield* send("action-result-failure", { agent_id: agentId, request_id: firstLaunch.request_id }), "launch failure")
  const failed = (yield* view(agentId)).commands.find((c) => c.requestId === firstLaunch.request_id)!
  assert.strictEqual(failed.status, "failed")

  // 9. termination notice, re-sent while it stands (handled once)
  for (let i = 0; i < 5; i++) ok(yield* send("termination-report", { agent_id: agentId }), "termination-report")
  let launch: any
  for (let i = 0; i < 5 && launch === undefined; i++) launch = (yield* poll(agentId)).find((c) => c.command_type === "LAUNCH_INSTANCE")
  assert.isDefined(launch)
  assert.notStrictEqual(launch.request_id, firstLaunch.request_id)
  assert.isString(launch.instance_id)
  assert.strictEqual(launch.params.temp_instance_id, launch.instance_id)
  assert.isString(launch.params.target_pool)
  assert.strictEqual(launch.params.role_hint, "replica")

  // 6 then 5: launched, then its result
  ok(yield* send("instance-launched", { agent_id: agentId, request_id: launch.request_id, temp_instance_id: launch.instance_id }), "instance-launched")
  const replica = (yield* view(agentId)).instances.find((i) => i.cloudInstanceId === "i-0f9e8d7c6b5a43210")
  assert.strictEqual(replica?.role, "REPLICA")
  assert.deepStrictEqual(yield* primaries(agentId), ["i-4ff0da58a55cfa7ce"])
  ok(yield* send("action-result-launch", { agent_id: agentId, request_id: launch.request_id }), "launch result")

  // PROMOTE with the replica and the old primary
  const [promote] = yield* poll(agentId)
  assert.strictEqual(promote.command_type, "PROMOTE_REPLICA_TO_PRIMARY")
  assert.strictEqual(promote.params.replica_instance_id, "i-0f9e8d7c6b5a43210")
  assert.strictEqual(promote.params.old_primary_id, "i-4ff0da58a55cfa7ce")
  ok(yield* send("action-result-promote", { agent_id: agentId, request_id: promote.request_id }), "promote result")
  assert.deepStrictEqual(yield* primaries(agentId), ["i-0f9e8d7c6b5a43210"])

  // TERMINATE of the old instance: its id inside params
  const [terminate] = yield* poll(agentId)
  assert.strictEqual(terminate.command_type, "TERMINATE_INSTANCE")
  assert.strictEqual(terminate.params.instance_id, "i-4ff0da58a55cfa7ce")
  ok(yield* send("instance-terminated", { agent_id: agentId, request_id: terminate.request_id }), "instance-terminated")
  ok(yield* send("action-result-promote", { agent_id: agentId, request_id: terminate.request_id }), "terminate result")

  // a cloud error in the inventory changes nothing
  const before = yield* view(agentId)
  const errorBeat = yield* send("heartbeat-cloud-error", { agent_id: agentId })
  ok(errorBeat, "heartbeat with a cloud error")
  assert.isTrue(isNonEmptyObject(errorBeat.body))
  const after = yield* view(agentId)
  assert.deepStrictEqual(after.instances, before.instances)
  assert.strictEqual(after.agent.version, before.agent.version)

  // 11. shutdown (also from an agent that never registered)
  ok(yield* send("shutdown", { agent_id: agentId }), "shutdown")
  ok(yield* send("shutdown-unregistered"), "shutdown of None")

  // every fixture was driven
  assert.deepStrictEqual([...sent].sort(), [...fixtureNames()])

  // the engine afterwards
  const agents = yield* Effect.orDie(engine.listAgents(tenantId))
  assert.strictEqual(agents.length, 1, "registered once")
  const events = yield* eventsOf(tenantId, agentId as Ids.AgentId)
  assert.strictEqual(count(events, "AgentRegistered"), 1)
  const final = yield* view(agentId)
  assert.deepStrictEqual(
    final.instances.filter((i) => i.cloudInstanceId !== null).map((i) => [i.cloudInstanceId, i.role]).sort(),
    [["i-0f9e8d7c6b5a43210", "PRIMARY"], ["i-4ff0da58a55cfa7ce", "TERMINATED"]]
  )
  assert.strictEqual(count(events, "NoticeReceived", (d) => d.kind === "termination"), 1, "termination notice handled once")
  assert.strictEqual(count(events, "NoticeReceived", (d) => d.kind === "rebalance"), 1)
  assert.strictEqual(count(events, "EmergencyPromotion", (d) => d.step === undefined), 1)
  assert.isTrue(final.commands.filter((c) => c.type === "TERMINATE_INSTANCE").every((c) => c.status === "succeeded"))
  return { tenant, agentId }
})

/** A v5 registration body as the agent sends it (its IMDS identity), with an unknown extra key it may add. */
export const registerBody = (instanceId: string, az = "us-east-1a") => ({
  cloud_account: "",
  project_id: "default",
  region: "us-east-1",
  hostname: "ip-10-0-1-17",
  agent_version: "5.0.1-production",
  instance_id: instanceId,
  instance_type: "t3.medium",
  az,
  ami_id: "ami-03cf127a",
  mode: "unknown",
  logical_agent_id: instanceId,
  some_future_key: { nested: true }
})
