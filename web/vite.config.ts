import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const serverUrl = process.env.PORTAGENT_URL ?? "http://127.0.0.1:5200";

export default defineConfig({
  // Relative asset URLs: the server may live under a sub-path (BASE_PATH) and sets <base href>.
  base: "./",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    // The Python package serves (and ships) what is built here.
    outDir: fileURLToPath(new URL("../service/web/dist", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev` against a running server: `portagent --demo` on port 5200.
    proxy: {
      "/api": serverUrl,
      "/agentx": serverUrl,
      "/ws": { target: serverUrl.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
