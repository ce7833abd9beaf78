// Publishes a package's type declarations: the ones `tsc -b` emitted for its sources
// (.tsbuild/src, with their maps) are copied to dist/dts. tsc names other workspace packages'
// types through their public specifiers (`import { AgentStore } from "@spotfleet/engine"`), which a
// bundled declaration file (hashed chunks, namespace shims) cannot always do.
//
// Every `.d.ts` also gets a `.d.cts` twin for the `require` condition (its relative imports
// pointing at `.cjs`): in a `"type": "module"` package a `.d.ts` is read as ESM, so CommonJS
// consumers under `moduleResolution: node16` would otherwise see ESM-only types (publint and
// arethetypeswrong check this).
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const pkg = process.cwd()
const from = join(pkg, ".tsbuild", "src")
const to = join(pkg, "dist", "dts")
if (!existsSync(from)) {
  console.error(`no declarations in ${from}: run \`tsc -b\` first`)
  process.exit(1)
}
rmSync(to, { recursive: true, force: true })
cpSync(from, to, { recursive: true, filter: (src) => !src.endsWith(".tsbuildinfo") })

/** `./x.js` → `./x.cjs` in `from "…"`, `import("…")` and `export … from "…"` of relative paths. */
const toCjs = (text) =>
  text
    .replace(/(from\s+["'])(\.{1,2}\/[^"']+)\.js(["'])/g, "$1$2.cjs$3")
    .replace(/(import\(\s*["'])(\.{1,2}\/[^"']+)\.js(["']\s*\))/g, "$1$2.cjs$3")
    .replace(/\n\/\/# sourceMappingURL=.*$/, "\n")

let count = 0
const twin = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) twin(path)
    else if (entry.name.endsWith(".d.ts")) {
      writeFileSync(path.replace(/\.d\.ts$/, ".d.cts"), toCjs(readFileSync(path, "utf8")))
      count++
    }
  }
}
twin(to)
console.log(`declarations copied to ${to} (${count} with .d.cts twins)`)
