/**
 * Fails when a public export of a published package has no doc comment.
 *
 * Public exports are what each package's entry points (`exports` in package.json: the barrels
 * `src/index.ts`, and `src/testing.ts` of the engine) export, followed through
 * `export * as Module from "./Module.js"` into every module. Each must carry a JSDoc comment
 * (a summary or at least a tag such as `@since`), and so must each module (its file comment).
 *
 * Usage: node scripts/check-doc-comments.mjs   (exit code 1 and a list when something lacks one)
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
export const entryPoints = [
  "packages/engine/src/index.ts",
  "packages/engine/src/testing.ts",
  "packages/adapter-mysql/src/index.ts",
  "packages/adapter-mysql/src/testing.ts",
  "packages/adapter-http/src/index.ts",
  "packages/ml-onnx/src/index.ts",
  "packages/aws/src/index.ts",
  "packages/aws/src/testing.ts"
]

const hasDoc = (node) => ts.getJSDocCommentsAndTags(node).length > 0

/** The undocumented exports, as `file: Module.name` strings, and how many exports were checked. */
export const check = (entries = entryPoints) => {
  const program = ts.createProgram(entries.map((e) => path.join(root, e)), {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    customConditions: ["@spotfleet/source"],
    skipLibCheck: true,
    noEmit: true,
    allowJs: false
  })
  const checker = program.getTypeChecker()
  const missing = []
  const seen = new Set()
  let checked = 0
  const visitModule = (file, prefix) => {
    if (seen.has(file.fileName)) return
    seen.add(file.fileName)
    const rel = path.relative(root, file.fileName)
    const moduleSymbol = checker.getSymbolAtLocation(file)
    if (moduleSymbol === undefined) return
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
      const name = `${prefix}${symbol.getName()}`
      checked++
      const decls = symbol.getDeclarations() ?? []
      // `export * as X from "./X.js"`: the barrel line needs a comment, and so does X itself.
      const nsExport = decls.find((d) => ts.isNamespaceExport(d))
      if (nsExport !== undefined) {
        if (!hasDoc(nsExport.parent)) missing.push(`${rel}: ${name}`)
        const target = checker.getAliasedSymbol(symbol)
        const targetFile = target.valueDeclaration ?? target.declarations?.[0]
        if (targetFile !== undefined && ts.isSourceFile(targetFile)) {
          const first = targetFile.statements[0]
          const fileComment = first !== undefined && ts.getLeadingCommentRanges(targetFile.text, first.getFullStart())?.some((r) =>
            targetFile.text.slice(r.pos, r.pos + 3) === "/**"
          )
          // A module under internal/ is documented where it is exported (e.g. testing.ts).
          if (!fileComment && !targetFile.fileName.includes("/internal/")) missing.push(`${path.relative(root, targetFile.fileName)}: module ${name} has no file comment`)
          visitModule(targetFile, `${name}.`)
        }
        continue
      }
      const local = decls[0]
      // `export { x } from "./X.js"`: the comment is on the re-export or on the original.
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
      const targetDecls = target.getDeclarations() ?? []
      const documented = (local !== undefined && ts.isExportSpecifier(local) && hasDoc(local.parent.parent)) ||
        targetDecls.some((d) => hasDoc(ts.isVariableDeclaration(d) ? d.parent.parent : d))
      if (!documented) missing.push(`${rel}: ${name}`)
    }
  }
  for (const entry of entries) {
    const file = program.getSourceFile(path.join(root, entry))
    if (file === undefined) throw new Error(`entry point ${entry} not found`)
    visitModule(file, "")
  }
  return { missing, checked }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { checked, missing } = check()
  if (missing.length > 0) {
    console.error(`${missing.length} public exports without a doc comment:\n  ${missing.join("\n  ")}`)
    process.exit(1)
  }
  console.log(`every public export has a doc comment (${checked} checked)`)
}
