// The network of the test cluster as an operator Pod would see it: real Services and EndpointSlices
// on the real API server (their ClusterIPs allocated by it), and, through cluster-dns.ts preloaded
// into the operator process, DNS answering their names as CoreDNS would and kube-proxy carrying
// their ClusterIPs and Pod addresses to the loopback servers standing in for them.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { adminKubeConfig } from './cluster.js';
import type { NetworkRecords } from './cluster-dns.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** The port InfluxDB listens on in its Pod (the Services' targetPort). */
const POD_PORT = 8086;

export interface PublishedService {
  clusterIP: string;
  /** The address of its one Pod. */
  podIP: string;
}

let podSubnet = 1 + Math.floor(Math.random() * 250);

export class ClusterNetwork {
  private readonly dir = mkdtempSync(join(tmpdir(), 'cluster-network-'));
  readonly file = join(this.dir, 'records.json');
  private readonly records: NetworkRecords;
  private nextPod = 1;
  // One /24 of Pod addresses per network, so two test files never share one.
  private readonly subnet = podSubnet++ % 250;

  constructor(podNamespace: string, clusterDomain = 'cluster.local') {
    this.records = { podNamespace, clusterDomain, names: {}, aliases: {}, forwards: {} };
    this.save();
  }

  /** The operator process: this repository's main.ts with the cluster's DNS and kube-proxy preloaded. */
  operatorCommand(): [string, ...string[]] {
    return [
      process.execPath,
      '--import',
      'tsx',
      '--import',
      join(root, 'test/support/cluster-dns.ts'),
      join(root, 'src/main.ts'),
    ];
  }

  /** The environment the operator process needs: the records, and its Pod's namespace. */
  get env(): Record<string, string> {
    return { CLUSTER_NETWORK_FILE: this.file, POD_NAMESPACE: this.records.podNamespace };
  }

  /**
   * A Service with one Pod behind it, served by `backend` (http://127.0.0.1:<port>): the Service
   * (ClusterIP, each of `ports` to the Pod's 8086), an EndpointSlice naming the Pod, its DNS name
   * and kube-proxy's forwarding of both addresses.
   */
  async service(
    namespace: string,
    name: string,
    backend: string,
    options: { ports?: number[]; annotations?: Record<string, string> } = {},
  ): Promise<PublishedService> {
    const kubeConfig = await adminKubeConfig();
    const ports = options.ports ?? [POD_PORT];
    const service = await kubeConfig.makeApiClient(CoreV1Api).createNamespacedService({
      namespace,
      body: {
        metadata: { name, namespace, ...(options.annotations && { annotations: options.annotations }) },
        spec: {
          type: 'ClusterIP',
          ports: ports.map((port) => ({ name: `port-${port}`, port, targetPort: POD_PORT, protocol: 'TCP' })),
        },
      },
    });
    const clusterIP = service.spec?.clusterIP;
    if (clusterIP === undefined) throw new Error(`Service ${namespace}/${name} got no ClusterIP`);
    const podIP = `10.244.${this.subnet}.${this.nextPod++}`;
    await kubeConfig.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
      namespace,
      body: {
        metadata: {
          name: `${name}-pods`,
          namespace,
          labels: { 'kubernetes.io/service-name': name },
        },
        addressType: 'IPv4',
        endpoints: [
          {
            addresses: [podIP],
            conditions: { ready: true },
            targetRef: { kind: 'Pod', namespace, name: `${name}-0` },
          },
        ],
        ports: ports.map((port) => ({ name: `port-${port}`, port: POD_PORT, protocol: 'TCP' })),
      },
    });
    const target = new URL(backend).host;
    this.records.names[this.fqdn(namespace, name)] = [clusterIP];
    for (const port of ports) this.records.forwards[`${clusterIP}:${port}`] = target;
    this.records.forwards[`${podIP}:${POD_PORT}`] = target;
    this.save();
    return { clusterIP, podIP };
  }

  /** An ExternalName Service and the CNAME CoreDNS answers for it. */
  async externalName(namespace: string, name: string, target: string): Promise<void> {
    const kubeConfig = await adminKubeConfig();
    await kubeConfig.makeApiClient(CoreV1Api).createNamespacedService({
      namespace,
      body: { metadata: { name, namespace }, spec: { type: 'ExternalName', externalName: target } },
    });
    this.records.aliases[this.fqdn(namespace, name)] = target;
    this.save();
  }

  /** A name outside the cluster (an attacker's domain, say) resolving to these addresses. */
  name(name: string, addresses: string[]): void {
    this.records.names[name.toLowerCase()] = addresses;
    this.save();
  }

  /** kube-proxy-like forwarding of any address:port to a loopback server (an "external" address). */
  forward(address: string, port: number, backend: string): void {
    this.records.forwards[`${address}:${port}`] = new URL(backend).host;
    this.save();
  }

  fqdn(namespace: string, name: string): string {
    return `${name}.${namespace}.svc.${this.records.clusterDomain}`;
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private save(): void {
    // Written whole and renamed: the operator reads it at any moment.
    writeFileSync(`${this.file}.partial`, JSON.stringify(this.records));
    renameSync(`${this.file}.partial`, this.file);
  }
}
