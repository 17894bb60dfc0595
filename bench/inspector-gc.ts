// Full garbage collections in another Node process through its inspector (started with
// --inspect=127.0.0.1:<port>): HeapProfiler.collectGarbage over the DevTools WebSocket.
//   node [--experimental-websocket] --import tsx bench/inspector-gc.ts <port>
// Node 20 has the global WebSocket only behind --experimental-websocket; Node 22 has it built in
// (bench/e2e.ts passes the flag when this Node knows it).

interface DevtoolsTarget {
  webSocketDebuggerUrl?: string;
}

type SocketLike = {
  addEventListener(type: 'open' | 'message' | 'error', listener: (event: { data?: unknown }) => void): void;
  send(data: string): void;
  close(): void;
};

/** Runs `rounds` full collections in the process whose inspector listens on `port`. */
async function collectGarbage(port: number, rounds = 3): Promise<void> {
  const Socket = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (Socket === undefined) throw new Error('no global WebSocket: run node with --experimental-websocket (npm run bench does)');
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as DevtoolsTarget[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`no inspector target on port ${port}`);
  const socket = new Socket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve());
    socket.addEventListener('error', () => reject(new Error(`inspector WebSocket ${url} failed`)));
  });
  try {
    for (let id = 1; id <= rounds; id++) {
      const answered = new Promise<void>((resolve) => {
        socket.addEventListener('message', (event) => {
          if (typeof event.data === 'string' && (JSON.parse(event.data) as { id?: number }).id === id) resolve();
        });
      });
      socket.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      await answered;
    }
  } finally {
    socket.close();
  }
}

await collectGarbage(Number(process.argv[2]));
