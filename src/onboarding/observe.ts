import type { Reference } from '../api/credentials.js';
import { setupInstance, type SpecCheck } from '../api/spec.js';
import type { InfluxOnboarding, SecretKeySelector } from '../api/types.js';
import type { Facts, References } from './facts.js';
import { generatePassword, generateToken } from '../api/generate.js';
import type { CredentialMemory } from './memory.js';
import type { OnboardingOptions, OnboardingPorts } from './ports.js';

/**
 * Everything one reconcile decides on before it asks InfluxDB anything: the resource, its
 * referenced Secrets and credentials Secret (with what memory or the escrow holds when the Secret
 * is gone), and any resource ahead of it on the same instance.
 */
export async function observe(
  ports: OnboardingPorts,
  options: OnboardingOptions & { now: () => Date },
  memory: CredentialMemory,
  key: string,
  resource: InfluxOnboarding,
  checked: SpecCheck,
): Promise<Facts> {
  const references = checked.ok ? await readReferences(ports, options, resource) : {};
  const secret = checked.ok
    ? await ports.readSecret(resource, checked.spec.credentialsSecretName)
    : { state: 'absent' as const };
  memory.of(key, resource);
  memory.rememberSecret(key, resource, secret);
  // Nothing in the Secret nor in memory (the resource, or its whole namespace, was deleted and
  // created again; the operator restarted): the escrow's copy, bound to its instance like memory.
  if (secret.state === 'absent' && memory.of(key, resource) === undefined && ports.escrow !== undefined) {
    const escrowed = await ports.escrow.read(resource);
    if (escrowed !== undefined) memory.remember(key, resource, escrowed);
  }
  const known = memory.of(key, resource);
  const duplicate = duplicateOf(ports, resource, checked);
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
    generated: { password: generatePassword(), token: generateToken() },
  };
}

/** The Secrets the spec references, each value registered for log redaction as it is read. */
async function readReferences(
  ports: OnboardingPorts,
  options: OnboardingOptions,
  resource: InfluxOnboarding,
): Promise<References> {
  const { spec } = resource;
  const { namespace } = resource.metadata;
  const read = async (selector: SecretKeySelector | undefined): Promise<Reference | undefined> => {
    if (selector === undefined) return undefined;
    const reference = await ports.readReference(namespace, selector);
    if (reference.found) options.secrets.add(reference.value);
    return reference;
  };
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

/** The resource (namespace/name) ahead of this one on the instance both set up, if any. */
function duplicateOf(ports: OnboardingPorts, resource: InfluxOnboarding, checked: SpecCheck): string | undefined {
  const instance = setupInstance(checked);
  if (instance === undefined) return undefined;
  const ahead = ports
    .settingUp(instance)
    .filter((other) => other.metadata.uid !== resource.metadata.uid && other.metadata.deletionTimestamp === undefined)
    .filter((other) => precedes(other, resource));
  const first = ahead.sort((a, b) => (precedes(a, b) ? -1 : 1))[0];
  return first && `${first.metadata.namespace}/${first.metadata.name}`;
}

/**
 * Which of two resources aimed at one instance may onboard it: the one that already did (its
 * status says when), else the older one. Age alone is not enough: creationTimestamp has whole
 * seconds, so a newcomer created in the same second as the resource that onboarded the instance
 * could win the name tie-break, turn the incumbent into a DuplicateTarget and itself find the
 * instance set up with no token it knows: nobody Ready.
 */
function precedes(a: InfluxOnboarding, b: InfluxOnboarding): boolean {
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
