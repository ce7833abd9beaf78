/**
 * What the engine remembers of agents between their calls, by agent (`AgentMemo`):
 *
 * Polls that found nothing to deliver: an agent with nothing queued (no open command, notice or
 * flow; not DEGRADED) only gets something through a commit, so while no commit of the agent went
 * through this engine since such a poll, the next poll finds nothing either and is answered
 * without the store, for `Timing.idlePollSeconds` (commands queued by another process are found
 * within that bound).
 *
 * Inventories the engine reconciled without a change, by agent: a heartbeat that brings the same
 * inventory again, while the agent has not changed since, would change nothing either — so it is
 * not reconciled again (no aggregate load) for `Timing.reconcile.unchangedInventorySeconds`.
 *
 * An entry is the inventory's fingerprint and the agent version it was reconciled against. Every
 * commit of the agent through this engine records its new version (`committed`), so an entry
 * reconciled against an older version no longer counts — also when the commit raced the
 * reconcile. Changes made by another process are seen once the entry has aged out. Bounded: the
 * least recently used agents go first (then they are simply reconciled again).
 */

export interface InventoryMemo {
  /** Whether `fingerprint` was reconciled without a change against the agent's latest version, recently enough. */
  readonly quiet: (key: string, fingerprint: string, now: number) => boolean
  /** A reconcile of `fingerprint` against `version` changed nothing. */
  readonly remember: (key: string, fingerprint: string, version: number, now: number) => void
  /** The agent was committed at `version`. */
  readonly committed: (key: string, version: number) => void
  /** Where the commits stand now: pass it to `idle` after a poll that began here. */
  readonly begin: () => number
  /** A poll that began at `since` found nothing to deliver. */
  readonly idle: (key: string, since: number, now: number) => void
  /** Whether a poll now would find nothing to deliver either (see above). */
  readonly isIdle: (key: string, now: number) => boolean
}

interface Entry {
  readonly fingerprint?: string | undefined
  readonly version?: number | undefined
  readonly at?: number | undefined
  readonly committed?: number | undefined
  /** The commit sequence number of the agent's last commit here. */
  readonly seq?: number | undefined
  readonly idleSince?: number | undefined
  readonly idleAt?: number | undefined
}

export const make = (size: number, ttlMillis: number, idleMillis: number): InventoryMemo => {
  const entries = new Map<string, Entry>()
  let seq = 0
  const put = (key: string, entry: Entry) => {
    entries.delete(key)
    entries.set(key, entry)
    if (entries.size > size) entries.delete(entries.keys().next().value!)
  }
  return {
    quiet: (key, fingerprint, now) => {
      const e = entries.get(key)
      return e !== undefined && e.fingerprint === fingerprint && e.at !== undefined && now - e.at < ttlMillis &&
        e.version !== undefined && (e.committed === undefined || e.committed <= e.version)
    },
    remember: (key, fingerprint, version, now) => {
      const committed = entries.get(key)?.committed
      if (committed !== undefined && committed > version) return
      put(key, { fingerprint, version, at: now, committed })
    },
    committed: (key, version) => {
      const e = entries.get(key)
      put(key, { ...e, committed: Math.max(version, e?.committed ?? 0), seq: ++seq })
    },
    begin: () => seq,
    idle: (key, since, now) => {
      const e = entries.get(key)
      // A commit of the agent since the poll began: it may have queued something.
      if ((e?.seq ?? 0) > since) return
      put(key, { ...e, idleSince: since, idleAt: now })
    },
    isIdle: (key, now) => {
      const e = entries.get(key)
      return e !== undefined && e.idleAt !== undefined && e.idleSince !== undefined && now - e.idleAt < idleMillis &&
        (e.seq ?? 0) <= e.idleSince
    }
  }
}
