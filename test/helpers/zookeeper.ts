// A real ZooKeeper for tests: Debian's zookeeper package (3.8), run as a standalone
// server straight from its jars (no systemd) on a free loopback port with a temporary
// data dir, stopped (and its dir removed) after. Writers are separate sessions of
// node-zookeeper-client creating ephemeral znodes, as Registrator and Curator do.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zk from 'node-zookeeper-client';
import { freePort, killHard } from './ports.js';

/** The server's jars as Debian installs them; zookeeper.jar's manifest names its other dependencies. */
const CLASSPATH = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar'].join(':');

/** TICK_MS is ZooKeeper's tick: a session may time out after as little as 2 ticks, so tests can let one expire in under a second. */
export const TICK_MS = 200;

/** fourLetter sends one of ZooKeeper's four-letter commands and returns the reply. */
function fourLetter(port: number, cmd: string): Promise<string> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1', () => s.write(cmd));
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(''));
    s.setTimeout(1000, () => s.destroy());
  });
}

/** ZooKeeperServer is one standalone server; kill() stops it, start() brings it back on the same port and data. */
export class ZooKeeperServer {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'srvdns-zk-'));
  port = 0;

  /** connect is the connection string srvdns is given. */
  get connect(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** start runs the server (once: a running server is left as it is). */
  async start(): Promise<void> {
    if (this.child && this.child.exitCode === null) return;
    if (this.port) return this.launch();
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      try {
        return await this.launch();
      } catch (err) {
        if (attempt >= 5 || !/Address already in use|BindException/.test(String(err))) throw err;
      }
    }
  }

  private async launch(): Promise<void> {
    const cfg = join(this.dir, 'zoo.cfg');
    writeFileSync(
      cfg,
      [
        `tickTime=${TICK_MS}`,
        `dataDir=${join(this.dir, 'data')}`,
        `clientPort=${this.port}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=ruok,srvr',
        'maxClientCnxns=0',
        // Writers' sessions outlive a restart in the tests; srvdns's own may be as short as 2 ticks.
        'maxSessionTimeout=60000',
      ].join('\n'),
    );
    this.child = spawn('java', ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', CLASSPATH, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const keep = (d: Buffer): void => void (log = (log + d.toString()).slice(-4000));
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    const deadline = Date.now() + 30000;
    for (;;) {
      if ((await fourLetter(this.port, 'ruok')) === 'imok' && (await fourLetter(this.port, 'srvr')).includes('Mode: standalone')) return;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        await this.kill();
        throw new Error(`zookeeper did not start: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** kill stops the server abruptly, keeping its data (its sessions live on in the snapshot). */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await killHard(child);
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Writer is one client session, as one Registrator or one Curator-using service is: its ephemeral znodes live as long as it does. */
export class Writer {
  readonly client: zk.Client;

  constructor(connect: string, sessionTimeoutMs = 15000) {
    this.client = zk.createClient(connect, { sessionTimeout: sessionTimeoutMs, spinDelay: 100, retries: 0 });
  }

  /** open connects; it resolves once the session is established. */
  open(): Promise<this> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('zookeeper writer: no session in 10 s')), 10000);
      this.client.once('connected', () => {
        clearTimeout(timer);
        resolve(this);
      });
      this.client.connect();
    });
  }

  /** call makes one request; it fails after 10 s rather than hang a test (a request queued on a session that has expired is never answered). */
  private call<T>(fn: (cb: (err: Error | zk.Exception | null, v: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('zookeeper writer: no reply in 10 s')), 10000);
      fn((err, v) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(v);
      });
    });
  }

  /** mkdirp creates the persistent parents of path (Registrator and Curator create theirs the same way). */
  async mkdirp(path: string): Promise<void> {
    await this.call<string>((cb) => this.client.mkdirp(path, zk.CreateMode.PERSISTENT, cb));
  }

  /** ephemeral creates path (its parent made persistent first) with data, owned by this session. */
  async ephemeral(path: string, data: string): Promise<void> {
    await this.mkdirp(path.slice(0, path.lastIndexOf('/')));
    await this.call<string>((cb) => this.client.create(path, Buffer.from(data), zk.CreateMode.EPHEMERAL, cb));
  }

  /** persistent creates or overwrites a persistent znode (Curator's STATIC/PERMANENT instances, broken writers). */
  async persistent(path: string, data: string): Promise<void> {
    await this.mkdirp(path.slice(0, path.lastIndexOf('/')));
    try {
      await this.call<string>((cb) => this.client.create(path, Buffer.from(data), zk.CreateMode.PERSISTENT, cb));
    } catch (err) {
      if ((err as { getCode?: () => number }).getCode?.() !== zk.Exception.NODE_EXISTS) throw err;
      await this.call<zk.Stat>((cb) => this.client.setData(path, Buffer.from(data), -1, cb));
    }
  }

  async setData(path: string, data: string): Promise<void> {
    await this.call<zk.Stat>((cb) => this.client.setData(path, Buffer.from(data), -1, cb));
  }

  async remove(path: string): Promise<void> {
    try {
      await this.call<void>((cb) => this.client.remove(path, -1, (err) => cb(err, undefined)));
    } catch (err) {
      if ((err as { getCode?: () => number }).getCode?.() !== zk.Exception.NO_NODE) throw err;
    }
  }

  /** removeAll deletes path and everything below it. */
  async removeAll(path: string): Promise<void> {
    let children: string[] = [];
    try {
      children = await this.call<string[]>((cb) => this.client.getChildren(path, cb));
    } catch (err) {
      if ((err as { getCode?: () => number }).getCode?.() === zk.Exception.NO_NODE) return;
      throw err;
    }
    for (const c of children) await this.removeAll(`${path}/${c}`);
    if (path !== '/') await this.remove(path);
  }

  /** close ends the session: the server deletes its ephemeral znodes at once (a container stopped cleanly). */
  close(): void {
    this.client.close();
  }
}

/** registratorBody is the JSON Registrator's zookeeper backend writes (Go's encoding/json of its ZnodeBody: nil Tags/Attrs as null). */
export function registratorBody(o: { name: string; ip: string; port: number; privatePort?: number; container?: string; tags?: string[] | null; attrs?: Record<string, string> | null }): string {
  return JSON.stringify({ Name: o.name, IP: o.ip, PublicPort: o.port, PrivatePort: o.privatePort ?? o.port, ContainerID: o.container ?? '', Tags: o.tags ?? null, Attrs: o.attrs ?? null });
}

/** curatorBody is the JSON Curator's JsonInstanceSerializer writes for a ServiceInstance (Curator 5: with "enabled"). */
export function curatorBody(o: { name: string; id: string; address: string; port: number | null; sslPort?: number | null; payload?: unknown; serviceType?: string; enabled?: boolean }): string {
  return JSON.stringify({
    name: o.name,
    id: o.id,
    address: o.address,
    port: o.port,
    sslPort: o.sslPort ?? null,
    payload: o.payload ?? null,
    registrationTimeUTC: 1764460800000,
    serviceType: o.serviceType ?? 'DYNAMIC',
    uriSpec: { parts: [{ value: 'scheme', variable: true }, { value: '://', variable: false }, { value: 'address', variable: true }, { value: ':', variable: false }, { value: 'port', variable: true }] },
    enabled: o.enabled ?? true,
  });
}
