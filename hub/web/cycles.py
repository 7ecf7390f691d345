"""Reference cycles that Hypercorn leaves behind, broken where they are made.

An object in a reference cycle is not freed when its last outside reference goes, only when the
cyclic collector finds it, and the hub runs that collector rarely
(hostpulse.hub.web.server.tune_gc: young collections every 20,000 allocations, the older
generations far more seldom). An object that was alive at a young collection (a connection, a
request in flight) is promoted, and once it is garbage it waits for the collection of its
generation: memory that grows with the requests served until then. Found by
``bench/ingest_memory.py --garbage`` (every object the collector found each round, by type).
"""

from __future__ import annotations

from hypercorn.asyncio.tcp_server import TCPServer


def let_closed_connections_go() -> None:
    """Break the cycle each closed Hypercorn connection leaves.

    Hypercorn 0.18's ``TCPServer`` holds its protocol, and the protocol holds back the server's
    ``protocol_send``; the server also holds its task group, which holds the connection's task.
    So a connection that has ended is ~43 objects in a cycle (server, protocol, h11 state, its
    receive buffer, stream reader and writer, transport, task, task group…). Measured with
    ``bench/ingest_memory.py --garbage`` (1,000 posts a round, ~780 new connections): 33,500
    objects a round found only by the collector before, ~43 per connection, none after: dropping
    the two references once ``TCPServer.run`` has returned lets reference counting free them.
    The hub's RSS over 20 such rounds went 95.1 -> 111.6 MiB without it, 93.1 -> 97.6 MiB with
    it (``--leave-cycles`` runs the hub without it); a fleet of 1,000 hosts going down and back
    six times (bench/alert_memory.py) 103.0 -> 113.3 MiB without, 100.0 -> 103.5 with.
    Werkzeug's URL matcher leaves 8 objects a request in a cycle too (its recursive ``_match``
    closure), but made and dropped within one call they die in the young generation."""
    if getattr(TCPServer.run, "_hostpulse", False):
        return
    run = TCPServer.run

    async def run_then_let_go(self: TCPServer) -> None:
        try:
            await run(self)
        finally:
            vars(self).pop("protocol", None)
            vars(self).pop("_task_group", None)

    run_then_let_go._hostpulse = True  # type: ignore[attr-defined]
    TCPServer.run = run_then_let_go  # type: ignore[method-assign]
