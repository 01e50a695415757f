// `serl export-onnx`: writes a policy in the ONNX Runtime backend's model-folder layout (the worker's
// export_onnx), so curation and the playground can sample from it without Python — either a tiny model
// folder or the latest checkpoint of a run.
import { resolve, join } from 'node:path';
import { defaultRunConfig, type RunConfig } from '../../core/config';
import { startPolicyWorker } from '../../engine/backends/index';
import { replayRun, readRunConfig } from '../../engine/runStore';
import { openRunOrUsage } from './export';
import { EXIT_FINDINGS, EXIT_OK, UsageError, parseArgsOrUsage, type Command } from '../io';

const HELP = `usage: serl export-onnx --model DIR --out DIR [--python PATH]
       serl export-onnx --run RUN --out DIR [--workspace DIR] [--python PATH]

Exports a tiny model to ONNX (config.json, tokenizer files, onnx/model.onnx with a KV cache): the model
folder DIR (config.json + model.pt, e.g. examples/arithmetic/base), or the latest checkpoint of RUN (runs
live in DIR/.serl/runs; DIR: the current directory). The result is what a config's
{"backend": {"kind": "onnx", "path": OUT}} loads. Needs Python with PyTorch for the export only.
  --python PATH   Python interpreter of the worker, with PyTorch (default: python3)
`;

export const exportOnnxCommand: Command = async (args, io) => {
  const { values } = parseArgsOrUsage(
    {
      args,
      options: {
        model: { type: 'string' },
        run: { type: 'string' },
        out: { type: 'string' },
        workspace: { type: 'string' },
        python: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    HELP,
  );
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if ((values.model === undefined) === (values.run === undefined)) throw new UsageError(`give exactly one of --model DIR and --run RUN\n\n${HELP}`);
  if (values.out === undefined) throw new UsageError(`--out DIR is required\n\n${HELP}`);

  let config: RunConfig;
  let checkpointDir: string | null = null;
  if (values.run !== undefined) {
    const paths = await openRunOrUsage(values.workspace, values.run);
    config = await readRunConfig(paths);
    const checkpoint = (await replayRun(paths)).pool.lastCheckpoint;
    if (!checkpoint) {
      io.stderr.write(`serl export-onnx: run ${values.run} has no checkpoint yet\n`);
      return EXIT_FINDINGS;
    }
    checkpointDir = join(paths.dir, checkpoint.dir);
  } else {
    config = { ...defaultRunConfig(), model: { kind: 'tiny', path: resolve(values.model!), dtype: 'float32' }, device: 'cpu' };
  }
  if (config.model.kind !== 'tiny') {
    io.stderr.write(`serl export-onnx: the worker exports tiny models only; for a Hugging Face model use optimum (see the README's ONNX section)\n`);
    return EXIT_FINDINGS;
  }

  const worker = await startPolicyWorker(config, {
    python: values.python,
    training: false,
    log: (level, message) => {
      if (level !== 'debug') io.stderr.write(`${message}\n`);
    },
  });
  try {
    if (checkpointDir) await worker.load({ dir: checkpointDir });
    const result = await worker.exportOnnx({ dir: resolve(values.out) });
    io.stderr.write(`exported ${checkpointDir ?? resolve(values.model!)} to ${result.dir}: ${result.files.join(', ')}\n`);
    return EXIT_OK;
  } finally {
    await worker.dispose();
  }
};
