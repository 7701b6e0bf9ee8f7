/**
 * The `asset` module (being built: issue #13).
 */
import { CivitasError } from '../../errors/index.ts';
import type { AppModule } from '../module.ts';

export const assetModule: AppModule = {
  name: 'asset',
  methods: {},
  objects: {
    key(id) {
      throw new CivitasError('ASSET_BAD_ID', `no asset object ${id}`);
    },
    toJson: () => ({}),
  },
};
