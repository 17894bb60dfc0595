// How the InfluxToken reconciler carries out a step of its decision: the ports it acts through,
// what one reconcile knows of its run (lists shared between tokens, tokens known orphan-free), and
// one function per kind of step, whose answer (or what was refused) becomes a fact.
import {
  TOKEN_KIND,
  type DesiredTokenSecret,
  type InfluxBucket,
  type InfluxToken,
  type InfluxTokenStatus,
  type TokenSecret,
} from '../api/access-types.js';
import { redactionOwner, validCredentials } from '../api/credentials.js';
import type { Outcome } from '../influx/index.js';
import { requestKey, type FreshReads } from '../runtime/index.js';
import type { AccessFinish, Connection, FinalizerStep } from './access.js';
import { recordStep, type AccessOptions, type AccessPorts, type KindPorts } from './reconciler.js';
import { bucketPermissions, type ListedAuthorization } from './token-authorizations.js';
import type { TokenFacts, TokenStep } from './token-facts.js';
import type { V1Step } from './token-v1.js';

export interface TokenPorts extends AccessPorts, KindPorts<InfluxToken, InfluxTokenStatus> {
  bucket(namespace: string, name: string): InfluxBucket | undefined;
  /** The Secret as the cache shows it, or as this process last wrote it (read-your-writes). */
  readSecret(owner: InfluxToken, name: string): Promise<TokenSecret>;
  /** The Secret as the API server has it: read before an authorization is deleted or created. */
  confirmSecret(owner: InfluxToken, name: string): Promise<TokenSecret>;
  writeSecret(owner: InfluxToken, desired: DesiredTokenSecret, observed: TokenSecret): Promise<TokenSecret>;
  /** Whether the API server (not the cache) still has this InfluxToken, with the same UID: asked before a token is made. */
  existsOnServer(owner: InfluxToken): Promise<boolean>;
}

export type TokenAction = Exclude<TokenStep, AccessFinish<InfluxTokenStatus> | FinalizerStep>;

/** A token whose authorizations were listed, leaving no orphan, while its Secret was at this version. */
export interface OrphanFree {
  uid: string;
  secretVersion: string;
}

export type AuthorizationList = Outcome<ListedAuthorization[]>;

/** What one reconcile of a run knows of the run: the tokens known orphan-free, and the lists of the org's authorizations it may share. */
export interface RunState {
  clean: Map<string, OrphanFree>;
  lists: FreshReads<AuthorizationList>;
  /** The point past which this reconcile's list must be sent (see listedAfter). */
  listedAfter: number;
  /** Per token, the point of its last create or delete in this run. */
  changes: Map<string, number>;
}

const connectionKey = ({ target, orgID, token }: Connection): string =>
  JSON.stringify([target.url, target.caPem ?? '', target.insecureSkipVerify, orgID, token]);

/** The owner of an InfluxToken's values in the log redaction. */
export function tokenOwner(key: string): string {
  return redactionOwner(TOKEN_KIND, key);
}

/** The token the Secret holds now, in place of what it held: one edited away is forgotten by the redaction. */
export function holdSecretToken(options: AccessOptions, key: string, secret: TokenSecret): void {
  const token = secret.state === 'owned' ? secret.data.token : undefined;
  options.secrets.hold(tokenOwner(key), 'secret', validCredentials({ tokens: [token] }));
}

/** Carries out one step in InfluxDB or on the token's Secret; its answer (or what was refused) becomes a fact. */
export async function act(
  ports: TokenPorts,
  options: AccessOptions,
  step: TokenAction,
  facts: TokenFacts,
  run: RunState,
): Promise<TokenFacts> {
  const key = `${facts.resource.metadata.namespace}/${facts.resource.metadata.name}`;
  switch (step.kind) {
    case 'record':
      return recordStep(ports, step.change, facts);
    case 'findUser': {
      const { target, token } = step.connection;
      return { ...facts, user: await ports.influx(target).findUser(token, step.name) };
    }
    case 'createUser': {
      const { target, token } = step.connection;
      const created = await ports.influx(target).createUser(token, step.name);
      return created.ok
        ? { ...facts, user: { ok: true, value: created.value.id } }
        : { ...facts, failure: { doing: `creating InfluxDB user ${step.name}`, failure: created.failure } };
    }
    case 'listAuthorizations':
      return { ...facts, authorizations: await listAuthorizations(ports, step, run) };
    case 'readAuthorization': {
      const { target, token } = step.connection;
      const found = await ports.influx(target).authorization(token, step.authorizationID);
      return { ...facts, probed: { ...facts.probed, [step.authorizationID]: found } };
    }
    case 'createAuthorization':
      // From here until a list finds no orphan, one may exist: this create's answer can be lost.
      run.clean.delete(key);
      run.changes.set(key, run.lists.mark());
      return create(ports, options, step, facts);
    case 'writeSecret':
      return writeSecret(ports, options, step.secret, facts, key);
    case 'confirmSecret': {
      if (!facts.checked.ok) throw new Error('a token without a valid spec has no Secret to confirm');
      const secret = await ports.confirmSecret(facts.resource, facts.checked.spec.secretName);
      holdSecretToken(options, key, secret);
      return { ...facts, secret, secretConfirmed: true };
    }
    case 'deleteAuthorization':
      run.changes.set(key, run.lists.mark());
      return deleteAuthorization(ports, options, step, facts, key);
    default:
      return actV1(ports, options, step, facts);
  }
}

/** The namespace user's authorizations, without their tokens, read once per run and shared by the tokens that need it. */
function listAuthorizations(
  ports: TokenPorts,
  step: Extract<TokenAction, { kind: 'listAuthorizations' }>,
  run: RunState,
): Promise<NonNullable<TokenFacts['authorizations']>> {
  const { target, token } = step.connection;
  return run.lists.read(
    `${connectionKey(step.connection)} user ${step.userID}`,
    run.listedAfter,
    async () => {
      const listed = await ports.influx(target).listAuthorizations(token, { userID: step.userID });
      return listed.ok ? { ok: true, value: listed.value.map(({ id, description }) => ({ id, description })) } : listed;
    },
    (listed) => listed.ok,
  );
}

/** Writes the token's Secret, its values held for redaction first; the answer is the Secret as the API server has it now. */
async function writeSecret(
  ports: TokenPorts,
  options: AccessOptions,
  desired: DesiredTokenSecret,
  facts: TokenFacts,
  key: string,
): Promise<TokenFacts> {
  const { token, 'v1-password': v1Password, 'v1-pending-password': pending } = desired.data;
  const owner = tokenOwner(key);
  options.secrets.hold(owner, 'secret', validCredentials({ tokens: [token] }));
  options.secrets.hold(owner, 'v1-password', validCredentials({ password: v1Password }));
  options.secrets.hold(owner, 'v1-pending-password', validCredentials({ password: pending }));
  const { issued: _written, ...rest } = facts;
  const secret = await ports.writeSecret(facts.resource, desired, facts.secret);
  return { ...rest, secret, secretConfirmed: true };
}

async function deleteAuthorization(
  ports: TokenPorts,
  options: AccessOptions,
  step: Extract<TokenAction, { kind: 'deleteAuthorization' }>,
  facts: TokenFacts,
  key: string,
): Promise<TokenFacts> {
  const { target, token } = step.connection;
  const deleted = await ports.influx(target).deleteAuthorization(token, step.authorizationID);
  if (!deleted.ok) {
    const doing = `deleting authorization ${step.authorizationID} (${step.why})`;
    return { ...facts, failure: { doing, failure: deleted.failure } };
  }
  options.logger.info('deleted authorization', { resource: key, authorizationID: step.authorizationID, why: step.why });
  return { ...facts, deleted: [...(facts.deleted ?? []), step.authorizationID] };
}

/** Carries out one step on the token's v1 authorization; its answer becomes a fact. */
async function actV1(ports: TokenPorts, options: AccessOptions, step: V1Step, facts: TokenFacts): Promise<TokenFacts> {
  const { target, token, orgID } = step.connection;
  const influx = ports.influx(target);
  const v1 = facts.v1 ?? {};
  const secretV1 = facts.secret.state === 'owned' ? facts.secret.v1 : undefined;
  const key = `${facts.resource.metadata.namespace}/${facts.resource.metadata.name}`;
  switch (step.kind) {
    case 'listV1':
      return { ...facts, v1: { ...v1, listed: await influx.listV1Authorizations(token, step.filter) } };
    case 'readV1': {
      const outcome = await influx.v1Authorization(token, step.authorizationID);
      return { ...facts, v1: { ...v1, found: { id: step.authorizationID, outcome } } };
    }
    case 'createV1': {
      const created = await influx.createV1Authorization(token, {
        orgID,
        ...(step.userID !== undefined && { userID: step.userID }),
        username: step.username,
        description: step.description,
        permissions: bucketPermissions(orgID, step.permissions),
      });
      // What InfluxDB answered is what it holds: no read needed before the Secret is written.
      const found = created.ok ? { found: { id: created.value.id, outcome: created } } : {};
      return { ...facts, v1: { ...v1, created, ...found } };
    }
    case 'setV1Password': {
      const password = secretV1?.pendingPassword;
      if (password === undefined) throw new Error('a v1 password is set only from the Secret');
      const set = await influx.setV1Password(token, step.authorizationID, password);
      if (!set.ok) return { ...facts, failure: { doing: 'setting the v1 password', failure: set.failure } };
      options.logger.info('set v1 password', { resource: key, authorizationID: step.authorizationID });
      return { ...facts, v1: { ...v1, passwordSet: step.authorizationID } };
    }
    case 'proveV1': {
      if (secretV1?.password === undefined) throw new Error('v1 credentials are proven only from the Secret');
      const proven = await influx.v1Databases({ username: secretV1.username, password: secretV1.password });
      return { ...facts, v1: { ...v1, proven } };
    }
    case 'deleteV1': {
      const deleted = await influx.deleteV1Authorization(token, step.authorizationID);
      if (!deleted.ok) {
        const doing = `deleting v1 authorization ${step.authorizationID} (${step.why})`;
        return { ...facts, failure: { doing, failure: deleted.failure } };
      }
      options.logger.info('deleted v1 authorization', {
        resource: key,
        authorizationID: step.authorizationID,
        why: step.why,
      });
      return { ...facts, v1: { ...v1, deleted: [...(v1.deleted ?? []), step.authorizationID] } };
    }
  }
}

/** A new authorization; its token registered for redaction at once, and the list read before it made to show it. */
async function create(
  ports: TokenPorts,
  options: AccessOptions,
  step: Extract<TokenAction, { kind: 'createAuthorization' }>,
  facts: TokenFacts,
): Promise<TokenFacts> {
  // A cache behind the API server (a new leader after a partition) still holds a token whose
  // deletion finished: a token made for it would be an orphan nothing ever deletes.
  if (!(await ports.existsOnServer(facts.resource))) {
    const { namespace, name } = facts.resource.metadata;
    throw new Error(
      `InfluxToken ${namespace}/${name} is gone from the API server; the cache is behind: no token is made for it`,
    );
  }
  const { target, token, orgID } = step.connection;
  const created = await ports.influx(target).createAuthorization(token, {
    orgID,
    userID: step.userID,
    description: step.description,
    permissions: bucketPermissions(orgID, step.permissions),
  });
  if (!created.ok) return { ...facts, failure: { doing: 'creating the authorization', failure: created.failure } };
  const key = requestKey(facts.resource.metadata);
  options.secrets.hold(tokenOwner(key), 'created', validCredentials({ tokens: [created.value.token] }));
  // It exists in InfluxDB now: the list read before the create must show it, or it would look deleted.
  const listed = facts.authorizations?.ok ? facts.authorizations.value : [];
  return {
    ...facts,
    issued: created.value,
    authorizations: { ok: true, value: [...listed, { id: created.value.id, description: step.description }] },
    // The answer is the authorization as InfluxDB holds it, token included: once the Secret holds
    // that token it is proven by this answer as a read by ID would prove it (the next check reads it).
    probed: { ...facts.probed, [created.value.id]: { ok: true, value: created.value } },
  };
}
