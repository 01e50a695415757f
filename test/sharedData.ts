// The real data in ../shared: beside the clone in CI, absent from a user's clone. Tests that read it
// skip with a message saying so, rather than failing.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const SHARED_DATA = path.resolve(__dirname, '../../shared/data');
/** SeRL's 500 MATH seeds (problem, solution, answer, …). */
export const MATH_SEEDS_FILE = path.join(SHARED_DATA, 'math_seed_500.jsonl');
export const QUESTION_PROMPT_FILE = path.join(SHARED_DATA, 'serl_question_generation_prompt.json');

/** For a test's `skip` option: false when `file` exists, else why the test cannot run. */
export function skipUnlessPresent(file: string): string | false {
  return existsSync(file) ? false : `${file} is absent (the shared data folder is not checked out next to the repository)`;
}

/** The MATH seeds' records, one per non-blank line. */
export function readMathSeeds(): { problem: string; answer: string; solution: string }[] {
  return readFileSync(MATH_SEEDS_FILE, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}
