import { fileURLToPath } from "node:url"
import { defineConfig } from "vite"

// No React plugin: esbuild compiles the JSX (automatic runtime). Assets get content hashes, so
// the server can cache them forever (see examples/server/src/Dashboard.ts).
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  esbuild: { jsx: "automatic" },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1200 },
  server: {
    // `npm run dev -w examples/dashboard` against a server on :8080 (`npm start`).
    proxy: { "/api": { target: process.env["SPOTFLEET_URL"] ?? "http://localhost:8080", changeOrigin: true } }
  }
})
