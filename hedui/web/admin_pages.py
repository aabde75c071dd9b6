"""Account management for 管理员: list, open, disable and enable accounts within the admin's regions, reset another
account's password (a temporary one, changed at the next sign-in); and every user's own password (修改密码), which
ends the user's sessions elsewhere."""

from __future__ import annotations

import re
import time

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hedui.errors import HeduiError
from hedui.web import accounts
from hedui.web.accounts import User
from hedui.web.scope import allows


def _within(admin: User, regions) -> bool:
    return all(allows(admin, r) for r in regions)


def register(app: FastAPI) -> None:
    render, workdir, audit = app.state.render, app.state.workdir, app.state.audit
    user_dep = Depends(app.state.current_user)
    post_dep = Depends(app.state.csrf_guard)

    def _admin(user: User) -> None:
        if not user.can("manage_users"):
            raise HTTPException(403, "只有管理员可以管理账号")

    @app.get("/users", response_class=HTMLResponse)
    def users_page(request: Request, user: User = user_dep):
        _admin(user)
        users = [u for u in accounts.list_users(workdir) if _within(user, u.regions)]
        return render(request, "users.html", users=users, message=request.query_params.get("msg", ""))

    @app.post("/users")
    def add(request: Request, username: str = Form(""), display_name: str = Form(""), role: str = Form(""),
            regions: str = Form(""), password: str = Form(""), user: User = post_dep):
        _admin(user)
        codes = [r for r in re.split(r"[\s,，、]+", regions) if r]
        if not _within(user, codes):
            raise HTTPException(403, "只能为您辖区内的区划开设账号")
        taken = accounts.user_named(workdir, username.strip()) if accounts.valid_username(username.strip()) else None
        if taken and not _within(user, taken.regions):
            # user names are one namespace: "用户 X 已存在" told an admin of one county which names another
            # county's staff sign in with. The refusal says no more than "taken", and the probe is on record
            audit.append(actor=user.username, action="account", subject=f"开设账号被拒：用户名 {username.strip()} 不可用")
            raise HTTPException(400, f"用户名“{username.strip()}”不可用：请换一个用户名（如加上本县区代码或姓名拼音）")
        if taken:  # within the admin's regions: a double click on 开设 (or a resent form), or a name in use
            # the account this very form opened: its password still the one an admin set (never one its user chose:
            # the form is no way to try a colleague's own password), the same name, role and regions
            if (taken.must_change and taken.username == username.strip() and taken.role == role
                    and list(taken.regions) == codes and accounts.authenticate(workdir, taken.username, password)):
                return RedirectResponse("/users", status_code=303)
            case = "" if taken.username == username.strip() else "（用户名不区分大小写）"
            raise HTTPException(400, f"用户 {taken.username} 已存在{case}，未开设新账号（见“账号管理”页的账号列表）："
                                     "请换一个用户名；如是要为该账号设置新密码，请在账号列表中点该账号的“重设密码”。")
        try:
            # the password is the admin's, handed over: its user sets her own at the first sign-in (as after a reset)
            accounts.add_user(workdir, username.strip(), password, role, codes, display_name.strip(), must_change=True)
        except HeduiError as exc:
            raise HTTPException(400, str(exc)) from None
        audit.append(actor=user.username, action="account", subject=f"开设账号 {username}",
                     details={"role": role, "regions": codes, "via": "web", "must_change": True})
        return RedirectResponse("/users", status_code=303)

    @app.post("/users/{username}/reset-password", response_class=HTMLResponse)
    def reset_password(request: Request, username: str, user: User = post_dep):
        """An admin resets another account's password (a clerk who forgot hers): a random temporary password,
        shown on this answer once and kept nowhere in clear (not in the audit log, not in an address), which the
        user must replace at her next sign-in before any other page opens; every session of the account ends, and
        the limits her wrong guesses set are cleared (the admin vouches for her). The admin's own password is
        changed on 修改密码, with the current one."""
        _admin(user)
        target = accounts.get_user(workdir, username)
        if not target or not _within(user, target.regions):
            raise HTTPException(404, "未找到该账号")
        if target.username == user.username:
            raise HTTPException(400, "不能在这里重设自己的密码：请用页面上方的“修改密码”（须输入当前密码）。")
        temporary = accounts.temporary_password(target.username)
        accounts.set_password(workdir, target.username, temporary, must_change=True)  # its sessions end here
        cleared = accounts.unlock(workdir, target.username)
        audit.append(actor=user.username, action="account", subject=f"重设账号 {target.username} 的密码（临时密码）",
                     details={"via": "web", "must_change": True, "sessions_ended": True,
                              "failures_cleared": cleared})
        return render(request, "reset_password.html", target=target, temporary=temporary,
                      days=accounts.TEMPORARY_DAYS)

    @app.post("/users/{username}/{action}")
    def toggle(request: Request, username: str, action: str, user: User = post_dep):
        _admin(user)
        target = accounts.get_user(workdir, username)
        if not target or not _within(user, target.regions) or action not in ("disable", "enable", "unlock"):
            raise HTTPException(404, "未找到该账号")
        if action == "unlock":  # a clerk kept out by wrong passwords typed for her name (hedui.web.devices)
            cleared = accounts.unlock(workdir, target.username)
            audit.append(actor=user.username, action="account", subject=f"解除账号 {target.username} 的登录限制",
                         details={"failures_cleared": cleared})
            return RedirectResponse("/users", status_code=303)
        if target.username == user.username:
            raise HTTPException(400, "不能停用自己的账号")
        accounts.set_disabled(workdir, username, action == "disable")
        audit.append(actor=user.username, action="account", subject=f"{'停用' if action == 'disable' else '启用'}账号 {username}")
        return RedirectResponse("/users", status_code=303)

    sessions = app.state.sessions

    @app.get("/password", response_class=HTMLResponse)
    def password_page(request: Request, user: User = user_dep):
        return render(request, "password.html", done=request.query_params.get("done") == "1",
                      must=user.must_change)

    @app.post("/password")
    def change_password(request: Request, current: str = Form(""), new: str = Form(""), again: str = Form(""),
                        user: User = post_dep):
        """The user's own password changed: every other session of the account ends (a browser left signed in
        at a shared desk, a stolen cookie), this browser goes on in a new session. A wrong current password
        counts against the sign-in limits: a session left open must not become unlimited password guesses."""
        client = request.client.host if request.client else "?"
        keys = accounts.failure_keys(user.username, client)
        attempt = accounts.reserve_attempt(workdir, keys, time.time())
        if attempt is None:
            raise HTTPException(429, "密码输错次数过多，请 15 分钟后再试，或请本辖区的管理员解除登录限制。")
        if accounts.authenticate(workdir, user.username, current) is None:
            audit.append(actor=user.username, action="account", subject=f"修改密码失败：用户 {user.username} 当前密码不正确")
            raise HTTPException(400, "当前密码不正确，密码未修改：请重新输入当前密码（连续输错 5 次将暂停 15 分钟）。")
        accounts.forget_attempt(workdir, attempt)
        if new != again:
            raise HTTPException(400, "两次输入的新密码不一致，密码未修改：请重新输入。")
        if new == current:
            raise HTTPException(400, "新密码与当前密码相同，密码未修改：请换一个新密码。")
        try:
            accounts.set_password(workdir, user.username, new)
        except HeduiError as exc:
            raise HTTPException(400, f"{exc}，密码未修改。") from None
        sessions.end(request.state.session)
        fresh = accounts.get_user(workdir, user.username)
        response = RedirectResponse("/password?done=1", status_code=303)
        sessions.set_cookie(response, sessions.new(user.username, fresh.changed_at if fresh else ""), request)
        audit.append(actor=user.username, action="account", subject=f"用户 {user.username} 修改本人密码",
                     details={"via": "web", "client": client})
        return response
