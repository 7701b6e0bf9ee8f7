/** Parsers for CLI option values: each rejects bad input with one clear line. */
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_BASE_PORT } from '../node/home.ts';

export const DEFAULT_RPC = process.env.CIVITAS_RPC ?? 'http://127.0.0.1:26601';

export function intOption(min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^[0-9]+$/.test(value))
      throw new InvalidArgumentError(`expected an integer, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`);
    return n;
  };
}

export function amountOption(value: string): bigint {
  if (!/^[1-9][0-9]{0,37}$/.test(value))
    throw new InvalidArgumentError(`expected a positive whole amount, got "${value}"`);
  return BigInt(value);
}

/** `--base-port`, shared by init and devnet: node i uses p2p port base+2i, API port base+2i+1. */
export function basePortOption(): Option {
  return new Option('--base-port <port>', 'node i uses p2p port base+2i and API port base+2i+1')
    .argParser(intOption(1024, 65_000))
    .default(DEFAULT_BASE_PORT);
}
