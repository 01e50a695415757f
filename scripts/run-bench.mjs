// Runs every benchmark in bench/ (or the ones named), each in its own process so they do not share JIT state.
// Usage: node scripts/run-bench.mjs [NAME...]   e.g. `npm run bench -- rouge`
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const wanted = process.argv.slice(2);
const benches = readdirSync('bench')
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => wanted.length === 0 || wanted.includes(name.replace(/\.bench\.ts$/, '')))
  .sort();
let failed = false;
for (const bench of benches) {
  console.log(`\n== bench/${bench}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${bench}`], { stdio: 'inherit' });
  failed ||= result.status !== 0;
}
process.exit(failed ? 1 : 0);
