// One build for every bundle. Flags: --watch (rebuild on change), --production (minify, no sourcemaps).
import * as esbuild from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';
import { bundleOptions, computeEngineOnDemand } from './bundles.mjs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = bundleOptions({ production });

const bundles = [
  { ...common, entryPoints: { 'compute-engine': '@cortex-js/compute-engine' }, outdir: 'dist' },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, plugins: [computeEngineOnDemand] },
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', ...common.external], plugins: [computeEngineOnDemand] },
  { ...common, entryPoints: ['language-server/server.ts'], outfile: 'dist/server.js', plugins: [computeEngineOnDemand] },
  { ...common, entryPoints: ['language-server/nearJoinWorker.ts'], outfile: 'dist/nearJoinWorker.js' },
  // The dashboard webview: a browser page; uPlot's CSS is bundled into dashboard.css beside dashboard.js.
  { ...common, platform: 'browser', target: 'chrome120', format: 'iife', mainFields: ['browser', 'module', 'main'], entryPoints: { dashboard: 'webview/src/main.ts' }, outdir: 'dist/webview' },
];

async function writeConfigSchema() {
  // The JSON Schema is generated from the zod config schema so the two cannot drift.
  const { tsImport } = await import('tsx/esm/api');
  const { runConfigJsonSchema } = await tsImport('../src/core/config.ts', import.meta.url);
  await mkdir('dist', { recursive: true });
  await writeFile('dist/serl-config.schema.json', JSON.stringify(runConfigJsonSchema(), null, 2) + '\n');
}

if (watch) {
  const contexts = await Promise.all(bundles.map((options) => esbuild.context(options)));
  await writeConfigSchema();
  await Promise.all(contexts.map((context) => context.watch()));
} else {
  await Promise.all(bundles.map((options) => esbuild.build(options)));
  await writeConfigSchema();
}
