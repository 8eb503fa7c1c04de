// Free loopback ports for the real servers tests start (etcd, unbound, ZooKeeper), and their hard stop.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** freePort asks the kernel for a TCP port free on 127.0.0.1 (the UDP port of that number is nearly always free too). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** killHard ends a server the tests started with SIGKILL (an abrupt stop, data kept) and resolves once it has exited. */
export async function killHard(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
