/*
 * The consolidated and canonical tiers in blocks: one row per pool and UTC day (migration 7),
 * holding that day's points in a compact binary column layout.
 *
 * Why blocks: a consolidation run writes one point per pool and 5-minute slot to each tier, and
 * as one row per point InnoDB spent ≈ 9 µs of CPU per row on this project's 2-core development
 * box whichever way the rows were sent (prepared, inline text, LOAD DATA): the tiers' writes alone
 * held a run to ≈ 40,000 snapshots/s. Every read of the tiers is "one pool over a time range"
 * (the port has no other query), so a day of a pool is the natural unit: a run's window touches
 * one or two blocks per pool, writes them as ≈ 10–20 KB values, and reading a pool's month is
 * thirty rows.
 *
 * Layout of `points` (little-endian), version 1:
 *
 *     u8  version (1)
 *     u8  flags: bit 0 set = slot starts stored as f64, clear = u32 offsets from block_start;
 *                bit 1 set = the rest is deflated (zlib raw deflate)
 *     u8  number of value fields (checked against the tier's layout)
 *     u16 number of run ids, then each: u16 byte length + UTF-8 bytes
 *     u32 number of points
 *     slot column (u32 or f64), run column (u16 index into the run ids), then one column per
 *     value field in the tier's order (f64 / u32 / u8)
 *
 * Points are sorted by slot start. Prices and features are stored as f64: a point reads back
 * exactly as it was written (the compare-before-write that keeps runs idempotent relies on it).
 * Columns of one kind side by side deflate well (prices change seldom, slots are evenly spaced,
 * one run id): 6–9× smaller on the benchmark's data, which is what the database writes, logs
 * and reads; deflating costs the adapter ≈ 10 ms per MB.
 */
import type { Pool } from "@spotfleet/engine"
import * as Zlib from "node:zlib"

/** A block covers one UTC day of a pool. */
export const BLOCK_MILLIS = 86_400_000
/** The block a slot start falls in. */
export const blockOf = (slotStart: number): number => Math.floor(slotStart / BLOCK_MILLIS) * BLOCK_MILLIS

const VERSION = 1
const FLAG_F64_SLOTS = 1
const FLAG_DEFLATED = 2
/** Bodies smaller than this are stored as they are (deflate would not pay for itself). */
const DEFLATE_FROM = 256
/** The fastest level: most of the gain is in repeated values, which every level finds. */
const DEFLATE: Zlib.ZlibOptions = { level: 1 }
const withHeader = (flags: number, body: Buffer) => Buffer.concat([Buffer.from([VERSION, flags]), body], 2 + body.length)

export type FieldType = "f64" | "u32" | "u8"
const BYTES: Record<FieldType, number> = { f64: 8, u32: 4, u8: 1 }

/** A tier's table and the value fields stored per point (besides slot start and run id). */
export interface Layout {
  readonly table: string
  readonly fields: ReadonlyArray<FieldType>
}

/** Source codes (u8): the order of `Consolidation.KIND_*`. */
export const SOURCES = ["", "agent", "interpolated", "backfilled"] as const
export const sourceCode = (s: string): number => (s === "agent" ? 1 : s === "interpolated" ? 2 : s === "backfilled" ? 3 : 0)

/** price, source, confidence, snapshots merged. */
export const consolidatedLayout: Layout = { table: "consolidated_blocks", fields: ["f64", "u8", "f64", "u32"] }
/** price, source, confidence, rolling mean, volatility, spread to on-demand (NaN = none), notices, interruptions. */
export const canonicalLayout: Layout = {
  table: "canonical_blocks",
  fields: ["f64", "u8", "f64", "f64", "f64", "f64", "u32", "u32"]
}

/** The value field holding the confidence, in both layouts (the never-lower-confidence rule reads it). */
export const CONFIDENCE_FIELD = 2

/** Equal values, NaN equal to NaN (an absent spread is stored as NaN). */
export const sameValue = (a: number, b: number): boolean => a === b || (a !== a && b !== b)

/** The block format could not be read (a corrupted or foreign value). */
export class BlockFormatError extends Error {}

/** Typed-array views of a stored column can be copied byte for byte only on little-endian hosts. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const ARRAYS = { f64: Float64Array, u32: Uint32Array, u8: Uint8Array } as const

/** Copies `n` values of `column` (in `order`, if given) into `out` at `o` as `type`; returns the new offset. */
const writeColumn = (out: Buffer, o: number, type: FieldType | "u16", column: ArrayLike<number>, n: number, order?: Uint32Array): number => {
  const typed = type === "u16" ? new Uint16Array(n) : new ARRAYS[type](n)
  if (order === undefined) for (let i = 0; i < n; i++) typed[i] = column[i]!
  else for (let i = 0; i < n; i++) typed[i] = column[order[i]!]!
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(typed.buffer, 0, typed.byteLength), o)
    return o + typed.byteLength
  }
  for (let i = 0; i < n; i++) {
    if (type === "f64") o = out.writeDoubleLE(typed[i]!, o)
    else if (type === "u32") o = out.writeUInt32LE(typed[i]!, o)
    else if (type === "u16") o = out.writeUInt16LE(typed[i]!, o)
    else o = out.writeUInt8(typed[i]!, o)
  }
  return o
}

/** Reads `n` values of `type` at `o` into a new Float64Array. */
const readColumn = (buffer: Buffer, o: number, type: FieldType | "u16", n: number): Float64Array => {
  const bytes = type === "u16" ? 2 : BYTES[type]
  const typed = type === "u16" ? new Uint16Array(n) : new ARRAYS[type](n)
  if (LITTLE_ENDIAN) new Uint8Array(typed.buffer).set(buffer.subarray(o, o + n * bytes))
  else {
    for (let i = 0; i < n; i++, o += bytes) {
      typed[i] = type === "f64"
        ? buffer.readDoubleLE(o)
        : type === "u32"
        ? buffer.readUInt32LE(o)
        : type === "u16"
        ? buffer.readUInt16LE(o)
        : buffer.readUInt8(o)
    }
  }
  return typed instanceof Float64Array ? typed : Float64Array.from(typed)
}

/**
 * One pool-day of a tier, mutable while a write is prepared. Columns are typed arrays with
 * room to grow (only the first `size` entries are points); `fields[f][i]` is value field `f` of
 * point `i`, `run[i]` an index into `runs`.
 */
export class Block {
  slot: Float64Array
  run: Float64Array
  fields: Array<Float64Array>
  readonly runs: Array<string>
  private count: number
  private index: Map<number, number> | undefined
  private sorted = true
  private lastRunIndex = 0
  /** Whether the block changed since it was read (and must be written). */
  dirty = false
  /** The run id of the last point set (stored with the row: the run that last wrote the block). */
  lastRun = ""

  constructor(
    readonly pool: Pool.PoolId,
    readonly start: number,
    readonly layout: Layout,
    columns?: { slot: Float64Array; run: Float64Array; fields: Array<Float64Array>; runs: Array<string> }
  ) {
    // A fresh block starts with room for a day of 5-minute slots.
    this.slot = columns?.slot ?? new Float64Array(288)
    this.run = columns?.run ?? new Float64Array(this.slot.length)
    this.fields = columns?.fields ?? layout.fields.map(() => new Float64Array(this.slot.length))
    this.runs = columns?.runs ?? []
    this.count = columns === undefined ? 0 : columns.slot.length
  }

  get size(): number {
    return this.count
  }

  /** The index of the point at `slotStart`, or -1. */
  find(slotStart: number): number {
    // Points arriving after the last one (a run writing a day in slot order) need no index.
    const n = this.count
    if (this.sorted && (n === 0 || slotStart > this.slot[n - 1]!)) return -1
    if (this.index === undefined) {
      this.index = new Map()
      for (let i = 0; i < n; i++) this.index.set(this.slot[i]!, i)
    }
    return this.index.get(slotStart) ?? -1
  }

  runOf(i: number): string {
    return this.runs[this.run[i]!]!
  }

  runIndex(runId: string): number {
    if (this.runs[this.lastRunIndex] === runId) return this.lastRunIndex
    let i = this.runs.indexOf(runId)
    if (i < 0) i = this.runs.push(runId) - 1
    this.lastRunIndex = i
    return i
  }

  /** Sets point `i`'s run and values (`values[f]` for each field). */
  set(i: number, runId: string, values: ArrayLike<number>): void {
    this.run[i] = this.runIndex(runId)
    this.lastRun = runId
    for (let f = 0; f < this.fields.length; f++) this.fields[f]![i] = values[f]!
    this.dirty = true
  }

  /** Adds a point at a slot the block does not hold yet. */
  add(slotStart: number, runId: string, values: ArrayLike<number>): void {
    const i = this.count
    if (i === this.slot.length) this.grow()
    if (i > 0 && slotStart < this.slot[i - 1]!) this.sorted = false
    this.slot[i] = slotStart
    this.count++
    // The index exists once a lookup needed it; keep it in step (else it is built on demand).
    this.index?.set(slotStart, i)
    this.set(i, runId, values)
  }

  private grow(): void {
    const larger = (a: Float64Array) => {
      const b = new Float64Array(Math.max(16, a.length * 2))
      b.set(a)
      return b
    }
    this.slot = larger(this.slot)
    this.run = larger(this.run)
    this.fields = this.fields.map(larger)
  }

  /** Whether point `i` holds exactly `values`. */
  holds(i: number, values: ArrayLike<number>): boolean {
    for (let f = 0; f < this.fields.length; f++) if (!sameValue(this.fields[f]![i]!, values[f]!)) return false
    return true
  }

  /**
   * The binary value of the block (points in slot order, only the run ids they use). Deflated
   * synchronously: for values of a few KB, zlib's asynchronous API cost the event loop about
   * twice as much as the work itself (stream set-up per call).
   */
  encode(): Buffer {
    const { body, flags } = this.body()
    return flags & FLAG_DEFLATED ? withHeader(flags, Zlib.deflateRawSync(body, DEFLATE)) : withHeader(flags, body)
  }

  /** The value after its two header bytes, not deflated yet, and the header's flags. */
  private body(): { readonly body: Buffer; readonly flags: number } {
    const n = this.count
    let order: Uint32Array | undefined
    if (!this.sorted) {
      order = new Uint32Array(n)
      for (let i = 0; i < n; i++) order[i] = i
      order.sort((a, b) => this.slot[a]! - this.slot[b]!)
    }
    const at = (i: number) => (order === undefined ? i : order[i]!)
    // Only the run ids still referenced, renumbered in order of first use.
    const remap = new Int32Array(this.runs.length).fill(-1)
    const runs: Array<Buffer> = []
    const run = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const r = this.run[at(i)]!
      if (remap[r] === -1) {
        remap[r] = runs.length
        runs.push(Buffer.from(this.runs[r]!, "utf8"))
      }
      run[i] = remap[r]!
    }
    if (runs.length > 0xffff) throw new BlockFormatError(`${this.layout.table} block (${this.pool}, ${this.start}): more than 65,535 run ids`)
    let u32Slots = true
    for (let i = 0; i < n && u32Slots; i++) {
      const offset = this.slot[i]! - this.start
      u32Slots = Number.isInteger(offset) && offset >= 0 && offset <= 0xffff_ffff
    }
    const slotBytes = u32Slots ? 4 : 8
    let size = 1 + 2 + 4 + n * (slotBytes + 2)
    for (const r of runs) size += 2 + r.length
    for (const t of this.layout.fields) size += n * BYTES[t]
    const buffer = Buffer.allocUnsafe(size)
    let o = buffer.writeUInt8(this.layout.fields.length, 0)
    o = buffer.writeUInt16LE(runs.length, o)
    for (const r of runs) {
      o = buffer.writeUInt16LE(r.length, o)
      o += r.copy(buffer, o)
    }
    o = buffer.writeUInt32LE(n, o)
    if (u32Slots) {
      const offsets = new Float64Array(n)
      for (let i = 0; i < n; i++) offsets[i] = this.slot[at(i)]! - this.start
      o = writeColumn(buffer, o, "u32", offsets, n)
    } else o = writeColumn(buffer, o, "f64", this.slot, n, order)
    o = writeColumn(buffer, o, "u16", run, n)
    this.layout.fields.forEach((type, f) => {
      o = writeColumn(buffer, o, type, this.fields[f]!, n, order)
    })
    return { body: buffer, flags: (u32Slots ? 0 : FLAG_F64_SLOTS) | (size >= DEFLATE_FROM ? FLAG_DEFLATED : 0) }
  }

  /** Reads a block value written by `encode`. Throws `BlockFormatError` on anything else. */
  static decode(pool: Pool.PoolId, start: number, layout: Layout, value: Uint8Array): Block {
    const fail = (why: string): never => {
      throw new BlockFormatError(`${layout.table} block (${pool}, ${start}): ${why}`)
    }
    const stored = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    if (stored.length < 2) fail("value is truncated")
    if (stored.readUInt8(0) !== VERSION) fail(`unknown block version ${stored.readUInt8(0)}`)
    const flags = stored.readUInt8(1)
    const f64Slots = (flags & FLAG_F64_SLOTS) !== 0
    let buffer = stored.subarray(2)
    if ((flags & FLAG_DEFLATED) !== 0) {
      try {
        buffer = Zlib.inflateRawSync(buffer)
      } catch {
        fail("deflated value is corrupt")
      }
    }
    const need = (o: number, bytes: number) => {
      if (o + bytes > buffer.length) fail("value is truncated")
    }
    need(0, 3)
    if (buffer.readUInt8(0) !== layout.fields.length) fail(`expected ${layout.fields.length} value fields, found ${buffer.readUInt8(0)}`)
    const runCount = buffer.readUInt16LE(1)
    let o = 3
    const runs: Array<string> = []
    for (let r = 0; r < runCount; r++) {
      need(o, 2)
      const length = buffer.readUInt16LE(o)
      need(o + 2, length)
      runs.push(buffer.toString("utf8", o + 2, o + 2 + length))
      o += 2 + length
    }
    need(o, 4)
    const n = buffer.readUInt32LE(o)
    o += 4
    let size = n * ((f64Slots ? 8 : 4) + 2)
    for (const t of layout.fields) size += n * BYTES[t]
    if (o + size !== buffer.length) fail("value length does not match its point count")
    const slot = readColumn(buffer, o, f64Slots ? "f64" : "u32", n)
    o += n * (f64Slots ? 8 : 4)
    if (!f64Slots) for (let i = 0; i < n; i++) slot[i] = start + slot[i]!
    const run = readColumn(buffer, o, "u16", n)
    o += n * 2
    for (let i = 0; i < n; i++) if (run[i]! >= runCount) fail("run index out of range")
    const fields = layout.fields.map((type) => {
      const column = readColumn(buffer, o, type, n)
      o += n * BYTES[type]
      return column
    })
    return new Block(pool, start, layout, { slot, run, fields, runs })
  }
}

/** The blocks of one tier read for a write, by pool and block start; missing ones made on demand. */
export class BlockSet {
  private readonly blocks = new Map<string, Map<number, Block>>()
  constructor(readonly layout: Layout) {}

  put(block: Block): void {
    let days = this.blocks.get(block.pool)
    if (days === undefined) this.blocks.set(block.pool, days = new Map())
    days.set(block.start, block)
  }

  /** The block holding `slotStart` of `pool` (a new, empty one if none was stored). */
  of(pool: Pool.PoolId, slotStart: number): Block {
    const start = blockOf(slotStart)
    let days = this.blocks.get(pool)
    if (days === undefined) this.blocks.set(pool, days = new Map())
    let block = days.get(start)
    if (block === undefined) days.set(start, block = new Block(pool, start, this.layout))
    return block
  }

  /** The blocks that changed, in pool and day order. */
  dirty(): Array<Block> {
    const out: Array<Block> = []
    for (const days of this.blocks.values()) for (const b of days.values()) if (b.dirty) out.push(b)
    return out.sort((a, b) => (a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : a.start - b.start))
  }
}
