import type { BuildOptions, Plugin } from 'esbuild';

export function bundleOptions(options?: { production?: boolean }): BuildOptions;
export const computeEngineOnDemand: Plugin;
