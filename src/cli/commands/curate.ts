// `serl curate`: a curation-only run — self-instruction, rule and similarity filters, majority vote and the
// difficulty band, without the RL update — with the config's backend (the worker, ONNX Runtime or an
// OpenAI-compatible server). Same run files, options, progress and exit statuses as `serl train`.
import { loopCommand } from './train';

const HELP = `usage: serl curate --config FILE [--workspace DIR] [--python PATH] [--verbose]
       serl curate --resume RUN [--workspace DIR] [--python PATH] [--verbose]

Runs SeRL's curation without training: each step generates candidates (self-instruction in 'serl' mode,
seeds otherwise), filters them, samples n responses per candidate and keeps those whose majority-vote
agreement lies in the difficulty band. The run has the config's planned steps (max_steps, else iterations
x instructions_num_per_iteration / rollout_batch_size), as training would. Events go to
DIR/.serl/runs/<run-id>/events.jsonl like a training run's (run-started marks it curation_only), so the
dashboard and \`serl export --run RUN\` work on it; decisions (veto, accept, relabel) apply as in training.

The config's "backend" picks what samples:
  {"kind": "worker"}                                      the Python worker with "model" (default)
  {"kind": "onnx", "path": DIR}                           ONNX Runtime on a model folder (no Python)
  {"kind": "openai", "model": NAME, "base_url": URL}      an OpenAI-compatible server; the API key is read
                                                          from $OPENAI_API_KEY (or "api_key_env"), the URL
                                                          from $OPENAI_BASE_URL when base_url is absent

  --python PATH   Python interpreter of the worker backend, with PyTorch (default: python3)
  --verbose       also print debug logs (the worker's stderr)
Ctrl-C (SIGINT) or SIGTERM stops after the current sampling call; resume later with --resume.
Exit status: 0 completed, 1 failed (an error event and a message say why), 130 stopped, 2 usage.
`;

export const curateCommand = loopCommand('curate', HELP);
