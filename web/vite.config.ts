import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The dev server proxies the API to a gateway on PARLEY_GATEWAY (default the `make run` port), so
// the client is developed against the real backend; production builds are served by the gateway.
const gateway = process.env.PARLEY_GATEWAY ?? "http://127.0.0.1:3500";

export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    proxy: {
      "/token": gateway,
      "/refresh_token": gateway,
      "/api": gateway,
      "/chat": { target: gateway, ws: true },
    },
  },
  // highlight.js's common languages make most of the bundle; one gzipped file of ~180 kB is fine.
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 700 },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
