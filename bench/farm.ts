// The InfluxDB stand-ins of the end-to-end benchmark: bench/standin-farm.ts in child processes, so
// that serving InfluxDB costs neither the operator nor the floor CPU. One process holds up to
// PER_PROCESS stand-ins, each on its own port of the process's own loopback address (127.0.0.1 for
// the first, 127.1.<k>.1 for the k-th after it): a process's file descriptors and one address's
// ports both run out near 20,000, and the scale series needs 50,000 instances at once. With
// `hostEach` every stand-in listens on a loopback address of its own (127.<10+k>.x.y in the k-th
// process): N instances are then N hosts, as N Services on a cluster are N names, instead of N
// ports of a few addresses (which the operator's duplicate check reads as one host each).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PER_PROCESS = 10_000;

export interface Farm {
  /** Replaces every stand-in with `count` fresh ones (each on an address of its own with hostEach); their URLs, in order. */
  start(count: number, options?: { hostEach?: boolean }): Promise<string[]>;
  /** Requests by endpoint (`GET /api/v2/buckets/{id}`) since the last start. */
  counts(): Promise<Record<string, number>>;
  /** Notes every stand-in's requests so far, for spread(). */
  mark(): Promise<void>;
  /** How many stand-ins got how many requests since mark(): `{ '1': 9998, '2': 2 }`. */
  spread(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

interface FarmProcess extends Omit<Farm, 'start'> {
  /** hostEach: the second octet of the process's own /16 for one address per stand-in. */
  start(count: number, hostEach?: number): Promise<string[]>;
}

/** The k-th process's /16 for stand-ins on addresses of their own: 127.10.0.0/16, 127.11.0.0/16, ... */
const OWN_ADDRESSES_FROM = 10;

async function startFarmProcess(latencyMs: number, host: string): Promise<FarmProcess> {
  const script = fileURLToPath(new URL('./standin-farm.ts', import.meta.url));
  const child: ChildProcess = spawn(
    process.execPath,
    // Ten thousand stand-ins with their recorded requests need more than the default young generation churns through cheaply.
    ['--max-old-space-size=4096', '--import', 'tsx', script, String(latencyMs), host],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  let exited: Error | undefined;
  const waiting = new Set<(error: Error) => void>();
  child.once('exit', (code) => {
    exited = new Error(`stand-in farm exited (${code})`);
    for (const reject of waiting) reject(exited);
  });
  const next = <T>(key: string): Promise<T> =>
    new Promise((resolve, reject) => {
      if (exited !== undefined) return reject(exited);
      const onMessage = (message: Record<string, unknown>): void => {
        if (!(key in message)) return;
        child.off('message', onMessage);
        waiting.delete(reject);
        resolve(message[key] as T);
      };
      child.on('message', onMessage);
      waiting.add(reject);
    });
  await next('ready');
  return {
    start: (count, hostEach) => {
      const urls = next<string[]>('urls');
      child.send({ start: count, ...(hostEach !== undefined && { hostEach }) });
      return urls;
    },
    counts: () => {
      const counts = next<Record<string, number>>('counts');
      child.send('counts');
      return counts;
    },
    mark: async () => {
      const marked = next<boolean>('marked');
      child.send('mark');
      await marked;
    },
    spread: () => {
      const spread = next<Record<string, number>>('spread');
      child.send('spread');
      return spread;
    },
    stop: async () => {
      if (exited !== undefined) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await gone;
    },
  };
}

export async function startFarm(latencyMs: number): Promise<Farm> {
  const processes: FarmProcess[] = [await startFarmProcess(latencyMs, '127.0.0.1')];
  return {
    async start(count, options) {
      while (processes.length * PER_PROCESS < count)
        processes.push(await startFarmProcess(latencyMs, `127.1.${processes.length}.1`));
      const shares = processes.map((_, index) => Math.max(0, Math.min(PER_PROCESS, count - index * PER_PROCESS)));
      const urls = await Promise.all(
        processes.map((farm, index) =>
          farm.start(shares[index] ?? 0, options?.hostEach ? OWN_ADDRESSES_FROM + index : undefined),
        ),
      );
      return urls.flat();
    },
    counts: async () => sum(await Promise.all(processes.map((farm) => farm.counts()))),
    async mark() {
      await Promise.all(processes.map((farm) => farm.mark()));
    },
    spread: async () => sum(await Promise.all(processes.map((farm) => farm.spread()))),
    async stop() {
      await Promise.all(processes.map((farm) => farm.stop()));
    },
  };
}

function sum(records: Array<Record<string, number>>): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const record of records) for (const [key, value] of Object.entries(record)) sums[key] = (sums[key] ?? 0) + value;
  return sums;
}
