import type { Created, InfluxClient, Outcome } from '../influx/index.js';
import { withRepair } from './phases/org-bucket.js';
import type { Finish, RepairStep, Step } from './step.js';
import type { Facts } from './facts.js';
import type { CredentialMemory } from './memory.js';
import type { OnboardingPorts } from './ports.js';

/** What carrying out a step needs besides the step: the ports, InfluxDB's client, and where credentials are kept. */
export interface Actor {
  ports: OnboardingPorts;
  /** The client for the spec's instance, made on first use (an invalid spec never reaches InfluxDB). */
  client: () => InfluxClient;
  memory: CredentialMemory;
  key: string;
}

/** Carries out one step; its answer becomes a fact for the next decision. */
export async function act(actor: Actor, step: Exclude<Step, Finish>, facts: Facts): Promise<Facts> {
  const { client } = actor;
  switch (step.kind) {
    case 'checkBucket':
      return { ...facts, bucketCheck: await client().bucket(step.token, step.bucketID) };
    case 'checkSetupStatus':
      return { ...facts, setupStatus: await client().setupStatus() };
    case 'recheckSetupStatus':
      return { ...facts, setupRecheck: await client().setupStatus() };
    case 'checkToken':
      return { ...facts, tokenCheck: await client().checkToken(step.token) };
    case 'lookupIDs':
      return { ...facts, ids: await client().lookupIDs(step.token, step.org, step.bucket, step.userID) };
    case 'createOrg':
    case 'createBucket':
    case 'setRetention':
      return withRepair(facts, step, await repair(client(), step));
    case 'checkHealth':
      return { ...facts, health: await client().health() };
    case 'listAuthorizations':
      return { ...facts, authorizations: await client().listAuthorizations(step.token, { userID: step.userID }) };
    case 'createAuthorization': {
      const created = await client().createAuthorization(step.token, step.request);
      if (created.ok) actor.memory.holdCreated(actor.key, created.value.token);
      return { ...facts, createdAuthorization: created };
    }
    case 'checkNewToken':
      return { ...facts, createdTokenCheck: await client().checkToken(step.token) };
    case 'deleteAuthorization': {
      const outcome = await client().deleteAuthorization(step.token, step.id);
      return { ...facts, authorizationsDeleted: [...(facts.authorizationsDeleted ?? []), { id: step.id, outcome }] };
    }
    case 'setPassword': {
      const outcome = await client().setPassword(step.token, step.userID, step.password);
      return { ...facts, passwordSet: { password: step.password, outcome } };
    }
    case 'checkPassword':
      return { ...facts, passwordCheck: await client().checkPassword(step.username, step.password) };
    case 'writeSecret':
      return writeSecret(actor, step, facts);
    case 'postSetup':
      return { ...facts, setupAnswer: await client().setup(step.request) };
    case 'postSetupUser':
      return { ...facts, setupAnswer: await client().setupUser(step.request, step.authToken) };
  }
}

/**
 * The credentials go to memory and to the escrow before the Secret: whatever happens to the write,
 * they are kept somewhere this process can restore them from.
 */
async function writeSecret(actor: Actor, step: Extract<Step, { kind: 'writeSecret' }>, facts: Facts): Promise<Facts> {
  const { ports, memory, key } = actor;
  memory.remember(key, facts.resource, {
    credentials: step.credentials,
    target: { url: step.secret.data.url, tls: step.secret.tls },
  });
  const { pendingPassword } = step.secret;
  if (pendingPassword !== undefined) memory.holdPending(key, pendingPassword ?? undefined);
  await ports.escrow?.write(facts.resource, step.secret);
  const secret = await ports.writeSecret(facts.resource, step.secret, facts.secret);
  return { ...facts, secret, secretWritten: secret.state === 'owned' };
}

function repair(influx: InfluxClient, step: RepairStep): Promise<Outcome<Created>> {
  switch (step.kind) {
    case 'createOrg':
      return influx.createOrg(step.token, step.org);
    case 'createBucket':
      return influx.createBucket(step.token, step.orgID, step.bucket, step.retentionSeconds);
    case 'setRetention':
      return influx.setRetention(step.token, step.bucketID, step.retentionSeconds);
  }
}
