/**
 * The soak's influxd restart: an instance whose data influxd refuses to start on after a setup cut
 * in the middle (soak, seed 42: "Incompatible InfluxDB 2.0 metadata found") is wiped, as whoever
 * runs it would; any other failure to start is the fault's failure, never hidden by a wipe.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { InfluxServer } from '../../support/influxdb.js';
import { restartInstance } from '../../support/soak/faults.js';

function instance(lastLog: string): { server: InfluxServer; wipes: number[]; steps: string[]; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'soak-faults-'));
  const log = join(dir, 'influxd-2.log');
  writeFileSync(log, lastLog);
  const steps: string[] = [];
  const server = {
    restart: async () => {
      steps.push('restart');
      throw new Error('influxd v2.9.1 exited at start (exit code 1)');
    },
    wipe: async () => void steps.push('wipe'),
    logFiles: () => [join(dir, 'influxd-1.log'), log],
  } as unknown as InfluxServer;
  return { server, wipes: [], steps, dir };
}

test('influxd that refuses its data after a setup cut is wiped, and the wipe counted as one', async () => {
  const cut = instance(
    'lvl=error msg="Missing metadata for bucket." bucket=_tasks\nlvl=error msg="Incompatible InfluxDB 2.0 metadata found. File must be moved before influxd will start."\n',
  );
  try {
    const done = await restartInstance(cut, 'i2');
    assert.equal(cut.steps, ['restart', 'wipe']);
    assert.is(cut.wipes.length, 1, 'a new incarnation');
    assert.match(done, 'refused to start on its data');
  } finally {
    rmSync(cut.dir, { recursive: true, force: true });
  }
});

test('any other failure to start fails the fault: nothing wiped', async () => {
  const other = instance('lvl=error msg="listen tcp 127.0.0.1:8086: bind: address already in use"\n');
  try {
    await restartInstance(other, 'i2').then(
      () => assert.unreachable('the restart failed'),
      (error: unknown) => assert.match(String(error), 'exited at start'),
    );
    assert.equal(other.steps, ['restart']);
    assert.equal(other.wipes, []);
  } finally {
    rmSync(other.dir, { recursive: true, force: true });
  }
});

test.run();
