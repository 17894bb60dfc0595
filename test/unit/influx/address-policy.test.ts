/**
 * admit(): which InfluxDB URLs the client may connect to, decided from the URL alone where it can
 * be, else for each address the host name resolves to. Pure: no lookups, no connections.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commaSeparated } from '../../../src/api/spec.js';
import {
  admit,
  parseAllowedTargets,
  type AddressPolicy,
  type AllowedTarget,
} from '../../../src/influx/address-policy.js';

function targets(text: string): AllowedTarget[] {
  const parsed = parseAllowedTargets(commaSeparated(text));
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.targets;
}

function policy(allowList: string, allowLinkLocal = false): AddressPolicy {
  return { allowLinkLocal, allowedTargets: targets(allowList) };
}

/** 'allowed', 'check' (allowed, each resolved address checked) or the refusal reason. */
function verdict(url: string, given: AddressPolicy): string {
  const admission = admit(new URL(url), given);
  if (admission.kind === 'refused') return admission.refusal.reason;
  return admission.checkResolved === undefined ? 'allowed' : 'check';
}

test('no allow-list: any name or address but link-local ones; names are checked when resolved', () => {
  const cases: Array<[string, string]> = [
    ['http://influxdb.data.svc:8086', 'check'],
    ['http://10.1.2.3:8086', 'allowed'],
    ['http://[fd00::1]:8086', 'allowed'],
    ['http://169.254.169.254:8086', 'link-local'],
    ['http://[fe80::1]:8086', 'link-local'],
    ['http://[::ffff:169.254.169.254]', 'link-local'],
  ];
  for (const [url, expected] of cases) assert.is(verdict(url, {}), expected, url);
  assert.is(verdict('http://169.254.169.254:8086', { allowLinkLocal: true }), 'allowed');
  assert.is(verdict('http://influxdb.data.svc:8086', { allowLinkLocal: true }), 'allowed', 'nothing left to check');
});

test("host patterns match the URL's host (exact or any depth below *.), case-insensitive, with the port when given", () => {
  const given = policy('*.monitoring.svc, influxdb.data:8086, Influx.Example');
  const cases: Array<[string, string]> = [
    ['http://influxdb.monitoring.svc:8086', 'check'],
    ['http://a.b.monitoring.svc', 'check'],
    ['http://INFLUXDB.MONITORING.SVC:8086', 'check'],
    ['http://influxdb.monitoring.svc.:8086', 'check'],
    ['http://monitoring.svc:8086', 'not-allowed'],
    ['http://evilmonitoring.svc:8086', 'not-allowed'],
    ['http://influxdb.data:8086', 'check'],
    ['http://influxdb.data:9999', 'not-allowed'],
    ['http://influxdb.data', 'not-allowed'],
    ['https://influx.example', 'check'],
    ['http://influx.example.attacker.test', 'not-allowed'],
    // A host pattern never lets a literal address in.
    ['http://10.1.2.3:8086', 'not-allowed'],
    ['http://169.254.169.254', 'link-local'],
  ];
  for (const [url, expected] of cases) assert.is(verdict(url, given), expected, url);
});

test('CIDRs match a literal address at once, and a name through every address it resolves to', () => {
  const given = policy('10.0.0.0/8, 192.168.1.7:8086, fd00::/8, [2001:db8::/32]:443');
  const literal: Array<[string, string]> = [
    ['http://10.200.0.1:8086', 'allowed'],
    ['http://11.0.0.1:8086', 'not-allowed'],
    ['http://192.168.1.7:8086', 'allowed'],
    ['http://192.168.1.7:80', 'not-allowed'],
    ['http://[fd00::5]:8086', 'allowed'],
    ['https://[2001:db8::1]', 'allowed'],
    ['http://[2001:db8::1]', 'not-allowed'],
    ['http://[::ffff:10.0.0.1]:8086', 'allowed'],
  ];
  for (const [url, expected] of literal) assert.is(verdict(url, given), expected, url);

  const admission = admit(new URL('http://influxdb.data.svc:8086'), given);
  assert.ok(admission.kind === 'allowed' && admission.checkResolved !== undefined, 'a name is decided at connect time');
  if (admission.kind !== 'allowed' || admission.checkResolved === undefined) return;
  assert.is(admission.checkResolved('10.3.2.1'), undefined);
  assert.is(admission.checkResolved('fd00::1'), undefined);
  const outside = admission.checkResolved('172.16.0.1');
  assert.is(outside?.reason, 'not-allowed');
  assert.match(outside?.message ?? '', 'influxdb.data.svc resolves to 172.16.0.1');
  // Port-bound entries apply to their port only.
  assert.is(admission.checkResolved('192.168.1.7'), undefined, 'listed for 8086');
  assert.is(admission.checkResolved('2001:db8::1')?.reason, 'not-allowed', 'listed for 443 only');
});

test('a name no entry could let in is refused before any lookup; link-local wins over an allow-list', () => {
  assert.is(verdict('http://influxdb.data.svc:8086', policy('*.monitoring.svc')), 'not-allowed');
  assert.is(
    verdict('http://influxdb.data.svc:8086', policy('10.0.0.0/8:443')),
    'not-allowed',
    'the only network is for another port',
  );

  const listed = policy('169.254.0.0/16, *.internal');
  assert.is(
    verdict('http://169.254.169.254', listed),
    'link-local',
    'an allow-list does not lift the link-local guard',
  );
  const admission = admit(new URL('http://metadata.internal'), listed);
  assert.ok(admission.kind === 'allowed' && admission.checkResolved !== undefined);
  if (admission.kind === 'allowed') assert.is(admission.checkResolved?.('169.254.169.254')?.reason, 'link-local');
  assert.is(verdict('http://169.254.169.254', policy('169.254.0.0/16', true)), 'allowed');
});

test('the refusal names what was refused and why', () => {
  const literal = admit(new URL('http://169.254.169.254:8086'), {});
  assert.ok(literal.kind === 'refused');
  if (literal.kind === 'refused') assert.match(literal.refusal.message, 'the address 169.254.169.254 is link-local');
  const name = admit(new URL('http://influxdb.data.svc:8086'), policy('*.monitoring.svc'));
  assert.ok(name.kind === 'refused');
  if (name.kind === 'refused')
    assert.is(name.refusal.message, 'influxdb.data.svc:8086 is not among the allowed targets');
});

test.run();
