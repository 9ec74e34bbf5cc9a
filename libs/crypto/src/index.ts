// Public face of @sealfold/crypto.
export { CryptoError, type CryptoErrorCode } from './errors.js';
export {
  KEY_BYTES,
  SIGNATURE_BYTES,
  ed25519,
  nobleEd25519,
  nobleX25519,
  x25519,
  type Ed25519,
  type X25519,
} from './curves.js';
export { AgeError, type AgeErrorCode } from './errors.js';
export * from './age/index.js';
export { KeystoreError, type KeystoreErrorCode } from './errors.js';
export {
  KEYSTORE_FILES,
  KEYSTORE_FORMAT_VERSION,
  Keystore,
  PASSPHRASE_ENV,
  PASSPHRASE_FILE_ENV,
  changeKeystorePassphrase,
  initKeystore,
  loadKeystore,
  readKeystoreInfo,
  resolvePassphrase,
  type AgeIdentityFormat,
  type AgeIdentityType,
  type ChangePassphraseOptions,
  type InitKeystoreOptions,
  type KeystoreInfo,
  type LoadKeystoreOptions,
  type WalletKeyFormat,
} from './keystore.js';
