/** Reading a genesis file from disk: the node at start, the CLI's `verify --genesis`. */
import { readFile } from 'node:fs/promises';
import { type Genesis, genesisFromJson } from '../chain/genesis.ts';
import { CivitasError } from '../errors/index.ts';

export async function loadGenesisFile(path: string): Promise<Genesis> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CivitasError('GENESIS_NOT_FOUND', `cannot read genesis file ${path}`, { path });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CivitasError('GENESIS_INVALID', `${path}: not valid JSON`, { path });
  }
  return genesisFromJson(json);
}
