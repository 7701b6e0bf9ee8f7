/**
 * Runs the chain generator in a child process, so the benchmark's process (whose peak RSS is a
 * reported figure) holds only what validation needs: the encoded chain arrives over IPC
 * (v8 serialization keeps Uint8Arrays and bigints), and the producer's heap, LevelDB and
 * signing keys die with the child.
 *
 * This file is both the parent's API and, run directly, the child.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Genesis } from '../src/chain/index.ts';
import { CivitasError, isCivitasError } from '../src/errors/index.ts';
import { type ChainSpec, type EncodedChainBlock, generateChain } from './chain-generator.ts';
import type { ChainKind, TxMix, WorkloadName } from './workloads.ts';

/** A generated chain without its keys (they stay in the child). */
export interface EncodedChain {
  readonly genesis: Genesis;
  readonly blocks: readonly EncodedChainBlock[];
  readonly txCount: number;
  readonly senders: number;
  readonly workload: WorkloadName;
  readonly chain: ChainKind;
  readonly mix: TxMix;
  readonly chainBytes: number;
}

type ChildSpec = Omit<ChainSpec, 'onBlock'>;

type ChildMessage =
  | { readonly type: 'progress'; readonly height: number; readonly blocks: number }
  | { readonly type: 'done'; readonly chain: EncodedChain }
  | {
      readonly type: 'error';
      readonly message: string;
      /** A CivitasError's code and context cross over (a failed receipt's code, say). */
      readonly code?: string;
      readonly context?: Record<string, unknown>;
    };

/** The child's error as the parent throws it: coded errors keep their code. */
function childError(message: Extract<ChildMessage, { type: 'error' }>): Error {
  if (message.code !== undefined) {
    return CivitasError.fromJSON({
      code: message.code,
      message: message.message,
      context: message.context,
    });
  }
  return new Error(`chain generator: ${message.message}`);
}

export function generateChainInChild(
  spec: ChildSpec,
  onBlock?: (height: number, blocks: number) => void,
): Promise<EncodedChain> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: EncodedChain | undefined;
    let failure: Error | undefined;
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'progress') onBlock?.(message.height, message.blocks);
      else if (message.type === 'done') result = message.chain;
      else failure = childError(message);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result !== undefined) resolve(result);
      else reject(failure ?? new Error(`chain generator exited (${signal ?? code})`));
    });
    child.send(spec);
  });
}

if (import.meta.main) {
  process.once('message', async (spec: ChildSpec) => {
    const send = (message: ChildMessage) =>
      new Promise<void>((resolve) => process.send!(message, undefined, {}, () => resolve()));
    try {
      const chain = await generateChain({
        ...spec,
        onBlock: (height, blocks) => void send({ type: 'progress', height, blocks }),
      });
      const { genesis, blocks, txCount, senders, workload, chain: kind, mix, chainBytes } = chain;
      await send({
        type: 'done',
        chain: { genesis, blocks, txCount, senders, workload, chain: kind, mix, chainBytes },
      });
    } catch (err) {
      await send({
        type: 'error',
        message: (err as Error).message,
        ...(isCivitasError(err) ? { code: err.code, context: err.context } : {}),
      });
    }
    process.disconnect();
  });
}
