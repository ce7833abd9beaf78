/**
 * Tenants and registration: a tenant with its first token, tokens added later, and an agent's
 * registration — a new agent with its PRIMARY (within the tenant's limits, on an instance no
 * other agent owns), or a known agent re-registering, on the same instance or a new one.
 */
import { Clock, Effect, Either, Option } from "effect"
import type { Commit } from "../../AgentStore.js"
import { EventDraft } from "../../DomainEvent.js"
import type { EngineService } from "../../Engine.js"
import { RegisterResult } from "../../Engine.js"
import { type DuplicateKey, InvalidInput, VersionConflict } from "../../EngineError.js"
import * as EngineMetrics from "../../EngineMetrics.js"
import { TenantId } from "../../Ids.js"
import * as StateMachine from "../../StateMachine.js"
import { defaultLimits, Tenant, TenantToken } from "../../Tenant.js"
import { agentActor, type Core, userActor } from "./core.js"

export const make = (core: Core) => {
  const { agents, eventLog, getTenant, idempotency, idempotent, ids, retryConflicts, tenants, transitionOptions } = core

  const createTenant: EngineService["createTenant"] = ({ name, tokenHash }) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const tenant = Tenant.make({
        id: TenantId.make(ids.next("tenant")),
        name,
        limits: defaultLimits,
        dryRun: false,
        createdAt: now
      })
      yield* tenants.create(tenant)
      yield* tenants.addToken(TenantToken.make({ tenantId: tenant.id, tokenHash, label: "initial", createdAt: now }))
      yield* eventLog.append([
        EventDraft.make({ tenantId: tenant.id, agentId: null, type: "TenantCreated", at: now, actor: userActor, data: { name } })
      ])
      return tenant
    })

  const addTenantToken: EngineService["addTenantToken"] = (tenantId, tokenHash, label) =>
    Effect.gen(function*() {
      yield* getTenant(tenantId)
      const now = yield* Clock.currentTimeMillis
      yield* tenants.addToken(TenantToken.make({ tenantId, tokenHash, label, createdAt: now }))
    })

  const register: EngineService["register"] = (tenantId, args, callOptions = {}) =>
    idempotent(tenantId, callOptions.idempotencyKey, "register", RegisterResult, (record) =>
      retryConflicts(Effect.gen(function*() {
        const tenant = yield* getTenant(tenantId)
        const now = yield* Clock.currentTimeMillis
        const actor = callOptions.actor ?? agentActor(args.logicalAgentId)
        const existing = yield* agents.findByLogicalId(tenantId, args.logicalAgentId)
        const context = { ...transitionOptions, now, actor, limits: tenant.limits }
        let commit: Commit | null
        let answer: RegisterResult
        if (Option.isSome(existing)) {
          const before = existing.value
          const result = StateMachine.transition(before, {
            _tag: "Register",
            cloudInstanceId: args.cloudInstanceId,
            pool: args.pool,
            metadata: args.metadata ?? {}
          }, context)
          if (Either.isLeft(result)) return yield* Effect.fail(result.left)
          const after = result.right.aggregate
          const instance = after.instances.find((i) => i.cloudInstanceId === args.cloudInstanceId)!
          answer = RegisterResult.make({ agent: after.agent, instance, created: false })
          commit = result.right.changed ? { before, after, events: result.right.events, idempotency: record(answer, now) } : null
        } else {
          const count = yield* agents.countAgents(tenantId)
          if (count >= tenant.limits.maxAgents) {
            return yield* Effect.fail(new InvalidInput({ field: "logicalAgentId", reason: `tenant limit of ${tenant.limits.maxAgents} agents reached` }))
          }
          const owner = yield* agents.findByCloudInstanceId(tenantId, args.cloudInstanceId)
          if (Option.isSome(owner)) {
            return yield* Effect.fail(new InvalidInput({ field: "instanceId", reason: `instance ${args.cloudInstanceId} belongs to another agent` }))
          }
          const result = StateMachine.register({
            tenantId,
            logicalAgentId: args.logicalAgentId,
            cloudInstanceId: args.cloudInstanceId,
            pool: args.pool,
            metadata: args.metadata ?? {},
            config: args.config
          }, context)
          if (Either.isLeft(result)) return yield* Effect.fail(result.left)
          const after = result.right.aggregate
          answer = RegisterResult.make({ agent: after.agent, instance: after.instances[0]!, created: true })
          commit = { before: null, after, events: result.right.events, idempotency: record(answer, now) }
        }
        if (commit !== null) {
          yield* agents.commit(commit).pipe(
            Effect.tap(EngineMetrics.recordEvents),
            Effect.tap(() => core.inventories.committed(core.agentKey(tenantId, commit.after.agent.id), commit.after.agent.version)),
            // Two first registrations raced: retry, which now finds the winner's agent.
            Effect.catchIf(
              (e): e is DuplicateKey => e._tag === "DuplicateKey" && e.entity === "agent",
              (e) => Effect.fail(new VersionConflict({ agentId: e.key, expectedVersion: -1 }))
            )
          )
        } else {
          const idem = record(answer, now)
          if (idem !== undefined) yield* idempotency.put(idem)
        }
        return answer
      })))

  return {
    createTenant,
    getTenant,
    listTenants: tenants.list,
    addTenantToken,
    authenticate: ((tokenHash) => Effect.map(tenants.findByTokenHash(tokenHash), Option.getOrNull)) satisfies EngineService["authenticate"],
    register
  }
}
