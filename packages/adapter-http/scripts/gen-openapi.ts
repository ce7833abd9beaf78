/**
 * Writes docs/api-spec.yaml from the HttpApi contract (`npm run gen:openapi` at the root).
 * `--check` exits 1 when the file is out of date instead of writing it.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { OpenApiSpec } from "@spotfleet/adapter-http"
import * as YAML from "yaml"

export const specPath = fileURLToPath(new URL("../../../docs/api-spec.yaml", import.meta.url))

const header = "# Generated from packages/adapter-http/src/Api.ts by `npm run gen:openapi`. Do not edit.\n"

/** The YAML text of the current contract. */
export const render = (): string =>
  header + YAML.stringify(OpenApiSpec.spec(), { aliasDuplicateObjects: false, lineWidth: 0, sortMapEntries: false })

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  const text = render()
  if (process.argv.includes("--check")) {
    let current = ""
    try {
      current = readFileSync(specPath, "utf8")
    } catch {
      // missing counts as out of date
    }
    if (current !== text) {
      console.error(`${specPath} is out of date: run npm run gen:openapi`)
      process.exit(1)
    }
    console.log(`${specPath} is up to date`)
  } else {
    writeFileSync(specPath, text)
    console.log(`wrote ${specPath}`)
  }
}
