/// <reference types="vitest" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The production build goes into ../assets with fixed names (index.html,
// app.js, app.css): kodev compiles each file there into the binary under a
// symbol named after the file, so names must not change between builds.
// `npm run dev` serves the app itself and proxies the API to a running
// gateway (FUSION_URL, default http://127.0.0.1:8080).
const gateway = process.env.FUSION_URL || 'http://127.0.0.1:8080';

export default defineConfig(({ command }) => ({
  base: command === 'build' ? '/assets/' : '/',
  plugins: [react()],
  server: {
    proxy: {
      '/api': { target: gateway, changeOrigin: true },
      '/v1': { target: gateway, changeOrigin: true },
    },
  },
  build: {
    outDir: '../assets',
    emptyOutDir: false,
    assetsDir: '',
    cssCodeSplit: false,
    modulePreload: false,
    assetsInlineLimit: 100000,
    target: 'es2020',
    rollupOptions: {
      output: {
        entryFileNames: 'app.js',
        chunkFileNames: 'app-[name].js',
        assetFileNames: (info) =>
          info.name && info.name.endsWith('.css') ? 'app.css' : '[name][extname]',
        inlineDynamicImports: true,
      },
    },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test-setup.ts'],
    css: false,
  },
}));
