// Two apps from one package: the staff console (index.html, served at /) and the client
// portal (portal/index.html, at /portal/). They share src/api and src/shared; Vite puts
// every chunk under /assets/ with a content hash, which the gateway caches for a year.
import { resolve } from "node:path";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The CSP allows no inline script; the polyfill is for browsers we do not support.
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        console: resolve(__dirname, "index.html"),
        portal: resolve(__dirname, "portal/index.html"),
      },
    },
  },
  server: {
    // `npm run dev`: the API stays on the gateway (tools/vetline up), same origin via proxy.
    proxy: { "/v1": "http://127.0.0.1:8080", "/openapi.json": "http://127.0.0.1:8080" },
  },
});
