/** The dashboard's pool reader agrees with the engine's grammar (it cannot import it at run time). */
// The dashboard project resolves no workspace package at test time: the engine from its sources.
import { Pool, Product } from "../../../packages/engine/src/index.js"
import { Either } from "effect"
import { assert, describe, it } from "vitest"
import { isPool, parsePool, productLabels } from "../src/pool.js"

describe("dashboard pool ids", () => {
  it("read every id the engine makes as the engine does, and reject what it rejects", () => {
    assert.deepStrictEqual(Object.keys(productLabels).sort(), [...Product.all].sort())
    for (const product of Product.all) {
      assert.strictEqual(productLabels[product], Product.toDescription(product))
      for (const zone of ["us-east-1a", "ap-southeast-2c", "use1-az4", "usw2-lax1-az1"]) {
        for (const lifecycle of ["spot", "on-demand"] as const) {
          const id = Pool.make("c5a.2xlarge", zone, lifecycle, product)
          const engine = Either.getOrThrow(Pool.parse(id))
          const view = parsePool(id)
          assert.deepStrictEqual(view, {
            instanceType: engine.instanceType,
            zone: engine.az,
            region: engine.zoneKind === "name" ? engine.region : null,
            onDemand: lifecycle === "on-demand",
            product: engine.product,
            productLabel: Product.toDescription(engine.product)
          })
        }
      }
    }
    for (const bad of ["c5a.2xlarge", "c5a.2xlarge.us-east-1a~linux", "c5a.2xlarge.us-east-1a~beos", "c5a.2xlarge.us-east-1a/suse"]) {
      assert.isFalse(isPool(bad), bad)
      assert.isTrue(Either.isLeft(Pool.parse(bad)), bad)
    }
  })
})
