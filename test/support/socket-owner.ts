// Which local process opened a TCP connection to one of our servers on 127.0.0.1: the kernel's
// socket table (/proc/net/tcp) gives the inode of the client's end (local port = the connection's
// remote port, remote port = ours), and the process whose file descriptors include that socket
// owns it. Lets a proxy tell which operator replica sent a request when several reach the same
// address. Linux only; a name is found only among the processes it is asked about.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const LOOPBACK = '0100007F';

const hexPort = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

/** The inode of the client end of the connection clientPort -> 127.0.0.1:serverPort, if the kernel lists it. */
function clientInode(clientPort: number, serverPort: number): string | undefined {
  const local = `${LOOPBACK}:${hexPort(clientPort)}`;
  const remote = `${LOOPBACK}:${hexPort(serverPort)}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[2] === remote) return fields[9];
  }
  return undefined;
}

function holds(pid: number, inode: string): boolean {
  const wanted = `socket:[${inode}]`;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === wanted) return true;
      } catch {
        // The descriptor closed while we looked.
      }
    }
  } catch {
    // The process is gone.
  }
  return false;
}

/**
 * A function naming the owner of a connection to `serverPort` from its client port, among the
 * processes `candidates()` lists (name -> pid, read at each call: replicas restart); undefined
 * when none of them holds it.
 */
export function socketOwner(
  serverPort: () => number,
  candidates: () => ReadonlyMap<string, number>,
): (clientPort: number) => string | undefined {
  return (clientPort) => {
    const inode = clientInode(clientPort, serverPort());
    if (inode === undefined || inode === '0') return undefined;
    for (const [name, pid] of candidates()) if (holds(pid, inode)) return name;
    return undefined;
  };
}
