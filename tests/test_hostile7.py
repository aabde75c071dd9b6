"""Hostile ways in, round 7: what the six rounds before left open — names and identifiers that pass a check
anchored with ``$`` (which also matches before a trailing newline), and more. Tests run the real CLI entry point,
the real SQLite account file, the real sources-configuration parser and the real application (TestClient)."""

from __future__ import annotations

import io

import pytest
from test_hostile4 import _cli

REGION = "360702"


def _pw(name: str) -> str:
    return f"pw-{name}-0123456"


def _add(capsys, monkeypatch, work, username: str, password_line: str | None = None, *extra: str):
    monkeypatch.setattr("sys.stdin", io.StringIO(password_line if password_line is not None else _pw("hz") + "\n"))
    return _cli(capsys, "users", "add", username, "--workdir", str(work), "--role", "clerk", "--region", REGION,
                "--password-stdin", *extra)


@pytest.mark.parametrize("username", ["hz_clerk\n", "hz_clerk\n\n"])
def test_HZ01_a_user_name_ending_in_a_line_break_is_refused_not_made_an_account_nobody_can_sign_in_to(
        tmp_path, capsys, monkeypatch, username):
    """HZ01: `hedui users add "$NAME"` with a name read from a file kept its line break: the check (`^…$`) let
    "hz_clerk\\n" through, the account was made, `users list` printed a broken line, and the clerk could never
    sign in (the sign-in form's name is stripped) — while "hz_clerk" could still be added beside it."""
    from hedui.web import accounts

    rc, out, err = _add(capsys, monkeypatch, tmp_path, username)
    assert rc != 0 and "用户名" in err and "无效" in err, (rc, out, err)
    assert accounts.list_users(tmp_path) == []
    assert not accounts.valid_username(username)
    assert _add(capsys, monkeypatch, tmp_path, "hz_clerk")[0] == 0  # the name as meant is fine


def test_HZ02_a_sources_configuration_whose_table_or_connection_ends_in_a_line_break_is_refused(tmp_path):
    """HZ02: a `table: |` block (or a quoted "…\\n") put a line break after the table name or connection id; the
    check (`^…$`) let it through, and the night's run looked for a table or connection that does not exist, its
    name in manifests and citations (`<table>@<conn_id>`) spread over two lines."""
    from hedui.errors import ConfigError
    from hedui.ops.sources_config import parse

    good = "sources:\n  housing_fund:\n    kind: sql_table\n    conn_id: gjj_exchange\n    table: gjj_jiaofu\n"
    assert parse(good, "sources.yaml").delivery("housing_fund").table == "gjj_jiaofu"
    for text, field in ((good.replace("table: gjj_jiaofu", 'table: "gjj_jiaofu\\n"'), "table"),
                        (good.replace("table: gjj_jiaofu\n", "table: |\n      gjj_jiaofu\n"), "table"),
                        (good.replace("conn_id: gjj_exchange", 'conn_id: "gjj_exchange\\n"'), "conn_id")):
        with pytest.raises(ConfigError) as caught:
            parse(text, "sources.yaml")
        assert f"housing_fund.{field}" in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


@pytest.mark.parametrize("stray", ["２０２６１２０１", "20261399", "20261201\n"])
def test_HZ03_a_stray_inbox_folder_that_only_looks_like_a_date_does_not_defeat_purges_check_of_today(
        tmp_path, capsys, stray):
    """HZ03: `hedui purge --today 20361128` (a year's typo) is refused when it would delete every run, the latest
    included — unless a department's folder named "２０２６１２０１" (full-width digits, typed with a Chinese input
    method) stood in the inbox: `\\d` took it for a date, it sorted after every real one, the check saw a "latest"
    date ahead of the cut-off, and the purge deleted every delivery and every run's raw values."""
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    delivery = inbox / "bank" / "20261128"
    delivery.mkdir(parents=True)
    (delivery / "bank.csv").write_text("x\n", encoding="utf-8")
    (inbox / "bank" / stray).mkdir()
    for kind in ("raw", "staged"):
        (work / "runs" / "20261128" / kind).mkdir(parents=True)
    AuditLog(default_log_path(work)).append(actor="hz", action="run", subject="批次 20261128")
    rc, out, err = _cli(capsys, "purge", "--workdir", str(work), "--inbox", str(inbox), "--today", "20361128")
    assert rc == 2 and "--today 20361128" in err and "20261128" in err and "未删除任何文件" in err, (rc, out, err)
    assert (delivery / "bank.csv").is_file() and (work / "runs" / "20261128" / "staged").is_dir()
    assert (inbox / "bank" / stray).is_dir()  # not ours to delete either


def test_HZ04_a_purge_that_cannot_write_its_audit_record_deletes_nothing(tmp_path, capsys, monkeypatch):
    """HZ04: `hedui purge` from a cron job or a shell without the keys deleted every old delivery and every old
    run's raw values, then failed writing its audit entry (the log's keyed anchor needs the keys): personal data
    deleted with no record of it, and an error that named only the missing key."""
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    old = inbox / "bank" / "20261128"
    old.mkdir(parents=True)
    (old / "bank.csv").write_text("x\n", encoding="utf-8")
    (work / "runs" / "20261128" / "raw").mkdir(parents=True)
    (work / "runs" / "20270301").mkdir(parents=True)
    AuditLog(default_log_path(work)).append(actor="hz", action="run", subject="批次 20270301")
    for name in ("HEDUI_PSEUDONYM_KEY", "HEDUI_DATA_KEY", "HEDUI_KEYS_CONN_ID"):
        monkeypatch.delenv(name, raising=False)
    rc, out, err = _cli(capsys, "purge", "--workdir", str(work), "--inbox", str(inbox), "--today", "20270301")
    assert rc != 0 and "HEDUI_PSEUDONYM_KEY" in err and out == "", (rc, out, err)
    assert (old / "bank.csv").is_file() and (work / "runs" / "20261128" / "raw").is_dir()


def test_HZ05_a_password_piped_from_a_windows_text_file_signs_in(tmp_path, capsys, monkeypatch):
    """HZ05: `hedui users add … --password-stdin < pw.txt` with pw.txt saved in Notepad (CRLF) stored the password
    with its carriage return: the account was made, said so, and nobody could ever sign in to it."""
    from hedui.web import accounts

    assert _add(capsys, monkeypatch, tmp_path, "hz_win", _pw("hz_win") + "\r\n")[0] == 0
    assert accounts.authenticate(tmp_path, "hz_win", _pw("hz_win")) is not None
    monkeypatch.setattr("sys.stdin", io.StringIO(_pw("hz_new") + "\r\n"))
    assert _cli(capsys, "users", "passwd", "hz_win", "--workdir", str(tmp_path), "--password-stdin")[0] == 0
    assert accounts.authenticate(tmp_path, "hz_win", _pw("hz_new")) is not None


@pytest.mark.parametrize("value", ["10m", "nan", "-5", "六十"])
def test_HZ06_a_database_wait_setting_that_is_no_number_of_seconds_is_a_chinese_setup_error(
        tmp_path, capsys, monkeypatch, value):
    """HZ06: `HEDUI_READ_WAIT_S=10m` (or an empty `HEDUI_WRITE_WAIT_S=` in an env file) failed every command and
    the nightly run with "内部错误 ValueError：could not convert string to float", every workspace page with a
    500 — and "nan" made a writer wait for ever. Now blank means the default, anything else not a number of
    seconds is refused naming the variable; `hedui serve` says so before it starts."""
    import duckdb

    from hedui import db
    from hedui.errors import ConfigError

    path = tmp_path / "hedui.duckdb"
    duckdb.connect(str(path)).close()
    for name in ("HEDUI_READ_WAIT_S", "HEDUI_WRITE_WAIT_S"):
        monkeypatch.setenv(name, " ")  # blank: the default, as unset
    db.connect_read(path).close()
    db.connect(path).close()
    for name, connect in (("HEDUI_READ_WAIT_S", db.connect_read), ("HEDUI_WRITE_WAIT_S", db.connect)):
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError, match=f"环境变量 {name} 的值“{value}”无效"):
            connect(path)
        monkeypatch.setenv(name, "")
    from hedui.web import accounts

    accounts.add_user(tmp_path, "hz_adm", _pw("hz_adm"), "admin", ["360000"])
    monkeypatch.setenv("HEDUI_READ_WAIT_S", value)
    # an address that is no address: before, the refusal named it (or the server started and waited for ever)
    rc, out, err = _cli(capsys, "serve", "--workdir", str(tmp_path), "--host", "999.0.0.1", "--port", "8080")
    assert rc == 2 and out == "" and "HEDUI_READ_WAIT_S" in err and "ValueError" not in err, (rc, out, err)


@pytest.mark.parametrize("bad", ["20261128\n", "２０２６１１２８", "2026112８"])
def test_HZ07_the_workspace_takes_a_run_date_or_request_id_whole_not_with_a_line_break_or_full_width_digits(bad):
    """HZ07: the web's date and request-id checks were `^…$` with `\\d`: `20261128\\n` and full-width digits passed
    (each then only found nothing, but the checks are the workspace's gate for what becomes a path or a query).
    Matched whole, ASCII digits; the refusal shows the value with its line break made visible."""
    from fastapi import HTTPException

    from hedui.web.pages import check_date, check_request

    assert check_date("20261128") == "20261128" and check_request("R-0001_a") == "R-0001_a"
    with pytest.raises(HTTPException) as refused:
        check_date(bad)
    assert refused.value.status_code == 400 and "\n" not in refused.value.detail
    for request_id in ("R0001\n", "R０００１", "R0001.0123456789ab\n"):
        with pytest.raises(HTTPException):
            check_request(request_id)
