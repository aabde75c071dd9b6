"""The staff workspace served for a test module: a real uvicorn server on a free local port, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(make_app, wait_s: float = 10.0):
    """Serve `make_app(port)` on 127.0.0.1:<a free port> until the block ends; yields (port, app)."""
    import uvicorn

    port = free_port()
    app = make_app(port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + wait_s
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield port, app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
