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
export { X25519Identity, X25519Recipient, type AgeIdentity, type AgeRecipient, type Stanza } from './keys.js';
export { CHUNK_BYTES } from './stream.js';
