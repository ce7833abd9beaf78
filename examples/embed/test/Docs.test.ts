/**
 * docs/ARCHITECTURE.md and docs/EMBEDDING.md name files that exist, and every function the
 * "where each rule lives" table names is in the files of its row.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8")

/** Repository paths a document mentions: `packages/…`, `examples/…`, `docs/…`, `scripts/…`, and relative links. */
const pathsOf = (doc: string, file: string): Array<string> => {
  const found = new Set<string>()
  for (const m of read(doc).matchAll(/(?<![\w@/.-])((?:packages|examples|docs|scripts)\/[\w./-]*[\w/])/g)) found.add(m[1]!)
  for (const m of read(doc).matchAll(/\]\(((?!https?:|#)[^)#\s]+)\)/g)) {
    found.add(path.relative(root, path.resolve(path.join(root, path.dirname(file)), m[1]!)))
  }
  return [...found].sort()
}

describe("docs name what exists", () => {
  for (const doc of ["docs/ARCHITECTURE.md", "docs/EMBEDDING.md"]) {
    it(`${doc}: every repository path it mentions exists`, () => {
      const paths = pathsOf(doc, doc)
      assert.isAtLeast(paths.length, doc.includes("ARCH") ? 30 : 5)
      const missing = paths.filter((p) => !fs.existsSync(path.join(root, p)))
      assert.deepStrictEqual(missing, [])
    })
  }

  it("docs/ARCHITECTURE.md: each function of the rules table is in the files of its row", () => {
    const doc = read("docs/ARCHITECTURE.md")
    const table = doc.slice(doc.indexOf("## Where each rule of the domain lives"))
    const rows = table.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| rule") && !l.startsWith("|---"))
    assert.isAtLeast(rows.length, 15)
    const problems: Array<string> = []
    for (const row of rows) {
      const [, , files, functions] = row.split("|").map((c) => c.trim())
      const sources = [...files!.matchAll(/`([^`]+)`/g)].map((m) => read(m[1]!)).join("\n")
      for (const m of functions!.matchAll(/`([^`]+)`/g)) {
        if (m[1]!.includes("/")) continue // a file named in the function column (checked as a path)
        const name = m[1]!.split(".").at(-1)!
        if (!new RegExp(`\\b${name}\\b`).test(sources)) problems.push(`${name} not in ${files}`)
      }
    }
    assert.deepStrictEqual(problems, [])
  })
})
