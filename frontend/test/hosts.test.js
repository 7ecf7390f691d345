import assert from "node:assert/strict";
import { test } from "node:test";
import { HostDirectory } from "../src/hosts.js";

// The hub's answer to GET /api/v1/hosts with windows unlike the defaults (10 s online, 60 s stale):
// the page must take them from the hub, not keep its own.
const ONLINE_MS = 10_000;
const STALE_MS = 60_000;

async function loaded(hosts = []) {
  globalThis.document = { baseURI: "http://hub.test/" };
  globalThis.fetch = async (url) => {
    if (new URL(url).pathname !== "/api/v1/hosts") return new Response("", { status: 404 });
    const body = {
      hosts, clock_warn_s: 30, online_window_s: ONLINE_MS / 1000, stale_window_s: STALE_MS / 1000,
    };
    return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
  };
  const d = new HostDirectory();
  await d.refresh();
  return d;
}

test("a host is online, then stale, then offline as its last point ages, by the hub's windows", async () => {
  const d = await loaded();
  const host = d.seen("web-1", 1_000_000);
  assert.equal(d.state(host, 1_000_000 + ONLINE_MS), "online");
  assert.equal(d.state(host, 1_000_000 + ONLINE_MS + 1), "stale");
  assert.equal(d.state(host, 1_000_000 + STALE_MS), "stale");
  assert.equal(d.state(host, 1_000_000 + STALE_MS + 1), "offline");
});

test("before the host list loads, a host seen live is online", () => {
  const d = new HostDirectory();
  assert.equal(d.state(d.seen("web-1", 1_000_000), 1_000_000 + 5 * STALE_MS), "online");
});

test("before any live point the hub's word counts, within the stale window", async () => {
  const d = await loaded([{ name: "db-1", last_seen: 1_000_000, online: true, labels: { env: "prod" } }]);
  const host = d.hosts.get("db-1");
  assert.equal(d.state(host, 1_000_000 + ONLINE_MS + 5000), "online");
  assert.equal(d.state(host, 1_000_000 + STALE_MS + 1), "offline");
  assert.deepEqual(host.labels, { env: "prod" });
});

test("the title's count of hosts down counts offline hosts only", async () => {
  const d = await loaded();
  d.seen("a", 10_000);
  d.seen("b", 30_000);
  d.seen("c", 55_000);
  assert.equal(d.downCount(55_000 + ONLINE_MS + 1), 0); // a, b and c stale
  assert.equal(d.downCount(10_000 + STALE_MS + 1), 1); // a offline; b and c stale
  assert.equal(d.downCount(200_000), 3);
});
