// The operator's image in the node's container runtime, as a user's cluster would pull it: built
// by `npm run image -- --local-base` (the real Dockerfile, on the local bases since no registry
// can be reached), exported from buildah as an OCI archive under the chart's default image name
// and tag, and imported into containerd, so the chart's defaults (imagePullPolicy IfNotPresent)
// find it there.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import type { Cluster } from './node.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const chartDir = join(root, 'deploy/influx-onboarding-operator');
const exec = promisify(execFile);

/** The image the chart deploys with its default values: image.repository and the chart's appVersion. */
export function chartDefaultImage(): string {
  const values = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as { image: { repository: string } };
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  return `${values.image.repository}:${chart.appVersion}`;
}

/** Builds the image and imports it into the cluster's node as chartDefaultImage(); returns that name. */
export async function loadOperatorImage(cluster: Cluster, log: (message: string) => void): Promise<string> {
  const t0 = performance.now();
  const built = await exec('bash', [join(root, 'scripts/image.sh'), '--local-base'], { maxBuffer: 1 << 24 });
  const local = built.stdout.trim().split('\n').pop() ?? '';
  const tBuilt = performance.now();
  const image = chartDefaultImage();
  const archive = join(cluster.dir, 'operator-image.tar');
  await exec('buildah', ['--storage-driver', 'vfs', 'push', '--quiet', local, `oci-archive:${archive}:${image}`]);
  await cluster.importImage(archive);
  log(
    `image ${local} built in ${((tBuilt - t0) / 1000).toFixed(1)} s, ` +
      `imported as ${image} in ${((performance.now() - tBuilt) / 1000).toFixed(1)} s`,
  );
  return image;
}
