/**
 * Encryption at rest for message content and tool payloads: AES-256-GCM with a fresh 96-bit nonce
 * per value and the key's id stored beside it, so keys can be rotated (old keys stay readable).
 * Without a key, values are stored as they are.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'enc1';

export type ContentCipher = {
  encrypted: boolean;
  /** The id of the key new values are sealed with (none: stored plain). */
  currentKeyId?: string;
  /** Ids of every configured key, current first: what this process can open. */
  keyIds: string[];
  seal(plain: string): string;
  /** Seals under one configured key (by id), for the key checks of keys other than the current one. */
  sealWith(keyId: string, plain: string): string;
  open(stored: string): string;
};

/** The id a sealed value names as its key's, or undefined for a plain value. */
export function keyIdOf(stored: string): string | undefined {
  return stored.startsWith(`${PREFIX}:`) ? stored.split(':')[1] : undefined;
}

export function createContentCipher(key?: string, previousKeys: string[] = []): ContentCipher {
  const keys = new Map<string, Buffer>();
  for (const encoded of [key, ...previousKeys]) {
    if (!encoded) continue;
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.length !== 32) throw new Error('An encryption key must be 32 bytes, base64-encoded.');
    keys.set(keyId(bytes), bytes);
  }
  const current = key ? Buffer.from(key, 'base64') : undefined;
  const currentId = current ? keyId(current) : undefined;

  const sealUnder = (id: string, secret: Buffer, plain: string) => {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', secret, nonce);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}:${id}:${Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64')}`;
  };

  return {
    encrypted: current !== undefined,
    currentKeyId: currentId,
    keyIds: [...keys.keys()],
    seal(plain) {
      if (!current || !currentId) return plain;
      return sealUnder(currentId, current, plain);
    },
    sealWith(id, plain) {
      const secret = keys.get(id);
      if (!secret) throw new Error(`Key ${id} is not configured.`);
      return sealUnder(id, secret, plain);
    },
    open(stored) {
      if (!stored.startsWith(`${PREFIX}:`)) return stored;
      const [, id, payload] = stored.split(':');
      const secret = id ? keys.get(id) : undefined;
      if (!secret || !payload) throw new Error(`Stored content is encrypted with key ${id}, which is not configured.`);
      const bytes = Buffer.from(payload, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', secret, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}
