"""The alerts' tables: the state of each instance, its history of transitions, and the outbox.

Written in SQL by :mod:`hostpulse.hub.alerts.store` (a batch of transitions is a handful of
statements, not an object each); these models are the schema for everything else that reads them.
``series_key`` is the series id, or -1 for an instance of a whole host (host_down), so that
(rule, host, series_key) can be a unique key on both dialects (a NULL never collides)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class _Instance(Model):
    """What a state row and a history row both say of an instance."""

    rule = fields.CharField(max_length=200)
    host = fields.CharField(max_length=255)
    series_key = fields.IntField()
    kind = fields.CharField(max_length=16)
    metric = fields.CharField(max_length=200)
    labels: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    state = fields.CharField(max_length=16)
    severity = fields.CharField(max_length=16)
    value = fields.FloatField(null=True)
    starts_at = fields.BigIntField(null=True)
    ends_at = fields.BigIntField(null=True)

    class Meta:
        abstract = True


class AlertState(_Instance):
    id = fields.IntField(primary_key=True)
    since = fields.BigIntField()  # epoch ms the condition started to hold
    updated_at = fields.BigIntField()

    class Meta:
        table = "alert_states"
        unique_together = (("rule", "host", "series_key"),)


class AlertTransition(_Instance):
    id = fields.BigIntField(primary_key=True)
    previous = fields.CharField(max_length=16)
    at = fields.BigIntField()  # the sample (or tick) time that caused the move

    class Meta:
        table = "alert_history"


class AlertOutbox(Model):
    """One alert for one notifier. Rows due together leave as one grouped message."""

    id = fields.BigIntField(primary_key=True)
    notifier = fields.CharField(max_length=200)
    #: rule|host|series_key|state|severity|at: two hubs that compute the same transition from the
    #: same sample insert it once (unique with notifier).
    dedupe_key = fields.CharField(max_length=700)
    alert: fields.JSONField[dict[str, object]] = fields.JSONField()
    status = fields.CharField(max_length=16)  # pending | sent | silenced
    attempts = fields.IntField(default=0)
    created_at = fields.BigIntField()
    #: Not to be tried before (epoch ms): the backoff, or the lease of the hub sending it now.
    next_at = fields.BigIntField()
    sent_at = fields.BigIntField(null=True)
    last_error = fields.CharField(max_length=1000, default="")

    class Meta:
        table = "alert_outbox"
        unique_together = (("notifier", "dedupe_key"),)


class AlertSilence(Model):
    """No notification for alerts it matches until ``ends_at``: by rule, host glob and labels."""

    id = fields.IntField(primary_key=True)
    rule = fields.CharField(max_length=200, default="")  # "" = any rule
    host = fields.CharField(max_length=255, default="")  # glob; "" = any host
    labels: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)  # exact, all of them
    comment = fields.CharField(max_length=1000, default="")
    created_at = fields.BigIntField()
    ends_at = fields.BigIntField()

    class Meta:
        table = "alert_silences"


class AlertAck(Model):
    """A firing episode acknowledged: no repeated notification for it until ``ends_at`` (null:
    until it resolves). Tied to the episode's ``starts_at``, so the instance's next episode is news."""

    id = fields.IntField(primary_key=True)
    rule = fields.CharField(max_length=200)
    host = fields.CharField(max_length=255)
    series_key = fields.IntField()  # the series id, -1 for a whole host
    starts_at = fields.BigIntField()
    comment = fields.CharField(max_length=1000, default="")
    created_at = fields.BigIntField()
    ends_at = fields.BigIntField(null=True)

    class Meta:
        table = "alert_acks"
