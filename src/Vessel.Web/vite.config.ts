/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the UI with hot reload and sends the API to a vessel serve on this host
// (VESSEL_URL, default https://127.0.0.1:8006, its self-signed certificate accepted).
const server = process.env.VESSEL_URL ?? "https://127.0.0.1:8006";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: { "/api": { target: server, secure: false, ws: true, changeOrigin: false } },
  },
  test: { environment: "jsdom", include: ["src/**/*.test.{ts,tsx}"] },
});
