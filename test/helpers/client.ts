// A DNS client for tests that shares no code with the server: dns-packet encodes the
// queries and decodes the answers, and records are printed in zone-file form.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as packet from 'dns-packet';

export type Proto = 'udp' | 'tcp';

export interface QueryOptions {
  proto?: Proto;
  /** edns adds an OPT record with this UDP size (and version/flags if given). */
  edns?: { udpSize: number; version?: number; do?: boolean; options?: { code: number; data?: Buffer }[] };
  id?: number;
  timeoutMs?: number;
  rd?: boolean;
  class?: string;
}

export interface Reply {
  raw: Buffer;
  msg: packet.Packet;
  rcode: string;
  flags: { aa: boolean; tc: boolean; rd: boolean; ra: boolean };
  answer: string[];
  authority: string[];
  additional: string[];
  opt: packet.OptAnswer | undefined;
}

/** buildQuery encodes a query with dns-packet. */
export function buildQuery(name: string, type: string, o: QueryOptions = {}): Buffer {
  const additionals: packet.Answer[] = [];
  if (o.edns) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: o.edns.udpSize,
      extendedRcode: 0,
      ednsVersion: o.edns.version ?? 0,
      flags: o.edns.do ? packet.DNSSEC_OK : 0,
      options: (o.edns.options ?? []) as unknown as packet.PacketOpt[],
    } as unknown as packet.Answer);
  }
  return packet.encode({
    type: 'query',
    id: o.id ?? Math.floor(Math.random() * 65535),
    flags: o.rd === false ? 0 : packet.RECURSION_DESIRED,
    questions: [{ name, type: type as packet.RecordType, class: (o.class ?? 'IN') as packet.RecordClass }],
    additionals,
  });
}

function rdata(a: packet.Answer): string {
  const d = (a as { data: unknown }).data;
  switch (a.type) {
    case 'SRV': {
      const s = d as packet.SrvAnswer['data'];
      return `${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${s.target}.`;
    }
    case 'SOA': {
      const s = d as packet.SoaData;
      return `${s.mname}. ${s.rname}. SERIAL ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    case 'TXT':
      return (d as Buffer[]).map((b) => JSON.stringify(b.toString())).join(' ');
    case 'MX': {
      const m = d as { preference: number; exchange: string };
      return `${m.preference} ${m.exchange}.`;
    }
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return `${String(d)}.`;
    default:
      return String(d);
  }
}

/** present prints a record as a zone file line; the SOA serial reads SERIAL. */
export function present(a: packet.Answer): string {
  const name = a.name === '.' || a.name === '' ? '.' : `${a.name}.`;
  return `${name} ${(a as { ttl?: number }).ttl ?? 0} IN ${a.type} ${rdata(a)}`;
}

/** decodeReply decodes a raw reply with dns-packet. */
export function decodeReply(raw: Buffer): Reply {
  const msg = packet.decode(raw);
  const flags = msg.flags ?? 0;
  const opt = (msg.additionals ?? []).find((a) => a.type === 'OPT') as packet.OptAnswer | undefined;
  const ext = opt ? ((opt as unknown as { extendedRcode: number }).extendedRcode ?? 0) : 0;
  const low = flags & 0xf;
  const code = (ext << 4) | low;
  return {
    raw,
    msg,
    rcode: code === 16 ? 'BADVERS' : ((msg as { rcode?: string }).rcode ?? 'NOERROR'),
    flags: { aa: (flags & 0x400) !== 0, tc: (flags & 0x200) !== 0, rd: (flags & 0x100) !== 0, ra: (flags & 0x80) !== 0 },
    answer: (msg.answers ?? []).map(present),
    authority: (msg.authorities ?? []).map(present),
    additional: (msg.additionals ?? []).filter((a) => a.type !== 'OPT').map(present),
    opt,
  };
}

/** sendUdp sends raw bytes and resolves with the first datagram back, or undefined on timeout. */
export function sendUdp(port: number, payload: Buffer, timeoutMs = 2000): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.once('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      s.close();
      reject(err);
    });
    s.send(payload, port, '127.0.0.1');
  });
}

/** sendTcp sends framed queries on one connection and resolves with as many framed replies. */
export function sendTcp(port: number, payloads: Buffer[], timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const sock = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`tcp: ${replies.length}/${payloads.length} replies before the timeout`));
    }, timeoutMs);
    sock.on('connect', () => {
      for (const p of payloads) {
        const frame = Buffer.alloc(2 + p.length);
        frame.writeUInt16BE(p.length, 0);
        p.copy(frame, 2);
        sock.write(frame);
      }
    });
    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (replies.length === payloads.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve(replies);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** query asks one question over UDP or TCP and decodes the reply. */
export async function query(port: number, name: string, type: string, o: QueryOptions = {}): Promise<Reply> {
  const q = buildQuery(name, type, o);
  if ((o.proto ?? 'udp') === 'tcp') {
    const [raw] = await sendTcp(port, [q], o.timeoutMs);
    return decodeReply(raw!);
  }
  const raw = await sendUdp(port, q, o.timeoutMs);
  if (!raw) throw new Error(`udp: no reply to ${name} ${type}`);
  return decodeReply(raw);
}

/**
 * flood sends every packet over one UDP socket, in batches of `batch` waiting for the
 * batch's replies (or 2 s), and counts the replies by RCODE: a bounded, self-stopping load.
 */
export async function flood(port: number, packets: Buffer[], batch = 200): Promise<Map<number, number>> {
  const socket = createSocket('udp4');
  const rcodes = new Map<number, number>();
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  try {
    for (let at = 0; at < packets.length; at += batch) {
      const part = packets.slice(at, at + batch);
      await new Promise<void>((resolve) => {
        let left = part.length;
        const timer = setTimeout(done, 2000);
        function done(): void {
          clearTimeout(timer);
          socket.off('message', onMessage);
          resolve();
        }
        function onMessage(msg: Buffer): void {
          rcodes.set(msg[3]! & 0xf, (rcodes.get(msg[3]! & 0xf) ?? 0) + 1);
          if (--left === 0) done();
        }
        socket.on('message', onMessage);
        for (const p of part) socket.send(p, port, '127.0.0.1');
      });
    }
  } finally {
    socket.close();
  }
  return rcodes;
}
