import { V1MicroTime, type EventsV1Api } from '@kubernetes/client-node';
import type { ObjectMeta } from '../api/types.js';
import { kubeCall } from './errors.js';

export interface EventRecord {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

const NOTE_LIMIT = 1024;

/** Records an event on the resource, as `kubectl describe` and `kubectl events` show them. */
export class EventRecorder {
  private sequence = 0;

  constructor(
    private readonly api: EventsV1Api,
    private readonly controller: string,
    private readonly instance: string,
  ) {}

  async record(resource: { apiVersion: string; kind: string; metadata: ObjectMeta }, event: EventRecord, now = new Date()): Promise<void> {
    const { namespace, name, uid, resourceVersion } = resource.metadata;
    // client-go's naming: the object's name and a unique hexadecimal time.
    const eventName = `${name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(this.sequence++ % 1_000_000)).toString(16)}`;
    await kubeCall(`create Event for ${resource.kind} ${namespace}/${name}`, () => this.api.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name: eventName, namespace },
        // events.k8s.io refuses an eventTime without microseconds; V1MicroTime serialises them.
        eventTime: new V1MicroTime(now.getTime()),
        reportingController: this.controller,
        reportingInstance: this.instance,
        action: 'Reconcile',
        type: event.type,
        reason: event.reason,
        note: event.message.slice(0, NOTE_LIMIT),
        regarding: { apiVersion: resource.apiVersion, kind: resource.kind, namespace, name, uid, ...(resourceVersion && { resourceVersion }) },
      },
    }));
  }
}
