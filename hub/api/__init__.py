"""The HTTP and WebSocket API under /api/v1: ingest (with its clock reading and duplicate rule),
the read API, the live stream, the agent installer, /metrics, and every request (``wire``) and
response (``schemas``) model, which also write /openapi.json (``openapi``)."""
