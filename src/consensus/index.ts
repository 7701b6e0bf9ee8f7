export * from './config.ts';
export * from './driver.ts';
export * from './engine.ts';
export * from './events.ts';
export * from './evidence.ts';
export * from './messages.ts';
export * from './proofs.ts';
export * from './wal.ts';
