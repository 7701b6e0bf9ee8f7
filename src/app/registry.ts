/**
 * The modules a Civitas chain runs, in one place. Order matters only for checkTx hooks
 * (run in this order) and for genesis (each module writes its section in this order).
 */
import { type App, createApp } from './app.ts';
import { assetModule } from './asset/index.ts';
import { bankModule } from './bank/index.ts';
import { docModule } from './doc/index.ts';
import { freezeModule } from './freeze/index.ts';
import { createGovModule } from './gov/index.ts';
import { orgModule } from './org/index.ts';
import { paramsModule } from './params/index.ts';
import { recvModule } from './recv/index.ts';
import { validatorsModule } from './validators/index.ts';

/** The application of a Civitas chain. */
export function civitasApp(): App {
  const app: App = createApp([
    paramsModule,
    bankModule,
    orgModule,
    createGovModule(() => app),
    freezeModule,
    assetModule,
    docModule,
    recvModule,
    validatorsModule,
  ]);
  return app;
}
