/**
 * The block format of the consolidated and canonical tiers (migration 7): what is written reads
 * back exactly, in slot order, and anything else is refused with the block named.
 */
import { assert, describe, it } from "@effect/vitest"
import { Pool } from "@spotfleet/engine"
import * as Zlib from "node:zlib"
import { Block, BlockFormatError, blockOf, BLOCK_MILLIS, BlockSet, canonicalLayout, consolidatedLayout } from "../src/internal/priceBlocks.js"

const pool = Pool.make("c5.large", "us-east-1a")
const DAY = Date.UTC(2024, 0, 1)
const SLOT = 300_000

const slots = (b: Block) => [...b.slot.subarray(0, b.size)]
const points = (b: Block) =>
  Array.from({ length: b.size }, (_, i) => [b.slot[i], b.runOf(i), ...b.fields.map((f) => f[i])])

describe("price blocks", () => {
  it("a block covers one UTC day", () => {
    assert.strictEqual(blockOf(DAY), DAY)
    assert.strictEqual(blockOf(DAY + BLOCK_MILLIS - 1), DAY)
    assert.strictEqual(blockOf(DAY + BLOCK_MILLIS), DAY + BLOCK_MILLIS)
    assert.strictEqual(blockOf(DAY - 1), DAY - BLOCK_MILLIS)
  })

  it("round-trips a full day of consolidated points, deflated, in slot order", () => {
    const b = new Block(pool, DAY, consolidatedLayout)
    // added newest first: the block is stored in slot order anyway
    for (let s = 287; s >= 0; s--) b.add(DAY + s * SLOT, "run-a", [0.0345 + (s % 7) * 0.001, s % 3 + 1, [1, 0.8, 0.9][s % 3]!, s % 5])
    const value = b.encode()
    assert.isBelow(value.length, 288 * 31 / 2, "deflated")
    const back = Block.decode(pool, DAY, consolidatedLayout, value)
    assert.deepStrictEqual(slots(back), Array.from({ length: 288 }, (_, s) => DAY + s * SLOT))
    for (let s = 0; s < 288; s++) {
      const i = b.find(DAY + s * SLOT)
      assert.deepStrictEqual(points(back)[s], [b.slot[i], "run-a", ...b.fields.map((f) => f[i])])
    }
  })

  it("keeps NaN (no spread), exact doubles and only the run ids still in use", () => {
    const b = new Block(pool, DAY, canonicalLayout)
    b.add(DAY + SLOT, "run-old", [0.1, 1, 1, 0.1, 0, Number.NaN, 0, 0])
    b.add(DAY, "run-a", [0.1 + 0.2, 3, 0.9, 1 / 3, Math.PI, -0.25, 4, 2 ** 32 - 1])
    b.set(b.find(DAY + SLOT), "run-b", [0.2, 1, 1, 0.15, 0.05, 0.6, 1, 0])
    const back = Block.decode(pool, DAY, canonicalLayout, b.encode())
    assert.deepStrictEqual(points(back), [
      [DAY, "run-a", 0.1 + 0.2, 3, 0.9, 1 / 3, Math.PI, -0.25, 4, 2 ** 32 - 1],
      [DAY + SLOT, "run-b", 0.2, 1, 1, 0.15, 0.05, 0.6, 1, 0]
    ])
    assert.deepStrictEqual(back.runs, ["run-a", "run-b"])
    const nan = new Block(pool, DAY, canonicalLayout)
    nan.add(DAY, "r", [0.1, 1, 1, 0.1, 0, Number.NaN, 0, 0])
    const read = Block.decode(pool, DAY, canonicalLayout, nan.encode())
    assert.isTrue(Number.isNaN(read.fields[5]![0]!))
    assert.isTrue(read.holds(0, [0.1, 1, 1, 0.1, 0, Number.NaN, 0, 0]), "NaN equals NaN when comparing")
    assert.isFalse(read.holds(0, [0.1, 1, 1, 0.1, 0, 0, 0, 0]))
  })

  it("grows past a day of 5-minute slots (1-minute slots), finding points added out of order", () => {
    const b = new Block(pool, DAY, consolidatedLayout)
    for (let m = 0; m < 1440; m += 2) b.add(DAY + m * 60_000, "r", [m, 1, 1, 1])
    for (let m = 1; m < 1440; m += 2) {
      assert.strictEqual(b.find(DAY + m * 60_000), -1)
      b.add(DAY + m * 60_000, "r", [m, 1, 1, 1])
    }
    assert.strictEqual(b.size, 1440)
    assert.strictEqual(b.fields[0]![b.find(DAY + 7 * 60_000)], 7)
    const back = Block.decode(pool, DAY, consolidatedLayout, b.encode())
    assert.deepStrictEqual(slots(back), Array.from({ length: 1440 }, (_, m) => DAY + m * 60_000))
    assert.deepStrictEqual([...back.fields[0]!.subarray(0, back.size)], Array.from({ length: 1440 }, (_, m) => m))
  })

  it("stores slot starts that are not whole milliseconds in the block as doubles", () => {
    const b = new Block(pool, DAY, consolidatedLayout)
    b.add(DAY + 0.5, "r", [0.1, 1, 1, 1])
    b.add(DAY + 2 * SLOT, "r", [0.1, 1, 1, 1])
    assert.deepStrictEqual(slots(Block.decode(pool, DAY, consolidatedLayout, b.encode())), [DAY + 0.5, DAY + 2 * SLOT])
  })

  it("refuses values it did not write, naming the block", () => {
    const good = new Block(pool, DAY, consolidatedLayout)
    for (let s = 0; s < 50; s++) good.add(DAY + s * SLOT, "r", [0.1, 1, 1, 1])
    const value = good.encode()
    const refuse = (bytes: Uint8Array, why: RegExp, layout = consolidatedLayout) =>
      assert.throws(() => Block.decode(pool, DAY, layout, bytes), BlockFormatError, why)
    refuse(Buffer.from([9, 0, 0]), /unknown block version 9/)
    refuse(Buffer.from([1]), /truncated/)
    refuse(Buffer.concat([value.subarray(0, 2), Buffer.from("not deflate data at all")]), /corrupt|truncated|value fields/)
    refuse(value, /expected 8 value fields, found 4/, canonicalLayout)
    // a plain body one byte short of its point count
    const plain = Buffer.concat([Buffer.from([1, 0]), Zlib.inflateRawSync(value.subarray(2))])
    assert.strictEqual(Block.decode(pool, DAY, consolidatedLayout, plain).size, 50)
    refuse(plain.subarray(0, plain.length - 1), /does not match its point count/)
    assert.throws(() => Block.decode(pool, DAY, consolidatedLayout, value.subarray(0, 10)), /consolidated_blocks block \(c5\.large\.us-east-1a/)
  })

  it("a block set makes missing blocks on demand and lists only the changed ones, in order", () => {
    const set = new BlockSet(consolidatedLayout)
    const other = Pool.make("c5.large", "us-east-1b")
    const stored = new Block(other, DAY, consolidatedLayout)
    stored.add(DAY, "r", [0.1, 1, 1, 1])
    set.put(Block.decode(other, DAY, consolidatedLayout, stored.encode()))
    set.of(other, DAY + 5).find(DAY)
    set.of(pool, DAY + BLOCK_MILLIS + SLOT).add(DAY + BLOCK_MILLIS + SLOT, "r", [0.2, 1, 1, 1])
    set.of(pool, DAY).add(DAY, "r", [0.2, 1, 1, 1])
    assert.deepStrictEqual(set.dirty().map((b) => [b.pool, b.start]), [[pool, DAY], [pool, DAY + BLOCK_MILLIS]])
    assert.strictEqual(set.of(other, DAY).find(DAY), 0)
  })
})
