import path from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  resolve: {
    // The protocol is imported from source: one definition of every event for both ends.
    alias: { '@ctos/protocol': path.resolve(import.meta.dirname, '../packages/protocol/src/index.ts') },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    // xterm.js and its renderers are one large chunk by nature; split later if it matters.
    chunkSizeWarningLimit: 1500,
  },
});
