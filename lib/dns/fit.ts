// Making a response fit its transport. A UDP reply must fit 512 bytes or the client's
// EDNS0 buffer (RFC 1035 §4.2.1, RFC 6891 §6.2.5); a TCP reply 65535 bytes.
// Ours: rather than cutting silently, answers are dropped from the end one by one,
// ADDITIONAL keeps only the glue of the answers left, and TC is set so that the
// client retries over TCP and gets everything (RFC 2181 §9).
import { encodeMessage, MessageTooLarge, type AnswerLayout, type Message } from './encode.js';
import { targetOf } from './records.js';

function tryEncode(msg: Message, limit: number, layout?: AnswerLayout): Buffer | undefined {
  try {
    const wire = encodeMessage(msg, layout);
    return wire.length <= limit ? wire : undefined;
  } catch (err) {
    if (err instanceof MessageTooLarge) return undefined;
    throw err;
  }
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
  const full = tryEncode(msg, limit, layout);
  if (full) return full;
  // Binary search for the most answers that fit with their glue.
  let lo = 0;
  let hi = msg.answers.length - 1;
  let best: Buffer | undefined;
  let bestLayout: AnswerLayout | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const attempt: AnswerLayout | undefined = layout ? { starts: [], end: 0 } : undefined;
    const wire = tryEncode(withAnswers(msg, mid), limit, attempt);
    if (wire) {
      best = wire;
      bestLayout = attempt;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
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
