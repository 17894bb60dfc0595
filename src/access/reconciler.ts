import { isDeepStrictEqual } from 'node:util';
import { checkBucketSpec, checkTokenSpec, selectsByLabel, type OnboardingKey } from '../api/access-spec.js';
import {
  AccessReason,
  BUCKET_FINALIZER,
  TOKEN_FINALIZER,
  TOKEN_KIND,
  type DesiredTokenSecret,
  type InfluxBucket,
  type InfluxBucketStatus,
  type InfluxToken,
  type InfluxTokenStatus,
  type TokenSecret,
} from '../api/access-types.js';
import { validCredentials, type CredentialsSecret, type Reference } from '../api/credentials.js';
import { redactionOwner, type ReconcileOutcome, type ReconcileRequest, type ResourceEvent } from '../api/reconcile.js';
import { checkSpec } from '../api/spec.js';
import { KIND, READY, type InfluxOnboarding, type ObjectMeta, type SecretKeySelector } from '../api/types.js';
import { bucketPermissions } from '../influx/client.js';
import type { InfluxClient, InfluxTarget } from '../influx/types.js';
import type { StatusWrite } from '../kube/status.js';
import type { Logger, SecretRegistry } from '../log.js';
import { resolveAccess, type Access, type AccessFinish, type FinalizerStep } from './access.js';
import { decideBucket, type BucketFacts, type BucketStep } from './bucket-decide.js';
import { decideToken, type BucketResolution, type TokenFacts, type TokenStep } from './token-decide.js';

type Resource = { apiVersion: string; kind: string; metadata: ObjectMeta & { finalizers?: string[] } };

/** What both access reconcilers read: the onboarding, its Secret and CA, the namespace's labels, and InfluxDB. */
export interface AccessPorts {
  onboarding(namespace: string, name: string): InfluxOnboarding | undefined;
  readCredentials(onboarding: InfluxOnboarding, secretName: string): Promise<CredentialsSecret>;
  readReference(namespace: string, selector: SecretKeySelector): Promise<Reference>;
  /** Only asked when the onboarding grants by namespaceSelector; undefined when the namespace cannot be read. */
  namespaceLabels(namespace: string): Promise<Record<string, string> | undefined>;
  influx(target: InfluxTarget): InfluxClient;
  /** Queues the event; it is sent in the background and never fails the reconcile. */
  recordEvent(resource: Resource, event: ResourceEvent): void;
}

export interface KindPorts<R, S> {
  resource(namespace: string, name: string): R | undefined;
  patchStatus(resource: R, status: S): Promise<StatusWrite>;
  patchFinalizers(resource: R, finalizers: string[]): Promise<StatusWrite>;
}

export interface BucketPorts extends AccessPorts, KindPorts<InfluxBucket, InfluxBucketStatus> {}

export interface TokenPorts extends AccessPorts, KindPorts<InfluxToken, InfluxTokenStatus> {
  bucket(namespace: string, name: string): InfluxBucket | undefined;
  readSecret(owner: InfluxToken, name: string): Promise<TokenSecret>;
  writeSecret(owner: InfluxToken, desired: DesiredTokenSecret, observed: TokenSecret): Promise<TokenSecret>;
}

export interface AccessOptions {
  driftCheckIntervalMs: number;
  logger: Logger;
  /** Every token handled is registered here so that no log line can carry it. */
  secrets: SecretRegistry;
  now?: () => Date;
  /** Called with each resource's Ready reason (undefined once it is gone), for metrics. */
  onReason?: (key: string, reason: AccessReason | undefined) => void;
}

export type AccessReconciler = (
  request: ReconcileRequest,
  signal: AbortSignal,
  term: object,
) => Promise<ReconcileOutcome>;

const MAX_STEPS = 24;
// An invalid spec names no usable onboarding; both decisions end on the spec before they read access.
const UNRESOLVED: Access = {
  kind: 'waiting',
  reason: 'OnboardingNotReady',
  message: 'the spec is invalid',
  gone: false,
};

async function observeAccess(
  ports: AccessPorts,
  secrets: SecretRegistry,
  namespace: string,
  ref: OnboardingKey,
): Promise<Access> {
  const onboarding = ports.onboarding(ref.namespace, ref.name);
  if (onboarding === undefined) return resolveAccess({ namespace, ref });
  const checked = checkSpec(onboarding);
  const ready = onboarding.status?.conditions?.find((condition) => condition.type === READY)?.status === 'True';
  if (!checked.ok || !ready) return resolveAccess({ namespace, ref, onboarding });
  const credentials = await ports.readCredentials(onboarding, checked.spec.credentialsSecretName);
  // The onboarding's own part of its values, held for as long as that onboarding exists.
  const { token, password } = credentials.state === 'owned' ? credentials.data : {};
  secrets.hold(
    redactionOwner(KIND, `${ref.namespace}/${ref.name}`),
    'access',
    validCredentials({ password, tokens: [token] }),
  );
  const caRef = checked.spec.caSecretRef;
  const ca = caRef === undefined ? undefined : await ports.readReference(ref.namespace, caRef);
  const labels =
    namespace !== ref.namespace && selectsByLabel(onboarding) ? await ports.namespaceLabels(namespace) : undefined;
  return resolveAccess({
    namespace,
    ref,
    onboarding,
    credentials,
    ...(ca && { ca }),
    ...(labels && { namespaceLabels: labels }),
  });
}

interface Shell<R extends Resource, S> {
  ports: AccessPorts & KindPorts<R, S>;
  options: AccessOptions;
  finalizer: string;
}

/** Writes the status and event a decision ended with; 'stale' asks for another round. */
async function conclude<R extends Resource & { status?: S }, S>(
  shell: Shell<R, S>,
  resource: R,
  finish: AccessFinish<S>,
  steps: string[],
): Promise<ReconcileOutcome> {
  const { ports, options } = shell;
  const key = `${resource.metadata.namespace}/${resource.metadata.name}`;
  if (resource.metadata.deletionTimestamp === undefined && !isDeepStrictEqual(finish.status, resource.status ?? {})) {
    const written = await ports.patchStatus(resource, finish.status);
    if (written.kind === 'stale') return { requeue: true };
  }
  if (finish.event) ports.recordEvent(resource, finish.event);
  options.onReason?.(key, finish.reason);
  options.logger.info('reconciled', {
    kind: resource.kind,
    resource: key,
    generation: resource.metadata.generation,
    reason: finish.reason,
    detail: finish.message,
    steps,
  });
  if (finish.requeue.kind === 'backoff') return { requeue: true };
  if (finish.requeue.kind === 'after') return { requeueAfterMs: finish.requeue.ms };
  return {};
}

/** Adds or removes the finalizer; returns the resource as it now is, or undefined when it changed meanwhile (or is gone). */
async function setFinalizer<R extends Resource, S>(
  shell: Shell<R, S>,
  resource: R,
  present: boolean,
): Promise<R | undefined> {
  const others = (resource.metadata.finalizers ?? []).filter((finalizer) => finalizer !== shell.finalizer);
  const finalizers = present ? [...others, shell.finalizer] : others;
  const written = await shell.ports.patchFinalizers(resource, finalizers);
  if (written.kind === 'stale') return undefined;
  return { ...resource, metadata: { ...resource.metadata, finalizers, resourceVersion: written.resourceVersion } };
}

/**
 * Decides and acts until the decision finishes: the finalizer steps here, the kind's own steps by
 * `act`. The finalizer's removal, or a resource that changed meanwhile, ends the round early.
 */
async function decideAndAct<
  R extends Resource & { status?: S },
  S,
  F extends { resource: R },
  Step extends { kind: string },
>(
  shell: Shell<R, S>,
  facts: F,
  decide: (facts: F) => Step | FinalizerStep | AccessFinish<S>,
  act: (step: Step, facts: F) => Promise<F>,
): Promise<ReconcileOutcome> {
  const { options } = shell;
  const key = `${facts.resource.metadata.namespace}/${facts.resource.metadata.name}`;
  const steps: string[] = [];
  for (let count = 0; count < MAX_STEPS; count++) {
    const step = decide(facts);
    if (isFinish<S>(step)) return conclude(shell, facts.resource, step, steps);
    steps.push(step.kind);
    if (!isFinalizerStep(step)) {
      facts = await act(step, facts);
      continue;
    }
    if (step.kind === 'addFinalizer') {
      const resource = await setFinalizer(shell, facts.resource, true);
      if (resource !== undefined) {
        facts = { ...facts, resource };
        continue;
      }
    } else {
      if (step.event) shell.ports.recordEvent(facts.resource, step.event);
      await setFinalizer(shell, facts.resource, false);
      options.onReason?.(key, undefined);
    }
    options.logger.info('reconciled', { kind: facts.resource.kind, resource: key, steps });
    return step.kind === 'removeFinalizer' ? {} : { requeue: true };
  }
  throw new Error(`no decision after ${MAX_STEPS} steps (${steps.join(', ')})`);
}

function isFinish<S>(step: { kind: string }): step is AccessFinish<S> {
  return step.kind === 'finish';
}

function isFinalizerStep(step: { kind: string }): step is FinalizerStep {
  return step.kind === 'addFinalizer' || step.kind === 'removeFinalizer';
}

export function createBucketReconciler(ports: BucketPorts, options: AccessOptions): AccessReconciler {
  const now = options.now ?? (() => new Date());
  const shell: Shell<InfluxBucket, InfluxBucketStatus> = { ports, options, finalizer: BUCKET_FINALIZER };

  async function act(
    step: Exclude<BucketStep, AccessFinish<InfluxBucketStatus> | FinalizerStep>,
    facts: BucketFacts,
  ): Promise<BucketFacts> {
    switch (step.kind) {
      case 'findBucket':
        return {
          ...facts,
          bucket: await ports
            .influx(step.connection.target)
            .findBucket(step.connection.token, step.connection.orgID, step.name),
        };
      case 'createBucket': {
        const client = ports.influx(step.connection.target);
        const created = await client.createBucket(
          step.connection.token,
          step.connection.orgID,
          step.name,
          step.retentionSeconds,
          step.description,
        );
        if (!created.ok)
          return { ...facts, failure: { doing: `creating bucket ${step.name}`, failure: created.failure } };
        const bucket = {
          id: created.value.id,
          name: step.name,
          retentionSeconds: step.retentionSeconds,
          description: step.description,
        };
        return { ...facts, bucket: { ok: true, value: bucket }, changes: [...(facts.changes ?? []), step.change] };
      }
      case 'setRetention':
      case 'describeBucket': {
        const client = ports.influx(step.connection.target);
        const { token } = step.connection;
        const answer =
          step.kind === 'setRetention'
            ? await client.setRetention(token, step.bucketID, step.retentionSeconds)
            : await client.describeBucket(token, step.bucketID, step.description);
        if (!answer.ok) return { ...facts, failure: { doing: step.change, failure: answer.failure } };
        const previous = facts.bucket?.ok ? facts.bucket.value : null;
        if (previous === null) throw new Error('a bucket was changed without being found first');
        const bucket =
          step.kind === 'setRetention'
            ? { ...previous, retentionSeconds: step.retentionSeconds }
            : { ...previous, description: step.description };
        return { ...facts, bucket: { ok: true, value: bucket }, changes: [...(facts.changes ?? []), step.change] };
      }
      case 'deleteBucket': {
        const deleted = await ports.influx(step.connection.target).deleteBucket(step.connection.token, step.bucketID);
        return deleted.ok
          ? { ...facts, deleted: true }
          : { ...facts, failure: { doing: 'deleting the bucket', failure: deleted.failure } };
      }
    }
  }

  return async function reconcile(request) {
    const key = `${request.namespace}/${request.name}`;
    const resource = ports.resource(request.namespace, request.name);
    if (resource === undefined) {
      options.onReason?.(key, undefined);
      return {};
    }
    const checked = checkBucketSpec(resource);
    const access = checked.ok
      ? await observeAccess(ports, options.secrets, request.namespace, checked.spec.onboarding)
      : UNRESOLVED;
    const facts: BucketFacts = {
      resource,
      checked,
      access,
      now: now().toISOString(),
      driftCheckIntervalMs: options.driftCheckIntervalMs,
    };
    return decideAndAct(shell, facts, decideBucket, act);
  };
}

/** What the token's permissions name, from the InfluxBuckets' status in the token's namespace. */
function resolveBuckets(
  ports: TokenPorts,
  namespace: string,
  names: readonly string[],
): Record<string, BucketResolution> {
  const resolved: Record<string, BucketResolution> = {};
  for (const name of names) {
    const bucket = ports.bucket(namespace, name);
    const ready = bucket?.status?.conditions?.find((condition) => condition.type === READY);
    const { bucketID, bucketName, onboarding } = bucket?.status ?? {};
    if (bucket === undefined) resolved[name] = { kind: 'missing' };
    else if (
      ready?.status !== 'True' ||
      bucketID === undefined ||
      bucketName === undefined ||
      onboarding === undefined ||
      bucket.metadata.deletionTimestamp !== undefined
    ) {
      resolved[name] = {
        kind: 'not-ready',
        message: `waiting for InfluxBucket ${name} to be Ready (${ready?.reason ?? 'not reconciled yet'})`,
      };
    } else resolved[name] = { kind: 'ready', bucketID, bucketName, onboarding };
  }
  return resolved;
}

/** A token whose authorizations were listed, leaving no orphan, while its Secret was at this version. */
interface OrphanFree {
  uid: string;
  secretVersion: string;
}

/** The owner of an InfluxToken's values in the log redaction. */
function tokenOwner(token: ReconcileRequest): string {
  return redactionOwner(TOKEN_KIND, `${token.namespace}/${token.name}`);
}

export function createTokenReconciler(ports: TokenPorts, options: AccessOptions): AccessReconciler {
  const now = options.now ?? (() => new Date());
  const shell: Shell<InfluxToken, InfluxTokenStatus> = { ports, options, finalizer: TOKEN_FINALIZER };
  /**
   * What spares a Ready token's periodic check the list of every authorization of the org. An
   * orphan (an authorization with the token's UID that its Secret does not name) comes only from a
   * create whose answer or Secret write was lost, or from a Secret changed behind the operator
   * (deleted, annotations edited). So a token stays orphan-free while its Secret keeps the version
   * seen at a clean list (or written since by this process from an orphan-free state) and no
   * create has been attempted since. Kept per leadership term (the runtime's `term`): after a
   * restart or a new term (another replica may have created meanwhile) every token is listed once
   * more.
   */
  const orphanFree = new WeakMap<object, Map<string, OrphanFree>>();

  async function act(
    step: Exclude<TokenStep, AccessFinish<InfluxTokenStatus> | FinalizerStep>,
    facts: TokenFacts,
    clean: Map<string, OrphanFree>,
  ): Promise<TokenFacts> {
    switch (step.kind) {
      case 'listAuthorizations':
        return {
          ...facts,
          authorizations: await ports
            .influx(step.connection.target)
            .listAuthorizations(step.connection.token, { orgID: step.connection.orgID }),
        };
      case 'readAuthorization': {
        const found = await ports
          .influx(step.connection.target)
          .authorization(step.connection.token, step.authorizationID);
        return { ...facts, current: { id: step.authorizationID, found } };
      }
      case 'createAuthorization': {
        // From here until a list finds no orphan, one may exist: this create's answer can be lost.
        clean.delete(`${facts.resource.metadata.namespace}/${facts.resource.metadata.name}`);
        const created = await ports.influx(step.connection.target).createAuthorization(step.connection.token, {
          orgID: step.connection.orgID,
          description: step.description,
          permissions: bucketPermissions(step.connection.orgID, step.permissions),
        });
        if (!created.ok)
          return { ...facts, failure: { doing: 'creating the authorization', failure: created.failure } };
        options.secrets.hold(
          tokenOwner(facts.resource.metadata),
          'created',
          validCredentials({ tokens: [created.value.token] }),
        );
        // It exists in InfluxDB now: the list read before the create must show it, or it would look deleted.
        const listed = facts.authorizations?.ok ? facts.authorizations.value : [];
        return {
          ...facts,
          issued: created.value,
          authorizations: { ok: true, value: [...listed, { id: created.value.id, description: step.description }] },
        };
      }
      case 'writeSecret': {
        options.secrets.hold(
          tokenOwner(facts.resource.metadata),
          'secret',
          validCredentials({ tokens: [step.secret.data.token] }),
        );
        const { issued: _written, ...rest } = facts;
        return { ...rest, secret: await ports.writeSecret(facts.resource, step.secret, facts.secret) };
      }
      case 'deleteAuthorization': {
        const deleted = await ports
          .influx(step.connection.target)
          .deleteAuthorization(step.connection.token, step.authorizationID);
        if (!deleted.ok)
          return {
            ...facts,
            failure: {
              doing: `deleting authorization ${step.authorizationID} (${step.why})`,
              failure: deleted.failure,
            },
          };
        options.logger.info('deleted authorization', {
          resource: `${facts.resource.metadata.namespace}/${facts.resource.metadata.name}`,
          authorizationID: step.authorizationID,
          why: step.why,
        });
        return { ...facts, deleted: [...(facts.deleted ?? []), step.authorizationID] };
      }
    }
  }

  return async function reconcile(request, _signal, term) {
    const key = `${request.namespace}/${request.name}`;
    const clean = orphanFree.get(term) ?? new Map<string, OrphanFree>();
    orphanFree.set(term, clean);
    const cached = ports.resource(request.namespace, request.name);
    if (cached === undefined) {
      clean.delete(key);
      options.secrets.release(tokenOwner(request));
      options.onReason?.(key, undefined);
      return {};
    }
    const checked = checkTokenSpec(cached);
    const access = checked.ok
      ? await observeAccess(ports, options.secrets, request.namespace, checked.spec.onboarding)
      : UNRESOLVED;
    const secret: TokenSecret = checked.ok
      ? await ports.readSecret(cached, checked.spec.secretName)
      : { state: 'absent' };
    options.secrets.hold(
      tokenOwner(request),
      'secret',
      validCredentials({ tokens: [secret.state === 'owned' ? secret.data.token : undefined] }),
    );
    const buckets = checked.ok
      ? resolveBuckets(
          ports,
          request.namespace,
          checked.spec.permissions.map((permission) => permission.bucket),
        )
      : {};
    const known = clean.get(key);
    const facts: TokenFacts = {
      resource: cached,
      checked,
      access,
      secret,
      buckets,
      orphanFree:
        known !== undefined &&
        known.uid === cached.metadata.uid &&
        secret.state === 'owned' &&
        known.secretVersion === secret.resourceVersion,
      now: now().toISOString(),
      driftCheckIntervalMs: options.driftCheckIntervalMs,
    };
    // TokenReady is only reached with no orphan left: after a list in this round, or orphan-free from the start with no create since.
    const decide = (current: TokenFacts): TokenStep => {
      const step = decideToken(current);
      if (
        step.kind === 'finish' &&
        step.reason === 'TokenReady' &&
        current.secret.state === 'owned' &&
        current.secret.resourceVersion !== undefined
      ) {
        clean.set(key, { uid: cached.metadata.uid, secretVersion: current.secret.resourceVersion });
      }
      return step;
    };
    return decideAndAct(shell, facts, decide, (step, current) => act(step, current, clean));
  };
}
