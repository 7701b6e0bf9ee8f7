/**
 * Receipt codes of document anchoring and sharing (src/app/doc): part of the execution catalogue (execution.ts).
 */
import { BAD_REQUEST, CONFLICT, type CodeSpec, FORBIDDEN, NOT_FOUND } from './spec.ts';

export const DOC_ERRORS = {
  DOC_ALREADY_ATTESTED: {
    ...CONFLICT,
    description: "the sender's organisation already attested the document",
  },
  DOC_BAD_ARGS: { ...BAD_REQUEST, description: 'doc args are malformed' },
  DOC_BAD_EXPIRY: {
    ...BAD_REQUEST,
    description: "a grant's untilHeight must be above the height of its block",
  },
  DOC_BAD_ID: { ...BAD_REQUEST, description: 'not a doc object id' },
  DOC_BAD_SUCCESSOR: {
    ...CONFLICT,
    description: 'the superseding document is not an active document of the same organisation',
  },
  DOC_EXISTS: { ...CONFLICT, description: 'a document with this id is anchored already' },
  DOC_GRANT_EXPIRED: {
    ...FORBIDDEN,
    description: "the organisation's grant on the document expired (height > untilHeight)",
  },
  DOC_NOT_ACTIVE: { ...CONFLICT, description: 'the document is revoked or superseded' },
  DOC_NOT_FOUND: { ...NOT_FOUND, description: 'no document with this id is anchored' },
  DOC_NOT_OWNER: {
    ...FORBIDDEN,
    description: 'only an admin of the owning organisation or the anchoring account does this',
  },
  DOC_NO_GRANT: { ...FORBIDDEN, description: 'the organisation holds no grant on the document' },
  DOC_OWN_ORGANISATION: {
    ...FORBIDDEN,
    description: 'an organisation neither attests nor is granted its own document',
  },
  DOC_TOO_MANY_ATTESTATIONS: {
    ...CONFLICT,
    description: 'the document has 32 attestations already',
  },
  DOC_TOO_MANY_GRANTS: {
    ...CONFLICT,
    description: 'the document holds 32 grants already (ungrant one first)',
  },
} as const satisfies Record<string, CodeSpec>;
