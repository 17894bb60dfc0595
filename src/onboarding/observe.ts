import type { Reference } from '../api/credentials.js';
import type { SpecCheck } from '../api/spec.js';
import type { InfluxOnboarding, SecretKeySelector } from '../api/types.js';
import type { Facts, References } from './facts.js';
import { generatePassword, generateToken } from '../api/generate.js';
import type { Instance } from './instance.js';
import type { CredentialMemory } from './memory.js';
import type { OnboardingOptions, OnboardingPorts } from './ports.js';

/**
 * Everything one reconcile decides on before it asks InfluxDB anything: the resource, its
 * referenced Secrets and credentials Secret (with what memory or the escrow holds when the Secret
 * is gone), which instance its URL reaches and whether its namespace may (instance.ts), and any
 * resource ahead of it on the same instance.
 */
export async function observe(
  ports: OnboardingPorts,
  options: OnboardingOptions & { now: () => Date },
  memory: CredentialMemory,
  key: string,
  resource: InfluxOnboarding,
  checked: SpecCheck,
): Promise<Facts> {
  const references = checked.ok ? await readReferences(ports, resource) : {};
  memory.holdReferences(key, references);
  const secret = checked.ok
    ? await ports.readSecret(resource, checked.spec.credentialsSecretName)
    : { state: 'absent' as const };
  memory.of(key, resource);
  memory.rememberSecret(key, resource, secret);
  // Nothing in the Secret nor in memory (the Secret was deleted, or the resource, or its whole
  // namespace, was deleted and created again; the operator restarted): the escrow's copy, bound to
  // its instance like memory, and to its resource unless an administrator approved this one.
  let escrowApprovalNeeded: Facts['escrowApprovalNeeded'];
  if (secret.state === 'absent' && memory.of(key, resource) === undefined && ports.escrow !== undefined) {
    const copy = await ports.escrow.read(resource);
    if (copy?.kind === 'restorable') memory.remember(key, resource, copy.escrowed);
    if (copy?.kind === 'approval-needed') escrowApprovalNeeded = copy.secret;
  }
  const known = memory.of(key, resource);
  const instance = checked.ok ? ports.instance(resource.metadata.namespace, checked.spec.url) : undefined;
  const duplicate = duplicateOf(ports, resource, checked, instance);
  return {
    resource,
    now: options.now().toISOString(),
    driftCheckIntervalMs: options.driftCheckIntervalMs,
    passwordCheckIntervalMs: options.passwordCheckIntervalMs,
    requireSecretConsent: options.requireSecretConsent,
    references,
    secret,
    ...(known && { remembered: known }),
    ...(duplicate && { duplicateOf: duplicate }),
    ...(instance?.refusal !== undefined && { notPermitted: instance.refusal }),
    ...(escrowApprovalNeeded && { escrowApprovalNeeded }),
    generated: { password: generatePassword(), token: generateToken() },
  };
}

/** The Secrets the spec references. */
async function readReferences(ports: OnboardingPorts, resource: InfluxOnboarding): Promise<References> {
  const { spec } = resource;
  const { namespace } = resource.metadata;
  const read = async (selector: SecretKeySelector | undefined): Promise<Reference | undefined> =>
    selector === undefined ? undefined : ports.readReference(namespace, selector);
  const [password, token, authToken, ca] = await Promise.all([
    read(spec.passwordSecretRef),
    read(spec.tokenSecretRef),
    read(spec.authTokenSecretRef),
    read(spec.tls?.caSecretRef),
  ]);
  return {
    ...(password && { password }),
    ...(token && { token }),
    ...(authToken && { authToken }),
    ...(ca && { ca }),
  };
}

/**
 * The resource (namespace/name) that onboards this one's instance instead of it, if any: among the
 * resources in mode Setup that reach the same instance (aliases of one Service are one instance)
 * and may, the owner's namespace first, then the one that onboarded it, then the older one. A
 * resource that may not target the instance neither wins nor blocks.
 */
function duplicateOf(
  ports: OnboardingPorts,
  resource: InfluxOnboarding,
  checked: SpecCheck,
  instance: Instance | undefined,
): string | undefined {
  if (!checked.ok || checked.spec.mode !== 'Setup' || instance === undefined || !instance.permitted) return undefined;
  const competes = (other: InfluxOnboarding): boolean => {
    if (other.metadata.uid === resource.metadata.uid || other.metadata.deletionTimestamp !== undefined) return false;
    return ports.reach(other)?.mode === 'Setup';
  };
  const before = (a: InfluxOnboarding, b: InfluxOnboarding) => precedes(a, b, instance.owners);
  const ahead = ports
    .atInstance(instance.spellings, instance.key)
    .filter(competes)
    .filter((other) => before(other, resource));
  const first = ahead.sort((a, b) => (before(a, b) ? -1 : 1))[0];
  return first && `${first.metadata.namespace}/${first.metadata.name}`;
}

/**
 * Which of two resources aimed at one instance may onboard it: one of a namespace that owns it
 * before one of another (whatever either's status says), then the one that already did (its
 * status says when), else the older one. Age alone is not enough: creationTimestamp has whole
 * seconds, so a newcomer created in the same second as the resource that onboarded the instance
 * could win the name tie-break, turn the incumbent into a DuplicateTarget and itself find the
 * instance set up with no token it knows: nobody Ready.
 */
function precedes(a: InfluxOnboarding, b: InfluxOnboarding, owners: readonly string[]): boolean {
  const aOwns = owners.includes(a.metadata.namespace);
  const bOwns = owners.includes(b.metadata.namespace);
  if (aOwns !== bOwns) return aOwns;
  const aHolds = a.status?.onboardedAt !== undefined;
  const bHolds = b.status?.onboardedAt !== undefined;
  if (aHolds !== bHolds) return aHolds;
  return isOlder(a, b);
}

function isOlder(a: InfluxOnboarding, b: InfluxOnboarding): boolean {
  const at = a.metadata.creationTimestamp ?? '';
  const bt = b.metadata.creationTimestamp ?? '';
  if (at !== bt) return at < bt;
  return `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}`;
}
