// The end-to-end suite (test/e2e/*.e2e.ts) in a real VS Code: code-server and Chromium from
// scripts/install-e2e-deps.sh's cache. Needs `npm run build` first. Screenshots: test-results/e2e/.
// Usage: node scripts/test-e2e.mjs [FILE...]
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync('test/e2e').filter((name) => name.endsWith('.e2e.ts')).sort().map((name) => join('test/e2e', name));
// Each run's screenshots replace the last run's, so the folder shows one run.
rmSync('test-results/e2e', { recursive: true, force: true });
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
