import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/dist/**", "**/.tsbuild/**", "**/node_modules/**", "**/test-artifacts/**", "docs/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.mts"],
    rules: {
      // Effect generators often yield without a visible `yield` in type positions.
      "require-yield": "off",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "no-console": "off"
    }
  },
  {
    // House rule (Effect): Effect tests assert with `assert` from @effect/vitest, never vitest's `expect`.
    files: ["packages/*/test/**/*.ts"],
    rules: {
      "no-restricted-syntax": ["error", { selector: "CallExpression[callee.name='expect']", message: "use assert from @effect/vitest" }]
    }
  },
  {
    files: ["**/*.mjs", "**/*.js", "**/*.cjs"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        Request: "readonly",
        Response: "readonly",
        fetch: "readonly"
      }
    }
  },
  {
    // CommonJS on purpose (the packed packages' `require` entry points are exercised with it).
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly", module: "writable", __dirname: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" }
  }
)
