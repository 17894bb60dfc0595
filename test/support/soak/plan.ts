// The soak's schedule, a pure function of its seed: the world's fixed cast (instances, namespaces,
// the names of every resource that may exist), the driver's model of what the user wants, and, for
// each round, the operations and faults to carry out at which second of the round. The model
// evolves from the schedule alone (never from what the real system answered), so the same seed
// gives the same schedule; the executor retries an operation until it lands.
import { Random } from './random.js';

export const SYSTEM_NAMESPACE = 'soak-system';
export const TENANTS = ['soak-a', 'soak-b', 'soak-c'] as const;
export type Tenant = (typeof TENANTS)[number];

export type InfluxVersion = 'v2.7.12' | 'v2.9.1';

export interface InstancePlan {
  id: string;
  version: InfluxVersion;
  /** The namespace of its InfluxOnboarding (named `onb-<id>`). */
  namespace: Tenant;
  /** Set up by the driver itself and adopted through tokenSecretRef. */
  adopted: boolean;
}

export const INSTANCES: readonly InstancePlan[] = [
  { id: 'i1', version: 'v2.7.12', namespace: 'soak-a', adopted: false },
  { id: 'i2', version: 'v2.9.1', namespace: 'soak-a', adopted: false },
  { id: 'i3', version: 'v2.9.1', namespace: 'soak-b', adopted: false },
  { id: 'i4', version: 'v2.7.12', namespace: 'soak-b', adopted: true },
];

export const REPLICAS = ['replica-1', 'replica-2'] as const;
export type Replica = (typeof REPLICAS)[number];
/**
 * The replica whose process lives the whole run, so that its memory can be compared from the first
 * quiet point to the last: it is paused, partitioned and cut off, loses and takes the Lease, but
 * is never killed. The other one takes every kill (as leader or standby).
 */
export const LONG_LIVED: Replica = 'replica-1';
const MORTAL: Replica = 'replica-2';

/** Each instance is reached through two proxies (two addresses of one instance): retargets move between them. */
export type Address = 'p' | 'q';

export interface Permission {
  action: 'read' | 'write';
  bucket: string;
}

export interface OnboardingModel {
  present: boolean;
  address: Address;
  retentionSeconds: number;
  /** A passwordSecretRef to `pw-<id>` holding this value; absent: the operator's own password. */
  password?: string;
  /** Other tenant namespaces granted through accessFrom. */
  grants: Tenant[];
  rotatePassword: number;
  rotateToken: number;
}

export interface BucketModel {
  name: string;
  namespace: Tenant;
  instance: string;
  present: boolean;
  retentionSeconds: number;
  /**
   * Deleted once and created again: its deletion (deletionPolicy Retain) left the bucket in
   * InfluxDB with the old UID's marker, which the new resource may not claim (BucketExists) unless
   * a wipe of the instance removed it meanwhile; which of the two happened is up to real timing.
   */
  recreated?: boolean;
}

export interface TokenModel {
  name: string;
  namespace: Tenant;
  instance: string;
  present: boolean;
  permissions: Permission[];
}

export interface Model {
  onboardings: Record<string, OnboardingModel>;
  buckets: Record<string, BucketModel>;
  tokens: Record<string, TokenModel>;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The tenant namespace other than the instance's own that its second bucket and token live in. */
function guestOf(instance: InstancePlan): Tenant {
  return instance.namespace === 'soak-a' ? (instance.id === 'i1' ? 'soak-b' : 'soak-c') : 'soak-c';
}

export function initialModel(): Model {
  const model: Model = { onboardings: {}, buckets: {}, tokens: {} };
  for (const instance of INSTANCES) {
    const guest = guestOf(instance);
    model.onboardings[instance.id] = {
      present: true,
      address: 'p',
      retentionSeconds: 0,
      grants: [guest],
      rotatePassword: 0,
      rotateToken: 0,
    };
    for (const [index, namespace] of [instance.namespace, guest].entries()) {
      const bucket = `b-${instance.id}-${index + 1}`;
      model.buckets[key(namespace, bucket)] = {
        name: bucket,
        namespace,
        instance: instance.id,
        present: true,
        retentionSeconds: 0,
      };
      const token = `t-${instance.id}-${index + 1}`;
      model.tokens[key(namespace, token)] = {
        name: token,
        namespace,
        instance: instance.id,
        present: true,
        permissions: [{ action: 'write', bucket }],
      };
    }
  }
  return model;
}

export type Operation =
  | { kind: 'create-onboarding' | 'delete-onboarding'; instance: string }
  | { kind: 'onboarding-retention'; instance: string; retentionSeconds: number }
  | { kind: 'password-ref'; instance: string; password?: string }
  | { kind: 'grant' | 'withdraw-grant'; instance: string; namespace: Tenant }
  | { kind: 'rotate-password' | 'rotate-token'; instance: string; value: number }
  | { kind: 'delete-credentials-secret'; instance: string }
  | { kind: 'retarget'; instance: string; to: Address }
  | { kind: 'create-bucket' | 'delete-bucket'; bucket: string }
  | { kind: 'bucket-retention'; bucket: string; retentionSeconds: number }
  | { kind: 'create-token' | 'delete-token' | 'delete-token-secret'; token: string }
  | { kind: 'token-permissions'; token: string; permissions: Permission[] };

export type FaultKind =
  | 'replica-sigkill'
  | 'replica-sigterm'
  | 'replica-partition'
  | 'leader-pause'
  | 'apiserver-sigkill'
  | 'etcd-sigkill'
  | 'api-cut'
  | 'api-blackhole'
  | 'influxd-restart'
  | 'influxd-wipe'
  | 'influx-cut'
  | 'influx-blackhole'
  | 'influx-drop-answer';

export interface Fault {
  kind: FaultKind;
  /** What it hits: a replica, an instance, or the control plane component. */
  target: string;
  /** Seconds from the round's start. */
  at: number;
  /** Seconds until it is healed (0: a moment, like a cut). */
  seconds: number;
}

export interface PlannedOperation {
  at: number;
  operation: Operation;
  /** The model right after it: what the executor makes the objects it concerns match. */
  after: Model;
}

export interface Round {
  index: number;
  operations: PlannedOperation[];
  faults: Fault[];
  /** The model once every operation of the round has landed: what the quiet point checks against. */
  model: Model;
}

export interface PlanOptions {
  /** Seconds of operations and faults before each quiet point. */
  chaosSeconds: number;
  /** Longest a leader is paused: past its Lease. */
  pauseSeconds: number;
  /** At most this many faults at once. */
  maxOverlap: number;
}

const RETENTIONS = [0, 3600, 86_400, 604_800];

function clone(model: Model): Model {
  return structuredClone(model);
}

function onboardingNamespace(instance: string): Tenant {
  const plan = INSTANCES.find((candidate) => candidate.id === instance);
  if (plan === undefined) throw new Error(`no instance ${instance}`);
  return plan.namespace;
}

export function instancePlan(instance: string): InstancePlan {
  const plan = INSTANCES.find((candidate) => candidate.id === instance);
  if (plan === undefined) throw new Error(`no instance ${instance}`);
  return plan;
}

/** One operation the model allows now, applied to it; undefined when the pick does not apply. */
function nextOperation(random: Random, model: Model, round: number, step: number): Operation | undefined {
  const instance = random.pick(INSTANCES);
  const onboarding = model.onboardings[instance.id];
  const buckets = Object.entries(model.buckets).filter(([, bucket]) => bucket.instance === instance.id);
  const tokens = Object.entries(model.tokens).filter(([, token]) => token.instance === instance.id);
  const value = round * 100 + step + 1;
  switch (random.int(0, 13)) {
    case 0:
      if (onboarding.present && random.chance(0.5)) {
        onboarding.present = false;
        return { kind: 'delete-onboarding', instance: instance.id };
      }
      if (!onboarding.present) {
        onboarding.present = true;
        return { kind: 'create-onboarding', instance: instance.id };
      }
      return undefined;
    case 1: {
      if (!onboarding.present) return undefined;
      onboarding.retentionSeconds = random.pick(RETENTIONS.filter((r) => r !== onboarding.retentionSeconds));
      return { kind: 'onboarding-retention', instance: instance.id, retentionSeconds: onboarding.retentionSeconds };
    }
    case 2: {
      if (!onboarding.present || instance.adopted) return undefined;
      if (onboarding.password !== undefined && random.chance(0.3)) {
        delete onboarding.password;
        return { kind: 'password-ref', instance: instance.id };
      }
      onboarding.password = `Soak-${value}-${random.int(100_000, 999_999)}-pw`;
      return { kind: 'password-ref', instance: instance.id, password: onboarding.password };
    }
    case 3: {
      if (!onboarding.present) return undefined;
      const guest = guestOf(instance);
      if (onboarding.grants.includes(guest)) {
        onboarding.grants = onboarding.grants.filter((namespace) => namespace !== guest);
        return { kind: 'withdraw-grant', instance: instance.id, namespace: guest };
      }
      onboarding.grants = [...onboarding.grants, guest];
      return { kind: 'grant', instance: instance.id, namespace: guest };
    }
    case 4:
      if (!onboarding.present || onboarding.password !== undefined || instance.adopted) return undefined;
      onboarding.rotatePassword = value;
      return { kind: 'rotate-password', instance: instance.id, value };
    case 5:
      if (!onboarding.present || instance.adopted) return undefined;
      onboarding.rotateToken = value;
      return { kind: 'rotate-token', instance: instance.id, value };
    case 6:
      return { kind: 'delete-credentials-secret', instance: instance.id };
    case 7:
      if (!onboarding.present) return undefined;
      onboarding.address = onboarding.address === 'p' ? 'q' : 'p';
      return { kind: 'retarget', instance: instance.id, to: onboarding.address };
    case 8: {
      const [, bucket] = random.pick(buckets);
      bucket.present = !bucket.present;
      if (bucket.present) bucket.recreated = true;
      return { kind: bucket.present ? 'create-bucket' : 'delete-bucket', bucket: bucket.name };
    }
    case 9: {
      const [, bucket] = random.pick(buckets);
      if (!bucket.present) return undefined;
      bucket.retentionSeconds = random.pick(RETENTIONS.filter((r) => r !== bucket.retentionSeconds));
      return { kind: 'bucket-retention', bucket: bucket.name, retentionSeconds: bucket.retentionSeconds };
    }
    case 10:
    case 11: {
      const [, token] = random.pick(tokens);
      token.present = !token.present;
      return { kind: token.present ? 'create-token' : 'delete-token', token: token.name };
    }
    case 12: {
      const [, token] = random.pick(tokens);
      if (!token.present) return undefined;
      const bucket = token.permissions[0]?.bucket ?? '';
      const choices: Permission[][] = [
        [{ action: 'write', bucket }],
        [{ action: 'read', bucket }],
        [
          { action: 'read', bucket },
          { action: 'write', bucket },
        ],
      ];
      const current = JSON.stringify(token.permissions);
      token.permissions = random.pick(choices.filter((choice) => JSON.stringify(choice) !== current));
      return { kind: 'token-permissions', token: token.name, permissions: token.permissions };
    }
    default: {
      const [, token] = random.pick(tokens);
      if (!token.present) return undefined;
      return { kind: 'delete-token-secret', token: token.name };
    }
  }
}

const FAULT_KINDS: Array<{ kind: FaultKind; weight: number; seconds: [number, number] }> = [
  { kind: 'replica-sigkill', weight: 3, seconds: [2, 6] },
  { kind: 'replica-sigterm', weight: 2, seconds: [1, 4] },
  { kind: 'replica-partition', weight: 2, seconds: [4, 12] },
  { kind: 'leader-pause', weight: 2, seconds: [0, 0] },
  { kind: 'apiserver-sigkill', weight: 1, seconds: [1, 4] },
  { kind: 'etcd-sigkill', weight: 1, seconds: [1, 4] },
  { kind: 'api-cut', weight: 3, seconds: [0, 0] },
  { kind: 'api-blackhole', weight: 2, seconds: [3, 10] },
  { kind: 'influxd-restart', weight: 2, seconds: [0, 2] },
  { kind: 'influxd-wipe', weight: 1, seconds: [0, 0] },
  { kind: 'influx-cut', weight: 3, seconds: [0, 0] },
  { kind: 'influx-blackhole', weight: 2, seconds: [3, 10] },
  { kind: 'influx-drop-answer', weight: 3, seconds: [2, 6] },
];

function pickFault(random: Random): (typeof FAULT_KINDS)[number] {
  const total = FAULT_KINDS.reduce((sum, kind) => sum + kind.weight, 0);
  let draw = random.next() * total;
  for (const kind of FAULT_KINDS) {
    draw -= kind.weight;
    if (draw < 0) return kind;
  }
  return FAULT_KINDS[0];
}

function targetOf(random: Random, kind: FaultKind): string {
  switch (kind) {
    case 'replica-sigkill':
    case 'replica-sigterm':
      return MORTAL;
    case 'replica-partition':
    case 'api-cut':
    case 'api-blackhole':
      return random.pick(REPLICAS);
    case 'leader-pause':
      return 'leader';
    case 'apiserver-sigkill':
      return 'kube-apiserver';
    case 'etcd-sigkill':
      return 'etcd';
    case 'influxd-wipe':
      // An adopted instance wiped is one nobody can set up again with its old credentials.
      return random.pick(INSTANCES.filter((instance) => !instance.adopted)).id;
    default:
      return random.pick(INSTANCES).id;
  }
}

/** What a fault holds while it lasts: two faults on one of these never overlap. */
export function holds(fault: Pick<Fault, 'kind' | 'target'>): string[] {
  // The paused leader is either replica: nothing else may hold one meanwhile.
  if (fault.kind === 'leader-pause') return [...REPLICAS];
  if (fault.kind === 'apiserver-sigkill' || fault.kind === 'etcd-sigkill') return ['control-plane'];
  return [fault.target];
}

/** Round `index` of the schedule of `seed`, starting from `model` (the previous round's). */
export function planRound(seed: number, index: number, model: Model, options: PlanOptions): Round {
  const random = new Random(seed).fork(`round ${index}`);
  const next = clone(model);
  const operations: PlannedOperation[] = [];
  const count = random.int(6, 10);
  // Times drawn first and sorted: operations run in the order they changed the model.
  const times = Array.from({ length: count }, () => Math.round(random.next() * options.chaosSeconds * 10) / 10).sort(
    (a, b) => a - b,
  );
  for (let step = 0; operations.length < count && step < count * 4; step++) {
    const operation = nextOperation(random, next, index, step);
    if (operation !== undefined) operations.push({ at: times[operations.length] ?? 0, operation, after: clone(next) });
  }

  const faults: Fault[] = [];
  const busy: Array<{ from: number; to: number; holds: string[] }> = [];
  for (let attempt = 0; attempt < 200; attempt++) {
    const picked = pickFault(random);
    const target = targetOf(random, picked.kind);
    const seconds =
      picked.kind === 'leader-pause'
        ? options.pauseSeconds
        : Math.round((picked.seconds[0] + random.next() * (picked.seconds[1] - picked.seconds[0])) * 10) / 10;
    const at = Math.round(random.next() * (options.chaosSeconds - seconds - 1) * 10) / 10;
    if (at < 0) continue;
    // A moment (a cut) still occupies a second, so that one cut is not stacked on another.
    const span = { from: at, to: at + Math.max(seconds, 1) + 2, holds: holds({ kind: picked.kind, target }) };
    const overlapping = busy.filter((other) => other.from < span.to && span.from < other.to);
    if (overlapping.length >= options.maxOverlap) continue;
    if (overlapping.some((other) => other.holds.some((what) => span.holds.includes(what)))) continue;
    busy.push(span);
    faults.push({ kind: picked.kind, target, at, seconds });
  }
  faults.sort((a, b) => a.at - b.at);
  return { index, operations, faults, model: next };
}

export { key as modelKey, onboardingNamespace, guestOf };
