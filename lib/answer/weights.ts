// Weights that steer the first record of every answer (ours: no anchor does this for A).
// An answer is cached as bytes and sent rotated on each hit; a schedule, computed once
// when the answer is built, says which record goes first on each hit, so that over
// consecutive queries each record leads in proportion to its weight: a smooth weighted
// round-robin (nginx's), not a coin flip per query. Clients that take the first address
// (getaddrinfo callers, Java's InetAddress) or the first SRV record then spread load as
// the weights say.
import type { Rr } from '../dns/records.js';

/** SCHEDULE_STEPS bounds a schedule's length: proportions within 1/SCHEDULE_STEPS. */
const SCHEDULE_STEPS = 1000;
/** MAX_RECORDS: beyond this many records the answer rotates evenly (the schedule's build cost grows with records x steps). */
const MAX_RECORDS = 256;

/**
 * leadWeights gives, per answer record, its weight to lead the answer; undefined when
 * every record leads equally (plain rotation). SRV: the record's weight, and only the
 * lowest priority may lead (RFC 2782: clients try it first). A/AAAA: the weights the
 * answer's builder gave (an address shared by instances carries their sum).
 */
export function leadWeights(answers: readonly Rr[], addressWeights: readonly number[] | undefined): number[] | undefined {
  if (answers.length < 2 || answers.length > MAX_RECORDS) return undefined;
  let weights: number[];
  if (answers[0]!.type === 'SRV') {
    let lowest = Infinity;
    for (const rr of answers) if (rr.type === 'SRV' && rr.priority < lowest) lowest = rr.priority;
    weights = answers.map((rr) => (rr.type === 'SRV' && rr.priority === lowest ? rr.weight : 0));
    // RFC 2782: weight 0 records are chosen when no other is; all 0 leads equally.
    if (weights.every((w) => w === 0)) weights = answers.map((rr) => (rr.type === 'SRV' && rr.priority === lowest ? 1 : 0));
  } else {
    if (addressWeights === undefined || addressWeights.length < answers.length) return undefined;
    weights = addressWeights.slice(0, answers.length);
  }
  if (weights.every((w) => w === weights[0])) return undefined;
  return weights;
}

/**
 * schedule is the smooth weighted round-robin over weights: which record leads on each
 * of up to SCHEDULE_STEPS consecutive hits (a full cycle when the weights are small
 * integers). Each record's share of the cycle is its share of the weight, within one
 * step, and its turns are spread out, not bunched.
 */
export function schedule(weights: readonly number[]): Uint16Array {
  const total = weights.reduce((a, b) => a + b, 0);
  const steps = Number.isInteger(total) && total <= SCHEDULE_STEPS ? total : SCHEDULE_STEPS;
  const out = new Uint16Array(steps);
  const current = new Float64Array(weights.length);
  for (let s = 0; s < steps; s++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out[s] = best;
  }
  return out;
}
