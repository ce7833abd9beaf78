/**
 * Every public export of every published package has a doc comment
 * (`scripts/check-doc-comments.mjs`, also `npm run lint:docs`), and the check finds the ones
 * that do not (a fixture barrel).
 */
import { assert, describe, it } from "@effect/vitest"
// @ts-expect-error: a plain .mjs script without declarations
import { check } from "../../../scripts/check-doc-comments.mjs"

const run = check as (entries?: ReadonlyArray<string>) => { readonly missing: ReadonlyArray<string>; readonly checked: number }

describe("doc comments on public exports", () => {
  it("every package: none missing", () => {
    const { checked, missing } = run()
    assert.deepStrictEqual(missing, [])
    assert.isAtLeast(checked, 300)
  }, 60_000)

  it("finds undocumented exports, barrel lines and module comments", () => {
    const { missing } = run(["examples/embed/test/fixtures/docless/index.ts"])
    assert.deepStrictEqual([...missing].sort(), [
      "examples/embed/test/fixtures/docless/Bare.ts: module Bare has no file comment",
      "examples/embed/test/fixtures/docless/Bare.ts: Bare.alsoUndocumented",
      "examples/embed/test/fixtures/docless/Documented.ts: Documented.Bare",
      "examples/embed/test/fixtures/docless/Documented.ts: Documented.undocumented",
      "examples/embed/test/fixtures/docless/index.ts: Bare"
    ].sort())
  }, 60_000)
})
