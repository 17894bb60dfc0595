/**
 * instanceKey: URLs that name the same server share a key; what differs keeps apart.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { instanceKey } from '../../../src/api/instance-identity.js';

test('instanceKey: URLs that reach the same server share a key', () => {
  const groups: string[][] = [
    ['http://influxdb:8086', 'HTTP://InfluxDB:8086', 'http://influxdb:8086/', 'http://INFLUXDB:8086///'],
    ['http://influxdb', 'http://influxdb:80', 'http://influxdb:80/', 'HTTP://influxdb/'],
    ['https://influxdb', 'https://influxdb:443', 'https://InfluxDB:443/'],
    ['https://h.example.com/influx', 'https://h.example.com/influx/', 'https://H.EXAMPLE.COM:443/influx//'],
    ['http://[fd00::7]:8086', 'http://[FD00::7]:8086/', 'http://[fd00:0::7]:8086'],
  ];
  const keys = groups.map((group) => {
    const first = instanceKey(group[0]);
    for (const url of group) assert.is(instanceKey(url), first, `${url} ~ ${group[0]}`);
    return first;
  });
  assert.equal(keys, [
    'http://influxdb:8086',
    'http://influxdb',
    'https://influxdb',
    'https://h.example.com/influx',
    'http://[fd00::7]:8086',
  ]);
  assert.is(new Set(keys).size, keys.length, 'groups stay apart');
});

test('instanceKey: what differs keeps apart (scheme, port, path and its case)', () => {
  const distinct = [
    'http://influxdb:8086',
    'https://influxdb:8086',
    'http://influxdb:8087',
    'http://influxdb',
    'http://influxdb:8086/a',
    'http://influxdb:8086/A',
    'http://influxdb:8086/a/b',
    'http://influxdb.monitoring:8086',
  ];
  assert.is(new Set(distinct.map(instanceKey)).size, distinct.length);
});

test('instanceKey: never carries userinfo; throws on an unparsable URL (checkSpec rejects those first)', () => {
  assert.is(instanceKey('http://user:pw@influxdb:8086/'), 'http://influxdb:8086');
  assert.throws(() => instanceKey('not a url'));
});

test.run();
