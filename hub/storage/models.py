"""Tortoise models. Hot-path writes bypass object construction (see storage.writer); these models
are the schema and serve everything that is not per-sample."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Host(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255, unique=True)
    labels: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    agent_version = fields.CharField(max_length=64, default="")
    first_seen = fields.BigIntField(default=0)  # epoch ms
    last_seen = fields.BigIntField(default=0)
    #: The agent's clock minus the hub's, from its requests' Date header (hostpulse.hub.api.clocks); None until
    #: an agent that sends one has been heard. checked_at is the hub's clock at that request.
    clock_offset_ms = fields.BigIntField(null=True)
    clock_checked_at = fields.BigIntField(null=True)

    class Meta:
        table = "hosts"


class AgentToken(Model):
    id = fields.IntField(primary_key=True)
    host: fields.ForeignKeyRelation[Host] = fields.ForeignKeyField(
        "models.Host", related_name="tokens", on_delete=fields.CASCADE
    )
    #: sha256 of the token: tokens are 256-bit random, so a fast hash is enough and lookups stay O(1).
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.BigIntField()
    revoked_at = fields.BigIntField(null=True)

    class Meta:
        table = "agent_tokens"


class Series(Model):
    id = fields.IntField(primary_key=True)
    host: fields.ForeignKeyRelation[Host] = fields.ForeignKeyField(
        "models.Host", related_name="series", on_delete=fields.CASCADE
    )
    metric = fields.CharField(max_length=200)
    labels: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    #: Canonical JSON of the labels (sorted keys): what makes a series unique with host and metric.
    labels_key = fields.CharField(max_length=2048)
    unit = fields.CharField(max_length=32, default="")

    class Meta:
        table = "series"
        unique_together = (("host", "metric", "labels_key"),)


class RawBlock(Model):
    """One series' points from one batch, packed: int64 ms timestamps and float64 values.

    A row per (series, batch) instead of a row per sample: the ~41 B and few µs of a row are paid
    once per block of points rather than once per point."""

    id = fields.BigIntField(primary_key=True)
    series: fields.ForeignKeyRelation[Series] = fields.ForeignKeyField(
        "models.Series", related_name="blocks", on_delete=fields.CASCADE
    )
    t_min = fields.BigIntField()
    t_max = fields.BigIntField()
    count = fields.IntField()
    ts = fields.BinaryField()
    values = fields.BinaryField()

    class Meta:
        table = "raw_blocks"
        indexes = (("series_id", "t_max"),)


class IngestedBatch(Model):
    """The idempotency key of ingest: a (host, batch_id) seen here was committed once.

    The table's primary key is (host_id, batch_id), a WITHOUT ROWID table on SQLite (migration
    3): no surrogate id, no second index. Tortoise has no composite keys, so the model names
    batch_id its pk; only hostpulse.hub.storage.writer writes this table, in SQL."""

    host: fields.ForeignKeyRelation[Host] = fields.ForeignKeyField(
        "models.Host", related_name="batches", on_delete=fields.CASCADE
    )
    batch_id = fields.CharField(max_length=64, primary_key=True)
    received_at = fields.BigIntField()
    samples = fields.IntField()

    class Meta:
        table = "ingested_batches"
        unique_together = (("host", "batch_id"),)


class Chunk(Model):
    """One series' points of one closed window, compressed by :mod:`hostpulse.hub.storage.codec`."""

    id = fields.BigIntField(primary_key=True)
    series: fields.ForeignKeyRelation[Series] = fields.ForeignKeyField(
        "models.Series", related_name="chunks", on_delete=fields.CASCADE
    )
    #: The window is [t_start, t_end); the points inside span [t_min, t_max].
    t_start = fields.BigIntField()
    t_end = fields.BigIntField()
    t_min = fields.BigIntField()
    t_max = fields.BigIntField()
    count = fields.IntField()
    data = fields.BinaryField()

    class Meta:
        table = "chunks"
        unique_together = (("series_id", "t_start"),)


class Rollup1m(Model):
    """A window's 1-minute buckets (min, max, sum, count, anomaly count), packed in one row:
    a row per minute would cost more than the samples it summarises (see hostpulse.hub.storage.rollups)."""

    id = fields.BigIntField(primary_key=True)
    series: fields.ForeignKeyRelation[Series] = fields.ForeignKeyField(
        "models.Series", related_name="rollups_1m", on_delete=fields.CASCADE
    )
    t_start = fields.BigIntField()
    t_end = fields.BigIntField()
    count = fields.IntField()  # buckets in data
    data = fields.BinaryField()

    class Meta:
        table = "rollups_1m"
        unique_together = (("series_id", "t_start"),)


class Rollup1h(Model):
    """One series' hour: plain columns, a row per hour is cheap next to 3,600 samples."""

    id = fields.BigIntField(primary_key=True)
    series: fields.ForeignKeyRelation[Series] = fields.ForeignKeyField(
        "models.Series", related_name="rollups_1h", on_delete=fields.CASCADE
    )
    ts = fields.BigIntField()  # start of the hour, epoch ms
    min = fields.FloatField()
    max = fields.FloatField()
    sum = fields.FloatField()
    count = fields.IntField()
    anomaly_count = fields.IntField(default=0)

    class Meta:
        table = "rollups_1h"
        unique_together = (("series_id", "ts"),)


class Anomaly(Model):
    """A point a detector flagged: its score and the band it expected at that moment.

    Written by the writer in the batch's own transaction; counted into the rollups'
    anomaly_count when the window is compacted; kept as long as the 1-hour rollups."""

    id = fields.BigIntField(primary_key=True)
    series: fields.ForeignKeyRelation[Series] = fields.ForeignKeyField(
        "models.Series", related_name="anomalies", on_delete=fields.CASCADE
    )
    ts = fields.BigIntField()  # epoch ms
    value = fields.FloatField()
    score = fields.FloatField()  # in [0, 1]
    expected_low = fields.FloatField()
    expected_high = fields.FloatField()
    detector = fields.CharField(max_length=64)

    class Meta:
        table = "anomalies"
        indexes = (("series_id", "ts"), ("ts",))


class DetectorState(Model):
    """A series' anomaly-detector state, saved now and then, so that a restarted hub, or the hub
    a host moves to, resumes instead of learning from scratch (hostpulse.hub.anomaly.state_store)."""

    series: fields.OneToOneRelation[Series] = fields.OneToOneField(
        "models.Series", related_name="detector_state", on_delete=fields.CASCADE, primary_key=True
    )
    state = fields.BinaryField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "detector_state"


class ViewerToken(Model):
    """A credential for the dashboard, the read API and the WebSocket, needed when the hub listens
    beyond loopback. Like agent tokens, only the hash is kept."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.BigIntField()
    revoked_at = fields.BigIntField(null=True)

    class Meta:
        table = "viewer_tokens"


class SchemaVersion(Model):
    """The migrations applied to this database (hostpulse.hub.storage.migrations), one row per step."""

    version = fields.IntField(primary_key=True, generated=False)
    name = fields.CharField(max_length=200)
    applied_at = fields.BigIntField()

    class Meta:
        table = "schema_version"
