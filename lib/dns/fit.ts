// Making a response fit its transport. A UDP reply must fit 512 bytes or the client's
// EDNS0 buffer (RFC 1035 §4.2.1, RFC 6891 §6.2.5); a TCP reply 65535 bytes.
// Ours: rather than cutting silently, answers are dropped from the end one by one,
// ADDITIONAL keeps only the glue of the answers left, and TC is set so that the
// client retries over TCP and gets everything (RFC 2181 §9).
import { encodeMessage, MessageTooLarge, type AnswerLayout, type Message } from './encode.js';
import { targetOf } from './records.js';

/** encodeAny encodes msg whatever its size; undefined when it cannot fit 65535 bytes. */
function encodeAny(msg: Message, layout?: AnswerLayout, ends?: number[]): Buffer | undefined {
  try {
    return encodeMessage(msg, layout, ends);
  } catch (err) {
    if (err instanceof MessageTooLarge) return undefined;
    throw err;
  }
}

function tryEncode(msg: Message, limit: number, layout?: AnswerLayout): Buffer | undefined {
  const wire = encodeAny(msg, layout);
  return wire !== undefined && wire.length <= limit ? wire : undefined;
}

/**
 * predictAnswers tells how many answers fit limit, from the sizes of the records in the
 * full encoding (ends: where the answers start, then where each record ends): the
 * header, question, authority and OPT stay; each kept answer brings its own size and,
 * the first time its target is named, its glue's.
 */
function predictAnswers(msg: Message, fullLength: number, ends: readonly number[], limit: number): number {
  const sizeOf = (record: number): number => ends[record + 1]! - ends[record]!;
  const nAns = msg.answers.length;
  const glueAt = nAns + msg.authority.length;
  let used = fullLength;
  for (let i = 0; i < nAns; i++) used -= sizeOf(i);
  const glue = new Map<string, number>();
  for (let j = 0; j < msg.additional.length; j++) {
    used -= sizeOf(glueAt + j);
    const name = msg.additional[j]!.name.toLowerCase();
    glue.set(name, (glue.get(name) ?? 0) + sizeOf(glueAt + j));
  }
  const counted = new Set<string>();
  let k = 0;
  for (; k < nAns; k++) {
    const t = targetOf(msg.answers[k]!)?.toLowerCase();
    const grow = sizeOf(k) + (t !== undefined && !counted.has(t) ? (glue.get(t) ?? 0) : 0);
    if (used + grow > limit) break;
    used += grow;
    if (t !== undefined) counted.add(t);
  }
  return k;
}

function withAnswers(msg: Message, count: number): Message {
  const answers = msg.answers.slice(0, count);
  const targets = new Set<string>();
  for (const rr of answers) {
    const t = targetOf(rr);
    if (t !== undefined) targets.add(t.toLowerCase());
  }
  return {
    ...msg,
    header: { ...msg.header, tc: true },
    answers,
    additional: msg.additional.filter((rr) => targets.has(rr.name.toLowerCase())),
  };
}

/**
 * fitMessage encodes msg within limit bytes, trimming answers and setting TC when it
 * must. With layout, answers are relocatable and layout describes the encoding returned.
 */
export function fitMessage(msg: Message, limit: number, layout?: AnswerLayout): Buffer {
  const ends: number[] = [];
  const full = encodeAny(msg, layout, ends);
  if (full !== undefined && full.length <= limit) return full;
  // The most answers that fit with their glue. The full encoding's record sizes predict
  // it (a kept record encodes the same alone: glue points at its own answer's target),
  // so one more encoding nearly always settles it; a search below the prediction is the
  // fallback (a plain binary search took four or five encodings on every such miss).
  const n = msg.answers.length;
  let lo = 0;
  let hi = full === undefined ? n - 1 : Math.min(n - 1, predictAnswers(msg, full.length, ends, limit));
  let best: Buffer | undefined;
  let bestLayout: AnswerLayout | undefined;
  let next = hi;
  while (lo <= hi) {
    const mid = next;
    const attempt: AnswerLayout | undefined = layout ? { starts: [], end: 0 } : undefined;
    const wire = tryEncode(withAnswers(msg, mid), limit, attempt);
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
