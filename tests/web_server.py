"""The staff workspace served for a test module: a real uvicorn server on a free local port, in a thread."""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
import urllib.parse
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


class Client:
    """One browser's worth of HTTP: its cookie, the site's Host and Origin, no redirects followed."""

    def __init__(self, site: dict, cookie: str | None = None):
        self.site, self.cookie = site, cookie

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None,
                body: bytes | None = None) -> tuple[int, dict, bytes]:
        # as a browser sends a link: non-ASCII percent-encoded, the fragment (after '#') kept to itself
        path = urllib.parse.quote(path, safe="/?&=%#+:;@,!$'()*~").split("#", 1)[0]
        con = http.client.HTTPConnection("127.0.0.1", self.site["port"], timeout=120)
        h = {"Host": self.site["host"]}
        if method not in ("GET", "HEAD"):
            h["Origin"] = "http://" + self.site["host"]
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            h["Cookie"] = f"hedui_session={self.cookie}"
        h.update(headers or {})
        try:
            con.request(method, path, body=body, headers=h)
            r = con.getresponse()
            data = r.read()
            hdrs = {}
            for k, v in r.getheaders():
                hdrs.setdefault(k.lower(), []).append(v)
            for v in hdrs.get("set-cookie", []):
                m = re.match(r"hedui_session=([^;]*)", v)
                if m:
                    self.cookie = m.group(1).strip('"') or None
            return r.status, {k: ", ".join(v) if k != "set-cookie" else v for k, v in hdrs.items()}, data
        finally:
            con.close()

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict | None = None, **kw):
        return self.request("POST", path, form=form, **kw)

    def page(self, path: str) -> str:
        status, _, body = self.get(path)
        assert status == 200, (path, status, body[:300])
        return body.decode()

    def csrf(self, path: str = "/objections") -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', self.page(path)).group(1)
