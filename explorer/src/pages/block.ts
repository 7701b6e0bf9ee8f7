/**
 * A block: its header, certificate and txs, and a badge computed here. The header's hash is
 * taken from a proof that carries the certificate (certifiedHeader), checked against a
 * quorum of the validator set trusted at that height; then the block's own bytes must hash
 * to that header and its txs to the header's tx root. The JSON views are shown, the bytes
 * are what is checked — and the JSON shown must be the checked bytes' own view, so a node
 * cannot show another time, proposer or signer list beside a block that verifies.
 */

import {
  type CommitCertificate,
  certificateToJson,
  computeTxRoot,
  decodeBlock,
  decodeCertificate,
  decodeHeader,
  headerHash,
  headerToJson,
} from '../../../src/chain/index.ts';
import {
  type BlockResponse,
  fromHex,
  type TrustedChain,
  toHex,
  verifyStateProof,
  verifyTxProof,
} from '../../../src/client/index.ts';
import { equalBytes } from '../../../src/crypto/bytes.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import { block, client, validatorName, validatorsOf } from '../api.ts';
import { badge } from '../badge.ts';
import { fields, h, link, short, table, time } from '../dom.ts';
import { trustedChain } from '../trust.ts';

/** An account id no one holds: its proof (of absence) carries the header and certificate. */
const ANCHOR_ACCOUNT = '00'.repeat(20);

export async function blockPage(main: HTMLElement, height: number): Promise<void> {
  const b = await block(height);
  const set = await validatorsOf(b);
  const hd = b.header;
  const signers = b.certificate?.signers ?? [];
  main.replaceChildren(
    h('h1', {}, `Block ${hd.height}`),
    badge(`block ${hd.height}`, () => verifyBlock(b)),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Neighbouring blocks' },
      hd.height > 1 ? link(`#/block/${hd.height - 1}`, '← previous') : null,
      link(`#/block/${hd.height + 1}`, 'next →'),
    ),
    h('h2', {}, 'Header'),
    fields([
      ['Hash', short(b.hash, 16)],
      ['Time', time(hd.timestamp)],
      ['Proposer', [`${validatorName(set, hd.proposer)} `, short(hd.proposer)]],
      [
        'Parent',
        hd.height > 1
          ? link(`#/block/${hd.height - 1}`, short(hd.parentHash, 16))
          : short(hd.parentHash, 16),
      ],
      ['Tx root', short(hd.txRoot, 16)],
      ['Receipt root', short(hd.receiptRoot, 16)],
      ['State root', short(hd.stateRoot, 16)],
      ['Validator set', short(hd.validatorSetHash, 16)],
      ['Next validator set', short(hd.nextValidatorSetHash, 16)],
      ['Last commit hash', short(hd.lastCommitHash, 16)],
    ]),
    h('h2', {}, 'Commit certificate'),
    b.certificate === null
      ? h('p', {}, 'No certificate stored for this block.')
      : fields([
          ['View', String(b.certificate.view)],
          [
            'Signed by',
            `${signers.map((i) => set.validators[i]?.name ?? `#${i}`).join(', ')} (${signers.length} of ${set.validators.length}, quorum ${set.quorum})`,
          ],
        ]),
    h('h2', {}, `Transactions (${b.txHashes.length})`),
    b.txHashes.length === 0
      ? h('p', {}, 'An empty block.')
      : table(
          `The txs of block ${hd.height}, in order`,
          ['#', 'Hash'],
          b.txHashes.map((t, i) => [String(i), link(`#/tx/${t}`, short(t, 16))]),
        ),
  );
}

/**
 * The block's header hash as a quorum of the trusted set certified it, and how many signed.
 * A block with txs: through its first tx's proof (verifyTxProof checks the certificate on
 * that header). An empty block: through the state proof at its height, which carries the
 * header and certificate bytes (a node that pruned that height's state cannot answer it).
 */
async function certifiedHeader(
  b: BlockResponse,
  trusted: TrustedChain,
): Promise<{ hash: Uint8Array; certificate: CommitCertificate }> {
  const height = b.header.height;
  const first = b.txHashes[0];
  if (first !== undefined) {
    const answer = await client.tx(first);
    if (answer.status !== 'committed' || answer.height !== height) {
      throw new CivitasError('VERIFY_HEIGHT', `tx ${first} is not committed in block ${height}`);
    }
    const v = verifyTxProof(fromHex(first), answer, trusted);
    return {
      hash: fromHex(v.blockHash),
      certificate: decodeCertificate(fromHex(answer.certificateBytes)),
    };
  }
  const anchor = await client.state('bank', ANCHOR_ACCOUNT, { proof: true, height });
  const proven = verifyStateProof('bank', ANCHOR_ACCOUNT, anchor, trusted);
  const proof = anchor.proof;
  if (proven.height !== height || proof?.headerBytes == null || proof.certificateBytes == null) {
    throw new CivitasError(
      'VERIFY_HEIGHT',
      `the node proved height ${proven.height}, not ${height}`,
    );
  }
  return {
    hash: headerHash(decodeHeader(fromHex(proof.headerBytes))),
    certificate: decodeCertificate(fromHex(proof.certificateBytes)),
  };
}

async function verifyBlock(b: BlockResponse): Promise<{ summary: string }> {
  const height = b.header.height;
  const trusted = await trustedChain(client, height);
  const { hash: certified, certificate } = await certifiedHeader(b, trusted);
  let sealed: ReturnType<typeof decodeBlock>;
  try {
    sealed = decodeBlock(fromHex(b.blockBytes));
  } catch (err) {
    throw new CivitasError(
      'VERIFY_HEADER',
      `the block bytes do not decode: ${(err as Error).message}`,
    );
  }
  if (!equalBytes(sealed.hash, certified) || b.hash !== toHex(certified)) {
    throw new CivitasError('VERIFY_CERTIFICATE', 'the certificate signs another block');
  }
  if (!equalBytes(computeTxRoot(sealed.txHashes), sealed.header.txRoot)) {
    throw new CivitasError('VERIFY_TX_PROOF', "the block's txs do not hash to its txRoot");
  }
  if (sealed.txHashes.map(toHex).join() !== b.txHashes.join()) {
    throw new CivitasError('VERIFY_TX_PROOF', 'the tx list shown is not the block’s');
  }
  const shown = sameJson(headerToJson(sealed.header), b.header);
  if (shown !== undefined) {
    throw new CivitasError('VERIFY_HEADER', `the header shown is not the certified one (${shown})`);
  }
  const signed = sameJson(certificateToJson(certificate), b.certificate ?? {});
  if (signed !== undefined) {
    throw new CivitasError(
      'VERIFY_CERTIFICATE',
      `the certificate shown is not the one checked (${signed})`,
    );
  }
  const signers = certificate.signatures.length;
  return {
    summary: `header certified by ${signers} validators of the set trusted at height ${height}; the ${sealed.txHashes.length} txs match its tx root`,
  };
}

/** The first field in which `shown` differs from `proven`, or undefined when none does. */
function sameJson(proven: object, shown: object): string | undefined {
  const a = proven as Record<string, unknown>;
  const b = shown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) return key;
  }
  return undefined;
}
