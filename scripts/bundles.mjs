// The esbuild options every bundle shares, and the plugin that keeps the Compute Engine in a bundle of its
// own: used by scripts/build.mjs and by benchmarks that bundle an older tree the same way.
export function bundleOptions({ production = false } = {}) {
  return {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // jsonc-parser's UMD entry (its "main") requires files esbuild cannot see; its ES module build bundles cleanly.
    mainFields: ['module', 'main'],
    sourcemap: !production,
    minify: production,
    logLevel: 'info',
    // Transformers.js and onnxruntime-node load native binaries and WebAssembly from their own folders: they stay
    // in node_modules, and the ONNX backend imports them on first use.
    external: ['@huggingface/transformers', 'onnxruntime-node'],
  };
}

// The Compute Engine is ~5 MB of JavaScript that only symbolic answer comparison needs: it gets a bundle of
// its own, required on first use, so commands that never compare answers symbolically do not compile it.
export const computeEngineOnDemand = {
  name: 'compute-engine-on-demand',
  setup(build) {
    build.onResolve({ filter: /^@cortex-js\/compute-engine$/ }, () => ({ path: './compute-engine.js', external: true }));
  },
};
