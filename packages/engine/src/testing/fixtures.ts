/**
 * What the store conformance suites share: the options, a fresh tenant with one registered agent,
 * aggregate and command builders, and how a group of tests is registered on a layer. Not an entry
 * point of its own: the suites of `@spotfleet/engine/testing` use it.
 *
 * @since 0.1.0
 */
import { layer, type Vitest } from "@effect/vitest"
import { Duration, Effect, type Layer, Option } from "effect"
import { Agent } from "../Agent.js"
import { AgentStore } from "../AgentStore.js"
import { Command, CommandResult } from "../Command.js"
import { Actor, EventDraft } from "../DomainEvent.js"
import * as Engine from "../Engine.js"
import { EventLog } from "../EventLog.js"
import type { IdempotencyStore } from "../IdempotencyStore.js"
import { type AgentId, type CommandId, InstanceId, type TenantId } from "../Ids.js"
import { Instance } from "../Instance.js"
import * as Pool from "../Pool.js"
import type { PriceStore, PriceStoreService } from "../PriceStore.js"
import { SnapshotDraft } from "../Pricing.js"
import type { AgentAggregate } from "../StateMachine.js"
import type { TenantStore } from "../TenantStore.js"

/**
 * Options of a suite.
 *
 * @since 0.1.0
 */
export interface SuiteOptions {
  /** Per-test timeout (default 60 seconds: database adapters are slower). */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The store ports the engine runs on: what the layer of `StoreSuite.suite` and of each port's
 * suite provides (the tests drive the engine over it).
 *
 * @since 0.1.0
 */
export type Stores = AgentStore | EventLog | IdempotencyStore | TenantStore | PriceStore

/**
 * Tests that register themselves with the `it` of a layer.
 *
 * @since 0.1.0
 */
export type Tests<R> = (it: Vitest.MethodsNonLive<R>) => void

/**
 * Registers groups of tests in one describe block on one layer, built once and shared by them.
 *
 * @since 0.1.0
 */
export const describeOn = <R, E>(title: string, testLayer: Layer.Layer<R, E>, options: SuiteOptions, ...groups: ReadonlyArray<Tests<R>>): void =>
  layer(testLayer, { timeout: options.timeout ?? Duration.seconds(60) })(title, (it) => {
    for (const tests of groups) tests(it)
  })

export const LEASE_SECONDS = 30
export const pool = Pool.make("t3.medium", "us-east-1a")
export const unique = () => globalThis.crypto.randomUUID().slice(0, 12)
export const hash = () => (globalThis.crypto.randomUUID() + globalThis.crypto.randomUUID()).replaceAll("-", "")
export const ok = (cloudInstanceId: string | null = null) =>
  CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })

export const withEngine = Engine.layer({ leaseSeconds: LEASE_SECONDS })

/** A fresh tenant and one registered agent, loaded back from the store. */
export const fixture = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const tenant = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
  const registered = yield* engine.register(tenant.id, {
    logicalAgentId: `agent-${unique()}`,
    cloudInstanceId: `i-${unique()}`,
    pool,
    metadata: { hostname: "suite" }
  })
  const store = yield* AgentStore
  const aggregate = Option.getOrThrow(yield* store.load(registered.agent.id))
  return { engine, store, tenant, agent: registered.agent, aggregate }
})

export const event = (tenantId: TenantId, agentId: AgentId | null, data: Record<string, unknown>) =>
  EventDraft.make({ tenantId, agentId, type: "ConfigChanged", at: 0, actor: Actor.make({ kind: "system", id: null }), data })

export const bump = (aggregate: AgentAggregate, patch: Partial<Agent> = {}): AgentAggregate => ({
  ...aggregate,
  agent: Agent.make({ ...aggregate.agent, ...patch, version: aggregate.agent.version + 1 })
})

export const makeCommand = (aggregate: AgentAggregate, args: { priority: number; createdAt: number; seq: number }) => {
  const id = `cmd-${unique()}` as CommandId
  return Command.make({
    id,
    requestId: `req-${id}`,
    tenantId: aggregate.agent.tenantId,
    agentId: aggregate.agent.id,
    type: "APPLY_CONFIG",
    status: "pending",
    priority: args.priority,
    flowId: null,
    instanceId: null,
    params: { order: `${args.priority}/${args.createdAt}` },
    createdAt: args.createdAt,
    notBefore: args.createdAt,
    expiresAt: null,
    deliveredAt: null,
    leaseExpiresAt: null,
    deliveries: 0,
    completedAt: null,
    result: null,
    seq: args.seq
  })
}

export const replicaOf = (aggregate: AgentAggregate, n: number) =>
  Instance.make({
    id: InstanceId.make(`inst-${unique()}`),
    agentId: aggregate.agent.id,
    cloudInstanceId: `i-r${n}-${unique()}`,
    pool,
    lifecycle: "spot",
    role: "REPLICA",
    roleHint: "replica",
    launchCommandId: null,
    launchRequestedAt: 0,
    launchConfirmedAt: 0,
    promotedAt: null,
    demotedAt: null,
    terminatedAt: null,
    hourlyPrice: 0.0123,
    createdAt: 0
  })

/** A time of its own for a test's price snapshots (the store may be shared). */
export const logTime = () => 1_000_000_000 + Math.floor(Math.random() * 1_000_000) * 100

/** An agent's snapshot observed at `at`. */
export const reported = (tenantId: TenantId, agentId: AgentId, at: number, price: number) =>
  SnapshotDraft.make({ tenantId, pool, price, observedAt: at, reporterAgentId: agentId, reporterRole: "PRIMARY", source: "agent", receivedAt: at })

/** The snapshots of `pool` observed in the 100 ms from `at`, in append order. */
export const snapshotsAt = (prices: PriceStoreService, at: number) => prices.snapshots({ from: at, to: at + 100, pools: [pool] })

export const eventsOf = (tenantId: TenantId) =>
  Effect.flatMap(EventLog, (log) => log.read({ tenantId, afterId: 0, limit: 10_000 }))
