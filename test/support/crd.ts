// The CRDs in crds/ as the schema tests read them: the OpenAPI subset they use, and a loader.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { GROUP } from '../../src/api/types.js';

export interface Schema {
  type?: string;
  description?: string;
  format?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxProperties?: number;
  minItems?: number;
  pattern?: string;
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string; fieldPath?: string; reason?: string }>;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

export interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; listKind: string };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns?: Array<{ name: string; type: string; jsonPath: string; priority?: number }>;
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The text of one of our CRDs: the source in crds/, or the chart's copy. */
export function crdText(plural: string, where: 'crds' | 'chart' = 'crds'): string {
  const folder = where === 'crds' ? 'crds' : 'deploy/influx-onboarding-operator/crds';
  return readFileSync(join(root, folder, `${GROUP}_${plural}.yaml`), 'utf8');
}

/** The plural of every CRD in crds/ (files named <group>_<plural>.yaml). */
export function crdPlurals(): string[] {
  const prefix = `${GROUP}_`;
  return readdirSync(join(root, 'crds'))
    .filter((file) => file.startsWith(prefix) && file.endsWith('.yaml'))
    .map((file) => file.slice(prefix.length, -'.yaml'.length));
}

export function loadCrd(plural: string): Crd {
  return parse(crdText(plural)) as Crd;
}
