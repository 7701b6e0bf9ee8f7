/** Canonical binary encoding (src/codec): every decoding failure is a MALFORMED input. */
import { type CodeSpec, MALFORMED } from './spec.ts';

export const CODEC_ERRORS = {
  CODEC_BAD_INPUT: { ...MALFORMED, description: 'the input to decode is not a Uint8Array' },
  CODEC_BAD_LENGTH: { ...MALFORMED, description: 'a fixed-length field has the wrong length' },
  CODEC_BAD_ORDER: { ...MALFORMED, description: 'a list that must strictly increase does not' },
  CODEC_BAD_UTF8: { ...MALFORMED, description: 'a string field is not valid UTF-8' },
  CODEC_BAD_VALUE: { ...MALFORMED, description: 'a field holds a value outside its domain' },
  CODEC_BAD_VARINT: { ...MALFORMED, description: 'a varint is longer than its type allows' },
  CODEC_BAD_VERSION: { ...MALFORMED, description: 'an unknown version or format byte' },
  CODEC_NON_MINIMAL_INT: { ...MALFORMED, description: 'a varint is not minimally encoded' },
  CODEC_TOO_LARGE: { ...MALFORMED, description: 'an object, string or list exceeds its limit' },
  CODEC_TRAILING_BYTES: { ...MALFORMED, description: 'bytes remain after the decoded object' },
  CODEC_TRUNCATED: { ...MALFORMED, description: 'the input ends inside a value' },
  CODEC_VALUE_TOO_LARGE: { ...MALFORMED, description: 'a decoded number exceeds its bound' },
} as const satisfies Record<string, CodeSpec>;
