// A real recursive resolver in front of srvdns: Debian's unbound, on a free loopback
// port, with srvdns as the stub (authoritative) server of its zones and strict QNAME
// minimisation (RFC 9156): it asks `service.consul` before `web.service.consul`, and
// an NXDOMAIN on the way down fails the whole name.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dig } from './dig.js';
import { freePort } from './ports.js';

/** Unbound is one unbound process resolving the given zones through srvdns. */
export class Unbound {
  port = 0;
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'srvdns-unbound-'));
  private stderr = '';

  /** start runs unbound with stub zones pointing at srvdns on 127.0.0.1:srvdnsPort, on a fresh port if the one picked was taken meanwhile. */
  async start(zones: readonly string[], srvdnsPort: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.launch(zones, srvdnsPort);
      } catch (err) {
        if (attempt >= 5 || this.child?.exitCode === null) throw err;
      }
    }
  }

  private async launch(zones: readonly string[], srvdnsPort: number): Promise<void> {
    this.port = await freePort();
    const conf = join(this.dir, 'unbound.conf');
    writeFileSync(
      conf,
      [
        'server:',
        '  interface: 127.0.0.1',
        `  port: ${this.port}`,
        '  do-ip6: no',
        '  chroot: ""',
        '  username: ""',
        `  directory: "${this.dir}"`,
        `  pidfile: "${join(this.dir, 'unbound.pid')}"`,
        '  use-syslog: no',
        '  logfile: ""',
        '  verbosity: 1',
        '  do-not-query-localhost: no',
        '  qname-minimisation: yes',
        '  qname-minimisation-strict: yes',
        '  access-control: 127.0.0.0/8 allow',
        // No DNSSEC validation: the zones are not signed and nothing outside is reachable.
        '  module-config: "iterator"',
        ...zones.flatMap((z) => ['stub-zone:', `  name: "${z}"`, `  stub-addr: 127.0.0.1@${srvdnsPort}`]),
        '',
      ].join('\n'),
    );
    this.child = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        // Any answer means it is serving; the apex SOA is always there.
        if ((await dig(this.port, zones[0]!, 'SOA')).status !== '') return;
      } catch {
        // not up yet
      }
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`unbound did not start: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
