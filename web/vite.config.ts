import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

/** Compressed JS and CSS a first visit downloads (the entry and what it imports statically). */
const FIRST_LOAD_BUDGET_KB = 250;

/**
 * Prints the first load's compressed size at every build and fails the build above the budget, so
 * a heavy dependency is noticed when it is added, not when users complain.
 */
function firstLoadBudget(): Plugin {
  return {
    name: 'keygate-first-load-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      const seen = new Set<string>();
      let bytes = 0;
      const visit = (fileName: string) => {
        if (seen.has(fileName)) return;
        seen.add(fileName);
        const item = bundle[fileName];
        if (!item) return;
        const source = item.type === 'chunk' ? item.code : item.source;
        bytes += gzipSync(typeof source === 'string' ? source : Buffer.from(source)).length;
        if (item.type === 'chunk') {
          for (const imported of item.imports) visit(imported);
          for (const css of item.viteMetadata?.importedCss ?? []) visit(css);
        }
      };
      for (const item of Object.values(bundle)) if (item.type === 'chunk' && item.isEntry) visit(item.fileName);
      const kb = bytes / 1024;
      const line = `web: first load ${kb.toFixed(1)} KB of compressed JS and CSS (budget ${FIRST_LOAD_BUDGET_KB} KB)`;
      if (kb > FIRST_LOAD_BUDGET_KB) this.error(line);
      console.log(line);
    },
  };
}

/**
 * Writes a .br and a .gz beside every script, stylesheet and page, once at build: the server sends
 * them as they are (@fastify/static's preCompressed) instead of compressing on every request.
 */
function precompress(): Plugin {
  return {
    name: 'keygate-precompress',
    apply: 'build',
    writeBundle(options) {
      const dir = options.dir!;
      const walk = (d: string): string[] =>
        readdirSync(d, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)],
        );
      for (const file of walk(dir).filter((f) => /\.(js|css|html|svg|json)$/.test(f))) {
        const content = readFileSync(file);
        writeFileSync(`${file}.br`, brotliCompressSync(content));
        writeFileSync(`${file}.gz`, gzipSync(content, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), firstLoadBudget(), precompress()],
  // The server serves the console from dist/web, which ships in the npm package with the server.
  build: { outDir: '../dist/web', emptyOutDir: true, sourcemap: false, target: 'es2022', reportCompressedSize: false },
  // `npm run dev:web`: the console with hot reload, calling a keygate started with `npm start`.
  server: { proxy: { '/api': `http://127.0.0.1:${process.env.PORT ?? 3000}` } },
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.{ts,tsx}'],
    setupFiles: ['test/setup.ts'],
  },
});
