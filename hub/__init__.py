"""The HostPulse hub: receives agents' batches, checks them, stores them, scores them for anomalies
and streams them to the dashboard.

The flow of a batch, by folder: ``web/`` (the app, gzip bodies inflated only for known tokens,
headers, the server) → ``auth/`` (whose token, how fast) → ``api/`` (the ingest checks and every
request and response model) → ``storage/`` (the group-commit writer, tiers, compaction) →
``anomaly/`` (scoring each commit, detector state) → ``live/`` (the bus to WebSocket sessions);
``alerts/`` judges rules on what was committed, ``commands/`` is the ``hostpulse`` command. At the
top: :mod:`.state` (what one running hub holds), :mod:`.settings`, :mod:`.errors` (the one error
shape) and :mod:`.tasks`.
"""
