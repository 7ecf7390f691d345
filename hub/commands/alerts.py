"""``hostpulse alerts list|test NOTIFIER|silence …|ack …``: against the hub's database and config, like
``hostpulse token`` (no running hub needed)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import click

from hostpulse.hub.commands.serve import _with_database, db_option, load_settings

config_option = click.option("--config", type=click.Path(dir_okay=False), help="the hub's TOML")


def _now_ms() -> int:
    return int(time.time() * 1000)


@click.group("alerts")
def alerts_group() -> None:
    """List alerts, test a notifier, silence or acknowledge alerts."""


@alerts_group.command("list")
@db_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="one JSON object per alert")
def alerts_list(db: str | None, config: str | None, as_json: bool) -> None:
    """Pending and firing alerts, as every hub on this database stored them."""
    from hostpulse.hub.alerts import acks, silences, store
    from hostpulse.hub.alerts.models import AlertState

    async def work() -> list[dict[str, Any]]:
        active = await silences.active(_now_ms())
        acked = await acks.active(_now_ms())
        rows = await AlertState.filter(state__in=("pending", "firing")).order_by("rule", "host")
        out = []
        for a in rows:
            alert = {"rule": a.rule, "state": a.state, "severity": a.severity, "host": a.host,
                     "metric": a.metric, "labels": a.labels, "value": a.value,
                     "starts_at": a.starts_at,
                     "series_id": None if a.series_key == store.HOST_LEVEL else a.series_key}  # fmt: skip
            out.append({**alert, "silenced_by": silences.silenced_by(active, alert),
                        "acked_by": acks.acked_by(acked, alert) if a.state == "firing" else None})  # fmt: skip
        return out

    found = asyncio.run(_with_database(load_settings(config, db=db).db, work()))
    for a in found:
        if as_json:
            click.echo(json.dumps(a))
        else:
            muted = f"  (silenced by #{a['silenced_by']})" if a["silenced_by"] else ""
            acked = f"  (acknowledged #{a['acked_by']})" if a["acked_by"] else ""
            series = "" if a["series_id"] is None else f" series={a['series_id']}"
            click.echo(f"{a['state']:8} {a['severity']:8} {a['rule']} {a['host']} {a['metric']} "
                       f"{a['labels']}{series} value={a['value']}{muted}{acked}")  # fmt: skip
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


def _duration(option: str, text: str) -> int:
    """A duration option in ms, or a usage error naming the option and the value."""
    from hostpulse.hub.alerts.config import parse_duration_ms
    from hostpulse.hub.errors import SettingsError

    try:
        return parse_duration_ms(option, text)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


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

    length = _duration("--for", duration)
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

    _end_now("silence", silences.end, silence_id, db, config)


@alerts_group.group("ack")
def ack_group() -> None:
    """Acknowledge firing alerts: no repeated notification until the ack ends or they resolve."""


@ack_group.command("add")
@click.argument("rule")
@click.argument("host")
@click.option("--series", "series_id", type=int, default=None,
              help="the series id (`alerts list` shows it); needed if several of RULE fire on HOST")  # fmt: skip
@click.option(
    "--for", "duration", default=None, help='how long: "30m", "2h" (default: until resolved)'
)
@click.option("--comment", default="")
@db_option
@config_option
def ack_add(rule: str, host: str, series_id: int | None, duration: str | None, comment: str,
            db: str | None, config: str | None) -> None:  # fmt: skip
    """Acknowledge the firing alert of RULE on HOST; prints the ack's id."""
    from hostpulse.hub.alerts import acks, store
    from hostpulse.hub.alerts.models import AlertState

    length = None if duration is None else _duration("--for", duration)

    async def work() -> int:
        now = _now_ms()
        chosen = series_id
        if chosen is None:
            rows = await AlertState.filter(rule=rule, host=host, state="firing").values(
                "series_key"
            )
            keys = sorted(int(r["series_key"]) for r in rows)
            if len(keys) > 1:
                listed = ", ".join(map(str, keys))
                raise click.UsageError(f"{rule} fires on {host} for several series ({listed}): "
                                       "choose one with --series")  # fmt: skip
            if keys and keys[0] != store.HOST_LEVEL:
                chosen = keys[0]
        ack = await acks.create(rule=rule, host=host, series_id=chosen, comment=comment,
                                ends_at=None if length is None else now + length, now_ms=now)  # fmt: skip
        return ack.id

    try:
        made = asyncio.run(_with_database(load_settings(config, db=db).db, work()))
    except acks.NotFiring as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(made)


@ack_group.command("list")
@db_option
@config_option
def ack_list(db: str | None, config: str | None) -> None:
    """Acknowledgements in force."""
    from hostpulse.hub.alerts import acks

    for a in asyncio.run(_with_database(load_settings(config, db=db).db, acks.active(_now_ms()))):
        until = "until resolved" if a.ends_at is None else f"ends_at={a.ends_at}"
        click.echo(f"#{a.id} rule={a.rule} host={a.host} series={a.series_key} {until} {a.comment}")


@ack_group.command("end")
@click.argument("ack_id", type=int)
@db_option
@config_option
def ack_end(ack_id: int, db: str | None, config: str | None) -> None:
    """End acknowledgement ACK_ID now: the alert's repeats resume."""
    from hostpulse.hub.alerts import acks

    _end_now("ack", acks.end, ack_id, db, config)


def _end_now(
    what: str,
    end: Callable[[int, int], Awaitable[object | None]],
    row_id: int,
    db: str | None,
    config: str | None,
) -> None:
    """End the silence or ack ``row_id`` now; exit 1 naming it if none is in force."""
    ended = asyncio.run(_with_database(load_settings(config, db=db).db, end(row_id, _now_ms())))
    if ended is None:
        click.echo(f"no {what} in force with id {row_id}", err=True)
        sys.exit(1)
    click.echo(f"ended #{row_id}")
