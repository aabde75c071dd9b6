"""Account management for 管理员: list, open, disable and enable accounts within the admin's regions."""

from __future__ import annotations

import re

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
        try:
            accounts.add_user(workdir, username.strip(), password, role, codes, display_name.strip())
        except HeduiError as exc:
            raise HTTPException(400, str(exc)) from None
        audit.append(actor=user.username, action="account", subject=f"开设账号 {username}",
                     details={"role": role, "regions": codes})
        return RedirectResponse("/users", status_code=303)

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
