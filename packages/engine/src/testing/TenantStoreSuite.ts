/**
 * The conformance tests of the `TenantStore` port: tenants stored, unique by name, found only by a
 * known token hash; tokens unique.
 *
 * @since 0.1.0
 */
import { assert } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import { type TenantId } from "../Ids.js"
import { defaultLimits, Tenant, TenantToken } from "../Tenant.js"
import { TenantStore } from "../TenantStore.js"
import { describeOn, hash, type Stores, type SuiteOptions, type Tests, unique, withEngine } from "./fixtures.js"

/**
 * Registers these tests with the `it` of a layer that provides every store port (the tests drive
 * the engine over it); `StoreSuite.suite` runs them with the other ports' tests.
 *
 * @since 0.1.0
 */
export const tests: Tests<Stores> = (it) => {
  it.effect("stores tenants and finds them only by a known token hash", () =>
    Effect.gen(function*() {
      const tenants = yield* TenantStore
      const id = `tenant-${unique()}` as TenantId
      const tenant = Tenant.make({ id, name: `t-${unique()}`, limits: defaultLimits, dryRun: false, createdAt: 7 })
      yield* tenants.create(tenant)
      assert.deepStrictEqual(Option.getOrThrow(yield* tenants.get(id)), tenant)
      const sameName = yield* Effect.flip(tenants.create(Tenant.make({ ...tenant, id: `tenant-${unique()}` as TenantId })))
      assert.strictEqual(sameName._tag, "DuplicateKey")
      const tokenHash = hash()
      yield* tenants.addToken(TenantToken.make({ tenantId: id, tokenHash, label: "ci", createdAt: 7 }))
      assert.deepStrictEqual(Option.getOrThrow(yield* tenants.findByTokenHash(tokenHash)), tenant)
      assert.isTrue(Option.isNone(yield* tenants.findByTokenHash(hash())))
      const dup = yield* Effect.flip(tenants.addToken(TenantToken.make({ tenantId: id, tokenHash, label: "again", createdAt: 8 })))
      assert.strictEqual(dup._tag, "DuplicateKey")
      const updated = Tenant.make({ ...tenant, dryRun: true })
      yield* tenants.update(updated)
      assert.isTrue(Option.getOrThrow(yield* tenants.get(id)).dryRun)
      assert.isTrue((yield* tenants.list).some((t) => t.id === id))
    }).pipe(Effect.provide(withEngine)))
}

/**
 * Registers these tests alone, in a describe block of their own, on `storeLayer`.
 *
 * @since 0.1.0
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<Stores, E>, options: SuiteOptions = {}): void =>
  describeOn(`tenant store conformance: ${name}`, storeLayer, options, tests)
