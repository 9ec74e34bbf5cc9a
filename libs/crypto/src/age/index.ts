export {
  AgeDecryptor,
  AgeEncryptor,
  armor,
  dearmor,
  decrypt,
  decryptChunks,
  decryptStream,
  decryptToFile,
  encrypt,
  encryptChunks,
  encryptStream,
  type ByteSource,
  type DecryptToFileOptions,
  type EncryptOptions,
  type IdentityInput,
  type RecipientInput,
} from './age.js';
export { ARMOR_BEGIN, ARMOR_END } from './armor.js';
export {
  formatIdentityFile,
  loadIdentityFile,
  parseIdentityFile,
  saveIdentityFile,
  type LoadIdentityOptions,
  type SaveIdentityOptions,
} from './identity-file.js';
export {
  X25519Identity,
  X25519Recipient,
  type AgeIdentity,
  type AgeRecipient,
  type RecipientMixing,
  type Stanza,
} from './keys.js';
export { HybridIdentity, HybridRecipient } from './hybrid.js';
export { SCRYPT_DEFAULT_WORK_FACTOR, SCRYPT_MAX_WORK_FACTOR, ScryptIdentity, ScryptRecipient } from './scrypt.js';
export {
  checkRecipientMix,
  parseIdentity,
  parseRecipient,
  toIdentity,
  toRecipient,
  type NativeIdentity,
  type NativeRecipient,
} from './recipients.js';
export { CHUNK_BYTES } from './stream.js';
