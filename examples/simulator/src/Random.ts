/**
 * A small seedable random source (mulberry32) with the distributions the simulator needs, so a
 * run can be replayed with the same seed.
 */

export interface Random {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Standard normal (Box–Muller). */
  readonly normal: () => number
  /** Log-normal with the given median and sigma of the underlying normal. */
  readonly logNormal: (median: number, sigma: number) => number
  /** True with probability `p`. */
  readonly chance: (p: number) => boolean
  /** One element of a non-empty list. */
  readonly pick: <A>(items: ReadonlyArray<A>) => A
}

export const make = (seed: number = Date.now()): Random => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const normal = () => {
    const u = Math.max(next(), 1e-12)
    const v = next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
  return {
    next,
    normal,
    logNormal: (median, sigma) => median * Math.exp(sigma * normal()),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!
  }
}
