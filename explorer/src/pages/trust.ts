/** #/trust: what the explorer trusts, and pasting a genesis file to trust it instead. */

import { fields, h, short, time } from '../dom.ts';
import { forgetTrust, storedTrust, trustGenesis } from '../trust.ts';

export function trustPage(main: HTMLElement, onChange: () => void): void {
  const stored = storedTrust();
  const input = h('textarea', { id: 'genesis-input', rows: 10, spellcheck: 'false' });
  const message = h('p', { role: 'status' });
  const form = h(
    'form',
    {},
    h('label', { for: 'genesis-input' }, 'Paste the chain’s genesis.json'),
    input,
    h('button', { type: 'submit' }, 'Trust this genesis'),
    ' ',
    h('button', { type: 'button', id: 'forget' }, 'Forget (trust the node again on next load)'),
    message,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    try {
      const t = trustGenesis(input.value);
      message.textContent = `Trusted: chain ${t.chainId}, ${t.validators.length} genesis validators.`;
      onChange();
    } catch (err) {
      message.textContent = `Not a genesis file: ${(err as Error).message}`;
    }
  });
  form.querySelector('#forget')!.addEventListener('click', () => {
    forgetTrust();
    message.textContent = 'Forgotten.';
    onChange();
  });
  main.replaceChildren(
    h('h1', {}, 'What this explorer trusts'),
    h(
      'p',
      {},
      'Every “Verified” badge is computed in this browser: Merkle proofs up to a block header, and the header’s commit certificate checked against a quorum of the validator set trusted at its height. That set is the genesis validators, followed through each validator-set change certified by the set before it. The genesis set itself is the one thing taken on trust.',
    ),
    stored === undefined
      ? h('p', {}, 'Nothing trusted yet: the next page loads the genesis set from the node.')
      : fields([
          ['Chain', stored.chainId],
          [
            'Source',
            stored.source === 'node'
              ? 'trusted on first use: loaded from the node this page came from'
              : 'a genesis file pasted here',
          ],
          ['Since', time(stored.savedAt)],
          ['Genesis validators', stored.validators.map((v) => [short(v, 12), ' '])],
        ]),
    form,
  );
}
