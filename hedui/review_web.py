"""The review page: a small local web server (stdlib) over a run's review queue.

`hedui review --workdir DIR` serves it on 127.0.0.1.  The working database is
opened read-only per request (`db.connect_read`, which waits while a run or a
decision holds it) and closed again, so a nightly run is not locked out for
longer than one request and a request is never dropped because a run is
writing; requests are serialized.  A decision takes the working folder's
writer lock: during a run it is refused with a message, never lost silently.
"""

from __future__ import annotations

import html
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from hedui.errors import HeduiError
from hedui.privacy.masking import mask_text

log = logging.getLogger(__name__)



def make_server(ctx, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A server for run `ctx` (RunContext); call serve_forever() on it."""
    from hedui.db import DatabaseBusyError, connect_read
    from hedui.pipeline import record_decision
    from hedui.review.queue import DECISIONS, pair, queue
    from hedui.steps.report.outputs import _env

    env = _env()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # masked, never a full ID
            log.info("review page: %s", mask_text(fmt % args))

        def _send(self, status: int, body: str, ctype: str = "text/html; charset=utf-8") -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, exc: Exception) -> None:
            self._send(400, f"<!doctype html><meta charset='utf-8'><h1>无法完成</h1><p>{html.escape(mask_text(str(exc)))}"
                            f"</p><p><a href='/'>返回复核队列</a></p>")

        def _pair_page(self, key: str, **extra) -> str:
            con = connect_read(ctx.database)
            try:
                p = pair(con, ctx.run_date, key)
            finally:
                con.close()
            return env.get_template("review_pair.html").render(p=p, decisions=DECISIONS, **extra)

        def do_GET(self):  # noqa: N802 (http.server's name)
            url = urlparse(self.path)
            try:
                with lock:
                    if url.path == "/":
                        con = connect_read(ctx.database)
                        try:
                            rows = queue(con, ctx.run_date)
                            names = dict(con.sql("select source, source_zh from source_status "
                                                 "where run_date = ?", params=[ctx.run_date]).fetchall())
                        finally:
                            con.close()
                        self._send(200, env.get_template("review_list.html").render(
                            rows=rows, run_date=ctx.run_date, source_names=names))
                    elif url.path == "/pair":
                        key = parse_qs(url.query).get("key", [""])[0]
                        self._send(200, self._pair_page(key))
                    else:
                        self._send(404, "<meta charset='utf-8'>未找到该页面")
            except HeduiError as exc:
                self._error(exc)
            except DatabaseBusyError:
                self._busy()

        def _busy(self) -> None:
            body = ("<!doctype html><meta charset='utf-8'><meta http-equiv='refresh' content='30'>"
                    "<h1>核对批次正在写入数据库</h1><p>页面将在 30 秒后自动刷新；您的请求未丢失，请稍候。</p>")
            data = body.encode("utf-8")
            self.send_response(503)
            self.send_header("Retry-After", "30")
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802
            if urlparse(self.path).path != "/decide":
                self._send(404, "<meta charset='utf-8'>未找到该页面")
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}
            try:
                with lock:
                    result = record_decision(ctx, form.get("key", ""), form.get("decision", ""),
                                             form.get("reviewer", ""), form.get("reason", ""))
                    message = (f"已记录决定：{DECISIONS[form['decision']]}。该户已重新核对，结论为 "
                               f"{result['outcome']}（{result['findings'] or '无情形'}）。")
                    self._send(200, self._pair_page(form["key"], message=message, message_class=result["outcome"],
                                                    reviewer=form.get("reviewer")))
            except HeduiError as exc:
                self._error(exc)
            except DatabaseBusyError:
                self._busy()

    return ThreadingHTTPServer((host, port), Handler)
