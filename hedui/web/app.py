"""The staff workspace application: `create_app(workdir, allowed_hosts)`; `hedui serve` runs it.

Server-rendered Jinja2 pages (autoescaped, one base layout, Chinese), every page behind sign-in,
every state-changing request a POST carrying the session's CSRF token, household data read only
through `hedui.web.scope.scoped`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from hedui.audit.log import AuditLog, mask_free_text
from hedui.logs import MaskedFormatter
from hedui.paths import report_file_stem
from hedui.regions import region_label
from hedui.steps.report.display import chinese_date
from hedui.web import accounts
from hedui.web.accounts import User
from hedui.web.bidi import show_bidi
from hedui.web.devices import Devices
from hedui.web.security import (
    HEADERS,
    MAX_HEAD,
    HeadAsGet,
    ReadsAudited,
    Sessions,
    Settings,
    SlidingSession,
    csrf_ok,
    host_origin_middleware,
    load_secret,
    secure,
)

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"


def _env() -> Environment:
    from hedui.steps.report.display import FINDING_ZH, OUTCOME_ZH

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      finalize=show_bidi)
    env.filters["cdate"] = chinese_date
    env.filters["region"] = region_label
    env.filters["hid"] = report_file_stem  # a request id in a link (hedui.web.pages.resolve_request)
    env.globals.update(outcome_zh=OUTCOME_ZH, finding_zh=FINDING_ZH, roles=accounts.ROLES)
    return env


class Forbidden(Exception):
    """The signed-in user may not see or do this (403)."""


def create_app(workdir: Path | str, allowed_hosts: set[str], *, secure_cookie: bool = False,
               trusted_proxies: list[str] | None = None, clock=None) -> FastAPI:
    workdir = Path(workdir).resolve()
    settings = Settings(workdir=workdir, allowed_hosts={h.lower() for h in allowed_hosts},
                        secure_cookie=secure_cookie, secret=load_secret(workdir), clock=clock or time.time)
    sessions = Sessions(settings)
    devices = Devices(settings.secret, secure_cookie)
    env = _env()
    from hedui.audit.auditor import default_log_path

    audit = ReadsAudited(AuditLog(default_log_path(workdir)))  # a HEAD request reads nothing: not on record
    app = FastAPI(title="hedui 核对工作台", docs_url=None, redoc_url=None, openapi_url=None)
    app.middleware("http")(host_origin_middleware(settings))
    app.add_middleware(SlidingSession, sessions=sessions)  # any signed-in request restarts the idle time
    app.add_middleware(HeadAsGet)
    app.state.workdir = workdir
    app.router.redirect_slashes = False  # its redirect was absolute, built from the request: see _without_trailing_slash
    app.state.audit = audit
    app.state.env = env

    def render(request: Request, name: str, status_code: int = 200, **ctx) -> HTMLResponse:
        session = getattr(request.state, "session", None)
        html = env.get_template(name).render(user=getattr(request.state, "user", None),
                                             csrf=session["csrf"] if session else "", path=request.url.path, **ctx)
        response = HTMLResponse(html, status_code=status_code)
        if session:  # sliding idle expiry (and SlidingSession for every other answer)
            sessions.touch(response, session, request)
        return response

    app.state.render = render

    def current_user(request: Request) -> User:
        session = sessions.load(request.cookies.get(sessions.cookie))
        user = accounts.get_user(workdir, session["u"]) if session else None
        if (not user or user.disabled or session.get("pw") != user.changed_at
                or accounts.session_ended(workdir, session["sid"])):
            raise _SignIn()
        request.state.session = session
        request.state.user = user
        if user.must_change and request.url.path not in _WHILE_TEMPORARY:
            raise _MustChange()  # a temporary password an admin set: replaced before any other page opens
        return user

    async def csrf_guard(request: Request, user: User = Depends(current_user)) -> User:
        form = await request.form()
        if not csrf_ok(request.state.session, form.get("csrf_token")):
            raise HTTPException(403, "缺少或错误的表单令牌（CSRF）：请刷新页面后重试")
        return user

    app.state.current_user = current_user
    app.state.csrf_guard = csrf_guard
    app.state.sessions = sessions

    class _SignIn(Exception):
        pass

    class _MustChange(Exception):
        pass

    @app.exception_handler(_MustChange)
    async def _to_password(request: Request, exc):
        if request.method in ("GET", "HEAD"):
            return RedirectResponse("/password", status_code=303)
        return render(request, "error.html", 403, title="请先修改密码",
                      message="您的密码是管理员设置的临时密码（开设账号或重设密码时）：请先在“修改密码”页设置您自己的新密码，本次提交未保存。")

    @app.exception_handler(_SignIn)
    async def _to_login(request: Request, exc):
        if request.method == "GET":
            return RedirectResponse("/login?next=" + quote(_safe_next(_asked_for(request)), safe="/"), status_code=303)
        # a form sent after the session ended (30 idle minutes, signed out elsewhere): say so, and that it was not saved
        return render(request, "error.html", 401, title="请先登录",
                      message="登录已过期或已退出，本次提交未保存。请重新登录后回到该页面再提交"
                              "（如填写了较长的理由，请先复制保存）。")

    from hedui.db import DatabaseBusyError
    from hedui.errors import LockedError

    @app.exception_handler(DatabaseBusyError)
    @app.exception_handler(LockedError)
    async def _busy(request: Request, exc):
        from hedui.workdir import holder_of

        holder = getattr(exc, "holder", None) or holder_of(workdir) or {}
        if holder.get("command") == "review decision":  # the web's other tab, or `hedui review` at the server
            response = render(request, "error.html", 503, title="另一项复核决定正在保存",
                              message="另一项复核决定（网页或命令行 hedui review）正在保存并重新核对该户，数据库暂时不能写入"
                                      f"{'：本次提交未保存' if request.method == 'POST' else ''}。请稍候（约 1 分钟）重新打开"
                                      "该匹配对，看过“以往决定”中的最新决定后再提交。")
        else:
            response = render(request, "error.html", 503, title="核对批次正在写入数据库",
                              message="核对批次正在运行，数据库暂时不能读写。请稍候再试（本页 30 秒后可刷新）；"
                                      "已提交的决定如未显示成功，请重新提交。")
        response.headers["Retry-After"] = "30"
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc):
        return render(request, "error.html", 403, title="无权访问",
                      message=mask_free_text(str(exc)) or "该内容不在您的权限或辖区范围内。")

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        # Starlette's own answer is an English "Internal Server Error"; the server still logs the error
        response = render(request, "error.html", 500, title="出错了",
                          message="系统内部错误，本次操作未完成。请稍后重试；如反复出现，请把出错时间告知管理员。")
        response.headers.update(HEADERS)  # this answer bypasses the middleware that adds them
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc):
        titles = {403: "无权访问", 404: "未找到", 400: "请求有误", 405: "方法不允许", 409: "未保存：已有人先处理"}
        message = str(exc.detail)
        if message.isascii():  # Starlette's own words (a form field over 1 MB, too many fields, Not Found ...)
            message = _STARLETTE_ZH.get(exc.status_code, "请求无法处理：请从工作台页面上的链接和按钮进入。")
        if exc.status_code == 404 and (slashless := _without_trailing_slash(app, request)):
            return RedirectResponse(slashless, status_code=307)
        response = render(request, "error.html", exc.status_code, title=titles.get(exc.status_code, "出错了"),
                          message=mask_free_text(message))  # a page asked for by an ID number does not echo it
        if exc.status_code == 405:  # the Allow header a 405 must carry (RFC 9110): every route's of this path
            response.headers["Allow"] = _allowed_methods(app, request) or (exc.headers or {}).get("Allow", "GET")
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        # FastAPI's own answer is English JSON that echoes the input: staff get a Chinese page instead
        names = sorted({str(e.get("loc", ("", "?"))[-1]) for e in exc.errors()})
        return render(request, "error.html", 400, title="请求有误",
                      message=f"请求中的参数 {'、'.join(names)} 无效（例如应为数字的地方不是数字）："
                              "请从工作台页面上的链接和按钮进入，不要手工修改地址。")

    def _signed_in(request: Request) -> User | None:
        try:
            return current_user(request)
        except _SignIn:
            return None

    def _to_sign_in(request: Request) -> RedirectResponse:
        response = RedirectResponse("/login", status_code=303)
        sessions.clear(response, request)
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/"):
        # signed in already (a second person at the desk, a bookmark): the page says whose session a sign-in ends
        return render(request, "login.html", next=_safe_next(next), current=_signed_in(request))

    @app.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")):
        now = time.time()
        client = request.client.host if request.client else "?"
        username = username.strip()[:64]  # stored per failed attempt: no megabyte keys
        keys = accounts.failure_keys(username, client)
        device = devices.read(request.cookies.get(devices.cookie))
        own = devices.key_for(device, username)  # a browser she signed in from: counted apart (hedui.web.devices)
        attempt = accounts.reserve_attempt(workdir, [own] if own else keys, now)  # counted before it is tried
        if attempt is None:
            return render(request, "login.html", 429, next=_safe_next(next),
                          error="登录失败次数过多，请 15 分钟后再试（当天失败过多时须到次日），或请本辖区的管理员解除登录限制。")
        user = accounts.authenticate(workdir, username, password)
        if user and accounts.temporary_expired(user):  # counted as a failed attempt: it opens nothing
            audit.append(actor="（未登录）", action="sign_in_failed", subject=f"登录失败：用户 {user.username} 的临时密码已过期",
                         details={"client": client})
            return render(request, "login.html", 401, next=_safe_next(next),
                          error=f"临时密码已过期（管理员开设账号或重设密码后 {accounts.TEMPORARY_DAYS} 天内有效）："
                                "请联系本辖区的管理员重新重设密码。")
        if not user:
            _failed_sign_in(username, client)  # at most the limits' worth: a refused guess is not written
            return render(request, "login.html", 401, next=_safe_next(next), error="用户名或密码错误，或账号已停用。")
        accounts.forget_attempt(workdir, attempt)
        accounts.record_success(workdir, keys, now, own)
        # the browser's session before this sign-in (another user's, or her own from earlier) ends here, server-side:
        # a copy of its cookie (another tab's, a proxy log's, one planted before the sign-in) is refused from now on,
        # and its forms' CSRF token with it
        before = sessions.load(request.cookies.get(sessions.cookie))
        if before:
            sessions.end(before)
            again = "重新登录" if before.get("u") == user.username else f"登录了账号 {user.username}"
            audit.append(actor=str(before.get("u", "")), action="sign_out",
                         subject=f"用户 {before.get('u', '')} 退出（同一浏览器{again}）")
        session = sessions.new(user.username, user.changed_at)
        response = RedirectResponse(_safe_next(next), status_code=303)
        sessions.set_cookie(response, session, request)
        devices.remember(response, device, user.username, secure(settings, request))
        audit.append(actor=user.username, action="sign_in", subject=f"用户 {user.username} 登录",
                     details={"client": client})
        return response

    def _failed_sign_in(username: str, client: str) -> None:
        # who was tried, from where: a name that is no account is not written (it may be a password typed
        # into the wrong box)
        known = accounts.user_named(workdir, username) is not None if accounts.valid_username(username) else False
        audit.append(actor="（未登录）", action="sign_in_failed",
                     subject=f"登录失败：用户 {username if known else '（不存在的用户名）'}",
                     details={"client": client})

    @app.get("/logout", response_class=HTMLResponse)
    def logout_page(request: Request):
        # an address typed or bookmarked: a page asking to confirm (its form a POST with the token), never a sign-out
        # by GET (any site's <img src=".../logout"> would sign staff out); without a session, the sign-in page
        if _signed_in(request) is None:
            return _to_sign_in(request)
        return render(request, "logout.html")

    @app.post("/logout")
    async def logout(request: Request):
        user = _signed_in(request)
        if user is None:  # signed out already (another tab, 30 idle minutes): nothing to end, no error
            return _to_sign_in(request)
        form = await request.form()
        if not csrf_ok(request.state.session, form.get("csrf_token")):  # a tab of an earlier session: ask again
            return render(request, "logout.html", 403, stale=True)
        response = _to_sign_in(request)
        sessions.end(request.state.session)
        audit.append(actor=user.username, action="sign_out", subject=f"用户 {user.username} 退出")
        return response

    from hedui.web import admin_pages, pages, quarantine_pages, review_pages

    pages.register(app)
    review_pages.register(app)
    quarantine_pages.register(app)
    admin_pages.register(app)
    if trusted_proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # behind a reverse proxy every request comes from the proxy's address, so one guesser would lock
        # everyone out: the client is the one the listed proxies name in X-Forwarded-For (added last, so it
        # runs first); from any other peer the header is ignored
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))
    return app


_STARLETTE_ZH = {
    400: "提交的内容过长或过多（单项不超过 1 MB）：请精简后重试，附件请另行归档。",
    404: "未找到该页面：请从工作台首页进入。",
    405: "不支持该访问方式：请使用页面上的按钮提交。",
}


def _allowed_methods(app: FastAPI, request: Request) -> str:
    """The methods of every route matching the request's path: Starlette named only the first route's, so a
    405 on /login said "GET" although its sign-in form is a POST to it."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods - {"HEAD"}))


def _without_trailing_slash(app: FastAPI, request: Request) -> str | None:
    """A page's address typed or linked with a trailing slash (`/users/`): the address without it, relative, for a
    redirect; None when that is no page either. Starlette's own redirect was absolute, built from the request as the
    server saw it: behind a TLS proxy (without --trusted-proxy) `https://…/users/` went to `http://…/users`, plain
    HTTP, a port the proxy may not even serve."""
    from starlette.routing import Match

    path = request.url.path
    if request.method not in ("GET", "HEAD") or len(path) < 2 or not path.endswith("/"):
        return None
    bare = path.rstrip("/")
    if _safe_next(bare) != bare:  # "//evil.com/": never a redirect elsewhere
        return None
    def page(p: str) -> bool:
        return any(route.matches({**request.scope, "path": p})[0] == Match.FULL for route in app.router.routes)

    if page(path) or not page(bare):  # a page's own "未找到" (a Data Docs file that is not there) stays one
        return None
    query = request.url.query
    return quote(bare, safe="/") + (f"?{query}" if query else "")


#: the pages a user signed in with a temporary password (an admin's reset) can open before changing it
_WHILE_TEMPORARY = {"/password", "/logout", "/login"}

#: the longest address (path and query) a sign-in comes back to whole; a longer one comes back to its path
NEXT_MAX = 2000


def _asked_for(request: Request) -> str:
    """The address a request without a session asked for, to come back to after sign-in: its path and its query.
    The query was dropped: a report version's link (`…/report?v=1`) came back to the current report, read as the
    old one; the queue filtered to a run, county and status came back as the latest run's, unfiltered, and so did
    its export; the search's export (`/export/outcomes.xlsx?outcome=…&county=…`) held every household of the scope."""
    path, query = request.url.path, request.url.query
    target = f"{path}?{query}" if query else path
    return target if len(target) <= NEXT_MAX else path


def _safe_next(target: str) -> str:
    """Only a local path (no scheme, no host, no //): an open redirect would send staff elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def serve(workdir: Path, host: str, port: int, allowed_hosts: list[str] | None = None,
          secure_cookie: bool = False, trusted_proxies: list[str] | None = None) -> None:
    import uvicorn

    hosts = set(allowed_hosts or [])
    if not hosts:
        names = {host} if host not in ("0.0.0.0", "::") else set()
        names |= {"127.0.0.1", "localhost"}
        hosts = {f"{n}:{port}" for n in names}
    else:
        hosts = {h if ":" in h else f"{h}:{port}" for h in hosts}
    app = create_app(workdir, hosts, secure_cookie=secure_cookie, trusted_proxies=trusted_proxies)
    uvicorn.run(app, **server_options(host, port))


def server_options(host: str, port: int) -> dict:
    """uvicorn's settings for the workspace (`serve`): h11 with the request head bounded, Chinese refusals."""
    from hedui.web.security import http_protocol

    return dict(host=host, port=port, log_level="warning", proxy_headers=False, server_header=False,
                log_config=LOG_CONFIG, http=http_protocol(), h11_max_incomplete_event_size=MAX_HEAD)


# uvicorn's own logging config writes tracebacks unmasked; this one routes them through MaskedFormatter
LOG_CONFIG = {
    "version": 1, "disable_existing_loggers": False,
    "formatters": {"masked": {"()": MaskedFormatter, "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "masked", "stream": "ext://sys.stderr"}},
    "loggers": {name: {"handlers": ["stderr"], "level": "WARNING", "propagate": False}
                for name in ("uvicorn", "uvicorn.access")},
}
