/**
 * An application: the modules a chain runs, found by name. Built once from the registry
 * (registry.ts); the executor, the genesis builder and the API look methods and objects up
 * here.
 */
import type { AppModule, Method } from './module.ts';

export interface App {
  readonly modules: ReadonlyMap<string, AppModule>;
  /** Modules with a checkTx hook, in registry order. */
  readonly txChecks: readonly AppModule[];
  /** Every module's block keys: read once per block, before the txs' keys are derived. */
  readonly blockKeys: readonly Uint8Array[];
  method(module: string, method: string): Method<unknown> | undefined;
}

export function createApp(modules: readonly AppModule[]): App {
  const byName = new Map<string, AppModule>();
  for (const m of modules) {
    if (byName.has(m.name)) throw new Error(`module ${m.name} registered twice`);
    byName.set(m.name, m);
  }
  return {
    modules: byName,
    txChecks: modules.filter((m) => m.checkTx !== undefined),
    blockKeys: modules.flatMap((m) => m.blockKeys ?? []),
    method: (module, method) => {
      const m = byName.get(module);
      return m !== undefined && Object.hasOwn(m.methods, method)
        ? (m.methods[method] as Method<unknown>)
        : undefined;
    },
  };
}
