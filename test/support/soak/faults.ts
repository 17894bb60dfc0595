// Injects the soak's faults and heals them: each runs for its planned seconds, then everything it
// broke is put back (a killed process started again, a cut path opened). Network faults are made
// in the taps and proxies the soak owns; nothing touches the host's network.
import { readFileSync } from 'node:fs';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { LEASE_SECONDS, type ReplicaHandle, type SoakInstance, type SoakWorld } from './world.js';
import { holds, type REPLICAS, SYSTEM_NAMESPACE, type Fault } from './plan.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What influxd logs when it refuses to start on BoltDB buckets whose storage metadata is missing. */
const UNSTARTABLE = 'Incompatible InfluxDB 2.0 metadata found';

/**
 * Restarts an instance's influxd. A stop in the middle of a setup can leave data influxd refuses
 * to start on (the org's system buckets in BoltDB, their storage metadata not yet written: "Incompatible
 * InfluxDB 2.0 metadata found"; soak seed 42). Whoever runs the instance wipes it then (it was
 * fresh before that setup, docs/setup-interrupted.md), and so does the soak, as a wipe.
 */
export async function restartInstance(instance: Pick<SoakInstance, 'server' | 'wipes'>, id: string): Promise<string> {
  try {
    await instance.server.restart();
    return `influxd ${id} restarted`;
  } catch (error) {
    const log = instance.server.logFiles().at(-1);
    if (log === undefined || !readFileSync(log, 'utf8').includes(UNSTARTABLE)) throw error;
    instance.wipes.push(Date.now());
    await instance.server.wipe();
    return `influxd ${id} refused to start on its data (${UNSTARTABLE}: a setup cut in the middle), wiped`;
  }
}

export class Faults {
  private readonly leases: CoordinationV1Api;
  /** When the last fault on each thing a fault holds (a replica, an instance, the control plane) healed. */
  private readonly healed = new Map<string, Promise<void>>();

  constructor(
    private readonly world: SoakWorld,
    private readonly beforeStop: () => void,
  ) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(world.controlPlane.kubeconfigPath);
    this.leases = kubeConfig.makeApiClient(CoordinationV1Api);
  }

  private replica(name: string): ReplicaHandle {
    const replica = this.world.replicas.get(name as (typeof REPLICAS)[number]);
    if (replica === undefined) throw new Error(`no replica ${name}`);
    return replica;
  }

  /** The replica whose process holds the Lease now, if the API server says. */
  private async leader(): Promise<ReplicaHandle | undefined> {
    const lease = await this.leases
      .readNamespacedLease({ namespace: SYSTEM_NAMESPACE, name: 'soak-operator' })
      .catch(() => undefined);
    const holder = lease?.spec?.holderIdentity ?? '';
    return [...this.world.replicas.values()].find((replica) => replica.current?.name === holder);
  }

  /**
   * Carries out one fault from injection to heal, once every earlier fault on what it holds has
   * healed (a restart can take longer than planned: a second kill must not hit a process that is
   * still starting); `started` is called as it begins. Returns what was done (for the history).
   */
  inTurn(fault: Fault, started: () => void): Promise<string> {
    const held = holds(fault);
    const earlier = held.map((what) => this.healed.get(what) ?? Promise.resolve());
    const running = Promise.all(earlier).then(() => {
      started();
      return this.run(fault);
    });
    const done = running.then(
      () => undefined,
      () => undefined,
    );
    for (const what of held) this.healed.set(what, done);
    return running;
  }

  /** Carries out one fault from injection to heal; returns what was done (for the history). */
  private async run(fault: Fault): Promise<string> {
    const ms = fault.seconds * 1000;
    switch (fault.kind) {
      case 'replica-sigkill':
      case 'replica-sigterm': {
        const replica = this.replica(fault.target);
        const operator = replica.current;
        if (operator === undefined) return 'skipped: not running';
        this.beforeStop();
        replica.current = undefined;
        const how = fault.kind === 'replica-sigkill' ? await operator.kill() : await operator.terminate();
        await sleep(ms);
        const started = await replica.start();
        return `${operator.name} ended (${how}); ${started.name} started`;
      }
      case 'replica-partition': {
        const { tap } = this.replica(fault.target);
        tap.refuse(true);
        tap.cutAll();
        await sleep(ms);
        tap.refuse(false);
        return `${fault.target} cut from the API server for ${fault.seconds} s`;
      }
      case 'leader-pause': {
        const leader = await this.leader();
        const operator = leader?.current;
        if (operator === undefined) return 'skipped: no leader running';
        process.kill(operator.pid, 'SIGSTOP');
        await sleep(ms);
        process.kill(operator.pid, 'SIGCONT');
        return `${operator.name} paused ${fault.seconds} s (lease ${LEASE_SECONDS} s)`;
      }
      case 'apiserver-sigkill':
      case 'etcd-sigkill': {
        const component = fault.kind === 'etcd-sigkill' ? 'etcd' : 'kube-apiserver';
        await this.world.controlPlane.kill(component);
        await sleep(ms);
        await this.world.controlPlane.start(component);
        return `${component} down ${fault.seconds} s, started again`;
      }
      case 'api-cut':
        return `${this.replica(fault.target).tap.cutAll()} API connections of ${fault.target} cut`;
      case 'api-blackhole': {
        const { tap } = this.replica(fault.target);
        tap.blackhole(true);
        await sleep(ms);
        tap.blackhole(false);
        return `${fault.target}'s API path a black hole for ${fault.seconds} s`;
      }
      case 'influxd-restart': {
        const instance = this.world.instances.get(fault.target);
        return instance === undefined ? 'skipped' : restartInstance(instance, fault.target);
      }
      case 'influxd-wipe': {
        const instance = this.world.instances.get(fault.target);
        if (instance === undefined) return 'skipped';
        instance.wipes.push(Date.now());
        await instance.server.wipe();
        return `influxd ${fault.target} wiped`;
      }
      case 'influx-cut': {
        const proxies = Object.values(this.world.instances.get(fault.target)?.proxies ?? {});
        return `${proxies.reduce((sum, proxy) => sum + proxy.cutAll(), 0)} connections to ${fault.target} cut`;
      }
      case 'influx-blackhole': {
        const proxies = Object.values(this.world.instances.get(fault.target)?.proxies ?? {});
        for (const proxy of proxies) proxy.blackhole(true);
        await sleep(ms);
        for (const proxy of proxies) proxy.blackhole(false);
        return `the path to ${fault.target} a black hole for ${fault.seconds} s`;
      }
      case 'influx-drop-answer': {
        const proxies = Object.values(this.world.instances.get(fault.target)?.proxies ?? {});
        // Which write loses its answer follows from the schedule (its second), not from chance now.
        const method = ['POST', 'PATCH', 'DELETE'][Math.round(fault.at * 10) % 3] ?? 'POST';
        for (const proxy of proxies) proxy.disturbNext('dropAnswer', { method });
        await sleep(ms);
        for (const proxy of proxies) proxy.calm();
        return `the answer to the next ${method} to ${fault.target} dropped (armed ${fault.seconds} s)`;
      }
    }
  }
}
