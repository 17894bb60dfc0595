/**
 * admit(): which InfluxDB URLs the client may connect to, decided from the URL alone where it can
 * be, else for each address the host name resolves to. Pure: no lookups, no connections.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commaSeparated } from '../../../src/api/fields.js';
import {
  admit,
  parseAllowedTargets,
  reservation,
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

/** Entries as config gives them: `tenant=entry` reserves the entry for that tenant. */
function reserved(text: string): AllowedTarget[] {
  return commaSeparated(text).flatMap((entry) => {
    const [tenant, rest] = entry.includes('=') ? entry.split('=') : [undefined, entry];
    return targets(rest ?? '').map((target) => ({ ...target, ...(tenant !== undefined && { tenant }) }));
  });
}

test('a reserved entry admits its tenant only, and turns every other tenant away from what it matches, whatever else admits it', () => {
  const list = reserved(
    '*.example.com, team-a=influx.example.com:8086, 10.0.0.0/8, team-a=10.1.0.0/16, team-c=10.1.2.0/24',
  );
  const cases: Array<[string, string | undefined, string]> = [
    ['http://influx.example.com:8086', 'team-a', 'check'],
    ['http://INFLUX.example.com.:8086', 'team-b', 'not-permitted'],
    ['http://influx.example.com:8086', undefined, 'not-permitted'],
    ['http://influx.example.com:9999', 'team-b', 'check'],
    ['http://other.example.com:8086', 'team-b', 'check'],
    ['http://10.1.9.9:8086', 'team-a', 'allowed'],
    ['http://10.1.9.9:8086', 'team-b', 'not-permitted'],
    ['http://10.2.0.1:8086', 'team-b', 'allowed'],
    // Nested reservations: the address is reserved for both; either may use it.
    ['http://10.1.2.3:8086', 'team-c', 'allowed'],
    ['http://10.1.2.3:8086', 'team-a', 'allowed'],
    ['http://[::ffff:10.1.2.3]:8086', 'team-b', 'not-permitted'],
  ];
  for (const [url, tenant, expected] of cases)
    assert.is(verdict(url, { allowedTargets: list, ...(tenant && { tenant }) }), expected, `${url} for ${tenant}`);

  const refused = admit(new URL('http://influx.example.com:8086'), { allowedTargets: list, tenant: 'team-b' });
  assert.equal(refused, {
    kind: 'refused',
    refusal: { reason: 'not-permitted', message: 'influx.example.com:8086 is reserved for team-a', owners: ['team-a'] },
  });
  const byName = admit(new URL('http://db.example.com:8086'), { allowedTargets: list, tenant: 'team-b' });
  assert.ok(byName.kind === 'allowed' && byName.checkResolved !== undefined);
  if (byName.kind !== 'allowed' || byName.checkResolved === undefined) return;
  assert.equal(byName.checkResolved('10.1.2.3'), {
    reason: 'not-permitted',
    message: 'db.example.com resolves to 10.1.2.3, which is reserved for team-a, team-c',
    owners: ['team-a', 'team-c'],
  });
  assert.is(byName.checkResolved('10.3.0.1'), undefined);
});

test('only reserved entries: the list still restricts', () => {
  const only = reserved('team-a=influx.example.com');
  assert.is(verdict('http://influx.example.com', { allowedTargets: only, tenant: 'team-a' }), 'check');
  assert.is(verdict('http://other.example.com', { allowedTargets: only, tenant: 'team-a' }), 'not-allowed');
  assert.is(verdict('http://influx.example.com', { allowedTargets: only, tenant: 'team-b' }), 'not-permitted');
  // Nothing admits team-b at all: refused without a lookup. team-a's names are checked where they resolve.
  const networkOnly = reserved('team-a=10.0.0.0/8');
  assert.is(verdict('http://db.example.com:8086', { allowedTargets: networkOnly, tenant: 'team-b' }), 'not-allowed');
  const admitted = admit(new URL('http://db.example.com:8086'), { allowedTargets: networkOnly, tenant: 'team-a' });
  assert.ok(admitted.kind === 'allowed' && admitted.checkResolved?.('10.0.0.1') === undefined);
  if (admitted.kind === 'allowed') assert.is(admitted.checkResolved?.('192.168.0.1')?.reason, 'not-allowed');
});

test('an alias (the name looked up instead of the host) is matched by host patterns too', () => {
  const inCluster = policy('*.svc.cluster.local');
  const admission = admit(new URL('http://influxdb:8086'), inCluster, 'influxdb.team-a.svc.cluster.local.');
  assert.is(admission.kind, 'allowed');
  assert.is(admit(new URL('http://influxdb:8086'), inCluster).kind, 'refused');
});

test('reservation(): the tenants a URL is reserved for, by its name (or alias) or its literal address, on its port', () => {
  const list = reserved('team-a=influx.example.com:8086, team-b=*.example.com, team-a=10.0.0.0/8, 10.0.0.0/8');
  assert.equal(reservation(new URL('http://influx.example.com:8086'), list), ['team-a', 'team-b']);
  assert.equal(reservation(new URL('http://influx.example.com:9999'), list), ['team-b']);
  assert.equal(reservation(new URL('http://other.test'), list), []);
  assert.equal(reservation(new URL('http://x:8086'), list, 'x.example.com.'), ['team-b']);
  assert.equal(reservation(new URL('http://10.9.9.9'), list), ['team-a'], 'a literal by the networks holding it');
  assert.equal(reservation(new URL('http://10.9.9.9'), reserved('*.example.com')), [], 'a literal is never a name');
});

test.run();
