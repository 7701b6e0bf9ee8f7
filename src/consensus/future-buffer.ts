/**
 * Messages for heights just above the current one (a replica that commits later than its
 * peers hears the next height first). Signatures are checked before a message is buffered,
 * so a forger cannot use up an honest validator's slots; each validator gets a fixed number
 * of slots, and identical messages are stored once.
 */

import { toHex } from '../crypto/bytes.ts';
import { type ConsensusMessage, digestOf } from './messages.ts';

interface Buffered {
  readonly order: number;
  readonly key: string;
  readonly validatorKey: string;
  readonly message: ConsensusMessage;
}

export type BufferResult = 'buffered' | 'duplicate' | 'cap-exceeded';

export class FutureBuffer {
  private readonly perValidator: number;
  private readonly byValidator = new Map<string, Buffered[]>();
  private readonly keys = new Set<string>();
  private nextOrder = 0;
  private total = 0;

  constructor(perValidator: number) {
    this.perValidator = perValidator;
  }

  get size(): number {
    return this.total;
  }

  get maxPerValidator(): number {
    let max = 0;
    for (const list of this.byValidator.values()) max = Math.max(max, list.length);
    return max;
  }

  /** `validatorKey`: the sender's public key hex at the message's height. */
  add(validatorKey: string, message: ConsensusMessage): BufferResult {
    const key = `${message.type}:${message.height}:${message.view}:${message.validatorIndex}:${toHex(digestOf(message))}`;
    if (this.keys.has(key)) return 'duplicate';
    let list = this.byValidator.get(validatorKey);
    if (list === undefined) {
      list = [];
      this.byValidator.set(validatorKey, list);
    }
    if (list.length >= this.perValidator) return 'cap-exceeded';
    list.push({ order: this.nextOrder++, key, validatorKey, message });
    this.keys.add(key);
    this.total++;
    return 'buffered';
  }

  /** Removes every message at or below `height`; returns those at `height` in arrival order. */
  take(height: number): ConsensusMessage[] {
    const out: Buffered[] = [];
    for (const [validatorKey, list] of this.byValidator) {
      const keep: Buffered[] = [];
      for (const b of list) {
        if (b.message.height > height) {
          keep.push(b);
          continue;
        }
        this.keys.delete(b.key);
        this.total--;
        if (b.message.height === height) out.push(b);
      }
      if (keep.length === 0) this.byValidator.delete(validatorKey);
      else this.byValidator.set(validatorKey, keep);
    }
    return out.sort((a, b) => a.order - b.order).map((b) => b.message);
  }
}
