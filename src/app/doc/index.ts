/**
 * The `doc` module (being built: issue #13).
 */
import { CivitasError } from '../../errors/index.ts';
import type { AppModule } from '../module.ts';

export const docModule: AppModule = {
  name: 'doc',
  methods: {},
  objects: {
    key(id) {
      throw new CivitasError('DOC_BAD_ID', `no doc object ${id}`);
    },
    toJson: () => ({}),
  },
};
