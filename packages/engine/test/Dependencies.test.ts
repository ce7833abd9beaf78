import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.join(__dirname, "..")
const sources = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []
  )

// The testing entry point and its conformance suites (src/testing/) may use the test
// runner; nothing else in the engine may.
const testingOnly = new Set(["@effect/vitest", "vitest"])

describe("engine dependencies", () => {
  it("imports nothing but effect (and relative modules)", () => {
    const offenders: Array<string> = []
    for (const file of sources(path.join(root, "src"))) {
      const text = fs.readFileSync(file, "utf8")
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = m[1] ?? m[2]!
        if (spec.startsWith(".")) continue
        if (spec === "effect" || spec.startsWith("effect/")) continue
        const rel = path.relative(root, file)
        if (testingOnly.has(spec) && (rel === "src/testing.ts" || rel.startsWith("src/testing/"))) continue
        offenders.push(`${rel}: ${spec}`)
      }
    }
    assert.deepStrictEqual(offenders, [])
  })

  it("declares only effect as a runtime peer (test-kit peers optional)", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    assert.deepStrictEqual(pkg.dependencies ?? {}, {})
    const required = Object.keys(pkg.peerDependencies ?? {}).filter((p) => pkg.peerDependenciesMeta?.[p]?.optional !== true)
    assert.deepStrictEqual(required, ["effect"])
  })
})
