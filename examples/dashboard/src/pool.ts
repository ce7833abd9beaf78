/**
 * Pool ids for display: `[ondemand:]<type>.<zone>[~<product>]` (the engine's `Pool` grammar,
 * docs/DESIGN.md "Pool identity"). The bundle takes nothing of the engine at run time, so this is
 * a reader of the ids the server sends, checked against `Pool.parse` by test/Pool.test.ts.
 */

/** The product slugs and how the dashboard names them (AWS product descriptions). */
export const productLabels: Readonly<Record<string, string>> = {
  "linux": "Linux/UNIX",
  "linux-vpc": "Linux/UNIX (Amazon VPC)",
  "suse": "SUSE Linux",
  "suse-vpc": "SUSE Linux (Amazon VPC)",
  "rhel": "Red Hat Enterprise Linux",
  "rhel-vpc": "Red Hat Enterprise Linux (Amazon VPC)",
  "windows": "Windows",
  "windows-vpc": "Windows (Amazon VPC)"
}

const zoneName = "[a-z]{2}(?:-[a-z]+)+-\\d[a-z]"
const zoneId = "[a-z]{2,5}\\d+(?:-[a-z]+\\d+)?-az\\d+"
const products = Object.keys(productLabels).filter((p) => p !== "linux").join("|")
const poolPattern = new RegExp(`^(ondemand:)?([a-z0-9-]+\\.[a-z0-9-]+)\\.(${zoneName}|${zoneId})(?:~(${products}))?$`)

/** The parts of a pool id the dashboard shows. */
export interface PoolView {
  readonly instanceType: string
  readonly zone: string
  /** An AZ name's region; null for an AZ ID (the engine knows its region, the dashboard need not). */
  readonly region: string | null
  readonly onDemand: boolean
  readonly product: string
  readonly productLabel: string
}

/** The parts of a pool id, or null when it is not one. */
export const parsePool = (pool: string): PoolView | null => {
  const m = poolPattern.exec(pool)
  if (m === null) return null
  const zone = m[3]!
  const product = m[4] ?? "linux"
  return {
    instanceType: m[2]!,
    zone,
    region: new RegExp(`^${zoneName}$`).test(zone) ? zone.slice(0, -1) : null,
    onDemand: m[1] !== undefined,
    product,
    productLabel: productLabels[product] ?? product
  }
}

/** Whether a string is a pool id. */
export const isPool = (pool: string): boolean => poolPattern.test(pool)

/** The product label of a pool id ("Linux/UNIX" for ids without a suffix); "" for a non-pool. */
export const productOf = (pool: string): string => parsePool(pool)?.productLabel ?? ""
