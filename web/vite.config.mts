import path from 'node:path';
import { defineConfig } from 'vite';

/** The protocol's source files (see the alias below). */
const PROTOCOL_SOURCE = /[\\/]packages[\\/]protocol[\\/]src[\\/]/;

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
    rolldownOptions: {
      // The page takes only types and the browser-safe `DisposableStore` from the protocol. Its
      // modules run nothing for effect (they declare schemas and constants), so declaring them
      // side-effect-free keeps the unused zod schemas, the server's business, out of the bundle.
      treeshake: { moduleSideEffects: (id) => (PROTOCOL_SOURCE.test(id) ? false : undefined) },
    },
  },
});
