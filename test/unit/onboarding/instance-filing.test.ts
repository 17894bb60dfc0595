/**
 * The resources by instance (onboarding/instance-filing.ts): whatever the cache and the cluster
 * view did, a lookup answers what comparing every resource of the host would, and on a host of
 * many resources it does not compare them all again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { InfluxOnboarding } from '../../../src/api/types.js';
import { InstanceFiling } from '../../../src/onboarding/instance-filing.js';
import type { Reach } from '../../../src/onboarding/instance.js';
import { resource } from '../../support/facts.js';

/**
 * A cache of resources whose URL is http://h<host>:<port>, and a cluster view that decides which
 * instance a port reaches: `alias` sends several ports to one instance, `refused` ports reach
 * none (a namespace that may not target them), and every change of either is a new version.
 */
class World {
  readonly cache = new Map<string, InfluxOnboarding>();
  alias = new Map<number, number>();
  refused = new Set<number>();
  version = 0;
  reachCalls = 0;
  getCalls = 0;
  private serial = 0;

  readonly filing = new InstanceFiling({
    onHost: (host) => [...this.cache.values()].filter((each) => hostOf(each) === host),
    get: (key) => {
      this.getCalls++;
      return this.cache.get(key);
    },
    keyOf: (each) => each.metadata.name,
    hostOf,
    reach: (each) => this.reach(each),
    version: () => this.version,
  });

  reach(each: InfluxOnboarding): Reach | undefined {
    this.reachCalls++;
    const { host, port } = parts(each);
    if (this.refused.has(port)) return undefined;
    return { key: `${host}:${this.alias.get(port) ?? port}`, url: each.spec.url, mode: 'Setup' };
  }

  /** Adds or replaces `name` (a new object at a new version, as the cache files it) and tells the filing. */
  put(name: string, url: string): void {
    const previous = this.cache.get(name);
    const current = resource({ name, spec: { url } });
    current.metadata.resourceVersion = String(++this.serial);
    this.cache.set(name, current);
    this.filing.changed(previous, current);
  }

  remove(name: string): void {
    const previous = this.cache.get(name);
    if (previous === undefined) return;
    this.cache.delete(name);
    this.filing.changed(previous, undefined);
  }

  /** What comparing every cached resource of these hosts answers. */
  scan(hosts: readonly string[], key: string): string[] {
    return [...this.cache.values()]
      .filter((each) => hosts.includes(hostOf(each) ?? '') && this.reach(each)?.key === key)
      .map((each) => each.metadata.name)
      .sort();
  }

  at(hosts: readonly string[], key: string): string[] {
    return this.filing
      .at(hosts, key)
      .map((each) => each.metadata.name)
      .sort();
  }
}

function parts(each: InfluxOnboarding): { host: string; port: number } {
  const url = new URL(each.spec.url);
  return { host: url.hostname, port: Number(url.port) };
}

function hostOf(each: InfluxOnboarding): string | undefined {
  return parts(each).host;
}

/** A small deterministic generator, so that a failure replays. */
function generator(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % below;
  };
}

test('every lookup answers what comparing every resource of the host answers, through adds, edits, deletions and view changes', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = generator(seed);
    const world = new World();
    // Host h0 has hundreds of resources (filed), h1 and h2 a few (compared one by one); ports 1-12.
    const urlOf = () => `http://h${random(10) < 8 ? 0 : 1 + random(2)}:${1 + random(12)}`;
    for (let index = 0; index < 300; index++) world.put(`r${index}`, urlOf());
    for (let step = 0; step < 2000; step++) {
      const choice = random(100);
      if (choice < 40) world.put(`r${random(400)}`, urlOf());
      else if (choice < 55) world.remove(`r${random(400)}`);
      else if (choice < 60) {
        world.alias.set(1 + random(12), 1 + random(12));
        world.version++;
      } else if (choice < 63) {
        const port = 1 + random(12);
        if (world.refused.has(port)) world.refused.delete(port);
        else world.refused.add(port);
        world.version++;
      } else {
        const hosts = random(3) === 0 ? ['h0', 'h1'] : [`h${random(3)}`];
        const key = `h${random(3)}:${1 + random(12)}`;
        assert.equal(
          world.at(hosts, key),
          world.scan(hosts, key),
          `seed ${seed}, step ${step}: ${hosts.join(',')} ${key}`,
        );
      }
    }
  }
});

test('a host of many resources is filed once: a lookup after a change reads the changed resource, not every resource of the host', () => {
  const world = new World();
  for (let index = 0; index < 1000; index++) world.put(`r${index}`, `http://h0:${index}`);
  assert.equal(world.at(['h0'], 'h0:7'), ['r7']);
  // The burst goes on: each new resource, then the duplicate check of it.
  world.reachCalls = 0;
  for (let index = 1000; index < 1100; index++) {
    world.put(`r${index}`, `http://h0:${index}`);
    assert.equal(world.at(['h0'], `h0:${index}`), [`r${index}`]);
  }
  assert.ok(world.reachCalls <= 300, `${world.reachCalls} reach calls for 100 changes and lookups on a host of 1,000`);
  // What left an instance is no longer filed under it (nothing is left behind to read back and drop).
  for (let index = 0; index < 50; index++) world.remove(`r${index}`);
  for (let index = 50; index < 100; index++) world.put(`r${index}`, `http://h1:${index}`);
  world.getCalls = 0;
  for (let index = 0; index < 100; index++) assert.equal(world.at(['h0'], `h0:${index}`), []);
  assert.is(world.getCalls, 0, 'no resource read for instances nobody reaches any more');
  // A change of the view files the host again, once.
  world.alias.set(205, 207);
  world.version++;
  world.reachCalls = 0;
  assert.equal(world.at(['h0'], 'h0:207'), ['r205', 'r207']);
  assert.equal(world.at(['h0'], 'h0:208'), ['r208']);
  assert.ok(world.reachCalls <= 1100 + 10, `${world.reachCalls} reach calls after a view change`);
});

test.run();
