// The InfluxToken decision: what to do next for one InfluxToken, from its facts (token-facts.ts).
// Its deletion and a withdrawn grant revoke what was issued; otherwise the preconditions below,
// then the phases that issue and keep its authorization (token-issue.ts). Pure.
import type { RecordChange } from '../api/access-records.js';
import type { EffectiveTokenSpec } from '../api/access-spec.js';
import { after, NONE, type ResourceEvent } from '../runtime/index.js';
import { failureVerdict, refusalMessage, type OnboardingAccess } from './access.js';
import { finish, hasFinalizer, namedBySecret, revokeAll, type TokenFacts, type TokenStep } from './token-facts.js';
import { issueToken, type Granted } from './token-issue.js';
import { revokeV1 } from './token-v1.js';

/** The token's record entry, when there is one, goes with it. */
function forgetting(facts: TokenFacts): { forget?: RecordChange } {
  const uid = facts.resource.metadata.uid;
  return facts.record?.tokens[uid] === undefined ? {} : { forget: { kind: 'forgetToken', uid } };
}

function decideDeletion(facts: TokenFacts): TokenStep {
  const { access } = facts;
  if (!hasFinalizer(facts.resource))
    return finish(facts, { reason: 'Deleting', message: 'being deleted', requeue: NONE });
  if (!facts.checked.ok) {
    return {
      kind: 'removeFinalizer',
      event: {
        type: 'Warning',
        reason: 'InvalidSpec',
        message: 'the spec names no onboarding to delete the authorization through',
      },
    };
  }
  if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
  const letGo = (event?: ResourceEvent): TokenStep => ({
    kind: 'removeFinalizer',
    ...(event && { event }),
    ...forgetting(facts),
  });
  if (access.kind === 'waiting' && access.gone) {
    return letGo({
      type: 'Warning',
      reason: 'OnboardingGone',
      message: `${access.message}: the token's authorization could not be deleted from InfluxDB`,
    });
  }
  if (access.kind === 'waiting')
    // Waiting for the onboarding: its change wakes this resource, the drift interval is the poll.
    return finish(facts, {
      reason: access.reason,
      message: `${access.message}; deletion waits`,
      requeue: after(facts.driftCheckIntervalMs),
    });
  const connection = access.connection;
  if (connection === undefined) {
    // Without a grant (or with the onboarding gone, to another namespace) InfluxDB cannot be reached through it.
    const issued = facts.record?.tokens[facts.resource.metadata.uid] !== undefined;
    return letGo(
      issued && access.kind === 'not-permitted'
        ? {
            type: 'Warning',
            reason: 'NotPermitted',
            message: `${access.message}: the token's authorization could not be deleted from InfluxDB`,
          }
        : undefined,
    );
  }
  return (
    revokeAll(facts, connection, 'the InfluxToken is being deleted') ??
    revokeV1(facts, connection, facts.checked.spec, 'the InfluxToken is being deleted') ??
    letGo({ type: 'Normal', reason: 'TokenRevoked', message: 'authorization deleted from InfluxDB' })
  );
}

/** A withdrawn grant: what was issued under it stops working, and the Secret keeps no token. */
function withdraw(
  facts: TokenFacts,
  spec: EffectiveTokenSpec,
  access: Extract<OnboardingAccess, { kind: 'not-permitted' }>,
): TokenStep {
  const { secret } = facts;
  // Only the operator's record tells that something was issued: a namespace that was never
  // granted has nothing there, and its resources (a Secret it wrote itself) never cause a request to InfluxDB.
  const issuedBefore = facts.record?.tokens[facts.resource.metadata.uid] !== undefined;
  if (issuedBefore && access.connection !== undefined) {
    const why = 'the onboarding does not grant this namespace access';
    const revoke = revokeAll(facts, access.connection, why) ?? revokeV1(facts, access.connection, spec, why);
    if (revoke !== undefined) return revoke;
  }
  if (secret.state === 'owned' && (secret.data.token !== undefined || namedBySecret(secret).length > 0)) {
    const { url, org } = secret.data;
    return {
      kind: 'writeSecret',
      secret: {
        name: spec.secretName,
        data: { ...(url && { url }), ...(org && { org }) },
        authorizationID: '',
        permissions: '',
        retiring: [],
      },
    };
  }
  // All revoked: nothing issued is left, so the next visit asks InfluxDB nothing.
  const uid = facts.resource.metadata.uid;
  return issuedBefore && access.connection !== undefined
    ? { kind: 'record', change: { kind: 'forgetToken', uid } }
    : finish(facts, { reason: 'NotPermitted', message: access.message, requeue: NONE });
}

/**
 * What an InfluxToken needs next: its finalizer, access through its onboarding, its buckets (from
 * the operator's record), its namespace's user, then an authorization that serves the Secret. An
 * authorization is deleted or created only on the Secret as the API server has it.
 */
export function decideToken(facts: TokenFacts): TokenStep {
  const step = nextStep(facts);
  const changesInfluxDB = [
    'deleteAuthorization',
    'createAuthorization',
    'deleteV1',
    'createV1',
    'setV1Password',
  ].includes(step.kind);
  return changesInfluxDB && !facts.secretConfirmed ? { kind: 'confirmSecret' } : step;
}

function nextStep(facts: TokenFacts): TokenStep {
  if (facts.resource.metadata.deletionTimestamp !== undefined) return decideDeletion(facts);
  const granted = preconditions(facts);
  return 'kind' in granted ? granted : issueToken(granted);
}

/** Nothing is sent to InfluxDB until these hold: a valid spec, the finalizer, a Secret of its own, access, quota. */
function preconditions(facts: TokenFacts): Granted | TokenStep {
  const { resource, checked, access, secret } = facts;
  if (!checked.ok) return finish(facts, { reason: 'InvalidSpec', message: checked.problems.join('; '), requeue: NONE });
  if (!hasFinalizer(resource)) return { kind: 'addFinalizer' };
  const spec = checked.spec;
  if (secret.state === 'foreign') {
    return finish(facts, {
      reason: 'SecretConflict',
      message: `Secret ${spec.secretName} exists and was not written for this InfluxToken; delete it or set spec.secretName`,
      requeue: NONE,
    });
  }
  if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
  if (access.kind === 'waiting')
    return finish(facts, {
      reason: access.reason,
      message: access.message,
      requeue: after(facts.driftCheckIntervalMs),
    });
  if (access.kind === 'not-permitted') return withdraw(facts, spec, access);
  const { connection, terms } = access;
  if (facts.refused !== undefined) {
    return finish(facts, {
      reason: 'QuotaExceeded',
      message: `${refusalMessage(facts.refused, 'InfluxTokens', connection.onboarding, resource.metadata.namespace)}. Nothing was created`,
      requeue: after(facts.driftCheckIntervalMs),
    });
  }
  return { facts, spec, connection, terms };
}
