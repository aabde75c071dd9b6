"""The notifier sends the run summary by mail (Airflow's SMTP provider) and webhook, to real local servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

from notify_servers import configure, mail_text, smtp_server, webhook_server

from hedui.ops.notify import notify

SUMMARY = {
    "run_date": "20261128", "run_id": "manual__20261128", "households": 40,
    "outcomes": {"CLEAR": 8, "FINDINGS": 2, "INCOMPLETE": 30},
    "sources_missing": ["vehicle"], "sources_failed": [],
    "sources": [{"source": "vehicle", "source_zh": "公安 车管", "status": "missing",
                 "reasons_zh": "没有找到交付目录vehicle/20261128（核对对象 360102199001011234）", "rows_quarantined": 0},
                {"source": "tax", "source_zh": "税务 个人所得税", "status": "passed", "reasons_zh": "",
                 "rows_quarantined": 2}],
    "quarantined_rows": 2, "seconds": {"load": 1.0, "total": 9.5}, "report_dir": "/data/work/reports/20261128",
}


def test_summary_reaches_a_real_smtp_server_and_a_signed_webhook(monkeypatch):
    with smtp_server() as (port, mails), webhook_server() as (url, posts):
        configure(monkeypatch, port, url, secret="SEC123")
        lines = notify(SUMMARY)
    assert lines == ["已发送邮件通知：duty@center.test, lead@center.test", "已发送 Webhook 通知：" +
                     urllib.parse.urlsplit(url).netloc]
    (mail,) = mails
    assert set(mail["X-Rcpt"].split(",")) == {"duty@center.test", "lead@center.test"}
    subject = str(__import__("email.header", fromlist=["x"]).make_header(
        __import__("email.header", fromlist=["x"]).decode_header(mail["Subject"])))
    assert subject == "【hedui】核对批次 20261128 完成，1 个来源缺失或未通过"
    text = mail_text(mail)
    assert "信息不全待核实 30" in text and "公安 车管（vehicle）：未交付" in text
    assert "360102199001011234" not in text and "360102********1234" in text  # masked on the way out

    (path, body), = posts
    assert body["msgtype"] == "text" and "公安 车管（vehicle）：未交付" in body["text"]["content"]
    assert "360102199001011234" not in body["text"]["content"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    ts, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(hmac.new(b"SEC123", f"{ts}\nSEC123".encode(), hashlib.sha256).digest()).decode()
    assert sign == expected and query["access_token"] == ["t"]


def test_unreachable_channels_are_reported_not_raised(monkeypatch):
    from notify_servers import free_port

    with webhook_server({"errcode": 310000, "errmsg": "keywords not in content"}) as (url, _posts):
        configure(monkeypatch, free_port(), url)
        lines = notify({**SUMMARY, "failed": True, "message_zh": "核对批次 20261128 失败：load 失败"})
    assert lines[0].startswith("邮件通知发送失败") and "SMTP" in lines[0]
    assert lines[1].startswith("Webhook 通知发送失败") and "310000" in lines[1]


def test_nothing_configured_sends_nothing(monkeypatch):
    for var in ("HEDUI_NOTIFY_EMAIL", "HEDUI_NOTIFY_WEBHOOK", "HEDUI_WEBHOOK_CONN_ID"):
        monkeypatch.delenv(var, raising=False)
    assert notify(SUMMARY) == []
