/**
 * Transitional: errors live in src/errors/. This file re-exports them for the files that
 * still import it, and goes when they import './errors/index.ts'. Until then its
 * CivitasError takes any string code, because rpc-server.ts's HttpError passes one; at run
 * time it is the same class.
 */
import { CivitasError as CatalogueError } from './errors/index.ts';

export * from './errors/index.ts';

export const CivitasError = CatalogueError as unknown as {
  new (code: string, message: string, context?: Record<string, unknown>): CatalogueError;
  readonly prototype: CatalogueError;
  readonly fromJSON: typeof CatalogueError.fromJSON;
};
export type CivitasError = CatalogueError;
