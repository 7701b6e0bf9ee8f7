/**
 * A tx: what it asked (its ops, decoded with the client's own codecs), its receipt (status,
 * code, events), the Merkle proofs that place the tx and its receipt under the block's roots,
 * and the badge: verifyTxProof here, against the validator set trusted at the tx's height.
 */

import { decodeCertificate } from '../../../src/chain/index.ts';
import {
  type CommittedTxResponse,
  clientApp,
  fromHex,
  verifyTxProof,
} from '../../../src/client/index.ts';
import { block, client, validatorName, validatorsOf } from '../api.ts';
import { badge } from '../badge.ts';
import { fields, h, json, link, short, table, time } from '../dom.ts';
import { trustedChain } from '../trust.ts';

/** Op args as JSON through the client's codec; the hex when it cannot decode them. */
function argsJson(module: string, method: string, args: string): unknown {
  const impl = clientApp().method(module, method);
  try {
    if (impl !== undefined) return impl.args.toJson(impl.args.decode(fromHex(args)));
  } catch {
    // shown as hex below
  }
  return args;
}

export async function txPage(main: HTMLElement, hash: string): Promise<void> {
  const answer = await client.tx(hash);
  if (answer.status !== 'committed') {
    main.replaceChildren(
      h('h1', {}, 'Transaction'),
      fields([
        ['Hash', short(answer.hash, 16)],
        ['Status', 'pending: in the mempool, not committed yet'],
      ]),
    );
    return;
  }
  const r = answer as CommittedTxResponse;
  const b = await block(r.height);
  const set = await validatorsOf(b);
  const certificate = decodeCertificate(fromHex(r.certificateBytes));
  const tx = r.tx;
  main.replaceChildren(
    h('h1', {}, 'Transaction'),
    badge(`tx ${hash.slice(0, 12)}…`, async () => {
      const trusted = await trustedChain(client, r.height);
      const v = verifyTxProof(fromHex(hash), r, trusted);
      return {
        summary: `in block ${v.height} under its tx root, receipt (${v.status}, ${v.code}) under its receipt root, block certified by ${v.signers} validators of the set trusted at that height`,
      };
    }),
    fields([
      ['Hash', short(r.hash, 16)],
      [
        'Block',
        [
          link(`#/block/${r.height}`, String(r.height)),
          `, tx #${r.index}, `,
          time(r.header.timestamp),
        ],
      ],
      [
        'Status',
        h(
          'span',
          { class: `status-${r.receipt.status}` },
          `${r.receipt.status} (${r.receipt.code})`,
        ),
      ],
      ['Sender', link(`#/object/bank/${tx.senderAddress}`, short(tx.senderAddress, 12))],
      ['Nonce', String(tx.nonce)],
      ['Expires after height', String(tx.expiryHeight)],
      [
        'Cosigners',
        tx.cosignerAddresses.length === 0
          ? 'none'
          : tx.cosignerAddresses.map((a) => [link(`#/object/bank/${a}`, short(a, 12)), ' ']),
      ],
    ]),
    h('h2', {}, `Operations (${tx.ops.length})`),
    table(
      'What the tx asked, op by op',
      ['#', 'Call', 'Arguments', 'Outcome'],
      tx.ops.map((op, i) => [
        String(i),
        h('code', {}, `${op.module}.${op.method}`),
        json(argsJson(op.module, op.method, op.args)),
        r.receipt.failedOp === i
          ? h('span', { class: 'status-failed' }, r.receipt.code)
          : r.receipt.failedOp === null
            ? 'applied'
            : 'not applied',
      ]),
    ),
    h('h2', {}, `Receipt events (${r.receipt.events.length})`),
    r.receipt.events.length === 0
      ? h('p', {}, 'No events.')
      : table(
          'Events the receipt records',
          ['Type', 'Attributes'],
          r.receipt.events.map((e) => [h('code', {}, e.type), json(e.attributes)]),
        ),
    h('h2', {}, 'Proofs'),
    fields([
      [
        'Tx proof',
        `leaf ${r.proof.index} of ${r.proof.size}, ${r.proof.siblings.length} sibling hashes up to the tx root`,
      ],
      [
        'Receipt proof',
        `leaf ${r.receiptProof.index} of ${r.receiptProof.size}, ${r.receiptProof.siblings.length} sibling hashes up to the receipt root`,
      ],
      ['Tx root', short(r.header.txRoot, 16)],
      ['Receipt root', short(r.header.receiptRoot, 16)],
      [
        'Certificate',
        `view ${certificate.view}, signed by ${certificate.signatures
          .map((s) => set.validators[s.validatorIndex]?.name ?? `#${s.validatorIndex}`)
          .join(', ')}; proposer ${validatorName(set, r.header.proposer)}`,
      ],
    ]),
    h(
      'details',
      {},
      h('summary', {}, 'Proof hashes'),
      h('h3', {}, 'Tx proof siblings'),
      h(
        'ol',
        { class: 'hashes' },
        r.proof.siblings.map((s) => h('li', {}, h('code', {}, s))),
      ),
      h('h3', {}, 'Receipt proof siblings'),
      h(
        'ol',
        { class: 'hashes' },
        r.receiptProof.siblings.map((s) => h('li', {}, h('code', {}, s))),
      ),
    ),
  );
}
