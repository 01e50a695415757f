// Regenerates the README's dashboard screenshot (media/screenshots/dashboard.png, 1280×800) by running the
// end-to-end suite, which takes it once the pool and an item's vote outcome are on screen.
// Needs `npm run build` and scripts/install-e2e-deps.sh first.
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

const target = resolve('media/screenshots/dashboard.png');
mkdirSync(resolve('media/screenshots'), { recursive: true });
const result = spawnSync(process.execPath, ['scripts/test-e2e.mjs', 'test/e2e/dashboard.e2e.ts'], {
  stdio: 'inherit',
  env: { ...process.env, SERL_README_SCREENSHOT: target },
});
if (result.status !== 0) process.exit(result.status ?? 1);
console.log(`screenshot: ${target} (${Math.round(statSync(target).size / 1024)} KB)`);
