// A scriptable upstream resolver for forwarding tests, answering over UDP and TCP on one
// loopback port with dns-packet. respond() decides per query: an answer, a code, a
// truncated reply, a spoofed reply first, or silence.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as packet from 'dns-packet';

export type Behaviour = 'answer' | 'servfail' | 'refused' | 'silent' | 'truncate' | 'nxdomain' | 'spoof-first';

export class FakeUpstream {
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  port = 0;
  behaviour: Behaviour = 'answer';
  /** queries counts what arrived, by transport. */
  readonly queries = { udp: 0, tcp: 0 };

  constructor(private readonly address = '192.0.2.1') {}

  private reply(q: packet.Packet, transport: 'udp' | 'tcp'): Buffer | undefined {
    const question = q.questions![0]!;
    const base = { type: 'response' as const, id: q.id, flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE, questions: [question] };
    const mode = this.behaviour;
    if (mode === 'silent') return undefined;
    if (mode === 'servfail' || mode === 'refused') return packet.encode({ ...base, flags: base.flags | (mode === 'servfail' ? 2 : 5) });
    if (mode === 'nxdomain') {
      return packet.encode({
        ...base,
        flags: base.flags | 3,
        authorities: [{ name: 'example.com', type: 'SOA', ttl: 300, data: { mname: 'ns.example.com', rname: 'h.example.com', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }],
      });
    }
    if (question.type === 'AAAA') return packet.encode(base); // IPv4 only: NODATA
    const many = mode === 'truncate' ? 60 : 1;
    const answers = Array.from({ length: many }, (_, i) => ({ name: question.name, type: 'A' as const, ttl: 120, data: many === 1 ? this.address : `192.0.2.${i + 1}` }));
    if (mode === 'truncate' && transport === 'udp') return packet.encode({ ...base, flags: base.flags | packet.TRUNCATED_RESPONSE, answers: answers.slice(0, 5) });
    return packet.encode({ ...base, answers });
  }

  /**
   * start binds UDP and TCP on one port number. The UDP port is the kernel's pick, which
   * may be taken for TCP (EADDRINUSE): then both are given up and tried again.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const udp = this.udpSocket();
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
      const port = udp.address().port;
      const tcp = this.tcpServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, '127.0.0.1', () => resolve());
        });
      } catch (err) {
        udp.close();
        if (attempt >= 20 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        continue;
      }
      this.udp = udp;
      this.tcp = tcp;
      this.port = port;
      return;
    }
  }

  private udpSocket(): Socket {
    const udp = createSocket('udp4');
    udp.on('message', (msg, peer) => {
      this.queries.udp++;
      let q: packet.Packet;
      try {
        q = packet.decode(msg);
      } catch {
        return;
      }
      if (this.behaviour === 'spoof-first') {
        // A forged reply first: wrong id, then one for another question; the real one last.
        udp.send(packet.encode({ type: 'response', id: (q.id! + 1) & 0xffff, questions: q.questions, answers: [{ name: q.questions![0]!.name, type: 'A', ttl: 60, data: '6.6.6.6' }] }), peer.port, peer.address);
        udp.send(packet.encode({ type: 'response', id: q.id, questions: [{ name: 'evil.example', type: 'A' }], answers: [{ name: 'evil.example', type: 'A', ttl: 60, data: '6.6.6.7' }] }), peer.port, peer.address);
        const behaviour = this.behaviour;
        this.behaviour = 'answer';
        const out = this.reply(q, 'udp');
        this.behaviour = behaviour;
        setTimeout(() => out && udp.send(out, peer.port, peer.address), 20);
        return;
      }
      const out = this.reply(q, 'udp');
      if (out) udp.send(out, peer.port, peer.address);
    });
    return udp;
  }

  private tcpServer(): Server {
    return createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          this.queries.tcp++;
          const out = this.reply(packet.decode(msg), 'tcp');
          if (!out) continue;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          s.write(Buffer.concat([len, out]));
        }
      });
      s.on('error', () => undefined);
    });
  }

  async stop(): Promise<void> {
    this.udp?.close();
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
  }
}
