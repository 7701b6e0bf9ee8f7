/** Reading a genesis file from disk: the node at start, the CLI's `verify --genesis`. */

import { readFile } from 'node:fs/promises';
import { type Genesis, genesisFromJson } from '../chain/genesis.ts';
import { CivitasError } from '../errors/index.ts';
import { parseJsonText } from '../errors/json-text.ts';

export async function loadGenesisFile(path: string): Promise<Genesis> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CivitasError('GENESIS_NOT_FOUND', `cannot read genesis file ${path}`, { path });
  }
  return genesisFromJson(parseJsonText(text, path, 'GENESIS_INVALID'));
}
