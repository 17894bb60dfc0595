// RBAC as permissions to compare: each HTTP request the API tap saw becomes the permission the
// API server's authorizer checked for it ("verb group/resource[/subresource]", the core group
// written "core", or "verb /path" for a non-resource URL), and each rule a Role or ClusterRole
// grants becomes the same strings.
// resourceNames are ignored on purpose: a rule limited to one name still grants its verb on that
// resource, which is what the comparison is about.
import type { TappedRequest } from './api-tap.js';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

export interface RbacManifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/** The permission one request needs, as the API server's request-info resolver derives it. */
export function permissionOf(request: Pick<TappedRequest, 'method' | 'path' | 'query'>): string {
  const parts = request.path.split('/').filter((part) => part !== '');
  const method = request.method.toUpperCase();
  const base = parts[0] === 'api' ? 2 : parts[0] === 'apis' ? 3 : -1;
  if (base < 0 || parts.length <= base) return `${method.toLowerCase()} ${request.path}`;
  const group = parts[0] === 'api' ? '' : (parts[1] ?? '');
  let rest = parts.slice(base);
  // namespaces/<ns>/<resource>...; a bare namespaces/<ns> is the Namespace object itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, subresource] = rest;
  const watch = request.query.get('watch');
  const verb =
    method === 'GET'
      ? name !== undefined
        ? 'get'
        : watch === '1' || watch === 'true'
          ? 'watch'
          : 'list'
      : method === 'POST'
        ? 'create'
        : method === 'PUT'
          ? 'update'
          : method === 'PATCH'
            ? 'patch'
            : method === 'DELETE'
              ? name !== undefined
                ? 'delete'
                : 'deletecollection'
              : method.toLowerCase();
  return resourcePermission(verb, group, `${resource ?? ''}${subresource !== undefined ? `/${subresource}` : ''}`);
}

function resourcePermission(verb: string, group: string, resource: string): string {
  return `${verb} ${group === '' ? 'core' : group}/${resource}`;
}

function permissionsOfRule(rule: PolicyRule): string[] {
  const resourceGrants = (rule.apiGroups ?? []).flatMap((group) =>
    (rule.resources ?? []).flatMap((resource) => rule.verbs.map((verb) => resourcePermission(verb, group, resource))),
  );
  const urlGrants = (rule.nonResourceURLs ?? []).flatMap((url) => rule.verbs.map((verb) => `${verb} ${url}`));
  return [...resourceGrants, ...urlGrants];
}

/**
 * Everything the rendered manifests grant one ServiceAccount: the rules of every Role and
 * ClusterRole that a RoleBinding or ClusterRoleBinding binds to it.
 */
export function grantsTo(manifests: RbacManifest[], serviceAccount: { namespace: string; name: string }): Set<string> {
  return grantsOf(manifests, serviceAccount, () => true);
}

/**
 * What the ServiceAccount may do in one namespace (undefined: cluster-scoped, or across all
 * namespaces): a ClusterRoleBinding grants everywhere, a RoleBinding only in its own namespace.
 */
export function grantsIn(
  manifests: RbacManifest[],
  serviceAccount: { namespace: string; name: string },
  namespace: string | undefined,
): Set<string> {
  return grantsOf(
    manifests,
    serviceAccount,
    (binding) => binding.kind === 'ClusterRoleBinding' || binding.metadata.namespace === namespace,
  );
}

/** The namespace a request is in; undefined for a cluster-scoped one or one across all namespaces. */
export function namespaceOf(request: Pick<TappedRequest, 'path'>): string | undefined {
  const parts = request.path.split('/').filter((part) => part !== '');
  const rest = parts.slice(parts[0] === 'api' ? 2 : 3);
  return (parts[0] === 'api' || parts[0] === 'apis') && rest[0] === 'namespaces' && rest.length >= 3
    ? rest[1]
    : undefined;
}

/** The permissions a Role's or ClusterRole's rules grant. */
export function roleGrants(role: RbacManifest): Set<string> {
  return new Set((role.rules ?? []).flatMap(permissionsOfRule));
}

function grantsOf(
  manifests: RbacManifest[],
  serviceAccount: { namespace: string; name: string },
  applies: (binding: RbacManifest) => boolean,
): Set<string> {
  const grants = new Set<string>();
  for (const binding of manifests.filter((m) => m.kind === 'RoleBinding' || m.kind === 'ClusterRoleBinding')) {
    const bound = (binding.subjects ?? []).some(
      (subject) =>
        subject.kind === 'ServiceAccount' &&
        subject.name === serviceAccount.name &&
        subject.namespace === serviceAccount.namespace,
    );
    if (!bound || binding.roleRef === undefined || !applies(binding)) continue;
    const { kind, name } = binding.roleRef;
    const role = manifests.find(
      (m) =>
        m.kind === kind &&
        m.metadata.name === name &&
        (kind === 'ClusterRole' || m.metadata.namespace === binding.metadata.namespace),
    );
    if (role === undefined)
      throw new Error(`${binding.kind} ${binding.metadata.name} binds ${kind} ${name}, which is not rendered`);
    for (const permission of roleGrants(role)) grants.add(permission);
  }
  return grants;
}
