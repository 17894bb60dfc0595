// The benchmark's own Kubernetes client, for its creations, the floor and the observers: keep-alive
// HTTPS, JSON in and out, and a watch that opens itself again when the API server ends it.
import https from 'node:https';

export const GROUP_PATH = '/apis/influxdb.onboarding.dev/v1alpha1';
/** The benchmark's own creations carry this field manager, so the tap's count leaves them out. */
export const BENCH_MANAGER = 'e2e-bench';

/** What the observers read of a resource: its name and its Ready condition. */
export interface ReadyObject {
  metadata: { name: string; resourceVersion?: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

export interface Kube {
  call(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; json: unknown }>;
  watch(path: string, onEvent: (event: { type: string; object: ReadyObject }) => void): () => void;
}

export function isReady(object: ReadyObject): boolean {
  return (
    object.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false
  );
}

export function kubeClient(server: string, caPem: string, token: string): Kube {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: caPem });
  const url = new URL(server);
  const base = {
    hostname: url.hostname,
    port: url.port,
    agent,
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
  };
  return {
    call: (method, path, body, contentType = 'application/json') =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const request = https.request(
          {
            ...base,
            method,
            path,
            headers: { ...base.headers, ...(payload !== undefined && { 'Content-Type': contentType }) },
          },
          (response) => {
            let text = '';
            response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
            response.on('end', () => {
              const status = response.statusCode ?? 0;
              if (status >= 300) return reject(new Error(`${method} ${path}: ${status} ${text.slice(0, 300)}`));
              resolve({ status, json: text === '' ? undefined : (JSON.parse(text) as unknown) });
            });
            response.on('error', reject);
          },
        );
        request.on('error', reject);
        request.end(payload);
      }),
    watch(path, onEvent) {
      let request: ReturnType<typeof https.request> | undefined;
      let stopped = false;
      // A watch of a resource type just created can be refused for a moment (429 while the API
      // server's watch cache initializes): opened again until it is accepted.
      const open = (): void => {
        // Its own agent: a watch holds its connection for as long as it runs.
        request = https.request({ ...base, agent: new https.Agent({ ca: caPem }), method: 'GET', path }, (response) => {
          if (response.statusCode !== 200) {
            response.resume();
            if (!stopped) setTimeout(open, 500);
            return;
          }
          let buffered = '';
          response.setEncoding('utf8').on('data', (chunk: string) => {
            buffered += chunk;
            let newline = buffered.indexOf('\n');
            while (newline >= 0) {
              const line = buffered.slice(0, newline);
              buffered = buffered.slice(newline + 1);
              newline = buffered.indexOf('\n');
              if (line.trim() === '') continue;
              const event = JSON.parse(line) as { type?: string; object?: ReadyObject };
              if (event.type === undefined || event.object?.metadata === undefined)
                throw new Error(`watch ${path}: ${line.slice(0, 300)}`);
              onEvent(event as { type: string; object: ReadyObject });
            }
          });
          response.on('error', () => undefined);
          // The API server may close a watch (a slow reader at thousands of events): opened again,
          // it starts with every object as it is now.
          response.on('close', () => {
            if (!stopped) setTimeout(open, 200);
          });
        });
        request.on('error', () => undefined);
        request.end();
      };
      open();
      return () => {
        stopped = true;
        request?.destroy();
      };
    },
  };
}

/** Deletes every object of a collection (deletecollection), repeated until the list is empty: the API server deletes in batches. */
export async function deleteAll(kube: Kube, collectionPath: string): Promise<void> {
  for (;;) {
    // Tens of thousands take the API server longer than its request timeout (504): it deletes
    // what it can meanwhile, and the next round goes on.
    await kube.call('DELETE', collectionPath).catch((error: unknown) => {
      if (!(error instanceof Error && / 504 /.test(error.message))) throw error;
    });
    const listed = (await kube.call('GET', `${collectionPath}?limit=1`)).json as { items?: unknown[] };
    if ((listed.items ?? []).length === 0) return;
  }
}
