"""``python -m serl_worker``: serve the protocol on stdin/stdout until end of input or ``shutdown``."""

import os
import sys

# Before torch loads OpenMP: idle worker threads sleep instead of spinning. On a machine shared with other
# processes (the controller, the editor, other jobs), spinning threads steal the cores the busy ones need;
# measured with 2 threads on 2 loaded cores, sampling ran 5-8x slower (bench/README.md, worker sampling).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .rpc import Connection, serve  # noqa: E402 (after the environment is set)
from .worker import Worker  # noqa: E402


def main() -> int:
    # Only protocol messages may reach the controller's pipe: keep a private handle on it and point file
    # descriptor 1 (and sys.stdout) at stderr, so stray prints from libraries land in the log instead.
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    threads = os.environ.get("SERL_WORKER_THREADS")
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            print(f"SERL_WORKER_THREADS must be a positive integer, not {threads!r}", file=sys.stderr)
            return 2
        import torch

        torch.set_num_threads(int(threads))
    connection = Connection(protocol_out)
    worker = Worker(connection)
    return serve(sys.stdin.buffer, connection, worker.dispatch)


if __name__ == "__main__":
    sys.exit(main())
