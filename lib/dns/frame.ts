// DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): each message behind a two-byte
// length. Shared by the TCP listener and the TCP forwarder.

/** frame puts a message behind its two-byte length. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

/** unframe takes the first whole message off a stream's bytes: the message and the rest, or undefined until it has arrived. */
export function unframe(pending: Buffer): { message: Buffer; rest: Buffer } | undefined {
  if (pending.length < 2) return undefined;
  const end = 2 + pending.readUInt16BE(0);
  if (pending.length < end) return undefined;
  return { message: pending.subarray(2, end), rest: pending.subarray(end) };
}
