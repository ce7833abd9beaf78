import { createReadStream } from "node:fs"
import { JSONParser } from "@streamparser/json"
import type { OfferFilter, OfferPrice, OfferResult } from "../OnDemandOffer.js"
import { OfferFileError } from "../OnDemandOffer.js"

interface Product {
  readonly sku?: unknown
  readonly attributes?: Record<string, unknown>
}
interface PriceDimension {
  readonly unit?: unknown
  readonly pricePerUnit?: { readonly USD?: unknown }
}
interface Term {
  readonly effectiveDate?: unknown
  readonly priceDimensions?: Record<string, PriceDimension>
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined)

/** The attribute tests of a filter: an attribute a file does not have does not exclude. */
const matcher = (filter: OfferFilter) => {
  const types = filter.instanceTypes === undefined || filter.instanceTypes.length === 0 ? null : new Set(filter.instanceTypes)
  const regions = filter.regions === undefined || filter.regions.length === 0 ? null : new Set(filter.regions)
  const fixed: ReadonlyArray<readonly [string, string]> = [
    ["operatingSystem", filter.operatingSystem ?? "Linux"],
    ["tenancy", filter.tenancy ?? "Shared"],
    ["capacitystatus", "Used"],
    ["preInstalledSw", filter.preInstalledSw ?? "NA"],
    ["licenseModel", "No License required"],
    ["marketoption", "OnDemand"]
  ]
  return (attributes: Record<string, unknown>): { readonly instanceType: string; readonly region: string; readonly location: string } | null => {
    const instanceType = str(attributes.instanceType)
    const region = str(attributes.regionCode)
    if (instanceType === undefined || region === undefined) return null
    if (types !== null && !types.has(instanceType)) return null
    if (regions !== null && !regions.has(region)) return null
    for (const [name, value] of fixed) {
      const actual = str(attributes[name])
      if (actual !== undefined && actual !== value) return null
    }
    return { instanceType, region, location: str(attributes.location) ?? "" }
  }
}

/** The hourly USD price of an OnDemand term entry (`{ "<sku>.<term>": { priceDimensions } }`). */
const hourly = (terms: Record<string, Term>): { readonly price: number; readonly effectiveDate: string | null } | null => {
  for (const term of Object.values(terms)) {
    for (const dim of Object.values(term.priceDimensions ?? {})) {
      if (dim.unit !== "Hrs") continue
      const price = Number(str(dim.pricePerUnit?.USD))
      if (Number.isFinite(price) && price > 0) return { price, effectiveDate: str(term.effectiveDate) ?? null }
    }
  }
  return null
}

/** Streams an offer file's text through the parser, keeping the products the filter asks for. */
export const parseChunks = async (
  source: string,
  chunks: AsyncIterable<Uint8Array | string>,
  filter: OfferFilter
): Promise<OfferResult> => {
  const matches = matcher(filter)
  const wanted = new Map<string, { readonly instanceType: string; readonly region: string; readonly location: string }>()
  const termPrices = new Map<string, { readonly price: number; readonly effectiveDate: string | null }>()
  let productsSeen = 0
  let publicationDate: string | null = null
  let failure: Error | undefined
  // stringBufferSize: strings are built in a 64 kB buffer rather than by concatenation
  const parser = new JSONParser({ paths: ["$.publicationDate", "$.products.*", "$.terms.OnDemand.*"], keepStack: false, stringBufferSize: 64 * 1024 })
  parser.onError = (e) => {
    failure ??= e
  }
  parser.onValue = ({ value, key, stack }) => {
    if (stack.length === 1) {
      if (key === "publicationDate") publicationDate = str(value) ?? null
      return
    }
    if (stack.length === 2) {
      productsSeen++
      const p = value as Product
      const sku = str(p.sku) ?? (typeof key === "string" ? key : undefined)
      const hit = sku === undefined || p.attributes === undefined ? null : matches(p.attributes)
      if (sku !== undefined && hit !== null) wanted.set(sku, hit)
      return
    }
    // terms.OnDemand.<sku>: keep the prices of wanted SKUs (all of them while no product is
    // known yet: a file may list terms first)
    if (typeof key !== "string" || (productsSeen > 0 && !wanted.has(key))) return
    const price = hourly(value as Record<string, Term>)
    if (price !== null) termPrices.set(key, price)
  }
  for await (const chunk of chunks) {
    parser.write(chunk)
    if (failure !== undefined) break
  }
  if (failure === undefined && !parser.isEnded) parser.end()
  if (failure !== undefined) throw new OfferFileError({ source, reason: `not an offer file: ${failure.message.split("\n")[0]}` })
  if (productsSeen === 0) throw new OfferFileError({ source, reason: "no products (expected the EC2 offer file: {\"products\": {...}, \"terms\": {\"OnDemand\": {...}}})" })

  const byKey = new Map<string, OfferPrice>()
  let conflicts = 0
  let withoutPrice = 0
  for (const [sku, p] of wanted) {
    const term = termPrices.get(sku)
    if (term === undefined) {
      withoutPrice++
      continue
    }
    const k = `${p.instanceType}\u0000${p.region}`
    const seen = byKey.get(k)
    if (seen !== undefined) {
      if (seen.price !== term.price) conflicts++
      if (seen.price <= term.price) continue
    }
    byKey.set(k, { ...p, price: term.price, sku, effectiveDate: term.effectiveDate })
  }
  const prices = [...byKey.values()].sort((a, b) => a.region.localeCompare(b.region) || a.instanceType.localeCompare(b.instanceType))
  return { source, publicationDate, products: productsSeen, prices, conflicts, withoutPrice }
}

/** The chunks of a file path or an http(s) URL. */
export const open = async (source: string, signal: AbortSignal): Promise<AsyncIterable<Uint8Array | string>> => {
  if (/^https?:\/\//i.test(source)) {
    const response = await globalThis.fetch(source, { signal })
    if (!response.ok || response.body === null) {
      throw new OfferFileError({ source, reason: `HTTP ${response.status} ${response.statusText}`.trim() })
    }
    return response.body as unknown as AsyncIterable<Uint8Array>
  }
  const path = source.startsWith("file://") ? new URL(source) : source
  const stream = createReadStream(path, { signal })
  // Opening errors (ENOENT, EACCES) surface on the first read; make them ours.
  await new Promise<void>((resolve, reject) => {
    stream.once("readable", () => resolve())
    stream.once("error", (e: NodeJS.ErrnoException) => reject(new OfferFileError({ source, reason: e.code === "ENOENT" ? "no such file" : e.message })))
  })
  return stream
}
