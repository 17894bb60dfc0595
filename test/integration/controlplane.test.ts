// Proves the test control plane is a real one: the behaviours below are exactly what a fake API
// server (or a mock) gets wrong, and what the operator depends on.
import { readFileSync } from 'node:fs';
import {
  ApiException,
  ApiextensionsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { adminKubeConfig, getControlPlane } from '../support/cluster.js';

const group = 'test.onboarding.dev';
const version = 'v1';
const plural = 'widgets';
const widgetCrd = parse(
  readFileSync(new URL('../fixtures/widget-crd.yaml', import.meta.url), 'utf8'),
) as V1CustomResourceDefinition;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Widget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; generation?: number };
  spec: { size: number; color?: string; minReplicas?: number; maxReplicas?: number };
  status?: { ready?: boolean; observedGeneration?: number };
}

const widget = (name: string, spec: Widget['spec']): Widget => ({
  apiVersion: `${group}/${version}`,
  kind: 'Widget',
  metadata: { name },
  spec,
});

let clients:
  | Promise<{ kubeConfig: KubeConfig; core: CoreV1Api; custom: CustomObjectsApi; rbac: RbacAuthorizationV1Api }>
  | undefined;

/** Admin clients, with the Widget CRD applied and established (once per process). */
function setup() {
  clients ??= (async () => {
    const kubeConfig = await adminKubeConfig();
    const crds = kubeConfig.makeApiClient(ApiextensionsV1Api);
    await crds.patchCustomResourceDefinition(
      { name: widgetCrd.metadata!.name!, body: widgetCrd, fieldManager: 'controlplane-test', force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    await eventually('the Widget CRD to be established', 30_000, async () => {
      const crd = await crds.readCustomResourceDefinition({ name: widgetCrd.metadata!.name! });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    });
    return {
      kubeConfig,
      core: kubeConfig.makeApiClient(CoreV1Api),
      custom: kubeConfig.makeApiClient(CustomObjectsApi),
      rbac: kubeConfig.makeApiClient(RbacAuthorizationV1Api),
    };
  })();
  return clients;
}

/** A fresh namespace for one test; left in place (the control plane is thrown away after the run). */
async function namespace(prefix: string): Promise<string> {
  const { core } = await setup();
  const ns = await core.createNamespace({ body: { metadata: { generateName: `cp-${prefix}-` } } });
  return ns.metadata!.name!;
}

/** Polls until `check` returns true; `bound` only stops a hopeless wait, it is not what is tested. */
async function eventually(what: string, boundMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + boundMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `gave up waiting for ${what}${last ? `; last error: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Status {
  code: number;
  reason?: string;
  message?: string;
  details?: { causes?: Array<{ field?: string; message?: string }> };
}

/** The Status a failed call was answered with. */
async function refusal(call: Promise<unknown>): Promise<Status> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) return { ...JSON.parse(err.body as string), code: err.code };
    throw err;
  }
  throw new Error('the call succeeded, a refusal was expected');
}

test('a structural schema and a CEL rule reject invalid objects with 422 and the field path', async () => {
  const { custom } = await setup();
  const ns = await namespace('schema');
  const target = { group, version, namespace: ns, plural };

  const tooSmall = await refusal(
    custom.createNamespacedCustomObject({ ...target, body: widget('too-small', { size: 0 }) }),
  );
  assert.is(tooSmall.code, 422);
  assert.is(tooSmall.reason, 'Invalid');
  assert.match(tooSmall.message!, 'spec.size');
  assert.ok(
    tooSmall.details?.causes?.some((c) => c.field === 'spec.size'),
    JSON.stringify(tooSmall.details),
  );

  const badColor = await refusal(
    custom.createNamespacedCustomObject({ ...target, body: widget('bad-color', { size: 1, color: 'pink' }) }),
  );
  assert.is(badColor.code, 422);
  assert.ok(
    badColor.details?.causes?.some((c) => c.field === 'spec.color'),
    JSON.stringify(badColor.details),
  );

  const inverted = await refusal(
    custom.createNamespacedCustomObject({
      ...target,
      body: widget('inverted', { size: 1, minReplicas: 5, maxReplicas: 2 }),
    }),
  );
  assert.is(inverted.code, 422);
  assert.match(inverted.message!, 'minReplicas must not exceed maxReplicas');
  assert.ok(
    inverted.details?.causes?.some((c) => c.field === 'spec'),
    JSON.stringify(inverted.details),
  );

  // The same rule lets a valid object through, so the refusals above are the schema's doing.
  const valid = await custom.createNamespacedCustomObject({
    ...target,
    body: widget('valid', { size: 1, minReplicas: 2, maxReplicas: 5 }),
  });
  assert.is((valid as Widget).metadata.name, 'valid');
});

test('status is written only through /status, and only spec changes bump metadata.generation', async () => {
  const { custom } = await setup();
  const ns = await namespace('status');
  const target = { group, version, namespace: ns, plural, name: 'w' };

  const created = (await custom.createNamespacedCustomObject({
    ...target,
    body: { ...widget('w', { size: 1 }), status: { ready: true } },
  })) as Widget;
  assert.is(created.status, undefined, 'status sent with the create is dropped');
  assert.is(created.metadata.generation, 1);

  const replaced = (await custom.replaceNamespacedCustomObject({
    ...target,
    body: { ...created, status: { ready: true } },
  })) as Widget;
  assert.is(replaced.status, undefined, 'status sent to the main resource is ignored');
  assert.is(replaced.metadata.generation, 1);

  const withStatus = (await custom.patchNamespacedCustomObjectStatus(
    { ...target, body: { status: { ready: true, observedGeneration: 1 } } },
    mergePatch,
  )) as Widget;
  assert.equal(withStatus.status, { ready: true, observedGeneration: 1 });
  assert.is(withStatus.metadata.generation, 1, 'a status change does not bump the generation');

  const resized = (await custom.patchNamespacedCustomObject(
    { ...target, body: { spec: { size: 2 } } },
    mergePatch,
  )) as Widget;
  assert.is(resized.metadata.generation, 2, 'a spec change bumps the generation');
  assert.equal(resized.status, { ready: true, observedGeneration: 1 }, 'status survives the spec change');

  const read = (await custom.getNamespacedCustomObject(target)) as Widget;
  assert.equal(read.status, { ready: true, observedGeneration: 1 });
  assert.is(read.metadata.generation, 2);
});

test('an update carrying a stale resourceVersion gets 409 Conflict', async () => {
  const { custom } = await setup();
  const ns = await namespace('conflict');
  const target = { group, version, namespace: ns, plural, name: 'w' };
  const stale = (await custom.createNamespacedCustomObject({ ...target, body: widget('w', { size: 1 }) })) as Widget;
  const fresh = (await custom.patchNamespacedCustomObject(
    { ...target, body: { spec: { size: 2 } } },
    mergePatch,
  )) as Widget;
  assert.is.not(fresh.metadata.resourceVersion, stale.metadata.resourceVersion);

  const conflict = await refusal(
    custom.replaceNamespacedCustomObject({ ...target, body: { ...stale, spec: { size: 3 } } }),
  );
  assert.is(conflict.code, 409);
  assert.is(conflict.reason, 'Conflict');
  const read = (await custom.getNamespacedCustomObject(target)) as Widget;
  assert.is(read.spec.size, 2, 'the stale write changed nothing');
});

test('kubectl, with the harness kubeconfig, verifies TLS and shows the printer columns', async () => {
  const { custom } = await setup();
  const controlPlane = await getControlPlane();
  const ns = await namespace('kubectl');
  const target = { group, version, namespace: ns, plural, name: 'printed' };
  await custom.createNamespacedCustomObject({ ...target, body: widget('printed', { size: 3, color: 'green' }) });
  await custom.patchNamespacedCustomObjectStatus({ ...target, body: { status: { ready: true } } }, mergePatch);

  const got = await controlPlane.kubectl(['get', 'widgets', '--namespace', ns]);
  assert.is(got.code, 0, got.stderr);
  const [header, row] = got.stdout.trimEnd().split('\n');
  assert.match(header, /^NAME\s+SIZE\s+COLOR\s+READY\s+AGE$/, got.stdout);
  assert.match(row, /^printed\s+3\s+green\s+true\s+\d+s$/, got.stdout);

  // The kubeconfig's CA is what makes the connection trusted: with the system's public roots
  // instead, the self-signed serving certificate is refused.
  const untrusted = await controlPlane.kubectl([
    'get',
    'widgets',
    '--namespace',
    ns,
    '--certificate-authority=/etc/ssl/certs/ca-certificates.crt',
  ]);
  assert.is.not(untrusted.code, 0);
  assert.match(untrusted.stderr, 'certificate signed by unknown authority');
});

test('a TokenRequest ServiceAccount token is refused a Secret until a Role and RoleBinding grant it', async () => {
  const { core, rbac } = await setup();
  const controlPlane = await getControlPlane();
  const ns = await namespace('rbac');
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'creds' }, stringData: { password: 'hunter2' } },
  });
  const token = await controlPlane.mintServiceAccountToken(ns, 'reader');

  const asReader = new KubeConfig();
  asReader.loadFromOptions({
    clusters: [
      { name: 'controlplane', server: controlPlane.server, caData: Buffer.from(controlPlane.caPem).toString('base64') },
    ],
    users: [{ name: 'reader', token }],
    contexts: [{ name: 'reader', cluster: 'controlplane', user: 'reader' }],
    currentContext: 'reader',
  });
  const whoami = await asReader.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
  assert.is(whoami.status?.userInfo?.username, `system:serviceaccount:${ns}:reader`);

  const readerCore = asReader.makeApiClient(CoreV1Api);
  const forbidden = await refusal(readerCore.readNamespacedSecret({ namespace: ns, name: 'creds' }));
  assert.is(forbidden.code, 403);

  await rbac.createNamespacedRole({
    namespace: ns,
    body: {
      metadata: { name: 'read-creds' },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['creds'], verbs: ['get'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name: 'reader-reads-creds' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-creds' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    },
  });
  // The RBAC authorizer reads roles from an informer cache, so the grant lands shortly after.
  let password = '';
  await eventually('the RoleBinding to take effect', 30_000, async () => {
    const secret = await readerCore.readNamespacedSecret({ namespace: ns, name: 'creds' });
    password = Buffer.from(secret.data!.password, 'base64').toString();
    return true;
  });
  assert.is(password, 'hunter2');
});

test('kube-controller-manager garbage-collects a Secret owned by a deleted custom resource', async () => {
  const { core, custom } = await setup();
  const ns = await namespace('gc');
  const owner = (await custom.createNamespacedCustomObject({
    group,
    version,
    namespace: ns,
    plural,
    body: widget('owner', { size: 1 }),
  })) as Widget;
  await core.createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: {
        name: 'owned',
        ownerReferences: [
          {
            apiVersion: owner.apiVersion,
            kind: owner.kind,
            name: owner.metadata.name,
            uid: owner.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      stringData: { token: 'x' },
    },
  });
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'bystander' }, stringData: { token: 'y' } },
  });

  await custom.deleteNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'owner' });
  // The garbage collector picks up new resource types on its 30 s rescan, hence the long bound.
  await eventually('the owned Secret to be garbage-collected', 90_000, async () => {
    try {
      await core.readNamespacedSecret({ namespace: ns, name: 'owned' });
      return false;
    } catch (err) {
      return err instanceof ApiException && err.code === 404;
    }
  });
  const bystander = await core.readNamespacedSecret({ namespace: ns, name: 'bystander' });
  assert.is(bystander.metadata?.name, 'bystander', 'a Secret without an owner is left alone');
});

type WatchOutcome = { http: number } | { event: string; code?: number } | { closed: true };

/** Opens a watch from `resourceVersion` and reports how it was answered (the server ends it within 10 s). */
async function firstWatchAnswer(kubeConfig: KubeConfig, path: string, resourceVersion: string): Promise<WatchOutcome> {
  return new Promise((resolve) => {
    let controller: AbortController | undefined;
    let settled = false;
    const settle = (outcome: WatchOutcome) => {
      if (settled) return;
      settled = true;
      controller?.abort();
      resolve(outcome);
    };
    void new Watch(kubeConfig)
      .watch(
        path,
        { resourceVersion, timeoutSeconds: 10 },
        (type, object: { code?: number }) =>
          settle(type === 'ERROR' ? { event: type, code: object.code } : { event: type }),
        (err: { statusCode?: number } | null) => settle(err?.statusCode ? { http: err.statusCode } : { closed: true }),
      )
      .then((c) => {
        controller = c;
        if (settled) c.abort();
      });
  });
}

test('a watch from a resourceVersion compacted out of etcd is answered with 410 Gone', async () => {
  const { custom, kubeConfig } = await setup();
  const controlPlane = await getControlPlane();
  const ns = await namespace('compacted');
  const target = { group, version, namespace: ns, plural, name: 'w' };
  const first = (await custom.createNamespacedCustomObject({ ...target, body: widget('w', { size: 1 }) })) as Widget;
  for (const size of [2, 3, 4])
    await custom.patchNamespacedCustomObject({ ...target, body: { spec: { size } } }, mergePatch);

  const compactedAt = await controlPlane.compactEtcd();
  assert.ok(compactedAt > Number(first.metadata.resourceVersion), 'the first resourceVersion is below the compaction');
  // The API server's watch cache would still serve the old events from memory; a restart (as in a
  // rollout) leaves only etcd, whose history before the compaction is gone.
  await controlPlane.restartApiServer();

  const path = `/apis/${group}/${version}/namespaces/${ns}/${plural}`;
  let outcome = { closed: true } as WatchOutcome;
  // Right after a restart the cache answers 429 until it has loaded; that is not the answer sought.
  await eventually('a watch answer other than 429', 30_000, async () => {
    outcome = await firstWatchAnswer(kubeConfig, path, first.metadata.resourceVersion!);
    return !('http' in outcome && outcome.http === 429);
  });
  const gone =
    ('http' in outcome && outcome.http === 410) ||
    ('event' in outcome && outcome.event === 'ERROR' && outcome.code === 410);
  assert.ok(gone, `expected 410, got ${JSON.stringify(outcome)}`);
});

test.run();
