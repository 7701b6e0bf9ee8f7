export * from './byzantine.ts';
export * from './checker.ts';
export * from './faults.ts';
export * from './prng.ts';
export * from './signatures.ts';
export * from './sim-chain.ts';
export * from './simulation.ts';
export * from './sweep.ts';
