import type { InfluxOnboarding } from '../api/types.js';
import { specAtInstance, type Reach } from './instance.js';

/** What the filing reads: the cached resources, the host each one's URL names, where each leads, the cluster view's version. */
export interface FilingSources {
  /** The cached resources whose URL names `host` (a target key: the cache's targets index). */
  onHost(host: string): readonly InfluxOnboarding[];
  /** The cached resource of a key (`namespace/name`), if any. */
  get(key: string): InfluxOnboarding | undefined;
  keyOf(resource: InfluxOnboarding): string;
  /** The target key a resource is filed under in the targets index, if any. */
  hostOf(resource: InfluxOnboarding): string | undefined;
  /** Where a resource leads under the current view (instance.ts' rememberedReach). */
  reach(resource: InfluxOnboarding): Reach | undefined;
  /** The cluster view's version: a resource's instance holds while it stays. */
  version(): number;
}

/**
 * The resources of one host by the instance they reach, as of one version of the cluster view:
 * instance key -> the key of the one resource that reaches it, or a Set of the keys of several
 * (most instances have one resource: a Set each would double the filing's memory).
 */
interface HostFiling {
  version: number;
  byInstance: Map<string, string | Set<string>>;
}

/**
 * Up to this many resources on one host are compared one by one at each lookup; past it the
 * host's resources are filed by instance and kept filed as the cache changes.
 */
const SCANNED_HOST = 64;

/**
 * The cached InfluxOnboardings that reach one instance, for the duplicate check and the wake of
 * the resources waiting behind one. Comparing every resource whose URL names the same host in each
 * reconcile costs N per reconcile and N²/2 for a burst of N on one host (instances behind one
 * address on several ports, one external host, the benchmark's stand-ins). A host with more than
 * SCANNED_HOST resources is filed once by instance key and kept filed by the cache's changes; a
 * change of the cluster view (consent, addresses, endpoints), which can move any resource of a
 * host to another instance, has its hosts filed again at their next lookup. Hosts with few
 * resources are compared one by one: a filing per host would cost more memory than it saves.
 */
export class InstanceFiling {
  private readonly hosts = new Map<string, HostFiling>();

  constructor(private readonly sources: FilingSources) {}

  /** The cached resources that reach instance `key`, among those whose URL names one of `hosts` (its spellings). */
  at(hosts: readonly string[], key: string): InfluxOnboarding[] {
    const found = new Map<string, InfluxOnboarding>();
    for (const host of new Set(hosts)) {
      for (const resource of this.onHostAt(host, key)) found.set(this.sources.keyOf(resource), resource);
    }
    return [...found.values()];
  }

  /** A cached resource was added (previous undefined), replaced, or deleted (current undefined). */
  changed(previous: InfluxOnboarding | undefined, current: InfluxOnboarding | undefined): void {
    // No host filed: nothing to keep (every host with few resources, or no lookup yet).
    if (this.hosts.size === 0) return;
    const resource = current ?? previous;
    if (resource === undefined) return;
    const key = this.sources.keyOf(resource);
    const before = previous === undefined ? undefined : this.sources.hostOf(previous);
    if (before !== undefined && previous !== undefined) this.unfile(before, key, previous);
    const after = current === undefined ? undefined : this.sources.hostOf(current);
    if (after !== undefined && current !== undefined) this.file(after, key, current);
  }

  private onHostAt(host: string, key: string): InfluxOnboarding[] {
    let filing = this.current(host);
    if (filing === undefined) {
      const resources = this.sources.onHost(host);
      if (resources.length <= SCANNED_HOST) return resources.filter((resource) => this.reaches(resource, key));
      filing = this.fileHost(resources);
      this.hosts.set(host, filing);
    }
    const filed = filing.byInstance.get(key);
    const keys = filed === undefined ? [] : typeof filed === 'string' ? [filed] : [...filed];
    // Read back through reach, as a scan would: the cache may hold a copy of a filed resource at the same version.
    return keys.flatMap((resourceKey) => {
      const resource = this.sources.get(resourceKey);
      return resource !== undefined && this.reaches(resource, key) ? [resource] : [];
    });
  }

  /** The host's filing when it is of the current view; a filing of an older view is dropped. */
  private current(host: string): HostFiling | undefined {
    const filing = this.hosts.get(host);
    if (filing === undefined || filing.version === this.sources.version()) return filing;
    this.hosts.delete(host);
    return undefined;
  }

  private fileHost(resources: readonly InfluxOnboarding[]): HostFiling {
    const filing: HostFiling = { version: this.sources.version(), byInstance: new Map() };
    for (const resource of resources) this.fileIn(filing, this.sources.keyOf(resource), resource);
    return filing;
  }

  private file(host: string, key: string, resource: InfluxOnboarding): void {
    const filing = this.current(host);
    if (filing !== undefined) this.fileIn(filing, key, resource);
  }

  private fileIn(filing: HostFiling, key: string, resource: InfluxOnboarding): void {
    const instance = this.sources.reach(resource)?.key;
    if (instance === undefined) return;
    const filed = filing.byInstance.get(instance);
    if (filed === undefined || filed === key) filing.byInstance.set(instance, key);
    else if (typeof filed === 'string') filing.byInstance.set(instance, new Set([filed, key]));
    else filed.add(key);
  }

  /**
   * Takes the resource out of the instance it was filed under: where `previous` (the object the
   * cache held) leads, as it led when filed, the filing being of the same view.
   */
  private unfile(host: string, key: string, previous: InfluxOnboarding): void {
    const filing = this.current(host);
    const instance = filing === undefined ? undefined : this.sources.reach(previous)?.key;
    if (filing === undefined || instance === undefined) return;
    const filed = filing.byInstance.get(instance);
    if (filed === key) filing.byInstance.delete(instance);
    else if (typeof filed !== 'string' && filed !== undefined) {
      filed.delete(key);
      const [only] = filed;
      if (filed.size === 1 && only !== undefined) filing.byInstance.set(instance, only);
    }
  }

  private reaches(resource: InfluxOnboarding, key: string): boolean {
    return specAtInstance(resource, key, (candidate) => this.sources.reach(candidate)) !== undefined;
  }
}
