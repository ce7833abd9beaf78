/**
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
}

interface Entry {
  readonly fingerprint?: string | undefined
  readonly version?: number | undefined
  readonly at?: number | undefined
  readonly committed?: number | undefined
}

export const make = (size: number, ttlMillis: number): InventoryMemo => {
  const entries = new Map<string, Entry>()
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
      put(key, { ...e, committed: Math.max(version, e?.committed ?? 0) })
    }
  }
}
