"""Real local servers that receive notifications: an SMTP server (aiosmtpd) and an HTTP webhook endpoint."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server():
    """Yield (port, messages): every mail the server accepts, as email.message.Message."""
    import email

    from aiosmtpd.controller import Controller

    messages = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            msg = email.message_from_bytes(envelope.original_content)
            msg["X-Rcpt"] = ",".join(envelope.rcpt_tos)
            messages.append(msg)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, messages
    finally:
        controller.stop()


@contextlib.contextmanager
def webhook_server(answer: dict | None = None):
    """Yield (url, posts): every POST received, as (path with query, parsed JSON body)."""
    posts = []
    body = json.dumps(answer or {"errcode": 0, "errmsg": "ok"}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posts.append((self.path, json.loads(data.decode("utf-8"))))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/robot/send?access_token=t", posts
    finally:
        server.shutdown()
        server.server_close()


def mail_text(msg) -> str:
    """The decoded text of a mail's parts."""
    parts = msg.walk() if msg.is_multipart() else [msg]
    return "".join(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8")
                   for p in parts if not p.is_multipart() and p.get_payload(decode=True))


def configure(monkeypatch, smtp_port: int, url: str, secret: str | None = None) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEDUI_SMTP_TEST",
                       f"smtp://127.0.0.1:{smtp_port}?disable_tls=true&disable_ssl=true&from_email=hedui%40center.test"
                       "&retry_limit=0&timeout=10")
    monkeypatch.setenv("HEDUI_SMTP_CONN_ID", "hedui_smtp_test")
    monkeypatch.setenv("HEDUI_NOTIFY_EMAIL", "duty@center.test, lead@center.test")
    monkeypatch.setenv("HEDUI_NOTIFY_WEBHOOK", url)
    if secret:
        monkeypatch.setenv("HEDUI_WEBHOOK_SECRET", secret)
