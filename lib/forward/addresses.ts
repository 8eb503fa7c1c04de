// Addresses of names outside our zones, through the recursors: the A/AAAA glue of SRV
// targets and the completion of CNAMEs to outside hostnames (SPEC §2, issue: a
// container's only nameserver). Lookups share the forwarder's cache.
import { randomInt } from 'node:crypto';
import * as packet from 'dns-packet';
import { withRecords, type Answer } from '../answer/answer.js';
import { RRType } from '../dns/constants.js';
import { nameLabels } from '../dns/names.js';
import { parseQuery } from '../dns/parse.js';
import type { Rr } from '../dns/records.js';
import type { Forwarder } from './forwarder.js';

/** queryPacket encodes a recursive query for name and type. */
export function queryPacket(name: string, type: number): Buffer {
  const labels = nameLabels(name);
  const out = Buffer.alloc(12 + labels.reduce((n, l) => n + l.length + 1, 1) + 4);
  out.writeUInt16BE(randomInt(65536), 0);
  out.writeUInt16BE(0x0100, 2); // RD
  out.writeUInt16BE(1, 4);
  let at = 12;
  for (const l of labels) {
    out[at++] = l.length;
    at += l.copy(out, at);
  }
  out[at++] = 0;
  out.writeUInt16BE(type, at);
  out.writeUInt16BE(1, at + 2);
  return out;
}

/** lookupAddresses resolves A or AAAA records of an outside name; failures give []. */
export async function lookupAddresses(forwarder: Forwarder, name: string, type: typeof RRType.A | typeof RRType.AAAA): Promise<Rr[]> {
  const query = queryPacket(name, type);
  const reply = await forwarder.forward(query, parseQuery(query), 'tcp', 65535).catch(() => undefined);
  if (!reply) return [];
  try {
    return (packet.decode(reply).answers ?? []).flatMap((a): Rr[] => {
      const owner = `${a.name}.`;
      const ttl = (a as { ttl?: number }).ttl ?? 0;
      if (a.type === 'A') return [{ name: owner, ttl, type: 'A', address: a.data }];
      if (a.type === 'AAAA') return [{ name: owner, ttl, type: 'AAAA', address: a.data }];
      if (a.type === 'CNAME') return [{ name: owner, ttl, type: 'CNAME', target: `${a.data}.` }];
      return [];
    });
  } catch {
    return [];
  }
}

/** outsideTargets lists the SRV targets and CNAME targets of an answer that no record in it resolves and no zone of ours holds. */
export function outsideTargets(answer: Answer, inZone: (name: string) => boolean): { srv: string[]; cname: string[] } {
  const resolved = new Set([...answer.answers, ...answer.additional].filter((r) => r.type === 'A' || r.type === 'AAAA').map((r) => r.name.toLowerCase()));
  const pick = (type: 'SRV' | 'CNAME'): string[] => [
    ...new Set(
      answer.answers
        .filter((r): r is Extract<Rr, { type: 'SRV' | 'CNAME' }> => r.type === type)
        .map((r) => r.target)
        .filter((t) => !resolved.has(t.toLowerCase()) && !inZone(t.toLowerCase())),
    ),
  ];
  return { srv: pick('SRV'), cname: pick('CNAME') };
}

/**
 * completeAnswer adds what the recursors know of the outside names (from outsideTargets): A/AAAA of SRV targets
 * to ADDITIONAL, and the addresses a CNAME leads to (with the chain) to ANSWER, for the
 * types the question asks.
 */
export async function completeAnswer(forwarder: Forwarder, answer: Answer, outside: { srv: string[]; cname: string[] }, qtype: number): Promise<Answer> {
  const { srv, cname } = outside;
  if (srv.length === 0 && cname.length === 0) return answer;
  const both = async (name: string, types: (typeof RRType.A | typeof RRType.AAAA)[]): Promise<Rr[]> => (await Promise.all(types.map((t) => lookupAddresses(forwarder, name, t)))).flat();
  const glue = (await Promise.all(srv.map((n) => both(n, [RRType.A, RRType.AAAA])))).flat().filter((r) => r.type !== 'CNAME');
  const wanted: (typeof RRType.A | typeof RRType.AAAA)[] = qtype === RRType.AAAA ? [RRType.AAAA] : qtype === RRType.ANY ? [RRType.A, RRType.AAAA] : [RRType.A];
  const chained = qtype === RRType.CNAME ? [] : (await Promise.all(cname.map((n) => both(n, wanted)))).flat();
  return withRecords(answer, [...answer.answers, ...chained], answer.authority, [...answer.additional, ...glue], answer.weights);
}
