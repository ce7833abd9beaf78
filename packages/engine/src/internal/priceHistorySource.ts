import { Either } from "effect"
import type { HistoryRecord } from "../Consolidation.js"
import * as Pool from "../Pool.js"
import type { PoolId } from "../Pool.js"
import type { HistoryRow, ParseOptions, ParseReport, SkippedRow, SkipReason } from "../PriceHistorySource.js"
import { PriceHistoryError, skipReasons } from "../PriceHistorySource.js"
import * as Product from "../Product.js"

const timestampPattern = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/

/** ISO-8601-ish timestamps as AWS writes them; a missing zone means UTC. */
export const parseTimestamp = (text: string): number | null => {
  const m = timestampPattern.exec(text.trim())
  if (m === null) return null
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const millis = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000)
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis)
  if (zone !== undefined && zone !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1
    const digits = zone.slice(1).replace(":", "")
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0")
    t -= sign * offset * 60_000
  }
  return Number.isFinite(t) ? t : null
}

const splitCsvLine = (line: string): Array<string> => {
  const out: Array<string> = []
  let cur = ""
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quoted) {
      if (c === "\"" && line[i + 1] === "\"") {
        cur += "\""
        i++
      } else if (c === "\"") quoted = false
      else cur += c
    } else if (c === "\"") quoted = true
    else if (c === ",") {
      out.push(cur)
      cur = ""
    } else cur += c
  }
  out.push(cur)
  return out.map((f) => f.trim())
}

interface RawRow {
  readonly timestamp: unknown
  readonly instanceType: unknown
  readonly productDescription: unknown
  readonly spotPrice: unknown
  readonly availabilityZone: unknown
}

const fieldNames: ReadonlyArray<readonly [keyof RawRow, string]> = [
  ["timestamp", "Timestamp"],
  ["instanceType", "InstanceType"],
  ["productDescription", "ProductDescription"],
  ["spotPrice", "SpotPrice"],
  ["availabilityZone", "AvailabilityZone"]
]

const str = (v: unknown) => (typeof v === "string" ? v.trim() : typeof v === "number" ? String(v) : "")

type RowResult =
  | { readonly _tag: "Row"; readonly row: HistoryRow }
  | { readonly _tag: "OtherProduct" }
  | { readonly _tag: "Bad"; readonly reason: SkipReason; readonly detail: string }

const bad = (reason: SkipReason, detail: string): RowResult => ({ _tag: "Bad", reason, detail })

/**
 * One row: kept (in its product's pool), of another product than the filter's, or bad (with the
 * reason). The pool goes through `Pool`'s own validation.
 */
const toRow = (raw: RawRow, wanted: Product.Product | null, options: ParseOptions): RowResult => {
  const missing = fieldNames.filter(([key]) => str(raw[key]) === "").map(([, name]) => name)
  if (missing.length > 0) return bad("missing-field", `no ${missing.join(", ")}`)
  const description = str(raw.productDescription)
  const product = Product.fromDescription(description)
  if (Either.isLeft(product)) return bad("bad-product", product.left)
  if (wanted !== null && product.right !== wanted) return { _tag: "OtherProduct" }
  const observedAt = parseTimestamp(str(raw.timestamp))
  if (observedAt === null) return bad("bad-timestamp", `Timestamp ${JSON.stringify(raw.timestamp)} is not a time`)
  const price = Number(str(raw.spotPrice))
  if (!(Number.isFinite(price) && price > 0)) return bad("bad-price", `SpotPrice ${JSON.stringify(raw.spotPrice)} is not a positive number`)
  const instanceType = str(raw.instanceType)
  const given = str(raw.availabilityZone)
  const az = options.zoneNames !== undefined && Object.hasOwn(options.zoneNames, given) ? options.zoneNames[given]! : given
  const parts = Pool.parse(`${instanceType}.${az}`)
  if (Either.isLeft(parts)) {
    return bad("bad-pool", `InstanceType ${JSON.stringify(instanceType)} / AvailabilityZone ${JSON.stringify(given)}: ${parts.left} (a zone is an AZ name like us-east-1a or an AZ ID like use1-az1)`)
  }
  return {
    _tag: "Row",
    row: { pool: Pool.make(instanceType, az, "spot", product.right), instanceType, availabilityZone: az, productDescription: description, product: product.right, price, observedAt }
  }
}

/** Collects rows and skips; with `strict` the first bad row is the error. */
const collector = (options: ParseOptions, wanted: Product.Product | null) => {
  const rows: Array<HistoryRow> = []
  const skipped: Array<SkippedRow> = []
  let read = 0
  let otherProducts = 0
  return {
    add: (raw: RawRow, where: string, line: number | null): PriceHistoryError | null => {
      read++
      const r = toRow(raw, wanted, options)
      if (r._tag === "Row") rows.push(r.row)
      else if (r._tag === "OtherProduct") otherProducts++
      else {
        const skip: SkippedRow = { where, line, reason: r.reason, detail: r.detail }
        if (options.strict === true) {
          return new PriceHistoryError({ reason: `${where}: ${skipReasons[r.reason]}: ${r.detail}`, skipped: skip })
        }
        skipped.push(skip)
      }
      return null
    },
    report: (): ParseReport => ({ rows, read, otherProducts, skipped })
  }
}

/** The product the options keep (null: every product), or why the filter is not a product. */
const wantedProduct = (options: ParseOptions): Either.Either<Product.Product | null, string> =>
  options.productDescription === undefined || options.productDescription === null
    ? Either.right(null)
    : Either.mapLeft(Product.fromDescription(options.productDescription), (reason) => `product filter: ${reason}`)

const columns = ["timestamp", "instancetype", "productdescription", "spotprice", "availabilityzone"] as const

export const reportCsv = (text: string, options: ParseOptions = {}): Either.Either<ParseReport, PriceHistoryError> => {
  const lines = text.split(/\r?\n/)
  let h = 0
  while (h < lines.length && lines[h]!.trim() === "") h++
  const wanted = wantedProduct(options)
  if (Either.isLeft(wanted)) return Either.left(new PriceHistoryError({ reason: wanted.left }))
  const out = collector(options, wanted.right)
  if (h === lines.length) return Either.right(out.report())
  const header = splitCsvLine(lines[h]!).map((c) => c.toLowerCase())
  const index = columns.map((c) => header.indexOf(c))
  const missing = columns.filter((_, i) => index[i]! < 0)
  if (missing.length > 0) {
    return Either.left(new PriceHistoryError({ reason: `line ${h + 1}: missing column(s) ${missing.join(", ")}` }))
  }
  for (let l = h + 1; l < lines.length; l++) {
    const line = lines[l]!
    if (line.trim() === "") continue
    const f = splitCsvLine(line)
    const error = out.add({
      timestamp: f[index[0]!],
      instanceType: f[index[1]!],
      productDescription: f[index[2]!],
      spotPrice: f[index[3]!],
      availabilityZone: f[index[4]!]
    }, `line ${l + 1}`, l + 1)
    if (error !== null) return Either.left(error)
  }
  return Either.right(out.report())
}

export const reportJson = (text: string, options: ParseOptions = {}): Either.Either<ParseReport, PriceHistoryError> => {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    return Either.left(new PriceHistoryError({ reason: `not JSON: ${e instanceof Error ? e.message : String(e)}` }))
  }
  const items = Array.isArray(doc)
    ? doc
    : typeof doc === "object" && doc !== null && Array.isArray((doc as { SpotPriceHistory?: unknown }).SpotPriceHistory)
    ? (doc as { SpotPriceHistory: Array<unknown> }).SpotPriceHistory
    : null
  if (items === null) return Either.left(new PriceHistoryError({ reason: "expected {\"SpotPriceHistory\": [...]} or an array" }))
  const wanted = wantedProduct(options)
  if (Either.isLeft(wanted)) return Either.left(new PriceHistoryError({ reason: wanted.left }))
  const out = collector(options, wanted.right)
  for (let i = 0; i < items.length; i++) {
    const it = items[i]
    const item = typeof it === "object" && it !== null ? it as Record<string, unknown> : {}
    const error = out.add({
      timestamp: item.Timestamp,
      instanceType: item.InstanceType,
      productDescription: item.ProductDescription,
      spotPrice: item.SpotPrice,
      availabilityZone: item.AvailabilityZone
    }, `SpotPriceHistory[${i}]`, null)
    if (error !== null) return Either.left(error)
  }
  return Either.right(out.report())
}

export const report = (text: string, options: ParseOptions = {}): Either.Either<ParseReport, PriceHistoryError> => {
  const trimmed = text.trimStart()
  return trimmed.startsWith("{") || trimmed.startsWith("[") ? reportJson(text, options) : reportCsv(text, options)
}

const rowsOf = (f: typeof report) => (text: string, options: ParseOptions = {}) =>
  Either.map(f(text, { ...options, strict: true }), (r) => r.rows as Array<HistoryRow>)

export const parseCsv = rowsOf(reportCsv)
export const parseJson = rowsOf(reportJson)
export const parse = rowsOf(report)

/** Records per pool, sorted by time (ties keep input order). */
export const index = (rows: ReadonlyArray<HistoryRow>): Map<PoolId, Array<HistoryRecord>> => {
  const byPool = new Map<PoolId, Array<HistoryRecord>>()
  for (const r of rows) {
    let list = byPool.get(r.pool)
    if (list === undefined) byPool.set(r.pool, list = [])
    list.push({ observedAt: r.observedAt, price: r.price })
  }
  for (const list of byPool.values()) list.sort((a, b) => a.observedAt - b.observedAt)
  return byPool
}

/** Records in `[from, to)` plus the last one before `from` (the price in effect at `from`). */
export const window = (records: ReadonlyArray<HistoryRecord>, from: number, to: number): Array<HistoryRecord> => {
  let lo = 0
  let hi = records.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (records[mid]!.observedAt < from) lo = mid + 1
    else hi = mid
  }
  const out: Array<HistoryRecord> = []
  if (lo > 0) out.push(records[lo - 1]!)
  for (let i = lo; i < records.length && records[i]!.observedAt < to; i++) out.push(records[i]!)
  return out
}
