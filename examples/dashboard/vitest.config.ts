import { fileURLToPath } from "node:url"
import { defineProject } from "vitest/config"

// The browser test: Debian's chromium driven by playwright-core against the example server.
export default defineProject({
  test: {
    name: "dashboard",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 90_000,
    // dist/ is built once (when stale) before the browser tests, not by each of them.
    globalSetup: ["test/globalSetup.ts"],
    hookTimeout: 90_000
  }
})
