/**
 * The `bank` module: account balances and nonces (account.ts), and transfers (transfer.ts).
 * Every tx's nonce lives in its sender's account; the executor checks and advances it.
 *
 * Genesis: the top-level `accounts` list of the genesis file (an address listed twice gets
 * the sum). Objects: GET /state/bank/<address>.
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { fromHex } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import type { AppModule } from '../module.ts';
import { accountCodec, accountStateKey, EMPTY_ACCOUNT } from './account.ts';
import { transfer } from './transfer.ts';

export const bankModule: AppModule = {
  name: 'bank',
  methods: { transfer },
  objects: {
    key(id) {
      try {
        return accountStateKey(fromHex(id, ADDRESS_LENGTH));
      } catch {
        throw new CivitasError('BANK_BAD_ID', `an account id is an address (40 hex): ${id}`);
      }
    },
    toJson(value) {
      const a = accountCodec.decode(value);
      return { balance: a.balance.toString(), nonce: a.nonce };
    },
  },
  genesis({ genesis, state }) {
    for (const a of genesis.accounts) {
      const key = accountStateKey(a.address);
      const prev = state.get(key, accountCodec) ?? EMPTY_ACCOUNT;
      state.set(key, { balance: prev.balance + a.balance, nonce: 0 }, accountCodec);
    }
  },
};
