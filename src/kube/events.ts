import { V1MicroTime, type EventsV1Api, type EventsV1Event } from '@kubernetes/client-node';
import type { ObjectMeta } from '../api/types.js';
import type { ResourceEvent } from '../runtime/index.js';
import { kubeCall } from './errors.js';

const NOTE_LIMIT = 1024;

/**
 * Events on resources, as `kubectl describe` and `kubectl events` show them. An event is built
 * when it happens (its time, the resource's version) and may be created later: the operator
 * sends them in the background, as client-go's recorder does, so no reconcile waits for one.
 */
export class EventWriter {
  private sequence = 0;

  constructor(
    private readonly api: EventsV1Api,
    private readonly controller: string,
    private readonly instance: string,
  ) {}

  build(
    resource: { apiVersion: string; kind: string; metadata: ObjectMeta },
    event: ResourceEvent,
    now = new Date(),
  ): EventsV1Event {
    const { namespace, name, uid, resourceVersion } = resource.metadata;
    // client-go's naming: the object's name and a unique hexadecimal time.
    const eventName = `${name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(this.sequence++ % 1_000_000)).toString(16)}`;
    return {
      metadata: { name: eventName, namespace },
      // events.k8s.io refuses an eventTime without microseconds; V1MicroTime serialises them.
      eventTime: new V1MicroTime(now.getTime()),
      reportingController: this.controller,
      reportingInstance: this.instance,
      action: 'Reconcile',
      type: event.type,
      reason: event.reason,
      note: event.message.slice(0, NOTE_LIMIT),
      regarding: {
        apiVersion: resource.apiVersion,
        kind: resource.kind,
        namespace,
        name,
        uid,
        ...(resourceVersion && { resourceVersion }),
      },
    };
  }

  async create(event: EventsV1Event): Promise<void> {
    const { kind, namespace = '', name } = event.regarding ?? {};
    await kubeCall(`create Event for ${kind} ${namespace}/${name}`, () =>
      this.api.createNamespacedEvent({ namespace, body: event }),
    );
  }
}
