/**
 * The synthetic input of the consolidation benches (shared by the pure-engine half here and the
 * MariaDB half in packages/adapter-mysql/bench): `pools` pools × `days` days at 5-minute
 * granularity, one report per pool per slot, 2% of slots missing so gaps get filled, 5% of
 * reports duplicated by a conflicting REPLICA, rows sorted by observation time. Deterministic.
 */
import { type Consolidation, Pool, Pricing } from "@spotfleet/engine"

export const synthetic = (POOLS: number, DAYS: number) => {
  const SLOT = Pricing.SLOT_MILLIS
  const SLOTS = (DAYS * 24 * 60 * 60 * 1000) / SLOT
  const FROM = Math.floor(Date.UTC(2024, 0, 1) / SLOT) * SLOT
  const TO = FROM + SLOTS * SLOT
  let seed = 12345
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  const generate = (): Consolidation.SnapshotColumns => {
    const capacity = Math.ceil(POOLS * SLOTS * 1.06)
    const pool = new Uint32Array(capacity)
    const observedAt = new Float64Array(capacity)
    const price = new Float64Array(capacity)
    const role = new Uint8Array(capacity)
    const pools: Array<Pool.PoolId> = []
    const azs = ["a", "b", "c", "d", "e", "f"]
    let n = 0
    for (let p = 0; p < POOLS; p++) {
      pools.push(Pool.make(`bench${Math.floor(p / azs.length)}.large`, `us-east-1${azs[p % azs.length]}`))
      let current = 0.02 + rand() * 0.5
      for (let s = 0; s < SLOTS; s++) {
        if (rand() < 0.01) current = Math.round(current * (0.9 + rand() * 0.2) * 1e4) / 1e4
        if (rand() < 0.02) continue
        const at = FROM + s * SLOT + Math.floor(rand() * (SLOT - 2))
        pool[n] = p
        observedAt[n] = at
        price[n] = current
        role[n] = 2
        n++
        if (rand() < 0.05) {
          pool[n] = p
          observedAt[n] = at + 1
          price[n] = current * 1.5
          role[n] = 1
          n++
        }
      }
    }
    // Interleave pools like reports arriving over time: sort rows by observation time.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => observedAt[a]! - observedAt[b]!)
    const take = <A extends Uint32Array | Float64Array | Uint8Array>(src: A, make: (n: number) => A): A => {
      const out = make(n)
      for (let i = 0; i < n; i++) out[i] = src[order[i]!]!
      return out
    }
    return {
      length: n,
      pools,
      pool: take(pool, (k) => new Uint32Array(k)),
      observedAt: take(observedAt, (k) => new Float64Array(k)),
      price: take(price, (k) => new Float64Array(k)),
      role: take(role, (k) => new Uint8Array(k))
    }
  }
  return { SLOT, SLOTS, FROM, TO, generate }
}
