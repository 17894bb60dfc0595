import type { CredentialsSecret, DesiredSecret, EscrowCopy, Reference } from '../api/credentials.js';
import type { InfluxOnboarding, InfluxOnboardingStatus, Reason, SecretKeySelector } from '../api/types.js';
import type { InfluxClient, InfluxTarget } from '../influx/index.js';
import type { Logger, SecretRegistry } from '../log.js';
import type { ResourceEvent, StatusWrite } from '../runtime/index.js';
import type { Instance, Reach } from './instance.js';

/** Everything the reconciler reads and writes, as thin adapters around Kubernetes and InfluxDB. */
export interface OnboardingPorts {
  /** The resource as the cache holds it now (the level, never an event's payload). */
  resource(namespace: string, name: string): InfluxOnboarding | undefined;
  /** Which instance spec.url reaches for a resource of `namespace`, and whether that namespace may onboard it (instance.ts). */
  instance(namespace: string, url: string): Instance;
  /** The cached resources that reach instance `key`, among those whose spec.url names one of its spellings (target keys): who competes for one instance. */
  atInstance(spellings: readonly string[], key: string): readonly InfluxOnboarding[];
  /** Where a cached resource's spec leads, when its namespace may target that instance (instance.ts' reachOf). */
  reach(resource: InfluxOnboarding): Reach | undefined;
  readSecret(owner: InfluxOnboarding, name: string): Promise<CredentialsSecret>;
  /** Writes over the Secret as observed (409 if it changed since); returns the Secret as it now is. */
  writeSecret(owner: InfluxOnboarding, desired: DesiredSecret, observed: CredentialsSecret): Promise<CredentialsSecret>;
  readReference(namespace: string, selector: SecretKeySelector): Promise<Reference>;
  patchStatus(resource: InfluxOnboarding, status: InfluxOnboardingStatus): Promise<StatusWrite>;
  /** Queues the event; it is sent in the background and never fails the reconcile. */
  recordEvent(resource: InfluxOnboarding, event: ResourceEvent): void;
  /**
   * The escrow (--escrow-namespace), absent when off: a copy of each resource's credentials outside
   * its namespace, written before its Secret and read when the Secret is gone; restorable into the
   * resource it was taken from, or into another only once approved.
   */
  escrow?: {
    read(owner: InfluxOnboarding): Promise<EscrowCopy | undefined>;
    write(owner: InfluxOnboarding, desired: DesiredSecret): Promise<void>;
  };
  influx(target: InfluxTarget): InfluxClient;
}

export interface OnboardingOptions {
  driftCheckIntervalMs: number;
  passwordCheckIntervalMs: number;
  /** Referenced credentials go only to URLs their Secret's allowed-urls annotation names. */
  requireSecretConsent: boolean;
  logger: Logger;
  /** Every credential handled is registered here so that no log line can carry it. */
  secrets: SecretRegistry;
  now?: () => Date;
  random?: () => number;
  /** Called with each resource's Ready reason (undefined once it is gone), for metrics. */
  onReason?: (key: string, reason: Reason | undefined) => void;
  /**
   * A first visit still running after this long shows Ready Unknown (Progressing) meanwhile; a
   * faster one goes straight to its outcome with one status write. Default 1 s.
   */
  progressingAfterMs?: number;
}
