// A real etcd for tests: Debian's etcd-server, started on free loopback ports with a
// temporary data dir and the v2 API enabled, stopped (and its dir removed) after.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort, killHard } from './ports.js';

/** EtcdServer is one etcd process; stop() kills it, start() brings it back on the same ports and data. */
export class EtcdServer {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'srvdns-etcd-'));
  clientPort = 0;
  private peerPort = 0;
  private client: Etcd3 | undefined;

  get url(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** v3 is a client for writing test data the way v3 users do. */
  get v3(): Etcd3 {
    this.client ??= new Etcd3({ hosts: this.url });
    return this.client;
  }

  /**
   * start runs etcd. The first start picks free ports; another process can take one
   * between the pick and etcd's bind (tests run in parallel), so then it picks again.
   * Later starts keep the ports and the data.
   */
  async start(extra: string[] = []): Promise<void> {
    if (this.clientPort) return this.launch(extra);
    for (let attempt = 1; ; attempt++) {
      this.clientPort = await freePort();
      this.peerPort = await freePort();
      try {
        return await this.launch(extra);
      } catch (err) {
        if (attempt >= 5 || !String(err).includes('address already in use')) throw err;
        rmSync(join(this.dir, 'data'), { recursive: true, force: true });
      }
    }
  }

  private async launch(extra: string[]): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.child = spawn(
      'etcd',
      [
        '--name', 'srvdns-test',
        '--data-dir', join(this.dir, 'data'),
        '--listen-client-urls', this.url,
        '--advertise-client-urls', this.url,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `srvdns-test=${peer}`,
        '--enable-v2',
        '--log-level', 'error',
        '--logger', 'zap',
        ...extra,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    this.child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const deadline = Date.now() + 20000;
    for (;;) {
      try {
        const res = await fetch(`${this.url}/health`);
        if (res.ok) return;
      } catch {
        // not up yet
      }
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`etcd did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** kill stops etcd abruptly, keeping its data. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.client?.close();
    this.client = undefined;
    await killHard(child);
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** v2Set writes a v2 key the way Registrator does (PUT with an optional ttl). */
  async v2Set(key: string, value: string, ttl?: number): Promise<void> {
    const body = new URLSearchParams({ value, ...(ttl ? { ttl: String(ttl) } : {}) });
    const res = await fetch(`${this.url}/v2/keys${key}`, { method: 'PUT', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    if (!res.ok) throw new Error(`v2 PUT ${key}: ${res.status} ${await res.text()}`);
  }

  async v2Delete(key: string, recursive = false): Promise<void> {
    const res = await fetch(`${this.url}/v2/keys${key}${recursive ? '?recursive=true' : ''}`, { method: 'DELETE' });
    if (!res.ok && res.status !== 404) throw new Error(`v2 DELETE ${key}: ${res.status}`);
  }

  /** wipe deletes every key in both keyspaces. */
  async wipe(): Promise<void> {
    await this.v3.delete().all();
    for (const dir of ['/skydns', '/services', '/registrator']) await this.v2Delete(dir, true);
  }
}
