// Making a response fit its transport. A UDP reply must fit 512 bytes or the client's
// EDNS0 buffer (RFC 1035 §4.2.1, RFC 6891 §6.2.5); a TCP reply 65535 bytes.
// Ours: rather than cutting silently, answers are dropped from the end one by one,
// ADDITIONAL keeps only the glue of the answers left, and TC is set so that the
// client retries over TCP and gets everything (RFC 2181 §9).
import { encodeCut, encodeMessage, encodeWithin, MessageTooLarge, type AnswerLayout, type Message } from './encode.js';
import { targetOf, type Rr } from './records.js';

/** tryEncode encodes msg if it fits limit bytes; undefined otherwise (ends filled in when it fits 65535). */
function tryEncode(msg: Message, limit: number, layout?: AnswerLayout, ends?: number[]): Buffer | undefined {
  try {
    return encodeWithin(msg, limit, layout, ends);
  } catch (err) {
    if (err instanceof MessageTooLarge) return undefined;
    throw err;
  }
}

/** tryCut is encodeCut, undefined where the cut message cannot fit 65535 bytes either. */
function tryCut(msg: Message, count: number, additional: readonly Rr[], limit: number, layout?: AnswerLayout): Buffer | undefined {
  try {
    return encodeCut(msg, count, additional, limit, layout);
  } catch (err) {
    if (err instanceof MessageTooLarge) return undefined;
    throw err;
  }
}

/**
 * glueOwners says, for each ADDITIONAL record, which answer brings it: the first whose
 * target is its owner name, or -1 for none. Targets and glue owners are mostly the very
 * same strings, found in a Map as they are; names are compared lower-cased only when
 * that fails (lower-casing every name was a tenth of a truncated answer's cost).
 */
function glueOwners(msg: Message): number[] {
  const first = new Map<string, number>();
  for (let k = 0; k < msg.answers.length; k++) {
    const t = targetOf(msg.answers[k]!);
    if (t !== undefined && !first.has(t)) first.set(t, k);
  }
  let lower: Map<string, number> | undefined;
  const owners: number[] = [];
  for (let j = 0; j < msg.additional.length; j++) {
    const name = msg.additional[j]!.name;
    let k = first.get(name);
    if (k === undefined) {
      if (lower === undefined) {
        lower = new Map();
        for (const [t, i] of first) {
          const l = t.toLowerCase();
          if (!lower.has(l)) lower.set(l, i);
        }
      }
      k = lower.get(name.toLowerCase());
    }
    owners.push(k ?? -1);
  }
  return owners;
}

/**
 * predictAnswers tells how many answers fit limit, from the sizes of the records in the
 * full encoding (ends: where the answers start, then where each record ends, then the
 * message): the header, question, authority and OPT stay; each kept answer brings its
 * own size and its glue's (owners: glueOwners).
 */
function predictAnswers(msg: Message, ends: readonly number[], limit: number, owners: readonly number[]): number {
  const sizeOf = (record: number): number => ends[record + 1]! - ends[record]!;
  const nAns = msg.answers.length;
  const glueAt = nAns + msg.authority.length;
  let used = ends[ends.length - 1]!;
  for (let i = 0; i < nAns; i++) used -= sizeOf(i);
  const glueSize: number[] = new Array<number>(nAns).fill(0);
  for (let j = 0; j < owners.length; j++) {
    const size = sizeOf(glueAt + j);
    const owner = owners[j]!;
    used -= size;
    if (owner >= 0) glueSize[owner] = glueSize[owner]! + size;
  }
  let k = 0;
  for (; k < nAns; k++) {
    const grow = sizeOf(k) + glueSize[k]!;
    if (used + grow > limit) break;
    used += grow;
  }
  return k;
}

/** glueOf is the additional records the first count answers bring (owners: glueOwners). */
function glueOf(msg: Message, count: number, owners: readonly number[]): Rr[] {
  const additional: Rr[] = [];
  for (let j = 0; j < owners.length; j++) if (owners[j]! >= 0 && owners[j]! < count) additional.push(msg.additional[j]!);
  return additional;
}

/**
 * fitMessage encodes msg within limit bytes, trimming answers and setting TC when it
 * must. With layout, answers are relocatable and layout describes the encoding returned.
 */
export function fitMessage(msg: Message, limit: number, layout?: AnswerLayout): Buffer {
  const ends: number[] = [];
  const full = tryEncode(msg, limit, layout, ends);
  if (full !== undefined) return full;
  // ends is filled in unless the message could not fit 65535 bytes at all.
  const measured = ends.length === msg.answers.length + msg.authority.length + msg.additional.length + 2;
  // The most answers that fit with their glue. The full encoding's record sizes predict
  // it (a kept record encodes the same alone: glue points at its own answer's target),
  // so one more encoding nearly always settles it; a search below the prediction is the
  // fallback (a plain binary search took four or five encodings on every such miss).
  const n = msg.answers.length;
  const owners = glueOwners(msg);
  let lo = 0;
  let hi = measured ? Math.min(n - 1, predictAnswers(msg, ends, limit, owners)) : n - 1;
  let best: Buffer | undefined;
  let bestLayout: AnswerLayout | undefined;
  let next = hi;
  while (lo <= hi) {
    const mid = next;
    const attempt: AnswerLayout | undefined = layout ? { starts: [], end: 0 } : undefined;
    // The answers kept are still written as they were: only what follows is written again.
    const wire = tryCut(msg, mid, glueOf(msg, mid, owners), limit, attempt);
    if (wire) {
      best = wire;
      bestLayout = attempt;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
    next = (lo + hi + 1) >> 1;
  }
  if (best) {
    if (layout && bestLayout) Object.assign(layout, bestLayout);
    return best;
  }
  if (layout) Object.assign(layout, { starts: [], end: 0 });
  // Not even the authority section fits: header, question and OPT only.
  const bare: Message = { ...msg, header: { ...msg.header, tc: true }, answers: [], authority: [], additional: [] };
  return tryEncode(bare, limit) ?? encodeMessage({ ...bare, question: undefined });
}
