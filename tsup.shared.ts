import { defineConfig } from "tsup"

/**
 * The build every published package shares: ESM + CJS + declarations for each entry point.
 * Declarations are built without project-reference settings (`composite`) and resolve workspace
 * packages through their published exports, not the `@spotfleet/source` condition.
 */
export const packageConfig = (entry: ReadonlyArray<string>) =>
  defineConfig({
    entry: [...entry],
    format: ["esm", "cjs"],
    dts: { compilerOptions: { composite: false, customConditions: [] } },
    sourcemap: true,
    clean: true,
    splitting: true,
    treeshake: true,
    target: "es2022",
    tsconfig: "tsconfig.json"
  })
