export * from './backends.ts';
export * from './bytes.ts';
export * from './ed25519.ts';
export * from './hash.ts';
export * from './keyfile.ts';
export {
  CRYPTO_BACKEND_ENV,
  type NativeCryptoChoice,
  nativeCryptoChoice,
  type SodiumStatus,
  setNativeCrypto,
  sodiumStatus,
} from './sodium.ts';
