/**
 * Child process for the kill -9 tests: opens a ledger and commits blocks of transfers in a
 * loop forever, printing "open <height>" once and then each committed height on its own
 * line. A line is written only after the commit's synced batch resolved, so every printed
 * height must survive a SIGKILL.
 *
 *   node test/helpers/commit-loop.ts <db dir> <chain file (see writeChainFile)>
 */

import { getAccount } from '../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../src/app/index.ts';
import { addressOf } from '../../src/chain/index.ts';
import { Ledger } from '../../src/state/ledger.ts';
import { commitNext, readChainFile, transferTx } from './chain.ts';

const [dir, chainFile] = process.argv.slice(2);
if (dir === undefined || chainFile === undefined) {
  process.stderr.write('usage: commit-loop.ts <db dir> <chain file>\n');
  process.exit(2);
}
const chain = await readChainFile(chainFile);
const ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine());
process.stdout.write(`open ${ledger.height}\n`);
const n = chain.accountKeys.length;
const addresses = chain.accountKeys.map((k) => addressOf(k.publicKey));
for (;;) {
  const height = ledger.height + 1;
  const accounts = await Promise.all(addresses.map((a) => getAccount(ledger, a)));
  // Every account pays the next one; every third block also carries a failing tx.
  const txs = accounts.map((a, i) =>
    transferTx(chain, i, addresses[(i + 1) % n]!, BigInt(1 + (height % 5)), a.nonce),
  );
  if (height % 3 === 0) {
    txs.push(transferTx(chain, 0, addresses[1]!, 10n ** 30n, accounts[0]!.nonce + 1));
  }
  await commitNext(ledger, chain, txs, Date.now());
  process.stdout.write(`${ledger.height}\n`);
}
