import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';

/** What the gateway receives for one emit, and how many bytes the largest frame took. */
export interface OnTheWire {
  /** The event's arguments as the server decodes them (ack callback aside). */
  args: unknown[];
  /** The largest WebSocket frame of the packet, in bytes. */
  largestFrame: number;
}

/** The bytes a binary attachment occupies, as the server's Buffer. */
function asBuffer(part: unknown): Buffer {
  if (Buffer.isBuffer(part)) return Buffer.from(part);
  if (part instanceof ArrayBuffer) return Buffer.from(part);
  if (ArrayBuffer.isView(part)) return Buffer.from(part.buffer, part.byteOffset, part.byteLength);
  throw new Error(`unexpected attachment ${typeof part}`);
}

/**
 * Encodes `[event, ...args]` with the Socket.IO parser the client uses and decodes it
 * with the one the server uses, binary attachments arriving as Buffers: exactly what the
 * gateway's listener gets (`undefined` arguments become `null`, Maps become `{}`, dates
 * strings, `__proto__` an own key). Undefined when the parser refuses the packet — Socket.IO
 * closes such a connection before the gateway sees the event (too many attachments).
 */
export function overTheWire(event: string, args: readonly unknown[]): OnTheWire | undefined {
  let decoded: Packet | undefined;
  const decoder = new Decoder();
  decoder.on('decoded', (packet: Packet) => {
    decoded = packet;
  });
  let largestFrame = 0;
  try {
    const parts = new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: [event, ...args] }) as unknown[];
    for (const part of parts) {
      const frame = typeof part === 'string' ? part : asBuffer(part);
      largestFrame = Math.max(largestFrame, typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length);
      decoder.add(frame);
    }
  } catch {
    // The client cannot encode it, or the server's parser refuses it and closes the connection: not a payload case.
    return undefined;
  } finally {
    decoder.destroy();
  }
  const data = decoded?.data as unknown[] | undefined;
  return data ? { args: data.slice(1), largestFrame } : undefined;
}
