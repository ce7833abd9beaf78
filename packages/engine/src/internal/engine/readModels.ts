/**
 * The engine's read models over the event log: the pool ledger (boot times, notices,
 * quarantine: where an emergency launches) and the switch history. Each is a fold over the
 * whole log, caught up on demand, so every process sharing a store answers the same.
 */
import { Clock, Effect, Ref } from "effect"
import type { DomainEvent, EventType } from "../../DomainEvent.js"
import type { EngineOptions, EngineService } from "../../Engine.js"
import type { EventLogService } from "../../EventLog.js"
import type { PoolId } from "../../Pool.js"
import * as PoolLedger from "../../PoolLedger.js"
import * as SwitchHistory from "../../SwitchHistory.js"

/**
 * A read model folded over the whole event log and caught up on demand (one catch-up at a
 * time). Every process folds the same log, so every process answers the same.
 */
const readModel = <S extends { readonly lastEventId: number }>(
  eventLog: EventLogService,
  empty: S,
  fold: (s: S, events: ReadonlyArray<DomainEvent>) => S,
  /** The event types the fold uses: only those are read (the log is mostly price reports). */
  types: ReadonlyArray<EventType>
) =>
  Effect.gen(function*() {
    const ref = yield* Ref.make(empty)
    const lock = yield* Effect.makeSemaphore(1)
    // Catch-ups completed so far. A caller that queued behind a catch-up which started after
    // it asked takes that result instead of reading again: under a burst (1,000 notices at
    // once) one read serves every waiter rather than one read each, in turn.
    let started = 0
    let finished = 0
    return Effect.suspend(() => {
      const asked = started
      return lock.withPermits(1)(Effect.gen(function*() {
        if (finished > asked) return yield* Ref.get(ref)
        started++
        let state = yield* Ref.get(ref)
        while (true) {
          const page = yield* eventLog.read({ tenantId: null, afterId: state.lastEventId, limit: 1000, types })
          if (page.length === 0) break
          state = fold(state, page)
        }
        yield* Ref.set(ref, state)
        finished = started
        return state
      }))
    })
  })

export const make = (eventLog: EventLogService, options: EngineOptions) =>
  Effect.gen(function*() {
    const poolLedger = yield* readModel(eventLog, PoolLedger.empty, PoolLedger.fold, PoolLedger.foldedTypes)
    const switchHistory = yield* readModel(eventLog, SwitchHistory.empty, SwitchHistory.fold, SwitchHistory.foldedTypes)
    const quarantineMillis = options.quarantineSeconds === undefined ? undefined : options.quarantineSeconds * 1000

    /** Where an emergency launches a replacement for an instance of `pool`, best first. */
    const emergencyChain = (pool: PoolId, now: number) =>
      Effect.map(poolLedger, (ledger) => PoolLedger.emergencyChain(ledger, { interrupted: pool, now, quarantineMillis }))

    const quarantinedPools: EngineService["quarantinedPools"] = Effect.gen(function*() {
      const ledger = yield* poolLedger
      const now = yield* Clock.currentTimeMillis
      const pools = new Set<PoolId>()
      for (const record of ledger.pools.values()) if (PoolLedger.isQuarantined(record, now, quarantineMillis)) pools.add(record.pool)
      return pools
    })

    const switches: EngineService["switches"] = (tenantId, filter = {}) =>
      Effect.map(switchHistory, (h) =>
        [...h.switches.values()].filter((r) =>
          r.tenantId === tenantId && (filter.agentId === undefined || r.agentId === filter.agentId) &&
          (filter.since === undefined || r.initiatedAt >= filter.since)
        ).sort((a, b) => a.initiatedAt - b.initiatedAt))

    return { poolLedger, switchHistory, emergencyChain, quarantinedPools, switches }
  })

/** The read models (`make`'s result). */
export type ReadModels = Effect.Effect.Success<ReturnType<typeof make>>
