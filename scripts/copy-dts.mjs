// Publishes a package's type declarations: the ones `tsc -b` emitted for its sources
// (.tsbuild/src, with their maps) are copied to dist/dts. tsc names other workspace packages'
// types through their public specifiers (`import { AgentStore } from "@spotfleet/engine"`), which a
// bundled declaration file (hashed chunks, namespace shims) cannot always do.
import { cpSync, existsSync, rmSync } from "node:fs"
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
console.log(`declarations copied to ${to}`)
