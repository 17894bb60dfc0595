import { V1MicroTime, type EventsV1Api } from '@kubernetes/client-node';
import { API_VERSION, KIND, type InfluxOnboarding } from '../api/types.js';

export interface EventRecord {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

const NOTE_LIMIT = 1024;

/** Records an event on the resource, as `kubectl describe` and `kubectl events` show them. */
export class EventRecorder {
  constructor(
    private readonly api: EventsV1Api,
    private readonly controller: string,
    private readonly instance: string,
  ) {}

  async record(resource: InfluxOnboarding, event: EventRecord, now = new Date()): Promise<void> {
    const { namespace, name, uid, resourceVersion } = resource.metadata;
    await this.api.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${name}.`, namespace },
        // events.k8s.io refuses an eventTime without microseconds; V1MicroTime serialises them.
        eventTime: new V1MicroTime(now.getTime()),
        reportingController: this.controller,
        reportingInstance: this.instance,
        action: 'Reconcile',
        type: event.type,
        reason: event.reason,
        note: event.message.slice(0, NOTE_LIMIT),
        regarding: { apiVersion: API_VERSION, kind: KIND, namespace, name, uid, ...(resourceVersion && { resourceVersion }) },
      },
    });
  }
}
