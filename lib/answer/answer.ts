// Answer is what a zone returns for one question: an RCODE and three record
// sections. Negative answers carry the zone's SOA in AUTHORITY (RFC 2308 §2.1-2.2).
import { Rcode } from '../dns/constants.js';
import { isValidName } from '../dns/names.js';
import { targetOf, type Rr } from '../dns/records.js';

/** Answer is a zone's authoritative reply, before encoding. */
export interface Answer {
  rcode: Rcode;
  answers: Rr[];
  authority: Rr[];
  additional: Rr[];
  /** weights, when given, are the answer records' weights to lead the answer (address answers of a service). */
  weights: number[] | undefined;
  /** perClient: the answer depends on who asks (a prepared query sorted near the client): never cached. */
  perClient: boolean;
}

// Every answer is made here, with every field, so that all have one shape: the handler
// reads them on every miss, and a field absent from some shapes made those reads slow.

/** positive returns a NOERROR answer; with no records it is NODATA, so callers pass the SOA for that. */
export function positive(answers: Rr[], additional: Rr[] = [], weights?: number[], perClient = false): Answer {
  return { rcode: Rcode.NOERROR, answers, authority: [], additional, weights, perClient };
}

/** nodata is NOERROR with no answers and the SOA in AUTHORITY: the name exists, not with that type (RFC 2308 §2.2). */
export function nodata(soa: Rr): Answer {
  return { rcode: Rcode.NOERROR, answers: [], authority: [soa], additional: [], weights: undefined, perClient: false };
}

/** nxdomain says the name does not exist, with the SOA in AUTHORITY (RFC 2308 §2.1). */
export function nxdomain(soa: Rr): Answer {
  return { rcode: Rcode.NXDOMAIN, answers: [], authority: [soa], additional: [], weights: undefined, perClient: false };
}

/** withRecords is answer with its sections replaced (one shape, as above). */
export function withRecords(answer: Answer, answers: Rr[], authority: Rr[], additional: Rr[], weights: number[] | undefined): Answer {
  return { rcode: answer.rcode, answers, authority, additional, weights, perClient: answer.perClient };
}

/** orNodata turns an empty positive answer into NODATA. */
export function orNodata(answer: Answer, soa: Rr): Answer {
  return answer.answers.length === 0 ? nodata(soa) : answer;
}

/** shuffle reorders a list in place, uniformly (Fisher-Yates), to spread load across instances. */
export function shuffle<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

/**
 * encodableOnly drops the records that name something the wire cannot carry (a label
 * over 63 octets, a name over 255: RFC 1035 §2.3.4), so that one bad registry entry
 * costs its own records, never the reply. onSkip hears each name dropped.
 */
export function encodableOnly(answer: Answer, onSkip: (name: string) => void): Answer {
  const ok = (rr: Rr): boolean => {
    for (const name of [rr.name, targetOf(rr)]) {
      if (name !== undefined && !isValidName(name)) {
        onSkip(name);
        return false;
      }
    }
    return true;
  };
  const kept = answer.answers.map(ok);
  return withRecords(
    answer,
    answer.answers.filter((_, i) => kept[i]),
    answer.authority.filter(ok),
    answer.additional.filter(ok),
    answer.weights?.filter((_, i) => kept[i]),
  );
}
