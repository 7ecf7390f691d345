"""The ``agent`` source: the agent reports on itself as ordinary series.

========================== ===== ======================== ============================================
metric                     unit  labels                   meaning
========================== ===== ======================== ============================================
agent.collect_seconds      s     source                   duration of the source's last collect()
agent.collect_cpu_seconds  s     source                   CPU time of a sync source's collect() since start
agent.samples              -     source                   valid samples collected since start
agent.errors               -     source, kind             errors since start (``exception``,
                                                          ``timeout``, ``overrun``, ``invalid_sample``,
                                                          ``too_many_samples``, ``init``)
agent.dropped              -     reason                   samples dropped since start (``spool_full``,
                                                          ``dead_letter``, ``invalid_sample``, …)
agent.batches_sent         -                              batches the hub acknowledged
agent.samples_sent         -                              samples the hub acknowledged
agent.send_failures        -                              POSTs that failed and will be retried
agent.dead_lettered        -                              batches put in the dead-letter file
agent.refused              -     code                     batches refused for good, by the hub's
                                                          error code (``host_mismatch``,
                                                          ``invalid_token`` …) or ``foreign_host`` /
                                                          ``foreign_hub`` (spooled under an earlier
                                                          identity, never sent)
agent.spool_bytes          B                              bytes waiting in the on-disk spool
agent.spool_batches        -                              batches waiting in the on-disk spool
agent.clock_offset_seconds s                              this host's clock minus the hub's (from the
                                                          hub's last answer; absent until one came)
agent.uptime               s                              seconds since the agent started
agent.cpu_seconds          s                              CPU time the agent process has used
agent.rss                  B                              resident memory of the agent process
========================== ===== ======================== ============================================

Counts are totals since the agent started (a restart resets them).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator

from hostpulse import hookimpl
from hostpulse.agent.collect.source import Sample, Source
from hostpulse.agent.stats import Stats


class AgentSource(Source):
    """The agent's own health: collect time, errors, drops, delivery and spool."""

    name = "agent"
    interval = 10.0

    def __init__(self, **config: object) -> None:
        super().__init__(**config)
        #: Set by the agent that runs this source; ``--once`` leaves it empty.
        self.stats = Stats()

    def collect(self) -> Iterator[Sample]:
        stats = self.stats
        for source, seconds in sorted(stats.collect_seconds.items()):
            yield Sample("agent.collect_seconds", seconds, {"source": source}, "s")
        for source, seconds in sorted(stats.collect_cpu_seconds.items()):
            yield Sample("agent.collect_cpu_seconds", seconds, {"source": source}, "s")
        for source, count in sorted(stats.samples.items()):
            yield Sample("agent.samples", count, {"source": source})
        for (source, kind), count in sorted(stats.errors.items()):
            yield Sample("agent.errors", count, {"source": source, "kind": kind})
        for reason, count in sorted(stats.dropped.items()):
            yield Sample("agent.dropped", count, {"reason": reason})
        yield Sample("agent.batches_sent", stats.batches_sent)
        yield Sample("agent.samples_sent", stats.samples_sent)
        yield Sample("agent.send_failures", stats.send_failures)
        yield Sample("agent.dead_lettered", stats.dead_lettered)
        for code, count in sorted(stats.refused.items()):
            yield Sample("agent.refused", count, {"code": code})
        yield Sample("agent.spool_bytes", stats.spool_bytes, unit="B")
        yield Sample("agent.spool_batches", stats.spool_batches)
        if stats.clock_offset_s is not None:
            yield Sample("agent.clock_offset_seconds", stats.clock_offset_s, unit="s")
        yield Sample("agent.uptime", time.time() - stats.started, unit="s")
        usage = resource.getrusage(resource.RUSAGE_SELF)
        yield Sample("agent.cpu_seconds", usage.ru_utime + usage.ru_stime, unit="s")
        yield Sample("agent.rss", _rss_bytes(), unit="B")


def _rss_bytes() -> float:
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return float(pages * resource.getpagesize())
    except (OSError, ValueError, IndexError):
        # ru_maxrss is the peak, in KiB on Linux: the best we have off Linux.
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


@hookimpl
def register_sources() -> list[type[Source]]:
    return [AgentSource]
