"""``hostpulse alerts list|test NOTIFIER|silence …``: against the hub's database and config, like
``hostpulse token`` (no running hub needed)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import click

from hostpulse.hub.commands.serve import _with_database, db_option, load_settings

config_option = click.option("--config", type=click.Path(dir_okay=False), help="the hub's TOML")


def _now_ms() -> int:
    return int(time.time() * 1000)


@click.group("alerts")
def alerts_group() -> None:
    """List alerts, test a notifier, silence alerts."""


@alerts_group.command("list")
@db_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="one JSON object per alert")
def alerts_list(db: str | None, config: str | None, as_json: bool) -> None:
    """Pending and firing alerts, as every hub on this database stored them."""
    from hostpulse.hub.alerts import silences
    from hostpulse.hub.alerts.models import AlertState

    async def work() -> list[dict[str, Any]]:
        active = await silences.active(_now_ms())
        rows = await AlertState.filter(state__in=("pending", "firing")).order_by("rule", "host")
        return [{"rule": a.rule, "state": a.state, "severity": a.severity, "host": a.host,
                 "metric": a.metric, "labels": a.labels, "value": a.value,
                 "starts_at": a.starts_at,
                 "silenced_by": silences.silenced_by(active, {"rule": a.rule, "host": a.host,
                                                              "labels": a.labels})}
                for a in rows]  # fmt: skip

    found = asyncio.run(_with_database(load_settings(config, db=db).db, work()))
    for a in found:
        if as_json:
            click.echo(json.dumps(a))
        else:
            muted = f"  (silenced by #{a['silenced_by']})" if a["silenced_by"] else ""
            click.echo(f"{a['state']:8} {a['severity']:8} {a['rule']} {a['host']} {a['metric']} "
                       f"{a['labels']} value={a['value']}{muted}")  # fmt: skip
    if not found and not as_json:
        click.echo("no pending or firing alerts", err=True)


@alerts_group.command("test")
@click.argument("notifier")
@config_option
def alerts_test(notifier: str, config: str | None) -> None:
    """Send a sample firing alert through NOTIFIER of the config and print what came back."""
    from hostpulse.hub.alerts.config import parse_alerts
    from hostpulse.hub.alerts.delivery import Delivery

    settings = load_settings(config)
    delivery = Delivery(parse_alerts(settings.alerts), timeout_s=10)
    if notifier not in delivery.config.notifiers:
        known = ", ".join(sorted(delivery.config.notifiers)) or "none configured"
        raise click.UsageError(f"no notifier {notifier!r} in [[alerts.notifiers]] ({known})")
    now = _now_ms()
    sample = {"rule": "hostpulse_test", "kind": "threshold", "severity": "warning",
              "state": "firing", "host": "hostpulse-test", "metric": "test.metric", "labels": {},
              "value": 1.0, "starts_at": now, "ends_at": None, "url": ""}  # fmt: skip

    async def work() -> str:
        import httpx

        async with httpx.AsyncClient() as client:
            delivery._client = client
            return await delivery.send(notifier, [sample])

    try:
        click.echo(asyncio.run(work()))
    except Exception as exc:  # noqa: BLE001 - whatever the notifier did, say it and fail
        click.echo(f"{notifier}: failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)


@alerts_group.group("silence")
def silence_group() -> None:
    """Mute alerts by rule, host or labels until an end time."""


@silence_group.command("add")
@db_option
@config_option
@click.option("--rule", default="", help="the rule's name (default: any)")
@click.option("--host", default="", help="a glob on host names (default: any)")
@click.option("--label", "labels", multiple=True, help="KEY=VALUE, exact; repeatable")
@click.option("--for", "duration", required=True, help='how long: "30m", "2h", "1d"')
@click.option("--comment", default="")
def silence_add(db: str | None, config: str | None, rule: str, host: str,
                labels: tuple[str, ...], duration: str, comment: str) -> None:  # fmt: skip
    """Silence matching alerts; prints the silence's id."""
    from hostpulse.hub.alerts import silences
    from hostpulse.hub.alerts.config import parse_duration_ms
    from hostpulse.hub.errors import SettingsError

    try:
        length = parse_duration_ms("--for", duration)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    pairs = {}
    for item in labels:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--label {item!r}: expected KEY=VALUE")
        pairs[key] = value
    now = _now_ms()
    work = silences.create(rule=rule, host=host, labels=pairs, ends_at=now + length,
                           comment=comment, now_ms=now)  # fmt: skip
    try:
        made = asyncio.run(_with_database(load_settings(config, db=db).db, work))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(made.id)


@silence_group.command("list")
@db_option
@config_option
def silence_list(db: str | None, config: str | None) -> None:
    """Silences in force."""
    from hostpulse.hub.alerts import silences

    for s in asyncio.run(
        _with_database(load_settings(config, db=db).db, silences.active(_now_ms()))
    ):
        click.echo(f"#{s.id} rule={s.rule or '*'} host={s.host or '*'} labels={s.labels} "
                   f"ends_at={s.ends_at} {s.comment}")  # fmt: skip


@silence_group.command("end")
@click.argument("silence_id", type=int)
@db_option
@config_option
def silence_end(silence_id: int, db: str | None, config: str | None) -> None:
    """End silence SILENCE_ID now."""
    from hostpulse.hub.alerts import silences

    ended = asyncio.run(
        _with_database(load_settings(config, db=db).db, silences.end(silence_id, _now_ms()))
    )
    if ended is None:
        click.echo(f"no silence in force with id {silence_id}", err=True)
        sys.exit(1)
    click.echo(f"ended #{silence_id}")
