import { defineConfig } from "tsup"

/**
 * The JavaScript build every published package shares: ESM + CJS for each entry point. The
 * package's `build` script then copies the declarations `tsc -b` emitted into dist/dts.
 */
export const packageConfig = (entry: ReadonlyArray<string>) =>
  defineConfig({
    entry: [...entry],
    format: ["esm", "cjs"],
    // Declarations come from `tsc -b` (scripts/copy-dts.mjs): bundled ones cannot always name
    // the types of other workspace packages.
    dts: false,
    sourcemap: true,
    clean: true,
    splitting: true,
    treeshake: true,
    target: "es2022",
    tsconfig: "tsconfig.json"
  })
