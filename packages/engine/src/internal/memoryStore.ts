import { Context, Effect, Option } from "effect"
import { Agent } from "../Agent.js"
import type { AgentRef, AgentStoreService, Commit, HeartbeatTouch, LiveInstance, TenantInstance } from "../AgentStore.js"
import { AgentStore } from "../AgentStore.js"
import { DomainEvent, type EventDraft } from "../DomainEvent.js"
import { DuplicateKey, VersionConflict } from "../EngineError.js"
import { EventLog, type EventLogService } from "../EventLog.js"
import { IdempotencyRecord, IdempotencyStore, type IdempotencyStoreService } from "../IdempotencyStore.js"
import type { AgentId, TenantId } from "../Ids.js"
import { isUnreconciled } from "../Instance.js"
import { PriceStore } from "../PriceStore.js"
import { mayRunAfter } from "../Savings.js"
import type { AgentAggregate } from "../StateMachine.js"
import type { Tenant, TenantToken } from "../Tenant.js"
import { TenantStore, type TenantStoreService } from "../TenantStore.js"
import { makeMemoryWith as makePriceStore } from "./priceStore.js"

/** A log commit's record with the ids of its events in its response (`EventLog.LogCommit`). */
const withEventIds = (record: IdempotencyRecord, events: ReadonlyArray<DomainEvent>): IdempotencyRecord =>
  IdempotencyRecord.make({ ...record, response: { ...(record.response as object), eventIds: events.map((e) => e.id) } })

/**
 * All state lives in plain maps mutated inside `Effect.sync` blocks. A fiber cannot be
 * interrupted or interleaved in the middle of a synchronous block, so every method is atomic
 * with respect to every other fiber: that is the whole concurrency story of this store.
 */
export const make = Effect.sync(() => {
  const aggregates = new Map<AgentId, AgentAggregate>()
  const byLogicalId = new Map<string, AgentId>()
  const byCloudId = new Map<string, AgentId>()
  const events: Array<DomainEvent> = []
  const idempotency = new Map<string, IdempotencyRecord>()
  const tenants = new Map<TenantId, Tenant>()
  const tokens = new Map<string, TenantToken>()

  const logicalKey = (tenantId: string, logicalAgentId: string) => `${tenantId}\u0000${logicalAgentId}`
  const cloudKey = (tenantId: string, cloudId: string) => `${tenantId}\u0000${cloudId}`
  const idemKey = (tenantId: string, key: string) => `${tenantId}\u0000${key}`
  const prices = makePriceStore()

  /** A notice, an open flow, DEGRADED or an open command: what a poll or the sweep has to look at. */
  const isBusy = ({ agent, commands }: AgentAggregate): boolean =>
    agent.notice !== null || agent.flow !== null || agent.degraded || commands.some((c) => c.status === "pending" || c.status === "delivered")

  const touch = (tenantId: TenantId, agentId: AgentId, at: number): Option.Option<HeartbeatTouch> => {
    const stored = aggregates.get(agentId)
    // Another tenant's agent is reported exactly like a missing one, and left untouched.
    if (stored === undefined || stored.agent.tenantId !== tenantId) return Option.none()
    const previous = stored.agent.lastHeartbeatAt
    if (previous === null || at > previous) {
      // A stored (valid) agent with a new timestamp: no need to validate it again.
      aggregates.set(agentId, { ...stored, agent: new Agent({ ...stored.agent, lastHeartbeatAt: at }, true) })
    }
    return Option.some({ liveness: stored.agent.liveness, configVersion: stored.agent.configVersion })
  }

  const appendEvents = (drafts: ReadonlyArray<EventDraft>): ReadonlyArray<DomainEvent> =>
    drafts.map((d) => {
      const event = DomainEvent.make({ ...d, id: events.length + 1 })
      events.push(event)
      return event
    })

  const agentStore: AgentStoreService = {
    load: (agentId) => Effect.sync(() => Option.fromNullable(aggregates.get(agentId))),
    findByLogicalId: (tenantId, logicalAgentId) =>
      Effect.sync(() => {
        const id = byLogicalId.get(logicalKey(tenantId, logicalAgentId))
        return Option.fromNullable(id === undefined ? undefined : aggregates.get(id))
      }),
    findByCloudInstanceId: (tenantId, cloudInstanceId) =>
      Effect.sync(() => Option.fromNullable(byCloudId.get(cloudKey(tenantId, cloudInstanceId)))),
    ownersOf: (tenantId, cloudInstanceIds) =>
      Effect.sync(() => {
        const owners = new Map<string, AgentId>()
        for (const id of cloudInstanceIds) {
          const owner = byCloudId.get(cloudKey(tenantId, id))
          if (owner !== undefined) owners.set(id, owner)
        }
        return owners
      }),
    list: (tenantId, options = {}) =>
      Effect.sync(() => {
        const out: Array<Agent> = []
        for (const { agent } of aggregates.values()) {
          if (tenantId !== null && agent.tenantId !== tenantId) continue
          if (options.liveness !== undefined && agent.liveness !== options.liveness) continue
          if (options.heartbeatBefore !== undefined && (agent.lastHeartbeatAt ?? 0) >= options.heartbeatBefore) continue
          if (options.autoSwitch !== undefined && agent.config.autoSwitch !== options.autoSwitch) continue
          if (options.afterId !== undefined && agent.id <= options.afterId) continue
          out.push(agent)
        }
        out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        return options.limit === undefined ? out : out.slice(0, options.limit)
      }),
    countAgents: (tenantId) =>
      Effect.sync(() => {
        let n = 0
        for (const { agent } of aggregates.values()) if (agent.tenantId === tenantId) n++
        return n
      }),
    commit: (commit: Commit) =>
      Effect.suspend((): Effect.Effect<ReadonlyArray<DomainEvent>, DuplicateKey | VersionConflict> => {
        const { after, before } = commit
        const id = after.agent.id
        const stored = aggregates.get(id)
        // The idempotency key is checked first: a repeated request answers DuplicateKey (and the
        // engine replays the first answer) even when its read is stale by now.
        const idemId = commit.idempotency === undefined ? undefined : idemKey(commit.idempotency.tenantId, commit.idempotency.key)
        if (idemId !== undefined && idempotency.has(idemId)) {
          return Effect.fail(new DuplicateKey({ entity: "idempotency key", key: commit.idempotency!.key }))
        }
        if (before === null) {
          if (stored !== undefined) return Effect.fail(new DuplicateKey({ entity: "agent", key: id }))
          if (byLogicalId.has(logicalKey(after.agent.tenantId, after.agent.logicalAgentId))) {
            return Effect.fail(new DuplicateKey({ entity: "agent", key: after.agent.logicalAgentId }))
          }
        } else if (stored === undefined || stored.agent.version !== before.agent.version) {
          return Effect.fail(new VersionConflict({ agentId: id, expectedVersion: before.agent.version }))
        }
        for (const instance of after.instances) {
          if (instance.cloudInstanceId === null) continue
          const owner = byCloudId.get(cloudKey(after.agent.tenantId, instance.cloudInstanceId))
          if (owner !== undefined && owner !== id) {
            return Effect.fail(new DuplicateKey({ entity: "instance", key: instance.cloudInstanceId }))
          }
        }
        if (idemId !== undefined) idempotency.set(idemId, commit.idempotency!)
        // Heartbeats are written apart from commits: never move the timestamp backwards.
        const lastHeartbeatAt = Math.max(stored?.agent.lastHeartbeatAt ?? 0, after.agent.lastHeartbeatAt ?? 0) || null
        const agent = lastHeartbeatAt === after.agent.lastHeartbeatAt
          ? after.agent
          : Agent.make({ ...after.agent, lastHeartbeatAt })
        aggregates.set(id, { ...after, agent })
        byLogicalId.set(logicalKey(agent.tenantId, agent.logicalAgentId), id)
        for (const instance of after.instances) {
          if (instance.cloudInstanceId !== null) byCloudId.set(cloudKey(agent.tenantId, instance.cloudInstanceId), id)
        }
        return Effect.succeed(appendEvents(commit.events))
      }),
    touchHeartbeat: (tenantId, agentId, at) => Effect.sync(() => touch(tenantId, agentId, at)),
    touchHeartbeats: (beats, at) => Effect.sync(() => beats.map((b) => touch(b.tenantId, b.agentId, at))),
    liveInstances: (tenantId, agentId) =>
      Effect.sync(() => {
        const stored = aggregates.get(agentId)
        if (stored === undefined || stored.agent.tenantId !== tenantId) return Option.none()
        return Option.some(stored.instances.flatMap((i): Array<LiveInstance> =>
          i.role === "PRIMARY" || i.role === "REPLICA" ? [{ role: i.role, cloudInstanceId: i.cloudInstanceId, pool: i.pool }] : []
        ))
      }),
    peekPoll: (tenantId, agentId) =>
      Effect.sync(() => {
        const stored = aggregates.get(agentId)
        if (stored === undefined || stored.agent.tenantId !== tenantId) return Option.none()
        return Option.some(isBusy(stored))
      }),
    listInstances: (tenantId, options = {}) =>
      Effect.sync(() => {
        const out: Array<TenantInstance> = []
        for (const { agent, instances } of aggregates.values()) {
          if (tenantId !== null && agent.tenantId !== tenantId) continue
          for (const instance of instances) {
            if (options.roles !== undefined && !options.roles.includes(instance.role)) continue
            if (options.notTerminatedBy !== undefined && instance.terminatedAt !== null && instance.terminatedAt <= options.notTerminatedBy) continue
            if (options.runningAfter !== undefined && !mayRunAfter(instance, options.runningAfter)) continue
            if (options.unreconciled !== undefined && isUnreconciled(instance) !== options.unreconciled) continue
            if (options.afterId !== undefined && instance.id <= options.afterId) continue
            out.push({ tenantId: agent.tenantId, instance })
          }
        }
        out.sort((a, b) => (a.instance.id < b.instance.id ? -1 : a.instance.id > b.instance.id ? 1 : 0))
        return options.limit === undefined ? out : out.slice(0, options.limit)
      }),
    busyAgents: (tenantId, options = {}) =>
      Effect.sync(() => {
        const out: Array<AgentRef> = []
        for (const stored of aggregates.values()) {
          const agent = stored.agent
          if (tenantId !== null && agent.tenantId !== tenantId) continue
          if (options.afterId !== undefined && agent.id <= options.afterId) continue
          if (isBusy(stored)) out.push({ tenantId: agent.tenantId, agentId: agent.id, version: agent.version })
        }
        out.sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0))
        return options.limit === undefined ? out : out.slice(0, options.limit)
      })
  }

  const eventLog: EventLogService = {
    read: ({ afterId, agentId, limit, tenantId, types }) =>
      Effect.sync(() => {
        const wanted = types === undefined ? undefined : new Set<string>(types)
        const out: Array<DomainEvent> = []
        // Ids are dense (1..n), so the start index is known.
        for (let i = Math.max(0, afterId); i < events.length && out.length < limit; i++) {
          const e = events[i]!
          if (tenantId !== null && e.tenantId !== tenantId) continue
          if (agentId !== undefined && e.agentId !== agentId) continue
          if (wanted !== undefined && !wanted.has(e.type)) continue
          out.push(e)
        }
        return out
      }),
    append: (drafts) => Effect.sync(() => appendEvents(drafts)),
    commit: (commit) =>
      Effect.suspend((): Effect.Effect<ReadonlyArray<DomainEvent>, DuplicateKey> => {
        const record = commit.idempotency
        const key = record === undefined ? undefined : idemKey(record.tenantId, record.key)
        if (key !== undefined && idempotency.has(key)) return Effect.fail(new DuplicateKey({ entity: "idempotency key", key: record!.key }))
        // Nothing below fails: the write is all or nothing.
        prices.appendSnapshotsNow(commit.snapshots ?? [])
        prices.putOnDemandNow(commit.onDemand ?? [])
        const written = appendEvents(commit.events)
        if (key !== undefined) idempotency.set(key, withEventIds(record!, written))
        return Effect.succeed(written)
      }),
    latestId: Effect.sync(() => events.length)
  }

  const idempotencyStore: IdempotencyStoreService = {
    get: (tenantId, key) => Effect.sync(() => Option.fromNullable(idempotency.get(idemKey(tenantId, key)))),
    put: (record) =>
      Effect.suspend(() => {
        const key = idemKey(record.tenantId, record.key)
        if (idempotency.has(key)) return Effect.fail(new DuplicateKey({ entity: "idempotency key", key: record.key }))
        idempotency.set(key, record)
        return Effect.void
      }),
    purgeBefore: (time) =>
      Effect.sync(() => {
        let n = 0
        for (const [k, r] of idempotency) {
          if (r.createdAt < time) {
            idempotency.delete(k)
            n++
          }
        }
        return n
      })
  }

  const tenantStore: TenantStoreService = {
    create: (tenant) =>
      Effect.suspend(() => {
        if (tenants.has(tenant.id)) return Effect.fail(new DuplicateKey({ entity: "tenant", key: tenant.id }))
        for (const t of tenants.values()) {
          if (t.name === tenant.name) return Effect.fail(new DuplicateKey({ entity: "tenant", key: tenant.name }))
        }
        tenants.set(tenant.id, tenant)
        return Effect.void
      }),
    get: (tenantId) => Effect.sync(() => Option.fromNullable(tenants.get(tenantId))),
    list: Effect.sync(() => [...tenants.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))),
    update: (tenant) => Effect.sync(() => void tenants.set(tenant.id, tenant)),
    addToken: (token) =>
      Effect.suspend(() => {
        if (tokens.has(token.tokenHash)) return Effect.fail(new DuplicateKey({ entity: "token", key: "(hidden)" }))
        tokens.set(token.tokenHash, token)
        return Effect.void
      }),
    findByTokenHash: (tokenHash) =>
      Effect.sync(() => {
        const token = tokens.get(tokenHash)
        return Option.fromNullable(token === undefined ? undefined : tenants.get(token.tenantId))
      })
  }

  return Context.make(AgentStore, agentStore)
    .pipe(Context.add(EventLog, eventLog))
    .pipe(Context.add(IdempotencyStore, idempotencyStore))
    .pipe(Context.add(TenantStore, tenantStore))
    .pipe(Context.add(PriceStore, prices.store))
})
