"""Send a run's summary to the people on duty: e-mail (Airflow's SMTP provider) and a webhook.

Configured by environment (the same in `hedui run` and in the DAG's workers):

- ``HEDUI_NOTIFY_EMAIL`` — recipients, comma-separated.  Mail goes through
  ``SmtpHook`` of apache-airflow-providers-smtp with the Airflow connection
  ``HEDUI_SMTP_CONN_ID`` (default ``smtp_default``; e.g. the variable
  ``AIRFLOW_CONN_SMTP_DEFAULT='smtp://user:pass@mail.example:587?from_email=hedui%40example'``).
- ``HEDUI_NOTIFY_WEBHOOK`` — a URL, or ``HEDUI_WEBHOOK_CONN_ID`` — an Airflow
  connection whose ``extra`` holds ``{"url": ...}``.  The body is the text
  message both 钉钉 and 企业微信 robots accept:
  ``{"msgtype": "text", "text": {"content": "..."}}``.  With
  ``HEDUI_WEBHOOK_SECRET`` the URL is signed the 钉钉 way (timestamp + HMAC-SHA256).

The summary holds counts only, and the text is masked once more on the way
out.  A notification that cannot be sent never fails the run: it is logged
and reported back as a line of text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import os
import time
import urllib.parse
import urllib.request

from hedui.audit.log import mask_free_text
from hedui.ops.run_summary import text_zh

log = logging.getLogger(__name__)


def _subject(summary: dict) -> str:
    problems = summary.get("sources_missing", []) + summary.get("sources_failed", [])
    if summary.get("failed"):
        return f"【hedui】核对批次 {summary['run_date']} 失败"
    if problems:
        return f"【hedui】核对批次 {summary['run_date']} 完成，{len(problems)} 个来源缺失或未通过"
    return f"【hedui】核对批次 {summary['run_date']} 完成"


def message(summary: dict) -> str:
    """The notification text: the failure message, or the run summary in Chinese (masked)."""
    text = summary["message_zh"] if summary.get("failed") else text_zh(summary)
    return mask_free_text(text)


def send_email(summary: dict, to: list[str], conn_id: str | None = None) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    body = "<pre style=\"font-family: sans-serif\">" + html.escape(message(summary)) + "</pre>"
    with SmtpHook(smtp_conn_id=conn_id or os.environ.get("HEDUI_SMTP_CONN_ID", "smtp_default")) as hook:
        hook.send_email_smtp(to=to, subject=_subject(summary), html_content=body,
                             from_email=hook.from_email or "hedui@localhost")


def _webhook_url() -> str | None:
    url = os.environ.get("HEDUI_NOTIFY_WEBHOOK")
    conn_id = os.environ.get("HEDUI_WEBHOOK_CONN_ID")
    if not url and conn_id:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
        url = conn.extra_dejson.get("url") or conn.host
    return url or None


def _signed(url: str, secret: str) -> str:
    """钉钉 robot signing: &timestamp=<ms>&sign=<base64 HMAC-SHA256 of "ts\\nsecret">."""
    ts = str(int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"


def send_webhook(summary: dict, url: str, timeout: float = 10) -> dict:
    if not url.startswith(("https://", "http://")):
        raise ValueError("webhook URL must start with http:// or https://")
    secret = os.environ.get("HEDUI_WEBHOOK_SECRET")
    body = json.dumps({"msgtype": "text", "text": {"content": _subject(summary) + "\n" + message(summary)}},
                      ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(_signed(url, secret) if secret else url, data=body, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (scheme checked above)
        answer = resp.read(65536).decode("utf-8", "replace")
    try:
        data = json.loads(answer)
    except ValueError:
        return {}
    if isinstance(data, dict) and data.get("errcode") not in (None, 0):  # 钉钉/企业微信 report errors in the body
        raise RuntimeError(f"errcode {data.get('errcode')}: {data.get('errmsg')}")
    return data if isinstance(data, dict) else {}


def notify(summary: dict) -> list[str]:
    """Send `summary` to every configured channel; return one Chinese line per channel tried."""
    lines = []
    to = [a.strip() for a in os.environ.get("HEDUI_NOTIFY_EMAIL", "").split(",") if a.strip()]
    if to:
        try:
            send_email(summary, to)
            lines.append(f"已发送邮件通知：{', '.join(to)}")
        except Exception as exc:  # a notification never fails the run
            log.warning("mail notification failed: %s", exc)
            lines.append(f"邮件通知发送失败（{type(exc).__name__}：{exc}）：请检查 SMTP 连接设置")
    try:
        url = _webhook_url()
    except Exception as exc:
        url = None
        lines.append(f"Webhook 通知未发送：读取连接失败（{exc}）")
    if url:
        shown = urllib.parse.urlsplit(url).netloc
        try:
            send_webhook(summary, url)
            lines.append(f"已发送 Webhook 通知：{shown}")
        except Exception as exc:
            log.warning("webhook notification failed: %s", exc)
            lines.append(f"Webhook 通知发送失败（{shown}：{type(exc).__name__}：{exc}）：请检查地址与网络")
    for line in lines:
        log.info("%s", line)
    return lines
