"""JSON-RPC 2.0 over newline-delimited JSON: one message per line on stdin/stdout (see PROTOCOL.md).

The loop never dies on a bad message: each gets its error response and the next line is read.
"""

from __future__ import annotations

import json
import math
import sys
import time
import traceback
from typing import Any, Callable, Dict, IO, Optional

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
OUT_OF_MEMORY = -32001
NOT_INITIALIZED = -32002
UNKNOWN_SAMPLE = -32003
NON_FINITE = -32004
ALREADY_INITIALIZED = -32005


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Optional[dict] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class InvalidParams(RpcError):
    def __init__(self, path: str, problem: str):
        place = f"{path}: " if path else ""
        super().__init__(INVALID_PARAMS, f"invalid params: {place}{problem}", {"path": path})
        self.path = path


class ShutdownRequested(Exception):
    """Raised by a handler whose reply must be the last message before the process exits."""

    def __init__(self, result: Any = None):
        super().__init__("shutdown")
        self.result = result


def finite_or_null(value):
    """JSON has no NaN or infinity; results carry ``null`` instead (PROTOCOL.md)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite_or_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(item) for item in value]
    return value


class Connection:
    """Writes responses and notifications to the protocol stream, one line each."""

    def __init__(self, output: IO[str], log_stream: IO[str] = sys.stderr):
        self._output = output
        self._log_stream = log_stream

    def send(self, message: Dict[str, Any]) -> None:
        self._output.write(json.dumps(finite_or_null(message), ensure_ascii=False, allow_nan=False) + "\n")
        self._output.flush()

    def notify(self, method: str, params: Dict[str, Any]) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def log(self, level: str, message: str) -> None:
        """A line for the user: to the controller as a ``log`` notification and to stderr."""
        print(f"[serl-worker] {level}: {message}", file=self._log_stream, flush=True)
        self.notify("log", {"level": level, "message": message})

    def progress_reporter(self, method: str, total: int, interval_s: float = 0.5) -> Callable[[int], None]:
        """A callback ``report(done)`` that sends ``progress`` at most every ``interval_s`` and always at the end."""
        last_sent = [0.0]

        def report(done: int) -> None:
            now = time.monotonic()
            if done >= total or now - last_sent[0] >= interval_s:
                last_sent[0] = now
                self.notify("progress", {"method": method, "done": done, "total": total})

        return report


def _is_valid_id(value) -> bool:
    return value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _error(request_id, error: RpcError) -> Dict[str, Any]:
    body: Dict[str, Any] = {"code": error.code, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return {"jsonrpc": "2.0", "id": request_id, "error": body}


def handle_line(line: str, dispatch: Callable[[str, Any], Any]) -> Optional[Dict[str, Any]]:
    """The response to one line (None for a notification). ``dispatch(method, params)`` returns the result
    or raises ``RpcError``; ``ShutdownRequested`` passes through to the caller."""
    try:
        message = json.loads(line)
    except ValueError as error:
        return _error(None, RpcError(PARSE_ERROR, f"parse error: {error}", {"line": line[:200]}))
    if not isinstance(message, dict):
        problem = "batches are not supported" if isinstance(message, list) else "a request must be a JSON object"
        return _error(None, RpcError(INVALID_REQUEST, f"invalid request: {problem}"))
    request_id = message.get("id")
    has_id = "id" in message
    if not _is_valid_id(request_id):
        return _error(None, RpcError(INVALID_REQUEST, "invalid request: id must be a string, an integer or null"))
    if message.get("jsonrpc") != "2.0":
        return _error(request_id, RpcError(INVALID_REQUEST, 'invalid request: jsonrpc must be "2.0"'))
    method = message.get("method")
    if not isinstance(method, str):
        return _error(request_id, RpcError(INVALID_REQUEST, "invalid request: method must be a string"))
    params = message.get("params")
    if params is not None and not isinstance(params, (dict, list)):
        return _error(request_id, RpcError(INVALID_REQUEST, "invalid request: params must be an object or an array"))
    if not has_id:
        return None  # the worker has no incoming notifications; JSON-RPC forbids answering one
    try:
        result = dispatch(method, params)
    except RpcError as error:
        return _error(request_id, error)
    except ShutdownRequested:
        raise
    except Exception as error:  # a bug or a bad file inside a method: report it, keep serving
        traceback.print_exc(file=sys.stderr)
        message_text = f"{type(error).__name__}: {error}"
        return _error(request_id, RpcError(INTERNAL_ERROR, message_text, {"type": type(error).__name__}))
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def serve(input_stream: IO[bytes], connection: Connection, dispatch: Callable[[str, Any], Any]) -> int:
    """Answers requests until end of input or ``shutdown``; returns the exit status (0)."""
    for raw in input_stream:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            connection.send(_error(None, RpcError(PARSE_ERROR, f"parse error: not UTF-8 ({error})")))
            continue
        if not line.strip():
            continue
        try:
            response = handle_line(line, dispatch)
        except ShutdownRequested as shutdown:
            connection.send({"jsonrpc": "2.0", "id": json.loads(line).get("id"), "result": shutdown.result})
            return 0
        if response is None:
            continue
        try:
            connection.send(response)
        except (TypeError, ValueError) as error:  # a result that is not JSON: a bug, but not a reason to die
            failure = RpcError(INTERNAL_ERROR, f"result is not JSON-serialisable: {error}", {"type": "TypeError"})
            connection.send(_error(response.get("id"), failure))
    return 0
