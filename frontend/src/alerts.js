// What the page knows about alerts: the hub's pending and firing alerts (GET /api/v1/alerts),
// kept current by the live `alerts` frames (docs/protocol.md), for the top bar's count, the
// alerts page, the host cards and the charts' shaded spans.
//
// A frame's transitions are applied at once (an alert appears, changes or goes), then the list
// is read again shortly after: the hub stores what it decided within about 0.2 s, and only the
// stored list knows which silence or ack applies. A frame with `changed` or `truncated` reads it
// at once. Fires "change" whenever what it holds changed.

import { listAcks, listAlerts, listSilences } from "./api.js";

// After a transition frame, read the stored list this much later (the hub writes within ~0.2 s).
const SETTLE_MS = 600;
// Without frames (no live connection), read the list this often anyway.
const POLL_MS = 30_000;

export const alertKey = (a) => `${a.rule}|${a.host}|${a.series_id ?? ""}`;

export class AlertBook extends EventTarget {
  constructor(live) {
    super();
    this.live = live;
    this.alerts = []; // the hub's list: firing first
    this.silences = [];
    this.acks = [];
    this.loaded = false;
    this.settleTimer = 0;
    this.reading = null;
    live.addEventListener("alerts", (event) => this.onFrame(event.detail));
    live.addEventListener("reconnected", () => this.refresh());
    setInterval(() => this.refresh(), POLL_MS);
  }

  /** Read alerts, silences and acks from the hub; fires "change". */
  refresh() {
    if (this.reading) return this.reading;
    this.reading = Promise.all([listAlerts(), listSilences(), listAcks()])
      .then(([alerts, silences, acks]) => {
        this.alerts = alerts;
        this.silences = silences;
        this.acks = acks;
        this.loaded = true;
        this.emit();
      })
      .catch((error) => console.warn("HostPulse: alerts:", error.message))
      .finally(() => { this.reading = null; });
    return this.reading;
  }

  onFrame(frame) {
    if (frame.changed || frame.truncated) {
      this.refresh();
      return;
    }
    const byKey = new Map(this.alerts.map((a) => [alertKey(a), a]));
    for (const t of frame.transitions || []) {
      const key = alertKey(t);
      if (t.state === "pending" || t.state === "firing") {
        const old = byKey.get(key) || {};
        byKey.set(key, {
          ...old, rule: t.rule, kind: t.kind, state: t.state, severity: t.severity, host: t.host,
          metric: t.metric, labels: t.labels, value: t.value, series_id: t.series_id,
          since: old.since ?? t.at, starts_at: t.starts_at,
          silenced_by: old.silenced_by ?? null,
          acked_by: t.state === "firing" && old.starts_at === t.starts_at ? old.acked_by ?? null : null,
        });
      } else {
        byKey.delete(key);
      }
    }
    this.alerts = [...byKey.values()].sort((a, b) => Number(a.state !== "firing") - Number(b.state !== "firing"));
    this.emit();
    this.dispatchEvent(new CustomEvent("transitions", { detail: frame.transitions || [] }));
    // Not pushed back by the next frame: a steady stream of transitions still reads the list.
    if (!this.settleTimer) {
      this.settleTimer = setTimeout(() => { this.settleTimer = 0; this.refresh(); }, SETTLE_MS);
    }
  }

  firing() {
    return this.alerts.filter((a) => a.state === "firing");
  }

  /** Firing alerts of one host. */
  firingOn(host) {
    return this.alerts.filter((a) => a.state === "firing" && a.host === host);
  }

  emit() {
    this.dispatchEvent(new Event("change"));
  }
}
