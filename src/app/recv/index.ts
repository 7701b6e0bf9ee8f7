/**
 * The `recv` module (being built: issue #13).
 */
import { CivitasError } from '../../errors/index.ts';
import type { AppModule } from '../module.ts';

export const recvModule: AppModule = {
  name: 'recv',
  methods: {},
  objects: {
    key(id) {
      throw new CivitasError('RECV_BAD_ID', `no recv object ${id}`);
    },
    toJson: () => ({}),
  },
};
