// Verifies that `npm run build` produced ESM, CJS and type declarations for every package under
// packages/, and that both module formats actually load.
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"

const root = resolve(import.meta.dirname, "..")
const require = createRequire(import.meta.url)
const problems = []
for (const dir of readdirSync(join(root, "packages"))) {
  const pkgDir = join(root, "packages", dir)
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"))
  for (const [entry, target] of Object.entries(pkg.exports ?? {})) {
    if (typeof target !== "object" || target === null) continue
    const files = [target.import?.default, target.import?.types, target.require?.default, target.require?.types]
    for (const f of files) {
      if (f === undefined) problems.push(`${pkg.name} ${entry}: exports lack a format`)
      else if (!existsSync(join(pkgDir, f))) problems.push(`${pkg.name} ${entry}: ${f} missing`)
    }
    if (problems.length > 0) continue
    try {
      await import(pathToFileURL(join(pkgDir, target.import.default)).href)
      require(join(pkgDir, target.require.default))
    } catch (e) {
      // The test kit needs vitest at run time; loading it outside a test runner is expected to fail there.
      if (!(entry === "./testing" && /vitest/i.test(String(e)))) problems.push(`${pkg.name} ${entry}: does not load: ${e}`)
    }
  }
  console.log(`checked ${pkg.name}`)
}
if (problems.length > 0) {
  console.error(problems.join("\n"))
  process.exit(1)
}
