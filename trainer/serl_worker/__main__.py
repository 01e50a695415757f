"""``python -m serl_worker``: serve the protocol on stdin/stdout until end of input or ``shutdown``."""

import os
import sys

from .rpc import Connection, serve
from .worker import Worker


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
