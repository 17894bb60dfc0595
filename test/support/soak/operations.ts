// Carries out the soak's operations as a user would, through the API server (not through the
// replicas' taps): each one brings the objects it concerns in line with the model as it stands
// right after it, so an operation retried after a fault does the same thing again.
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type CustomObjectsApi } from '@kubernetes/client-node';
import { BUCKET_PLURAL, TOKEN_PLURAL } from '../../../src/api/access-types.js';
import {
  ALLOWED_URLS_ANNOTATION,
  API_VERSION,
  ESCROW_APPROVED_ANNOTATION,
  GROUP,
  PLURAL,
  RETARGET_ANNOTATION,
  ROTATE_PASSWORD_ANNOTATION,
  ROTATE_TOKEN_ANNOTATION,
  Reason,
  VERSION,
  type InfluxOnboarding,
} from '../../../src/api/types.js';
import { CredentialsEscrow } from '../../../src/kube/escrow.js';
import { SYSTEM_NAMESPACE, instancePlan, modelKey, type Address, type Model, type Operation } from './plan.js';
import type { SoakWorld } from './world.js';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const codeOf = (error: unknown): number | undefined => (error as { code?: number }).code;

async function ignoring<T>(codes: number[], call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (codes.includes(codeOf(error) ?? 0)) return undefined;
    throw error;
  }
}

/** What the driver does on reading a status that asks a person to act (see answerStatuses). */
export type StatusAnswer = 'approve-move-again' | 'approve-escrow-copy' | 'wipe-interrupted-setup';

export const onboardingName = (instance: string): string => `onb-${instance}`;
export const credentialsSecretName = (instance: string): string => `onb-${instance}-influxdb`;
export const passwordSecretName = (instance: string): string => `pw-${instance}`;
export const tokenSecretName = (token: string): string => `${token}-influx-token`;

/** The InfluxOnboarding's spec as the model wants it. */
export function onboardingSpec(world: SoakWorld, model: Model, instance: string): Record<string, unknown> {
  const plan = instancePlan(instance);
  const wanted = model.onboardings[instance];
  if (wanted === undefined) throw new Error(`no onboarding for ${instance}`);
  return {
    url: world.urlOf(instance, wanted.address),
    username: 'admin',
    org: `org-${instance}`,
    bucket: 'primary',
    retentionPeriodSeconds: wanted.retentionSeconds,
    passwordSecretRef: wanted.password === undefined ? null : { name: passwordSecretName(instance), key: 'password' },
    tokenSecretRef: plan.adopted ? { name: `adopt-${instance}`, key: 'token' } : null,
    accessFrom: { namespaces: wanted.grants },
  };
}

function withoutNulls(spec: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).filter(([, value]) => value !== null));
}

export class Operations {
  constructor(private readonly world: SoakWorld) {}

  private get core(): CoreV1Api {
    return this.world.core;
  }

  private get custom(): CustomObjectsApi {
    return this.world.custom;
  }

  private async patchOnboarding(instance: string, body: Record<string, unknown>): Promise<void> {
    const namespace = instancePlan(instance).namespace;
    await this.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, plural: PLURAL, namespace, name: onboardingName(instance), body },
      merge,
    );
  }

  /** Creates an InfluxBucket or InfluxToken with `spec` (when `create`), or sets the spec of the one there. */
  private async putAccess(
    resource: { plural: string; kind: string; namespace: string; name: string },
    spec: Record<string, unknown>,
    create: boolean,
  ): Promise<void> {
    const { plural, kind, namespace, name } = resource;
    const created = create
      ? await ignoring([409], () =>
          this.custom.createNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural,
            namespace,
            body: { apiVersion: API_VERSION, kind, metadata: { name }, spec },
          }),
        )
      : undefined;
    if (created === undefined)
      await this.custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, plural, namespace, name, body: { spec } },
        merge,
      );
  }

  private async syncPasswordSecret(model: Model, instance: string): Promise<void> {
    const password = model.onboardings[instance]?.password;
    if (password === undefined) return;
    const namespace = instancePlan(instance).namespace;
    const name = passwordSecretName(instance);
    const metadata = {
      name,
      annotations: {
        [ALLOWED_URLS_ANNOTATION]: `${this.world.urlOf(instance, 'p')},${this.world.urlOf(instance, 'q')}`,
      },
    };
    const created = await ignoring([409], () =>
      this.core.createNamespacedSecret({ namespace, body: { metadata, stringData: { password } } }),
    );
    if (created === undefined)
      await this.core.patchNamespacedSecret({ namespace, name, body: { metadata, stringData: { password } } }, merge);
  }

  /**
   * What a person does on reading a status that asks for them, for each InfluxOnboarding the model
   * has: `TargetChanged` after a retarget whose approval went with a deleted Secret (the operator
   * wrote the Secret back for the old URL): the move is approved on it again; and
   * `EscrowApprovalRequired` (the resource was deleted, its Secret too, and created again under
   * its name): an administrator of the escrow namespace approves the new resource's UID on the
   * escrow copy, so it gets the credentials the instance was set up with; and `SetupInterrupted`
   * (influxd stopped in the middle of the operator's setup): the instance is wiped, as its message
   * says, once per occurrence, after `verify` checked that the status tells the truth. Returns what
   * was done.
   */
  async answerStatuses(
    model: Model,
    verify: (instance: string) => Promise<void>,
  ): Promise<Array<{ kind: StatusAnswer; instance: string }>> {
    const answered: Array<{ kind: StatusAnswer; instance: string }> = [];
    for (const [instance, wanted] of Object.entries(model.onboardings)) {
      if (!wanted.present) continue;
      const namespace = instancePlan(instance).namespace;
      const resource = (await ignoring([404], () =>
        this.custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace,
          name: onboardingName(instance),
        }),
      )) as InfluxOnboarding | undefined;
      const ready = resource?.status?.conditions?.find((condition) => condition.type === 'Ready');
      if (resource === undefined) continue;
      if (ready?.reason === Reason.TargetChanged && (await this.approveMoveAgain(instance, wanted.address)))
        answered.push({ kind: 'approve-move-again', instance });
      if (ready?.reason === Reason.EscrowApprovalRequired) {
        await ignoring([404], () =>
          this.core.patchNamespacedSecret(
            {
              namespace: SYSTEM_NAMESPACE,
              name: CredentialsEscrow.nameFor(resource),
              body: { metadata: { annotations: { [ESCROW_APPROVED_ANNOTATION]: resource.metadata.uid } } },
            },
            merge,
          ),
        );
        answered.push({ kind: 'approve-escrow-copy', instance });
      }
      const occurrence = `${instance} ${ready?.lastTransitionTime ?? ''}`;
      if (ready?.reason === Reason.SetupInterrupted && !this.wipedFor.has(occurrence)) {
        this.wipedFor.add(occurrence);
        await verify(instance);
        const server = this.world.instances.get(instance);
        server?.wipes.push(Date.now());
        await server?.server.wipe();
        answered.push({ kind: 'wipe-interrupted-setup', instance });
      }
    }
    return answered;
  }

  /** The SetupInterrupted occurrences (instance and transition time) already answered with a wipe. */
  private readonly wipedFor = new Set<string>();

  /** Approves the move to `address` on the credentials Secret the operator wrote back; false when there is nothing to approve. */
  private async approveMoveAgain(instance: string, address: Address): Promise<boolean> {
    const namespace = instancePlan(instance).namespace;
    const name = credentialsSecretName(instance);
    const secret = await ignoring([404], () => this.core.readNamespacedSecret({ namespace, name }));
    const to = this.world.urlOf(instance, address);
    const at = secret?.data?.url === undefined ? undefined : Buffer.from(secret.data.url, 'base64').toString('utf8');
    if (at === undefined || at === to || secret?.metadata?.annotations?.[RETARGET_ANNOTATION] !== undefined)
      return false;
    await this.core.patchNamespacedSecret(
      { namespace, name, body: { metadata: { annotations: { [RETARGET_ANNOTATION]: to } } } },
      merge,
    );
    return true;
  }

  /** Brings the real objects this operation concerns in line with `model` (the model right after it). */
  async apply(operation: Operation, model: Model): Promise<void> {
    switch (operation.kind) {
      case 'create-onboarding': {
        const { instance } = operation;
        await this.syncPasswordSecret(model, instance);
        const wanted = model.onboardings[instance];
        const namespace = instancePlan(instance).namespace;
        const body = {
          apiVersion: API_VERSION,
          kind: 'InfluxOnboarding',
          metadata: {
            name: onboardingName(instance),
            namespace,
            annotations: {
              ...(wanted?.rotatePassword ? { [ROTATE_PASSWORD_ANNOTATION]: String(wanted.rotatePassword) } : {}),
              ...(wanted?.rotateToken ? { [ROTATE_TOKEN_ANNOTATION]: String(wanted.rotateToken) } : {}),
            },
          },
          spec: withoutNulls(onboardingSpec(this.world, model, instance)),
        };
        const created = await ignoring([409], () =>
          this.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, body }),
        );
        if (created === undefined)
          await this.patchOnboarding(instance, { spec: onboardingSpec(this.world, model, instance) });
        return;
      }
      case 'delete-onboarding':
        await ignoring([404], () =>
          this.custom.deleteNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            namespace: instancePlan(operation.instance).namespace,
            name: onboardingName(operation.instance),
          }),
        );
        return;
      case 'onboarding-retention':
      case 'grant':
      case 'withdraw-grant':
      case 'password-ref':
        await this.syncPasswordSecret(model, operation.instance);
        await this.patchOnboarding(operation.instance, { spec: onboardingSpec(this.world, model, operation.instance) });
        return;
      case 'rotate-password':
      case 'rotate-token': {
        const annotation = operation.kind === 'rotate-password' ? ROTATE_PASSWORD_ANNOTATION : ROTATE_TOKEN_ANNOTATION;
        await this.patchOnboarding(operation.instance, {
          metadata: { annotations: { [annotation]: String(operation.value) } },
        });
        return;
      }
      case 'delete-credentials-secret':
        await ignoring([404], () =>
          this.core.deleteNamespacedSecret({
            namespace: instancePlan(operation.instance).namespace,
            name: credentialsSecretName(operation.instance),
          }),
        );
        return;
      case 'retarget': {
        // The credentials Secret approves the move first, then the spec names the new address.
        const namespace = instancePlan(operation.instance).namespace;
        const to = this.world.urlOf(operation.instance, operation.to);
        await this.core.patchNamespacedSecret(
          {
            namespace,
            name: credentialsSecretName(operation.instance),
            body: { metadata: { annotations: { [RETARGET_ANNOTATION]: to } } },
          },
          merge,
        );
        await this.patchOnboarding(operation.instance, { spec: onboardingSpec(this.world, model, operation.instance) });
        return;
      }
      case 'create-bucket':
      case 'bucket-retention': {
        const bucket = Object.values(model.buckets).find((candidate) => candidate.name === operation.bucket);
        if (bucket === undefined) throw new Error(`no bucket ${operation.bucket}`);
        const spec = {
          onboardingRef: { name: onboardingName(bucket.instance), namespace: instancePlan(bucket.instance).namespace },
          retentionPeriodSeconds: bucket.retentionSeconds,
        };
        await this.putAccess(
          { plural: BUCKET_PLURAL, kind: 'InfluxBucket', namespace: bucket.namespace, name: bucket.name },
          spec,
          operation.kind === 'create-bucket',
        );
        return;
      }
      case 'delete-bucket': {
        const bucket = Object.values(model.buckets).find((candidate) => candidate.name === operation.bucket);
        if (bucket === undefined) throw new Error(`no bucket ${operation.bucket}`);
        await ignoring([404], () =>
          this.custom.deleteNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: BUCKET_PLURAL,
            namespace: bucket.namespace,
            name: bucket.name,
          }),
        );
        return;
      }
      case 'create-token':
      case 'token-permissions': {
        const token = Object.values(model.tokens).find((candidate) => candidate.name === operation.token);
        if (token === undefined) throw new Error(`no token ${operation.token}`);
        const spec = {
          onboardingRef: { name: onboardingName(token.instance), namespace: instancePlan(token.instance).namespace },
          permissions: token.permissions,
          rotationGracePeriodSeconds: 0,
        };
        await this.putAccess(
          { plural: TOKEN_PLURAL, kind: 'InfluxToken', namespace: token.namespace, name: token.name },
          spec,
          operation.kind === 'create-token',
        );
        return;
      }
      case 'delete-token':
      case 'delete-token-secret': {
        const token = Object.values(model.tokens).find((candidate) => candidate.name === operation.token);
        if (token === undefined) throw new Error(`no token ${operation.token}`);
        await ignoring([404], () =>
          operation.kind === 'delete-token'
            ? this.custom.deleteNamespacedCustomObject({
                group: GROUP,
                version: VERSION,
                plural: TOKEN_PLURAL,
                namespace: token.namespace,
                name: token.name,
              })
            : this.core.deleteNamespacedSecret({ namespace: token.namespace, name: tokenSecretName(token.name) }),
        );
        return;
      }
    }
  }

  /** Creates everything the model holds, as the first round starts from. */
  async createAll(model: Model): Promise<void> {
    for (const instance of Object.keys(model.onboardings))
      await this.apply({ kind: 'create-onboarding', instance }, model);
    for (const bucket of Object.values(model.buckets))
      if (bucket.present) await this.apply({ kind: 'create-bucket', bucket: bucket.name }, model);
    for (const token of Object.values(model.tokens))
      if (token.present) await this.apply({ kind: 'create-token', token: token.name }, model);
  }
}

export { modelKey };
