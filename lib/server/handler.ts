// The one pipeline every query goes through, UDP or TCP:
// scan -> cached bytes; or decode -> check -> route -> lookup and build -> fit -> encode -> cache.
import { encodableOnly, withRecords, type Answer } from '../answer/answer.js';
import { OPCODE_QUERY, Rcode, RRClass, RRType } from '../dns/constants.js';
import { encodeMessage, UnencodableName, type AnswerLayout, type Message } from '../dns/encode.js';
import { fitMessage } from '../dns/fit.js';
import { leadWeights } from '../answer/weights.js';
import { parseQuery, QueryError, type Query } from '../dns/parse.js';
import { Scan, scanQuery } from '../dns/scan.js';
import { LogLimiter, type Logger } from '../log.js';
import type { Router } from '../zones/router.js';
import type { RecursionAcl } from '../forward/acl.js';
import { completeAnswer, outsideTargets } from '../forward/addresses.js';
import type { Forwarder } from '../forward/forwarder.js';
import { keyOf, type AnswerCache } from './answer-cache.js';
import { RegistryUnavailable } from '../registry/registry.js';
import { tooStale } from '../registry/staleness.js';
import { rcodeFromError } from './rcode.js';

/** Transport is how a query arrived. */
export type Transport = 'udp' | 'tcp';

/** Handler answers one query packet from a client address; null means send nothing. */
export type Handler = (packet: Buffer, transport: Transport, client: string) => Buffer | null | Promise<Buffer | null>;

/** HandlerOptions configure the pipeline. */
export interface HandlerOptions {
  router: Router;
  log: Logger;
  /** maxUdpSize caps the EDNS buffer size we honour and advertise. */
  maxUdpSize: number;
  /** aRecordLimit is the most A/AAAA records an answer carries (0: no limit), counted after ordering. */
  aRecordLimit?: number;
  /** maxStaleMs is how long a zone answers after its source stopped answering (SPEC §2a); beyond, SERVFAIL. */
  maxStaleMs: number;
  /** cache keeps encoded answers; without it every query is built anew. */
  cache?: AnswerCache;
  /** forwarder answers names outside every zone for clients the acl allows; without it they are REFUSED. */
  forwarder?: Forwarder;
  acl?: RecursionAcl;
  /** observe hears of every reply sent: for metrics. stale says its zone's source was unreachable. */
  observe?: (transport: Transport, qtype: number, rcode: number, stale: boolean) => void;
}

/** CLASSIC_UDP_SIZE is the UDP limit without EDNS0 (RFC 1035 §4.2.1). */
const CLASSIC_UDP_SIZE = 512;
const MAX_TCP_SIZE = 65535;

/** limitFor is the reply size limit: over UDP the client's EDNS buffer size (0 without EDNS) within ours, over TCP 65535. */
function limitFor(ednsSize: number, transport: Transport, maxUdp: number): number {
  if (transport === 'tcp') return MAX_TCP_SIZE;
  // RFC 6891 §6.2.5: values below 512 are treated as 512; without EDNS, 512 it is.
  return Math.min(Math.max(ednsSize, CLASSIC_UDP_SIZE), maxUdp);
}

function sizeLimit(q: Query, transport: Transport, maxUdp: number): number {
  return limitFor(q.edns ? q.edns.udpSize : 0, transport, maxUdp);
}

function reply(q: Query, rcode: number, answer: Omit<Answer, 'rcode'> | undefined, maxUdp: number, withQuestion = true, ra = false): Message {
  return {
    header: { id: q.id, opcode: q.opcode, aa: answer !== undefined, tc: false, rd: q.rd, ra, cd: q.cd, rcode },
    question: withQuestion ? { name: q.name, type: q.type, class: q.class } : undefined,
    answers: answer?.answers ?? [],
    authority: answer?.authority ?? [],
    additional: answer?.additional ?? [],
    edns: q.edns ? { udpSize: maxUdp, dnssecOk: q.edns.dnssecOk } : undefined,
  };
}

/** overLimit tells whether an answer has more A/AAAA records than limit. */
function overLimit(answer: Answer, limit: number): boolean {
  let n = 0;
  for (const rr of answer.answers) if ((rr.type === 'A' || rr.type === 'AAAA') && ++n > limit) return true;
  return false;
}

/** limitAddresses keeps the first `limit` A/AAAA records of an answer (Consul's a_record_limit), and every other record. */
function limitAddresses(answer: Answer, limit: number): Answer {
  let n = 0;
  const keep = answer.answers.map((rr) => !(rr.type === 'A' || rr.type === 'AAAA') || ++n <= limit);
  return withRecords(answer, answer.answers.filter((_, i) => keep[i]), answer.authority, answer.additional, answer.weights?.filter((_, i) => keep[i]));
}

function formerr(id: number, flags: number): Buffer {
  return encodeMessage({
    header: { id, opcode: (flags >> 11) & 0xf, aa: false, tc: false, rd: (flags & 0x100) !== 0, ra: false, cd: false, rcode: Rcode.FORMERR },
    question: undefined,
    answers: [],
    authority: [],
    additional: [],
    edns: undefined,
  });
}

/** createHandler builds the query pipeline once from its options. */
export function createHandler(o: HandlerOptions): Handler {
  const log = o.log.child({ component: 'server/handler' });

  const limiter = new LogLimiter();
  // A name the wire cannot carry is logged once until the catalog changes (the answer cache's generation).
  const skipped = new Set<string>();
  let skippedAt = -1;
  const onSkip = (name: string): void => {
    const generation = o.cache?.generation ?? 0;
    if (generation !== skippedAt || skipped.size > 10000) {
      skipped.clear();
      skippedAt = generation;
    }
    if (skipped.has(name)) return;
    skipped.add(name);
    log.warn({ name: name.slice(0, 300) }, 'skipping a record whose name cannot be encoded (a label over 63 or a name over 255 octets); the rest answers');
  };
  const finish = (q: Query, transport: Transport, answer: Answer | undefined, layout?: AnswerLayout, ra = false): Buffer => {
    // No zone took the name, and no recursion for this client: REFUSED.
    const msg = answer ? reply(q, answer.rcode, answer, o.maxUdpSize, true, ra) : reply(q, Rcode.REFUSED, undefined, o.maxUdpSize, true, ra);
    try {
      return fitMessage(msg, sizeLimit(q, transport, o.maxUdpSize), layout);
    } catch (err) {
      // One bad registry entry costs its own records, not the reply. Checked only when
      // encoding fails, so that good answers pay nothing for it.
      if (!(err instanceof UnencodableName) || !answer) throw err;
      return fitMessage(reply(q, answer.rcode, encodableOnly(answer, onSkip), o.maxUdpSize, true, ra), sizeLimit(q, transport, o.maxUdpSize), layout);
    }
  };
  /** recurse forwards a question no zone answers; every recursor failing is SERVFAIL. */
  const recurse = (packet: Buffer, q: Query, transport: Transport): Promise<Buffer> =>
    o.forwarder!.forward(packet, q, transport, sizeLimit(q, transport, o.maxUdpSize)).then(
      (wire) => wire ?? encodeMessage(reply(q, Rcode.SERVFAIL, undefined, o.maxUdpSize, true, true)),
      (err: unknown) => failed(q, err),
    );
  const failed = (q: Query, err: unknown): Buffer => {
    // At most one line per kind of error a second: an outage must not log at query rate.
    const suppressed = limiter.allow(err instanceof Error ? err.name : 'unknown');
    if (suppressed !== undefined) log.error({ err: err instanceof Error ? err.message : String(err), qname: q.name, qtype: q.type, suppressed }, 'query failed');
    return encodeMessage(reply(q, rcodeFromError(err), undefined, o.maxUdpSize));
  };
  const inZone = (name: string): boolean => o.router.zoneFor(name.toLowerCase()) !== undefined;

  /** rotatable: a set of records of one type, which the cache may send in rotation to spread load. */
  const rotatable = (a: Answer | undefined): boolean => a !== undefined && a.answers.length > 1 && a.answers.every((rr) => rr.type === a.answers[0]!.type);

  const observe = o.observe;
  /** sent reports a reply to observe and returns it; qtype is 0 when unread; rcode is read from the header unless given. */
  const sent = (transport: Transport, qtype: number, wire: Buffer, stale = false, rcode = wire[3]! & 0xf): Buffer => {
    observe?.(transport, qtype, rcode, stale && rcode !== Rcode.SERVFAIL);
    return wire;
  };
  const recursionFor = (client: string): boolean => o.forwarder !== undefined && o.acl !== undefined && o.acl.allows(client);

  const cache = o.cache;
  const aLimit = o.aRecordLimit ?? 0;
  const scan = new Scan();
  return (packet, transport, client) => {
    // 1. The hot path: a question of the common shape, read without decoding a string,
    // whose answer is ready as wire bytes. A zone whose source is unreachable is not
    // answered from here, so that staleness limits still apply.
    const scanned = cache !== undefined && scanQuery(packet, scan);
    const limit = scanned ? limitFor(scan.udpSize, transport, o.maxUdpSize) : 0;
    if (scanned) {
      const hit = cache.find(packet, scan, limit);
      if (hit !== undefined && hit.zone.healthy()) {
        return sent(transport, scan.type, cache.reply(hit, packet, scan.nameEnd, recursionFor(client)));
      }
    }
    // 2. Decode the header, the question and OPT, bounds-checked.
    let q: Query;
    try {
      q = parseQuery(packet);
    } catch (err) {
      if (!(err instanceof QueryError) || !err.header) return null; // no header: nothing to answer
      return sent(transport, 0, formerr(err.header.id, err.header.flags));
    }
    // 3. Check what is asked: never answer a response (RFC 1035 §4.1.1 QR), only QUERY,
    // only EDNS version 0 (RFC 6891 §6.1.3: BADVERS), only class IN (or ANY).
    if (q.qr) return null;
    if (q.opcode !== OPCODE_QUERY) return sent(transport, q.type, encodeMessage(reply(q, Rcode.NOTIMP, undefined, o.maxUdpSize, false)));
    if (q.edns && q.edns.version > 0) return sent(transport, q.type, encodeMessage(reply(q, Rcode.BADVERS, undefined, o.maxUdpSize)), false, Rcode.BADVERS);
    if (q.class !== RRClass.IN && q.class !== RRClass.ANY) return sent(transport, q.type, encodeMessage(reply(q, Rcode.REFUSED, undefined, o.maxUdpSize)));
    if (q.type === RRType.AXFR || q.type === RRType.IXFR) return sent(transport, q.type, encodeMessage(reply(q, Rcode.REFUSED, undefined, o.maxUdpSize)));
    // 4. Route to the zone holding the name; outside every zone, recurse (for allowed clients).
    const ra = recursionFor(client);
    const lowerName = q.name.toLowerCase();
    const route = o.router.route(lowerName);
    if (!route) return ra ? recurse(packet, q, transport).then((w) => sent(transport, q.type, w)) : sent(transport, q.type, finish(q, transport, undefined));
    const healthy = route.zone.healthy();
    // 4a. The one staleness rule, for every registry (SPEC §2a): data its source stopped
    // following more than --max-stale ago (or never had) is not served.
    if (!healthy && tooStale(route.zone.staleSince(), o.maxStaleMs)) {
      return sent(transport, q.type, encodeMessage(reply(q, rcodeFromError(new RegistryUnavailable(route.zone.origin, 'older than --max-stale')), undefined, o.maxUdpSize, true, ra)));
    }
    // Answers for a healthy zone's questions of the common shape are kept for the hot path.
    // The key is taken before anything waits: scan is filled again by the next packet.
    const key = healthy && scanned ? keyOf(packet, scan, limit) : undefined;
    if (key !== undefined) cache!.countMiss();
    // 5. Look up and build the answer (a cold miss may wait on the registry), fit, encode, cache.
    const done = (answer: Answer | undefined): Buffer | Promise<Buffer> => {
      // A zone that declines the name (a PTR srvdns does not know) sends it to the recursors.
      if (answer === undefined && ra) return recurse(packet, q, transport).then((w) => sent(transport, q.type, w));
      // Targets outside our zones get their addresses through the recursors; such answers
      // depend on the client (recursion) and on upstream TTLs, so they are never cached.
      const outside = answer && o.forwarder ? outsideTargets(answer, inZone) : undefined;
      if (answer && outside && outside.srv.length + outside.cname.length > 0) {
        if (!ra) return sent(transport, q.type, finish(q, transport, answer), !healthy);
        return completeAnswer(o.forwarder!, answer, outside, q.type).then((full) => sent(transport, q.type, finish(q, transport, full, undefined, ra), !healthy));
      }
      // SERVFAIL and answers for one asker are never cached; a name that does not exist only once asked twice.
      const cacheable = answer !== undefined && key !== undefined && !answer.perClient && answer.rcode !== Rcode.SERVFAIL && (answer.rcode !== Rcode.NXDOMAIN || cache!.admitNegative(key));
      const layout: AnswerLayout | undefined = cacheable && rotatable(answer) ? { starts: [], end: 0 } : undefined;
      // --a-record-limit: a cached rotating answer keeps every record and sends the limit
      // from each hit's lead; any other answer is cut here.
      const cut = aLimit > 0 && answer !== undefined && overLimit(answer, aLimit);
      const wire = finish(q, transport, cut && !layout ? limitAddresses(answer, aLimit) : answer, layout, ra);
      if (cacheable) {
        const lead = layout ? leadWeights(answer.answers.slice(0, layout.starts.length), answer.weights) : undefined;
        const entry = cache!.set(key, route.zone, route.zone.depends(route.labels), wire, layout, lead, cut ? aLimit : 0);
        if (entry) return sent(transport, q.type, cache!.firstReply(entry), !healthy);
        // Not kept (larger than the whole cache): cut here after all.
        if (cut && layout) return sent(transport, q.type, finish(q, transport, limitAddresses(answer, aLimit), undefined, ra), !healthy);
      }
      return sent(transport, q.type, wire, !healthy);
    };
    // Whatever throws — the lookup, building, encoding, or a step that waits — reaches
    // fail: every query gets a reply.
    const fail = (err: unknown): Buffer => sent(transport, q.type, failed(q, err));
    try {
      const answer = route.zone.resolve({ name: q.name, labels: route.labels, type: q.type, source: q.edns?.clientSubnet ?? client });
      if (answer instanceof Promise) return answer.then(done).catch(fail);
      const out = done(answer);
      return out instanceof Promise ? out.catch(fail) : out;
    } catch (err) {
      return fail(err);
    }
  };
}
