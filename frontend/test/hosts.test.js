import assert from "node:assert/strict";
import { test } from "node:test";
import { HostDirectory, ONLINE_MS, STALE_MS } from "../src/hosts.js";

test("a host is online, then stale, then offline as its last point ages", () => {
  const d = new HostDirectory();
  const host = d.seen("web-1", 1_000_000);
  assert.equal(d.state(host, 1_000_000 + ONLINE_MS), "online");
  assert.equal(d.state(host, 1_000_000 + ONLINE_MS + 1), "stale");
  assert.equal(d.state(host, 1_000_000 + STALE_MS + 1), "offline");
});

test("before any live point the hub's word counts, within the stale window", () => {
  const d = new HostDirectory();
  const host = d.upsert("db-1", { last_seen: 1_000_000, online: true, labels: { env: "prod" } });
  assert.equal(d.state(host, 1_000_000 + ONLINE_MS + 5000), "online");
  assert.equal(d.state(host, 1_000_000 + STALE_MS + 1), "offline");
  assert.deepEqual(host.labels, { env: "prod" });
});

test("the title's count of hosts down counts offline hosts only", () => {
  const d = new HostDirectory();
  d.seen("a", 1);
  d.seen("b", 100_000);
  d.seen("c", 200_000);
  assert.equal(d.downCount(200_000 + ONLINE_MS + 1), 1); // a offline; b and c stale
  assert.equal(d.downCount(STALE_MS), 0); // a just stale; b and c fresh
  assert.equal(d.downCount(400_000), 3);
});
