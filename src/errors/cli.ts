/** The command line (src/cli): argument checks, `civitas init`, key files. */
import { type CodeSpec, SERVER_ERROR } from './spec.ts';

export const CLI_ERRORS = {
  CLI_BAD_HASH: { ...SERVER_ERROR, description: 'an argument is not a 32-byte hex tx hash' },
  CLI_BAD_HEIGHT: { ...SERVER_ERROR, description: 'an argument is not a height' },
  CLI_BAD_JSON: {
    ...SERVER_ERROR,
    description: 'an argument or a file given is not the JSON expected',
  },
  CLI_DEMO_FAILED: {
    ...SERVER_ERROR,
    description: 'a step of civitas demo did not end as the use case expects',
  },
  CLI_FILE_EXISTS: { ...SERVER_ERROR, description: 'an output file exists (never overwritten)' },
  CLI_FILE_ERROR: {
    ...SERVER_ERROR,
    description: 'a file or folder cannot be read or written (missing, not allowed, full)',
  },
  CLI_FILE_NOT_FOUND: { ...SERVER_ERROR, description: 'a file named by an option cannot be read' },

  INIT_BAD_ARGS: { ...SERVER_ERROR, description: 'an init option is out of range' },
  INIT_BAD_MULTIADDR: {
    ...SERVER_ERROR,
    description: 'a --bootstrap address is not a TCP multiaddr ending in /p2p/<ed25519 peer id>',
  },
  INIT_DIR_NOT_EMPTY: {
    ...SERVER_ERROR,
    description: 'the init or genesis target dir is not empty (or not a dir)',
  },
  INIT_EXPERIMENTAL_PROTOCOL: {
    ...SERVER_ERROR,
    description: 'init --protocol names an experimental protocol without --experimental-protocol',
  },

  KEYS_ALREADY_ENCRYPTED: {
    ...SERVER_ERROR,
    description: 'keys encrypt was given a key file that is encrypted already',
  },
  KEYS_BAD_FILE: { ...SERVER_ERROR, description: 'a key file is not a valid ed25519 key file' },
  KEYS_BAD_PASSPHRASE: {
    ...SERVER_ERROR,
    description:
      'the passphrase does not open an encrypted key file (wrong, or the file was altered)',
  },
  KEYS_FILE_EXISTS: { ...SERVER_ERROR, description: 'a key file would be overwritten' },
  KEYS_NO_FILE_SYSTEM: {
    ...SERVER_ERROR,
    description: 'a key file was to be read or written where there is no file system (a browser)',
  },
  KEYS_MISMATCH: { ...SERVER_ERROR, description: "a key file's public key is not its secret's" },
  KEYS_NOT_ENCRYPTED: {
    ...SERVER_ERROR,
    description: 'keys decrypt was given a key file that is not encrypted',
  },
  KEYS_NOT_FOUND: { ...SERVER_ERROR, description: 'a key file cannot be read' },
  KEYS_OUT_NEEDED: {
    ...SERVER_ERROR,
    description: 'keys generate without --out (the secret key is never printed unless asked)',
  },
  KEYS_PASSPHRASE_EMPTY: {
    ...SERVER_ERROR,
    description: 'a passphrase (file, environment variable or prompt) is empty',
  },
  KEYS_PASSPHRASE_MISMATCH: {
    ...SERVER_ERROR,
    description: 'the two passphrases typed for a new key file differ',
  },
  KEYS_PASSPHRASE_NEEDED: {
    ...SERVER_ERROR,
    description:
      'an encrypted key file and no passphrase (--passphrase-file, CIVITAS_PASSPHRASE or a terminal)',
  },

  MEMBERS_BAD_FIELD: {
    ...SERVER_ERROR,
    description: 'a members manifest field breaks its rule (the message names field and rule)',
  },
  MEMBERS_BAD_JSON: { ...SERVER_ERROR, description: 'the members manifest is not valid JSON' },
  MEMBERS_DUPLICATE: {
    ...SERVER_ERROR,
    description: 'two manifest entries share a name, a key or a host port',
  },
  MEMBERS_NOT_FOUND: { ...SERVER_ERROR, description: 'the members manifest cannot be read' },
  MEMBERS_UNKNOWN_FIELD: {
    ...SERVER_ERROR,
    description: 'the members manifest has a field it does not define (a typo?)',
  },
  MEMBERS_UNKNOWN_ORG: {
    ...SERVER_ERROR,
    description: "a manifest account names an organisation that is no member's nor the regulator's",
  },
} as const satisfies Record<string, CodeSpec>;
