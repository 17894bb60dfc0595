import { createHash } from 'node:crypto';
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import {
  EMPTY_RECORD,
  applyRecordChanges,
  recordData,
  recordFromData,
  type AccessRecord,
  type RecordApplied,
  type RecordChange,
  type RecordKey,
} from '../api/access-records.js';
import type { OnboardingKey } from '../api/access-spec.js';
import { GROUP, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/types.js';
import { apiStatus, kubeCall } from './errors.js';

/** On every record ConfigMap: a digest of the onboarding (namespace/name), by which the sweep lists an onboarding's records. */
export const RECORD_OF_LABEL = `${GROUP}/access-record-of`;
const ONBOARDING_ANNOTATION = `${GROUP}/onboarding`;
const NAMESPACE_ANNOTATION = `${GROUP}/namespace`;
/** Changes that lost a race with another writer are tried again this often before the reconcile fails. */
const ATTEMPTS = 4;

function digest(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

function onboardingName(onboarding: OnboardingKey): string {
  return `${onboarding.namespace}/${onboarding.name}`;
}

/** The label value every record of the onboarding carries. */
export function recordsOf(onboarding: OnboardingKey): string {
  return digest(onboardingName(onboarding), 40);
}

/** A hash: the onboarding's namespace and name and the tenant's namespace together may exceed any name limit. */
export function recordName(key: RecordKey): string {
  return `influx-access-${digest(`${onboardingName(key.onboarding)}/${key.namespace}`, 32)}`;
}

/** The record a ConfigMap holds (none: the empty record). */
export function recordFrom(configMap: V1ConfigMap | undefined): AccessRecord {
  return configMap === undefined ? EMPTY_RECORD : recordFromData(configMap.data ?? {});
}

interface Held {
  record: AccessRecord;
  /** Undefined: no ConfigMap yet. */
  resourceVersion?: string;
  readAt: number;
}

export interface AccessRecordsOptions {
  /** Where the records live: the operator's own namespace. */
  namespaceOf(onboarding: OnboardingKey): string;
  /** How long a record read (or written) is used before it is read again. */
  maxAgeMs: number;
  now?: () => number;
}

/** A change waiting for its record's next write, and whoever waits for its outcome. */
interface Waiting {
  change: RecordChange;
  resolve: (applied: RecordApplied) => void;
  reject: (error: Error) => void;
}

/**
 * The records (src/api/access-records.ts) as ConfigMaps: one per onboarding and namespace, in the
 * operator's own namespace, where a tenant's `edit` role cannot write. Only the leading operator
 * writes them, so the copy it read or wrote last stays true while it leads: every copy is dropped
 * when it becomes leader again (`newTerm`: another replica may have led and written meanwhile).
 * A copy is read again after `maxAgeMs` and whenever a write finds another version (someone else
 * wrote: an administrator). Writes replace exactly the version read. Reads cost one GET per record
 * per `maxAgeMs`, not one per reconcile, and memory holds only the records of namespaces reconciled
 * lately.
 */
export class AccessRecords {
  private readonly held = new Map<string, Held>();
  /** By record name: the changes that came while that record was being written; they go in its next write together. */
  private readonly waiting = new Map<string, { key: RecordKey; changes: Waiting[] }>();
  private readonly writing = new Set<string>();
  /** By onboarding (namespace/name): the changes asked of its records by this process, ever (see changesOf). */
  private readonly changeCounts = new Map<string, number>();
  private readonly now: () => number;
  private prunedAt = 0;
  /** Counts the terms: an answer to a read or write sent in an earlier one is not held. */
  private term = 0;

  constructor(
    private readonly core: CoreV1Api,
    private readonly options: AccessRecordsOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Drops every copy held: this process has just become leader, and the records may have been
   * written by another replica since it read them. Reads and writes still under way keep their
   * answers to themselves.
   */
  newTerm(): void {
    this.term++;
    this.held.clear();
  }

  async read(key: RecordKey): Promise<AccessRecord> {
    return (await this.current(key, false)).record;
  }

  /**
   * Applies a change, again over a fresh read whenever another writer got there first. Changes to
   * one record are written one write at a time: those that come while it is written wait and go
   * in the next write together, in the order they came (a group commit). A burst of N new tokens
   * in one namespace then costs a few writes of the record, not N writes of a record growing to N
   * entries that mostly lose to each other's versions.
   */
  change(key: RecordKey, change: RecordChange): Promise<RecordApplied> {
    const onboarding = onboardingName(key.onboarding);
    this.changeCounts.set(onboarding, (this.changeCounts.get(onboarding) ?? 0) + 1);
    const name = recordName(key);
    return new Promise((resolve, reject) => {
      const batch = this.waiting.get(name) ?? { key, changes: [] };
      batch.changes.push({ change, resolve, reject });
      this.waiting.set(name, batch);
      this.writeNext(name);
    });
  }

  /** Starts the record's next write with every change waiting for it, unless one is being written. */
  private writeNext(name: string): void {
    const batch = this.waiting.get(name);
    if (batch === undefined || this.writing.has(name)) return;
    this.waiting.delete(name);
    this.writing.add(name);
    void this.commit(batch.key, batch.changes).finally(() => {
      this.writing.delete(name);
      this.writeNext(name);
    });
  }

  /**
   * Applies the changes one after another, as if each were written alone, and writes the result
   * once: each caller learns its own outcome (a refusal, or the record as written).
   */
  private async commit(key: RecordKey, changes: readonly Waiting[]): Promise<void> {
    try {
      for (let attempt = 1; ; attempt++) {
        const held = await this.current(key, attempt > 1);
        const { record, outcomes } = applyRecordChanges(
          held.record,
          changes.map((waiting) => waiting.change),
        );
        const written = record === held.record || (await this.write(key, held, record));
        if (written) {
          changes.forEach((waiting, index) => waiting.resolve(outcomes[index] ?? { ok: true, record, changed: false }));
          return;
        }
        if (attempt >= ATTEMPTS)
          throw new Error(`record ${recordName(key)} kept changing under ${ATTEMPTS} attempts to write it`);
      }
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const waiting of changes) waiting.reject(failure);
    }
  }

  /**
   * How many changes of the onboarding's records this process has asked for, counted before each
   * is written and never reset (not even by a new term): while the count stays the same, no record
   * of the onboarding was written by this process, so the sweep knows that one it found without
   * records still has none (only the leader writes them).
   */
  changesOf(onboarding: OnboardingKey): number {
    return this.changeCounts.get(onboardingName(onboarding)) ?? 0;
  }

  /** Every record of the onboarding, read now from the API server (the sweep decides from nothing older). */
  async list(onboarding: OnboardingKey): Promise<Array<{ namespace: string; record: AccessRecord }>> {
    const namespace = this.options.namespaceOf(onboarding);
    const list = await kubeCall(`list records of ${onboardingName(onboarding)} in ${namespace}`, () =>
      this.core.listNamespacedConfigMap({ namespace, labelSelector: `${RECORD_OF_LABEL}=${recordsOf(onboarding)}` }),
    );
    return list.items.flatMap((configMap) => {
      const annotations = configMap.metadata?.annotations ?? {};
      const tenant = annotations[NAMESPACE_ANNOTATION];
      if (annotations[ONBOARDING_ANNOTATION] !== onboardingName(onboarding) || tenant === undefined) return [];
      return [{ namespace: tenant, record: recordFrom(configMap) }];
    });
  }

  private async current(key: RecordKey, fresh: boolean): Promise<Held> {
    this.prune();
    const name = recordName(key);
    const held = this.held.get(name);
    if (!fresh && held !== undefined && this.now() - held.readAt < this.options.maxAgeMs) return held;
    this.held.delete(name);
    const namespace = this.options.namespaceOf(key.onboarding);
    const term = this.term;
    let configMap: V1ConfigMap | undefined;
    try {
      configMap = await kubeCall(`read record ${namespace}/${name}`, () =>
        this.core.readNamespacedConfigMap({ namespace, name }),
      );
    } catch (error) {
      if (apiStatus(error) !== 404) throw error;
    }
    const annotations = configMap?.metadata?.annotations ?? {};
    if (
      configMap !== undefined &&
      (annotations[ONBOARDING_ANNOTATION] !== onboardingName(key.onboarding) ||
        annotations[NAMESPACE_ANNOTATION] !== key.namespace)
    ) {
      throw new Error(
        `ConfigMap ${namespace}/${name} is not the record of ${key.namespace} under ${onboardingName(key.onboarding)}`,
      );
    }
    const resourceVersion = configMap?.metadata?.resourceVersion;
    const read: Held = {
      record: recordFrom(configMap),
      ...(resourceVersion !== undefined && { resourceVersion }),
      readAt: this.now(),
    };
    this.hold(term, name, read);
    return read;
  }

  /** Keeps a copy for later reads, unless a new term began since it was asked for. */
  private hold(term: number, name: string, held: Held): void {
    if (term === this.term) this.held.set(name, held);
  }

  /** Forgets, at most once per maxAgeMs, every record held longer than that: they would be read again anyway. */
  private prune(): void {
    const now = this.now();
    if (now - this.prunedAt < this.options.maxAgeMs) return;
    this.prunedAt = now;
    for (const [name, held] of this.held) if (now - held.readAt >= this.options.maxAgeMs) this.held.delete(name);
  }

  /** False when another writer got there first (409): the caller reads again. */
  private async write(key: RecordKey, held: Held, record: AccessRecord): Promise<boolean> {
    const name = recordName(key);
    const namespace = this.options.namespaceOf(key.onboarding);
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [RECORD_OF_LABEL]: recordsOf(key.onboarding) },
        annotations: { [ONBOARDING_ANNOTATION]: onboardingName(key.onboarding), [NAMESPACE_ANNOTATION]: key.namespace },
        ...(held.resourceVersion !== undefined && { resourceVersion: held.resourceVersion }),
      },
      data: recordData(record),
    };
    const term = this.term;
    try {
      const written =
        held.resourceVersion === undefined
          ? await kubeCall(`create record ${namespace}/${name}`, () =>
              this.core.createNamespacedConfigMap({ namespace, body }),
            )
          : await kubeCall(`update record ${namespace}/${name}`, () =>
              this.core.replaceNamespacedConfigMap({ namespace, name, body }),
            );
      const resourceVersion = written.metadata?.resourceVersion;
      this.hold(term, name, { record, ...(resourceVersion !== undefined && { resourceVersion }), readAt: this.now() });
      return true;
    } catch (error) {
      this.held.delete(name);
      // 409: changed or created meanwhile; 404: deleted meanwhile (a replace of something gone).
      if (apiStatus(error) === 409 || apiStatus(error) === 404) return false;
      throw error;
    }
  }
}
