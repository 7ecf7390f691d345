// The page's one WebSocket to /api/v1/stream: subscribe, reconnect with backoff, and tell the
// panels what they missed so they can fill the gap from the history API.
//
// Events (CustomEvent, payload in `detail`):
//   "points"      a points frame {type, host, series: [{id, metric, labels, unit, points}]}
//   "host"        a host frame, "anomaly" an anomaly frame, "alerts" alert transitions,
//                 "message" any other frame
//   "subscribed"  the hub's acknowledgement of the current subscription
//   "state"       {state: "connecting" | "open" | "closed", attempt}
//   "reconnected" {from, to}: the window (epoch ms) during which frames may have been lost

import { recordArrival } from "./perf.js";

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
// A tab hidden this long drops its socket; coming back reconnects and fills the gap from history.
const HIDDEN_SUSPEND_MS = 60_000;
const KNOWN_FRAMES = new Set(["points", "host", "anomaly", "alerts", "subscribed"]);

function streamURL(path) {
  const url = new URL(path, document.baseURI);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export class LiveConnection extends EventTarget {
  constructor({ path = "api/v1/stream" } = {}) {
    super();
    this.url = streamURL(path);
    this.state = "closed";
    this.attempt = 0;
    this.subscription = { type: "subscribe", hosts: ["*"], metrics: [] };
    this.socket = null;
    this.retryTimer = null;
    this.hiddenTimer = null;
    this.suspended = false;
    // Last time we know the stream was complete up to; the gap after a drop starts here.
    this.lastGoodAt = 0;
    this.everOpened = false;
    this.framesReceived = 0;
    document.addEventListener("visibilitychange", () => this.onVisibility());
  }

  start() {
    this.suspended = false;
    this.open();
  }

  /** Replace the subscription (sent now if open, else on the next open). */
  subscribe({ hosts = ["*"], metrics } = {}) {
    this.subscription = { type: "subscribe", hosts };
    if (metrics && metrics.length) this.subscription.metrics = metrics;
    this.subscribed = false;
    this.send(this.subscription);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  open() {
    clearTimeout(this.retryTimer);
    this.setState("connecting");
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.attempt = 0;
      this.subscribed = false;
      socket.send(JSON.stringify(this.subscription));
      this.setState("open");
      const now = Date.now();
      if (this.everOpened && this.lastGoodAt) {
        this.emit("reconnected", { from: this.lastGoodAt, to: now });
      }
      this.everOpened = true;
      this.lastGoodAt = now;
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this.socket) return;
      this.lastGoodAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return; // A frame we cannot read is dropped, like a lost one.
      }
      this.framesReceived += 1;
      const type = frame && typeof frame.type === "string" ? frame.type : "message";
      if (type === "points") recordArrival(frame);
      if (type === "subscribed") this.subscribed = true;
      if (type === "error") console.warn("HostPulse stream:", frame.error?.message ?? frame);
      this.emit(KNOWN_FRAMES.has(type) ? type : "message", frame);
    });
    socket.addEventListener("close", () => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.setState("closed");
      if (!this.suspended) this.scheduleRetry();
    });
    // "error" is always followed by "close", where the retry is scheduled.
  }

  scheduleRetry() {
    const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    // Full jitter keeps a room of dashboards from reconnecting in lockstep after a hub restart.
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /** Close the socket on purpose (tests, hidden tab); `start()` opens it again. */
  suspend() {
    this.suspended = true;
    clearTimeout(this.retryTimer);
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close();
    }
    this.setState("closed");
  }

  /** Drop the socket as a network failure would; the normal retry path reconnects. */
  drop() {
    if (this.socket) this.socket.close();
  }

  onVisibility() {
    clearTimeout(this.hiddenTimer);
    if (document.hidden) {
      this.hiddenTimer = setTimeout(() => this.suspend(), HIDDEN_SUSPEND_MS);
    } else if (this.suspended) {
      this.start();
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state, attempt: this.attempt });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
