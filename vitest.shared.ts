import * as path from "node:path"
import type { ViteUserConfig } from "vitest/config"

const root = path.dirname(new URL(import.meta.url).pathname)
const pkg = (name: string, file = "index.ts") => path.join(root, "packages", name, "src", file)

/**
 * Shared vitest settings: workspace packages resolve to their TypeScript sources,
 * so tests never need a build first.
 */
export const shared: ViteUserConfig = {
  resolve: {
    alias: [
      { find: /^@spotfleet\/engine\/testing$/, replacement: pkg("engine", "testing.ts") },
      { find: /^@spotfleet\/engine$/, replacement: pkg("engine") },
      { find: /^@spotfleet\/adapter-mysql\/testing$/, replacement: pkg("adapter-mysql", "testing.ts") },
      { find: /^@spotfleet\/adapter-mysql$/, replacement: pkg("adapter-mysql") },
      { find: /^@spotfleet\/adapter-http$/, replacement: pkg("adapter-http") },
      { find: /^@spotfleet\/ml-onnx$/, replacement: pkg("ml-onnx") },
      { find: /^@spotfleet\/aws\/testing$/, replacement: pkg("aws", "testing.ts") },
      { find: /^@spotfleet\/aws$/, replacement: pkg("aws") },
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: [path.join(root, "vitest.setup.ts")],
    fakeTimers: { toFake: undefined },
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
}
