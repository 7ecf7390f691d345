"""Acknowledgements: someone has seen a firing alert. An acknowledged episode gets no repeated
notification (the rule's ``repeat``) until the ack ends or the alert resolves; its change of
severity and its resolved message are still sent. An ack belongs to one episode (the instance's
``starts_at``), so the same instance firing again later is news again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tortoise.expressions import Q

from hostpulse.hub.alerts.models import AlertAck, AlertState
from hostpulse.hub.alerts.states import Transition
from hostpulse.hub.alerts.store import series_key

Episode = tuple[str, str, int, int]  # rule, host, series_key, starts_at


class NotFiring(LookupError):
    """No firing alert is the one an ack names."""


async def active(now_ms: int) -> list[AlertAck]:
    """Acks in force: not ended, and their episode still firing. Acks whose episode is over are
    ended on the way (their ``ends_at`` set), so this reads only the acks of firing alerts."""
    rows = await AlertAck.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now_ms)).order_by("id")
    if not rows:
        return []
    firing = await firing_episodes({r.host for r in rows})
    over = {r.id for r in rows if _episode(r) not in firing}
    if over:
        await AlertAck.filter(id__in=sorted(over), ends_at__isnull=True).update(ends_at=now_ms)
    return [r for r in rows if r.id not in over]


async def firing_episodes(hosts: Iterable[str]) -> set[Episode]:
    states = await AlertState.filter(state="firing", host__in=sorted(set(hosts))).values(
        "rule", "host", "series_key", "starts_at"
    )
    return {(s["rule"], s["host"], int(s["series_key"]), int(s["starts_at"] or 0)) for s in states}


def _episode(ack: AlertAck) -> Episode:
    return (ack.rule, ack.host, ack.series_key, ack.starts_at)


def episode_of(t: Transition) -> Episode:
    """The episode a transition (a repeat's) belongs to, as an ack names it."""
    return (t.rule, t.host, series_key(t.series_id), t.starts_at or 0)


def acked_by(acks: Sequence[AlertAck], alert: dict[str, Any]) -> int | None:
    """The id of the ack of this firing alert's episode, if any."""
    key = (alert["rule"], alert["host"], series_key(alert.get("series_id")), alert.get("starts_at"))
    return next((a.id for a in acks if _episode(a) == key), None)


def episodes(acks: Iterable[AlertAck]) -> set[Episode]:
    return {_episode(a) for a in acks}


async def create(
    *, rule: str, host: str, series_id: int | None, comment: str, ends_at: int | None, now_ms: int
) -> AlertAck:
    """Acknowledge the firing alert of (rule, host, series); NotFiring if there is none, and
    ValueError for an end time not in the future."""
    if ends_at is not None and ends_at <= now_ms:
        raise ValueError(f"ends_at {ends_at} is not in the future")
    key = series_key(series_id)
    state = await AlertState.get_or_none(rule=rule, host=host, series_key=key, state="firing")
    if state is None or state.starts_at is None:
        what = f"rule {rule!r} on host {host!r}" + ("" if series_id is None else f", series {key}")
        raise NotFiring(f"no firing alert of {what}")
    return await AlertAck.create(rule=rule, host=host, series_key=key, starts_at=state.starts_at,
                                 comment=comment, created_at=now_ms, ends_at=ends_at)  # fmt: skip


async def end(ack_id: int, now_ms: int) -> AlertAck | None:
    """End an ack in force now; None if there is none with that id."""
    ack = next((a for a in await active(now_ms) if a.id == ack_id), None)
    if ack is not None:
        ack.ends_at = now_ms
        await ack.save(update_fields=["ends_at"])
    return ack
