import { Pool } from "@spotfleet/engine"
import { Either } from "effect"
import { assert, describe, it } from "vitest"
import { Dataset, FeatureLayout } from "../src/index.js"

const onDemandKnown = FeatureLayout.NAMES.indexOf("onDemandKnown")

/** The same walk as SUSE pools (prices ×1.8) and as pools under an AZ ID. */
const withOtherProducts = (points: ReadonlyArray<Dataset.PricePoint>): Array<Dataset.PricePoint> =>
  points.flatMap((p) => {
    const parts = Either.getOrThrow(Pool.parse(p.pool))
    return [
      p,
      { ...p, pool: Pool.make(parts.instanceType, parts.az, "spot", "suse"), price: Math.round(p.price * 1.8 * 1e4) / 1e4 },
      { ...p, pool: Pool.make(parts.instanceType, `use1-az${parts.az.slice(-1).charCodeAt(0) - 96}`, "spot"), price: p.price * 0.9 }
    ]
  })

describe("Dataset and products", () => {
  const linux = Dataset.generatePrices({ days: 4, zones: ["us-east-1a", "us-east-1b", "us-east-1c"] })
  const options = { horizonHours: 6, onDemandPrice: 0.308 }

  it("pairs an agent only with pools it may move to: same product and zone form, never across", () => {
    const examples = Dataset.build(withOtherProducts(linux), options)
    assert.isAbove(examples.length, 0)
    const kinds = new Set<string>()
    for (const e of examples) {
      const [from, to] = [Either.getOrThrow(Pool.parse(e.currentPool)), Either.getOrThrow(Pool.parse(e.candidatePool))]
      assert.strictEqual(to.product, from.product, `${e.currentPool} → ${e.candidatePool}`)
      assert.strictEqual(to.zoneKind, from.zoneKind, `${e.currentPool} → ${e.candidatePool}`)
      kinds.add(`${from.product}/${from.zoneKind}`)
      // the Linux/UNIX on-demand price is no baseline for SUSE
      assert.strictEqual(e.features[onDemandKnown], from.product === "linux" ? 1 : 0, e.currentPool)
    }
    assert.deepStrictEqual([...kinds].sort(), ["linux/id", "linux/name", "suse/name"])
  })

  it("another product in the history changes nothing of the Linux/UNIX examples", () => {
    const alone = Dataset.build(linux, options)
    const mixed = Dataset.build(withOtherProducts(linux), options)
    const linuxNamed = mixed.filter((e) => !e.currentPool.includes("~") && !e.currentPool.includes("-az"))
    assert.deepStrictEqual(linuxNamed, alone)
  })
})
