import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { Pool, Product } from "../src/index.js"

const parts = (id: string) => Either.getOrThrow(Pool.parse(id))

describe("Pool", () => {
  it("keeps every id written before products: no suffix is Linux/UNIX", () => {
    assert.strictEqual(Pool.make("t3.medium", "us-east-1a"), "t3.medium.us-east-1a")
    assert.strictEqual(Pool.make("t3.medium", "us-east-1a", "on-demand"), "ondemand:t3.medium.us-east-1a")
    assert.strictEqual(Pool.make("t3.medium", "us-east-1a", "spot", "linux"), "t3.medium.us-east-1a")
    assert.deepStrictEqual(parts("t3.medium.us-east-1a"), {
      instanceType: "t3.medium",
      az: "us-east-1a",
      zoneKind: "name",
      region: "us-east-1",
      lifecycle: "spot",
      product: "linux"
    })
  })

  it("puts every other product in the id after ~, and reads it back", () => {
    for (const product of Product.all) {
      for (const lifecycle of ["spot", "on-demand"] as const) {
        const id = Pool.make("m5.large", "eu-west-1b", lifecycle, product)
        assert.deepStrictEqual(parts(id), {
          instanceType: "m5.large",
          az: "eu-west-1b",
          zoneKind: "name",
          region: "eu-west-1",
          lifecycle,
          product
        })
        assert.strictEqual(Pool.productOf(id), product)
        assert.strictEqual(Pool.lifecycleOf(id), lifecycle)
        // unreserved in URLs: the id survives encodeURIComponent unchanged
        assert.strictEqual(encodeURIComponent(id).replace("%3A", ":"), id)
      }
    }
    assert.strictEqual(Pool.make("m5.large", "us-east-1a", "spot", "suse"), "m5.large.us-east-1a~suse")
    assert.strictEqual(Pool.onDemandOf(Pool.make("m5.large", "us-east-1a", "spot", "windows")), "ondemand:m5.large.us-east-1a~windows")
  })

  it("accepts AZ IDs as given, with the region of a known prefix", () => {
    assert.deepStrictEqual(parts("c5a.2xlarge.use1-az4~rhel"), {
      instanceType: "c5a.2xlarge",
      az: "use1-az4",
      zoneKind: "id",
      region: "us-east-1",
      lifecycle: "spot",
      product: "rhel"
    })
    assert.strictEqual(parts("m5.large.apse2-az3").region, "ap-southeast-2")
    assert.strictEqual(parts("m5.large.usgw1-az1").region, "us-gov-west-1")
    assert.strictEqual(parts("m5.large.use1-bos1-az1").zoneKind, "id")
    // an unknown prefix is still a zone, of no known region
    assert.strictEqual(parts("m5.large.xyz9-az1").region, null)
    assert.strictEqual(Pool.regionOfZone("use2-az1"), "us-east-2")
    assert.strictEqual(Pool.zoneKindOf("us-east-1"), null)
  })

  it("maps an AZ ID to a name only when the host says which", () => {
    const id = Pool.make("m5.large", "use1-az1", "on-demand", "suse")
    assert.strictEqual(Pool.resolveZone(id, { "use1-az1": "us-east-1c" }), "ondemand:m5.large.us-east-1c~suse")
    assert.strictEqual(Pool.resolveZone(id, {}), id)
    assert.strictEqual(Pool.resolveZone(id, { "use1-az1": "not a zone" }), id)
    const named = Pool.make("m5.large", "us-east-1a")
    assert.strictEqual(Pool.resolveZone(named, { "us-east-1a": "us-east-1b" }), named)
  })

  it("rejects what is not a pool id, saying what one is", () => {
    for (const bad of ["t3.medium", "t3.medium.us-east-1", "t3.medium.us-east-1a~", "t3.medium.us-east-1a~linux", "t3.medium.us-east-1a~beos", "t3.medium.us-east-1a/suse", "T3.medium.us-east-1a"]) {
      assert.isTrue(Either.isLeft(Pool.parse(bad)), bad)
      const decoded = Schema.decodeUnknownEither(Pool.PoolId)(bad)
      assert.isTrue(Either.isLeft(decoded), bad)
    }
    const decoded = Schema.decodeUnknownEither(Pool.PoolId)("t3.medium.us-east-1a~beos")
    assert.include(Either.isLeft(decoded) ? String(decoded.left) : "", "<instance type>.<zone>[~<product>]")
    assert.throws(() => Pool.make("t3.medium", "nowhere"))
  })
})

describe("Product", () => {
  it("maps every AWS product description to its slug and back", () => {
    const table: Array<[string, Product.Product]> = [
      ["Linux/UNIX", "linux"],
      ["Linux/UNIX (Amazon VPC)", "linux-vpc"],
      ["SUSE Linux", "suse"],
      ["SUSE Linux (Amazon VPC)", "suse-vpc"],
      ["Red Hat Enterprise Linux", "rhel"],
      ["Red Hat Enterprise Linux (Amazon VPC)", "rhel-vpc"],
      ["Windows", "windows"],
      ["Windows (Amazon VPC)", "windows-vpc"]
    ]
    for (const [description, slug] of table) {
      assert.strictEqual(Either.getOrThrow(Product.fromDescription(description)), slug)
      assert.strictEqual(Either.getOrThrow(Product.fromDescription(` ${description.toUpperCase()} `)), slug)
      assert.strictEqual(Either.getOrThrow(Product.fromDescription(slug)), slug)
      assert.strictEqual(Product.toDescription(slug), description)
    }
    assert.deepStrictEqual([...Product.all].sort(), table.map(([, s]) => s).sort())
    assert.strictEqual(Product.defaultProduct, "linux")
  })

  it("names the known descriptions when one is unknown", () => {
    const unknown = Product.fromDescription("Ubuntu")
    assert.isTrue(Either.isLeft(unknown))
    assert.include(Either.isLeft(unknown) ? unknown.left : "", "unknown product description \"Ubuntu\" (known: Linux/UNIX, ")
  })
})

describe("Pool.canMoveTo", () => {
  it("keeps the region, the product and the zone form", () => {
    const from = parts("m5.large.us-east-1a~suse")
    assert.isTrue(Pool.canMoveTo(from, parts("c5.large.us-east-1b~suse")))
    assert.isTrue(Pool.canMoveTo(from, parts("ondemand:m5.large.us-east-1c~suse")))
    assert.isFalse(Pool.canMoveTo(from, parts("m5.large.us-east-1b")), "another product")
    assert.isFalse(Pool.canMoveTo(from, parts("m5.large.us-west-2a~suse")), "another region")
    assert.isFalse(Pool.canMoveTo(from, parts("m5.large.use1-az1~suse")), "an AZ ID for an agent of AZ names")
    assert.isTrue(Pool.canMoveTo(parts("m5.large.use1-az1"), parts("m5.large.use1-az2")))
    assert.isFalse(Pool.canMoveTo(parts("m5.large.xyz1-az1"), parts("m5.large.xyz1-az2")), "no known region")
  })
})
