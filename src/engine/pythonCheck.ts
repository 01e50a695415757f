// Before a run starts, whether the chosen Python can run the training worker: the interpreter exists and
// imports PyTorch. The answer is a message a person can act on, never a traceback.
import { spawn } from 'node:child_process';

export type TorchCheck =
  | { ok: true; python: string; torchVersion: string; cuda: boolean }
  | { ok: false; python: string; problem: 'not-found' | 'no-torch' | 'error'; message: string };

const PROBE = 'import json, torch; print(json.dumps({"version": torch.__version__, "cuda": torch.cuda.is_available()}))';

/** Runs `python -c "import torch"` (with a time limit: importing torch takes seconds on a busy machine). */
export function checkTorch(python: string, options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<TorchCheck> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve) => {
    const child = spawn(python, ['-c', PROBE], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const message =
        error.code === 'ENOENT'
          ? `Python interpreter '${python}' not found. Install Python 3 with PyTorch, or choose an interpreter with "SeRL: Select Python Interpreter".`
          : `cannot run Python interpreter '${python}': ${error.message}`;
      resolve({ ok: false, python, problem: error.code === 'ENOENT' ? 'not-found' : 'error', message });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        try {
          const { version, cuda } = JSON.parse(stdout.trim().split('\n').pop()!) as { version: string; cuda: boolean };
          resolve({ ok: true, python, torchVersion: String(version), cuda: cuda === true });
          return;
        } catch {
          // fall through: an interpreter that printed something else
        }
      }
      if (/No module named '?torch'?/.test(stderr)) {
        resolve({ ok: false, python, problem: 'no-torch', message: missingTorchMessage(python) });
        return;
      }
      const why = signal === 'SIGKILL' ? `did not answer within ${timeoutMs / 1000} s` : `failed: ${lastLine(stderr) || `exit status ${code}`}`;
      resolve({ ok: false, python, problem: 'error', message: `'${python} -c "import torch"' ${why}` });
    });
  });
}

/** What to do when PyTorch is missing. */
export function missingTorchMessage(python: string): string {
  return (
    `PyTorch is not installed for ${python}. Install it (Debian/Ubuntu: "sudo apt-get install python3-torch"; ` +
    `otherwise: "${python} -m pip install torch"), or choose a Python that has it with "SeRL: Select Python Interpreter".`
  );
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}
