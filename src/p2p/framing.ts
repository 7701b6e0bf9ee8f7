/**
 * Strict length-prefixed framing for request/response streams: each frame is an unsigned
 * LEB128 varint length followed by that many bytes. Rules the decoder enforces:
 *   1. The length varint is minimal (no trailing 0x00 continuation byte) and at most
 *      MAX_VARINT_BYTES long, so every frame has exactly one encoding.
 *   2. The length is at most `maxFrameBytes`; this is checked while the varint is still being
 *      read, so a peer cannot make us buffer a frame we would refuse.
 *   3. End of stream inside a frame is an error (`finish`), never a silently short frame.
 */
import { Uint8ArrayList } from 'uint8arraylist';
import { CivitasError } from '../errors/index.ts';

/** 5 varint bytes carry 35 bits, more than any frame limit we accept (< 2^31). */
export const MAX_VARINT_BYTES = 5;
export const MAX_FRAME_LIMIT = 2 ** 31 - 1;

export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_FRAME_LIMIT) {
    throw new CivitasError('P2P_FRAME_TOO_LARGE', 'frame length out of range', { length: value });
  }
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Uint8Array.from(out);
}

/** Frames and concatenates payloads, so a response can go out in one write. */
export function encodeFrames(payloads: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const payload of payloads) {
    const prefix = encodeVarint(payload.length);
    parts.push(prefix, payload);
    total += prefix.length + payload.length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  return encodeFrames([payload]);
}

type Header = { length: number; headerBytes: number } | undefined;

export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #buffer = new Uint8ArrayList();

  constructor(maxFrameBytes: number) {
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 0) {
      throw new CivitasError('P2P_BAD_CONFIG', 'maxFrameBytes must be a non-negative integer');
    }
    this.#maxFrameBytes = Math.min(maxFrameBytes, MAX_FRAME_LIMIT);
  }

  /** Bytes received but not yet returned as a frame. */
  get buffered(): number {
    return this.#buffer.byteLength;
  }

  /** Appends received bytes and returns every frame they complete, in order. */
  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.#buffer.append(chunk);
    const frames: Uint8Array[] = [];
    for (;;) {
      const header = this.#readHeader();
      if (header === undefined) break;
      const end = header.headerBytes + header.length;
      if (this.#buffer.byteLength < end) break;
      // slice copies: a frame must not pin or alias the chunk it arrived in.
      frames.push(this.#buffer.slice(header.headerBytes, end));
      this.#buffer.consume(end);
    }
    return frames;
  }

  /** Call at end of stream: a partial frame left over means the peer cut it short. */
  finish(): void {
    if (this.#buffer.byteLength > 0) {
      throw new CivitasError('P2P_FRAME_TRUNCATED', 'stream ended inside a frame', {
        buffered: this.#buffer.byteLength,
      });
    }
  }

  #readHeader(): Header {
    let value = 0;
    let scale = 1;
    const available = Math.min(this.#buffer.byteLength, MAX_VARINT_BYTES);
    for (let i = 0; i < available; i++) {
      const byte = this.#buffer.get(i);
      value += (byte & 0x7f) * scale;
      // Rule 2, checked on every byte so an oversized length is refused before its body.
      if (value > this.#maxFrameBytes) {
        throw new CivitasError(
          'P2P_FRAME_TOO_LARGE',
          `frame exceeds the ${this.#maxFrameBytes}-byte limit`,
          { limit: this.#maxFrameBytes, atLeast: value },
        );
      }
      if ((byte & 0x80) === 0) {
        // Rule 1: a final 0x00 after other bytes is a non-minimal encoding.
        if (byte === 0 && i > 0) {
          throw new CivitasError('P2P_FRAME_BAD_LENGTH', 'frame length varint is not minimal');
        }
        return { length: value, headerBytes: i + 1 };
      }
      scale *= 0x80;
    }
    if (this.#buffer.byteLength >= MAX_VARINT_BYTES) {
      throw new CivitasError('P2P_FRAME_BAD_LENGTH', 'frame length varint is too long');
    }
    return undefined;
  }
}
