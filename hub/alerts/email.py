"""The email notifier: one message per group, over SMTP with STARTTLS, implicit TLS or neither.

The standard library's smtplib, run in a thread: it blocks, and a notifier must never hold the
event loop (the delivery's timeout still bounds the whole attempt)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

import httpx

from hostpulse.hub.alerts.config import Notifier


def compose(options: Mapping[str, Any], alerts: Sequence[Mapping[str, Any]]) -> EmailMessage:
    firing = [a for a in alerts if a["state"] == "firing"]
    head = f"[{'FIRING' if firing else 'RESOLVED'}:{len(alerts)}] "
    head += ", ".join(sorted({f"{a['rule']} on {a['host']}" for a in alerts}))[:180]
    msg = EmailMessage()
    msg["Subject"] = str(options.get("subject_prefix", "HostPulse: ")) + head
    msg["From"] = str(options["from"])
    msg["To"] = ", ".join(options["to"])
    lines = [
        f"{a['state'].upper()} {a['severity']} {a['rule']} host={a['host']} metric={a['metric']} "
        f"labels={a['labels']} value={a['value']} starts_at={a['starts_at']} "
        f"ends_at={a['ends_at']}\n  {a['url']}"
        for a in alerts
    ]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def _send_blocking(options: Mapping[str, Any], msg: EmailMessage, timeout_s: float) -> str:
    host, security = str(options["host"]), str(options.get("security", "starttls"))
    context = ssl.create_default_context(cafile=options.get("ca_file"))
    if security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, int(options.get("port", 465)), timeout=timeout_s, context=context
        )
    else:
        smtp = smtplib.SMTP(host, int(options.get("port", 587)), timeout=timeout_s)
    with smtp:
        if security == "starttls":
            smtp.starttls(context=context)
        if options.get("username"):
            smtp.login(str(options["username"]), str(options.get("password", "")))
        refused = smtp.send_message(msg)
        code, text = smtp.noop()
    if refused:
        raise RuntimeError(f"recipients refused: {refused}")
    return f"{code} {text.decode(errors='replace')} ({len(options['to'])} recipients)"


async def send_email(
    notifier: Notifier,
    alerts: Sequence[Mapping[str, Any]],
    client: httpx.AsyncClient,
    timeout_s: float,
) -> str:
    msg = compose(notifier.options, alerts)
    return await asyncio.to_thread(_send_blocking, notifier.options, msg, timeout_s)
