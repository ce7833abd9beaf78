/**
 * A custom store adapter written from docs/EMBEDDING.md ("Writing a store adapter") alone: plain
 * Maps behind one lock, with artificial latency on every call (as if every call crossed a
 * network). `LatencyStore.test.ts` runs the conformance suite against it.
 *
 * The latency is real time (a timer), not `Effect.sleep`: the suite runs under `TestClock`.
 */
import {
  Agent,
  AgentStore,
  type DomainEvent as DomainEventModule,
  DomainEvent,
  EngineError,
  EventLog,
  type Ids,
  IdempotencyStore,
  PriceStore,
  type StateMachine,
  type Tenant,
  TenantStore
} from "@spotfleet/engine"
import { Context, Effect, Layer, Option } from "effect"

/** Options of the store. */
export interface LatencyOptions {
  /** Latency of every call in milliseconds: a random value in `[min, max]` (default 0…2). */
  readonly minMillis?: number | undefined
  readonly maxMillis?: number | undefined
}

type Aggregate = StateMachine.AgentAggregate

/** Every store port on Maps, each call delayed. */
export const make = (options: LatencyOptions = {}) =>
  Effect.gen(function*() {
    const min = options.minMillis ?? 0
    const max = options.maxMillis ?? 2
    const latency = Effect.async<void>((resume) => {
      const timer = setTimeout(() => resume(Effect.void), min + Math.random() * (max - min))
      return Effect.sync(() => clearTimeout(timer))
    })
    // One lock: each call is atomic with respect to every other (the commit's all-or-nothing
    // rule included), while the latency before it lets calls interleave.
    const lock = yield* Effect.makeSemaphore(1)
    const call = <A, E>(body: () => Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.zipRight(latency, lock.withPermits(1)(Effect.suspend(body)))

    const agents = new Map<Ids.AgentId, Aggregate>()
    const logicalIds = new Map<string, Ids.AgentId>() // tenant \0 logical id → agent
    const cloudIds = new Map<string, Ids.AgentId>() // tenant \0 cloud instance id → agent
    const events: Array<DomainEventModule.DomainEvent> = []
    const idempotency = new Map<string, IdempotencyStore.IdempotencyRecord>() // tenant \0 key
    const tenants = new Map<Ids.TenantId, Tenant.Tenant>()
    const tokens = new Map<string, Tenant.TenantToken>()
    const k = (a: string, b: string) => `${a}\u0000${b}`
    // This store keeps no prices itself: the in-memory price store, as the doc suggests.
    const prices = PriceStore.makeMemory()

    const appendNow = (drafts: ReadonlyArray<DomainEventModule.EventDraft>) =>
      drafts.map((draft) => {
        const stored = DomainEvent.DomainEvent.make({ ...draft, id: events.length + 1 })
        events.push(stored)
        return stored
      })

    const agentStore: AgentStore.AgentStoreService = {
      load: (agentId) => call(() => Effect.succeed(Option.fromNullable(agents.get(agentId)))),
      findByLogicalId: (tenantId, logicalAgentId) =>
        call(() => {
          const id = logicalIds.get(k(tenantId, logicalAgentId))
          return Effect.succeed(id === undefined ? Option.none() : Option.fromNullable(agents.get(id)))
        }),
      findByCloudInstanceId: (tenantId, cloudInstanceId) =>
        call(() => Effect.succeed(Option.fromNullable(cloudIds.get(k(tenantId, cloudInstanceId))))),
      list: (tenantId, listOptions = {}) =>
        call(() => {
          const out = [...agents.values()].map((a) => a.agent).filter((a) =>
            (tenantId === null || a.tenantId === tenantId) &&
            (listOptions.liveness === undefined || a.liveness === listOptions.liveness) &&
            (listOptions.heartbeatBefore === undefined || (a.lastHeartbeatAt ?? 0) < listOptions.heartbeatBefore) &&
            (listOptions.autoSwitch === undefined || a.config.autoSwitch === listOptions.autoSwitch) &&
            (listOptions.afterId === undefined || a.id > listOptions.afterId)
          ).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          return Effect.succeed(listOptions.limit === undefined ? out : out.slice(0, listOptions.limit))
        }),
      countAgents: (tenantId) => call(() => Effect.succeed([...agents.values()].filter((a) => a.agent.tenantId === tenantId).length)),
      commit: ({ after, before, events: drafts, idempotency: record }) =>
        call((): Effect.Effect<ReadonlyArray<DomainEventModule.DomainEvent>, EngineError.VersionConflict | EngineError.DuplicateKey> => {
          const id = after.agent.id
          const tenantId = after.agent.tenantId
          const stored = agents.get(id)
          // 1. the idempotency key first (a twin's key wins over a stale version)
          if (record !== undefined && idempotency.has(k(record.tenantId, record.key))) {
            return Effect.fail(new EngineError.DuplicateKey({ entity: "idempotency key", key: record.key }))
          }
          // 2. creation
          if (before === null) {
            if (stored !== undefined) return Effect.fail(new EngineError.DuplicateKey({ entity: "agent", key: id }))
            if (logicalIds.has(k(tenantId, after.agent.logicalAgentId))) {
              return Effect.fail(new EngineError.DuplicateKey({ entity: "agent", key: after.agent.logicalAgentId }))
            }
          } else if (stored === undefined || stored.agent.version !== before.agent.version) {
            // 3. compare-and-set on the version
            return Effect.fail(new EngineError.VersionConflict({ agentId: id, expectedVersion: before.agent.version }))
          }
          // 4. a cloud instance id belongs to one agent per tenant
          for (const instance of after.instances) {
            if (instance.cloudInstanceId === null) continue
            const owner = cloudIds.get(k(tenantId, instance.cloudInstanceId))
            if (owner !== undefined && owner !== id) {
              return Effect.fail(new EngineError.DuplicateKey({ entity: "instance", key: instance.cloudInstanceId }))
            }
          }
          // Every check passed: from here on nothing fails, so the write is all or nothing.
          // 5. the idempotency record
          if (record !== undefined) idempotency.set(k(record.tenantId, record.key), record)
          // 6. the new aggregate, never moving the heartbeat back
          const storedBeat = stored?.agent.lastHeartbeatAt ?? null
          const afterBeat = after.agent.lastHeartbeatAt
          const agent = storedBeat !== null && (afterBeat === null || storedBeat > afterBeat)
            ? Agent.Agent.make({ ...after.agent, lastHeartbeatAt: storedBeat })
            : after.agent
          agents.set(id, { ...after, agent })
          logicalIds.set(k(tenantId, agent.logicalAgentId), id)
          for (const instance of after.instances) {
            if (instance.cloudInstanceId !== null) cloudIds.set(k(tenantId, instance.cloudInstanceId), id)
          }
          // 7. the events
          return Effect.succeed(appendNow(drafts))
        }),
      touchHeartbeat: (tenantId, agentId, at) =>
        call(() => {
          const stored = agents.get(agentId)
          if (stored === undefined || stored.agent.tenantId !== tenantId) return Effect.succeed(Option.none())
          if (stored.agent.lastHeartbeatAt === null || at > stored.agent.lastHeartbeatAt) {
            agents.set(agentId, { ...stored, agent: Agent.Agent.make({ ...stored.agent, lastHeartbeatAt: at }) })
          }
          return Effect.succeed(Option.some({ liveness: stored.agent.liveness, configVersion: stored.agent.configVersion }))
        })
    }

    const eventLog: EventLog.EventLogService = {
      append: (drafts) => call(() => Effect.succeed(appendNow(drafts))),
      commit: ({ events: drafts, idempotency: record, onDemand, snapshots }) =>
        call(() =>
          Effect.gen(function*() {
            // 1. the idempotency key first: a taken key writes nothing
            if (record !== undefined && idempotency.has(k(record.tenantId, record.key))) {
              return yield* Effect.fail(new EngineError.DuplicateKey({ entity: "idempotency key", key: record.key }))
            }
            // 2. the prices, into the price store this store provides (in-memory: they cannot fail)
            yield* prices.appendSnapshots(snapshots ?? [])
            yield* prices.putOnDemandPrices(onDemand ?? [])
            // 3. the events, then the record with their ids in its response
            const stored = appendNow(drafts)
            if (record !== undefined) {
              idempotency.set(
                k(record.tenantId, record.key),
                IdempotencyStore.IdempotencyRecord.make({ ...record, response: { ...(record.response as object), eventIds: stored.map((e) => e.id) } })
              )
            }
            return stored
          })
        ),
      read: ({ afterId, agentId, limit, tenantId, types }) =>
        call(() =>
          Effect.succeed(
            events.filter((e) =>
              e.id > afterId && (tenantId === null || e.tenantId === tenantId) && (agentId === undefined || e.agentId === agentId) &&
              (types === undefined || types.includes(e.type))
            ).slice(0, limit)
          )
        ),
      latestId: call(() => Effect.succeed(events.length))
    }

    const idempotencyStore: IdempotencyStore.IdempotencyStoreService = {
      get: (tenantId, key) => call(() => Effect.succeed(Option.fromNullable(idempotency.get(k(tenantId, key))))),
      put: (record) =>
        call(() => {
          if (idempotency.has(k(record.tenantId, record.key))) {
            return Effect.fail(new EngineError.DuplicateKey({ entity: "idempotency key", key: record.key }))
          }
          idempotency.set(k(record.tenantId, record.key), record)
          return Effect.void
        }),
      purgeBefore: (time) =>
        call(() => {
          let purged = 0
          for (const [key, record] of idempotency) {
            if (record.createdAt < time) {
              idempotency.delete(key)
              purged++
            }
          }
          return Effect.succeed(purged)
        })
    }

    const tenantStore: TenantStore.TenantStoreService = {
      create: (tenant) =>
        call(() => {
          if (tenants.has(tenant.id) || [...tenants.values()].some((t) => t.name === tenant.name)) {
            return Effect.fail(new EngineError.DuplicateKey({ entity: "tenant", key: tenant.name }))
          }
          tenants.set(tenant.id, tenant)
          return Effect.void
        }),
      get: (tenantId) => call(() => Effect.succeed(Option.fromNullable(tenants.get(tenantId)))),
      list: call(() => Effect.succeed([...tenants.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))),
      update: (tenant) => call(() => Effect.sync(() => void tenants.set(tenant.id, tenant))),
      addToken: (token) =>
        call(() => {
          if (tokens.has(token.tokenHash)) return Effect.fail(new EngineError.DuplicateKey({ entity: "token", key: "(hidden)" }))
          tokens.set(token.tokenHash, token)
          return Effect.void
        }),
      findByTokenHash: (tokenHash) =>
        call(() => {
          const token = tokens.get(tokenHash)
          return Effect.succeed(token === undefined ? Option.none() : Option.fromNullable(tenants.get(token.tenantId)))
        })
    }

    return Context.make(AgentStore.AgentStore, agentStore).pipe(
      Context.add(EventLog.EventLog, eventLog),
      Context.add(IdempotencyStore.IdempotencyStore, idempotencyStore),
      Context.add(TenantStore.TenantStore, tenantStore),
      Context.add(PriceStore.PriceStore, prices)
    )
  })

/** Every store port, on fresh Maps. */
export const layer = (options?: LatencyOptions) => Layer.effectContext(make(options))
