"""Sessions, CSRF tokens, Host/Origin checks and response headers of the staff workspace."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import PlainTextResponse

COOKIE = "hedui_session"
HOST_COOKIE = "__Host-hedui_session"  # served over HTTPS (--https)
IDLE_SECONDS = 30 * 60          # a session ends after 30 minutes without a request
ABSOLUTE_SECONDS = 10 * 3600    # and 10 hours after sign-in in any case


def load_secret(workdir: Path) -> bytes:
    """The workspace's signing secret (WORKDIR/web_secret, 0600), made on first use."""
    path = Path(workdir) / "web_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32), encoding="ascii")
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text(encoding="ascii").strip().encode("ascii")


@dataclass
class Settings:
    workdir: Path
    allowed_hosts: set[str]            # host[:port] values accepted in the Host header
    secure_cookie: bool = False        # set behind TLS
    idle_seconds: int = IDLE_SECONDS
    absolute_seconds: int = ABSOLUTE_SECONDS
    secret: bytes = field(default=b"", repr=False)
    clock: Callable[[], float] = time.time  # the sessions' clock (a test sets its own)

    def origins(self) -> set[str]:
        return {f"{scheme}://{h}" for h in self.allowed_hosts for scheme in ("http", "https")}


class Sessions:
    def __init__(self, settings: Settings):
        self.settings = settings
        clock = settings.clock

        class _Signer(TimestampSigner):  # signed and checked for idleness on the settings' clock
            def get_timestamp(self) -> int:
                return int(clock())

        self.signer = URLSafeTimedSerializer(settings.secret, salt="hedui-staff-session", signer=_Signer)
        # behind TLS the cookie is `__Host-` prefixed: a browser takes it only from this host, over HTTPS, for path
        # /, so a sibling host of the domain (another county's site, any *.gov.cn) cannot toss in a session of its
        # own (its user's, signed in here) under the plain name for staff to work in unknowingly
        self.cookie = HOST_COOKIE if settings.secure_cookie else COOKIE

    def new(self, username: str, changed_at: str = "") -> dict:
        now = int(self.settings.clock())
        return {"u": username, "sid": secrets.token_urlsafe(16), "csrf": secrets.token_urlsafe(32), "iat": now,
                "pw": changed_at}

    def dump(self, data: dict) -> str:
        return self.signer.dumps(data)

    def load(self, cookie: str | None) -> dict | None:
        if not cookie:
            return None
        try:
            data = self.signer.loads(cookie, max_age=self.settings.idle_seconds)
        except (SignatureExpired, BadSignature):
            return None
        if (not isinstance(data, dict) or not isinstance(data.get("sid"), str)
                or self.settings.clock() - data.get("iat", 0) > self.settings.absolute_seconds):
            return None
        return data

    def end(self, data: dict) -> None:
        """Sign-out: the session's cookie is refused from now on, wherever a copy of it is kept."""
        from hedui.web.accounts import end_session

        end_session(self.settings.workdir, data["sid"], data.get("iat", 0) + self.settings.absolute_seconds)

    def set_cookie(self, response, data: dict, request: Request | None = None) -> None:
        response.set_cookie(self.cookie, self.dump(data), max_age=self.settings.idle_seconds, httponly=True,
                            samesite="strict", secure=secure(self.settings, request), path="/")

    def touch(self, response, data: dict, request: Request) -> None:
        """The session's idle time starts again: a person made this request. A browser's prefetch (no one opened
        the page yet) and a HEAD request (a monitor's `curl -I`, a link checker: no page is shown, as ReadsAudited
        writes no read for it) leave it as it was: a script HEAD-ing a page every few minutes with a copy of the
        cookie kept the session of a clerk who had left her desk open for its 10 hours."""
        if not prefetch(request.headers) and not HEAD_REQUEST.get() and request.method != "HEAD":
            self.set_cookie(response, data, request)

    def clear(self, response, request: Request | None = None) -> None:
        response.delete_cookie(self.cookie, path="/", httponly=True, samesite="strict",
                               secure=secure(self.settings, request))


def prefetch(headers) -> bool:
    """True for a request the browser made ahead of a person (a link prefetched or prerendered)."""
    purpose = (headers.get("sec-purpose") or headers.get("purpose") or headers.get("x-moz") or "").lower()
    return "prefetch" in purpose or "prerender" in purpose


class SlidingSession:
    """Every answer to a signed-in request carries the session's cookie signed anew, so the 30 idle minutes start
    again: a file download (a report's PDF, an export), a redirect after a form (a decision, an objection) and
    a Data Docs page counted as no activity, and staff working through downloads were signed out mid-work. Only
    pages rendered from templates renewed it. An answer that sets or clears the cookie itself (sign-in, sign-out,
    a password change) is left as it is. (The workspace has no background polling: its pages run no scripts and
    do not refresh themselves, so every request is one a person made; a browser's prefetch is not.)"""

    def __init__(self, app, sessions: Sessions):
        self.app, self.sessions = app, sessions

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.datastructures import MutableHeaders
        from starlette.responses import Response

        async def with_cookie(message):
            if message["type"] == "http.response.start":
                session = (scope.get("state") or {}).get("session")
                headers = MutableHeaders(scope=message)
                sets = any(v.startswith(self.sessions.cookie + "=") for v in headers.getlist("set-cookie"))
                if session and not sets:
                    request = Request(scope)
                    carrier = Response()
                    self.sessions.touch(carrier, session, request)
                    for value in carrier.headers.getlist("set-cookie"):
                        headers.append("set-cookie", value)
            await send(message)

        await self.app(scope, receive, with_cookie)


def secure(settings: Settings, request: Request | None) -> bool:
    """True when cookies must be Secure: served with --https, or the request came over HTTPS — directly, or through
    a reverse proxy named by --trusted-proxy that says so (X-Forwarded-Proto). Behind a TLS proxy started without
    --https the session cookie had no Secure flag: one plain-HTTP request to the site's name (a typed address, an
    old bookmark, a hostile network's injected image) sent it in clear text."""
    return settings.secure_cookie or (request is not None and request.url.scheme == "https")


FORM_ENCODING_ZH = ("提交的表单编码无效（应为网页表单的 UTF-8 编码），本次提交未保存：请从工作台页面上的表单提交，"
                    "不要用其他工具或改动编码后提交。")


def form_encoding_ok(content_type: str, body: bytes) -> bool:
    """True when a state-changing body is what the workspace's forms send: URL-encoded UTF-8.

    The form parser decodes what it cannot read as Latin-1 or U+FFFD without a word, so a GBK, raw-byte or
    invalid-UTF-8 body (a script, a tool set to another charset) saved an objection or a decision reason
    as mojibake that staff then read as the record."""
    media, _, params = content_type.partition(";")
    charset = re.search(r'charset\s*=\s*"?([^";\s]+)', params, re.I)
    if media.strip().lower() != "application/x-www-form-urlencoded" or (
            charset and charset.group(1).lower() not in ("utf-8", "utf8")):
        return False
    try:
        unquote_to_bytes(body.decode("ascii").replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def csrf_ok(session: dict | None, token: str | None) -> bool:
    return bool(session and token) and hmac.compare_digest(str(session.get("csrf", "")), str(token))


MAX_BODY = 256 * 1024  # bytes of a POST body: the longest form (a 2000-character reason) is under 30 KB

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# Data Docs pages run their own scripts
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-ancestors 'none'; connect-src 'none'")


class HeadAsGet:
    """HEAD is answered wherever GET is (RFC 9110 9.3.2), with GET's headers and no body: a monitor's
    `curl -I` or a proxy's health check got 405, with no Allow header, from every page."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message):
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        token = HEAD_REQUEST.set(True)  # no body goes out: no one read the page (ReadsAudited)
        try:
            await self.app({**scope, "method": "GET"}, receive, headers_only)  # a copy: the server's own stays HEAD
        finally:
            HEAD_REQUEST.reset(token)


#: True while a HEAD request is answered (as its GET, without the body)
HEAD_REQUEST: ContextVar[bool] = ContextVar("hedui_head_request", default=False)
#: audit actions that record a person reading personal data: what a HEAD answer, having no body, never shows
READ_ACTIONS = frozenset({"household_view", "household_search", "export"})


class ReadsAudited:
    """The workspace's audit log: a read of personal data (a page, a search, an export) is on record when it was
    shown, so a HEAD request (a monitor's `curl -I`, a link checker) answered as its GET writes no entry — every
    HEAD of a household's page was "looked at" by its sender in the log; other entries are written as they come."""

    def __init__(self, log):
        self.log = log

    def append(self, *, action: str, **kw) -> dict:
        if action in READ_ACTIONS and HEAD_REQUEST.get():
            return {}
        return self.log.append(action=action, **kw)

    def __getattr__(self, name):
        return getattr(self.log, name)


#: bytes of a request line and its headers together (h11's buffer limit): the server kept every header of a
#: request in memory unbounded (300 MB of headers, before sign-in, grew the server by as much and it kept it)
MAX_HEAD = 16 * 1024


def http_protocol():
    """The server's HTTP/1.1 protocol (uvicorn's h11 one): the request head limited to MAX_HEAD, and a request
    it cannot parse (too long, malformed, an unknown method's syntax) answered in Chinese, with the headers."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class StaffHTTP(H11Protocol):
        def send_400_response(self, msg: str) -> None:
            import h11

            body = ("请求无法解析（请求行或请求头过长、格式不对）：请从工作台页面上的链接和按钮进入；"
                    "如使用书签，请重新打开首页。").encode()
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
                       (b"content-length", str(len(body)).encode())]
            headers += [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
            for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=body),
                          h11.EndOfMessage()):
                self.transport.write(self.conn.send(event))
            self.transport.close()

    return StaffHTTP


def host_origin_middleware(settings: Settings):
    """Refuse a Host outside the allow-list (DNS rebinding), and a POST whose Origin (or Referer)
    is not this site's (cross-site requests); add the security headers to every response."""

    async def middleware(request: Request, call_next):
        response = _refusal(request, settings)
        if response is None and request.method == "POST":  # the body is at most MAX_BODY: read, then replayed
            body = await request.body()
            if body and not form_encoding_ok(request.headers.get("content-type", ""), body):
                response = PlainTextResponse(FORM_ENCODING_ZH, status_code=400)
        response = response or await call_next(request)
        for k, v in HEADERS.items():  # the refusals too: no framing, no sniffing, no caching of any answer
            response.headers.setdefault(k, v)
        if secure(settings, request):  # served over HTTPS: the browser never falls back to plain HTTP
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    return middleware


def _refusal(request: Request, settings: Settings) -> PlainTextResponse | None:
    host = (request.headers.get("host") or "").lower()
    # two Host headers (RFC 9112 3.2: answered 400): the workspace read the first, a proxy or cache in front of it
    # may key on the last, so a request could be checked as one site and taken for another
    if host not in settings.allowed_hosts or len(request.headers.getlist("host")) != 1:
        return PlainTextResponse("请求的主机名不在本系统允许的列表中（请使用管理员公布的地址访问）", status_code=400)
    if request.method not in ("GET", "HEAD"):
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            ref = request.headers.get("referer")
            origin = f"{urlsplit(ref).scheme}://{urlsplit(ref).netloc}" if ref else None
        if not origin or origin.lower() not in settings.origins():
            return PlainTextResponse("跨站请求被拒绝：来源不是本系统的页面", status_code=403)
        # the workspace's forms are a few fields of text: a body of megabytes (a file part, which the form
        # parser would spool to disk unbounded, before sign-in is even checked) is refused unread
        length = request.headers.get("content-length", "0")
        if "transfer-encoding" in request.headers or not length.isdigit():
            return PlainTextResponse("请求缺少内容长度：请使用工作台页面上的表单提交", status_code=411)
        if int(length) > MAX_BODY:
            return PlainTextResponse(f"提交的内容过大（不超过 {MAX_BODY // 1024} KB）：请精简后重试，附件请另行归档",
                                     status_code=413)
    return None
