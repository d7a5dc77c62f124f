// `npm run build` writes the pages to dist/, which the broker serves (its `desk_assets`).
// `npm run dev` serves them with live reload and passes the API and WebSockets on to a broker
// on this machine (NARA_BROKER, default the demo's https://127.0.0.1:8443).
import { defineConfig } from 'vite';

const broker = process.env.NARA_BROKER ?? 'https://127.0.0.1:8443';

export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: {
      '/api': { target: broker, secure: false },
      '/ws': { target: broker, secure: false, ws: true },
    },
  },
});
