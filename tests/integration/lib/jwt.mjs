// Minting JWTs for tests with node:crypto only (no JWT library, so that the
// tests can also build the malformed and malicious tokens a library refuses to).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const b64url = (data) => Buffer.from(data).toString('base64url');

export const nowS = () => Math.floor(Date.now() / 1000);

// Standard claims for a test user: sub, exp in 5 minutes, grants to every room.
// Pass a field as undefined to drop it (e.g. {sub: undefined}).
export function claims(overrides = {}) {
  const base = { sub: 'user-1', iat: nowS(), exp: nowS() + 300, grants: { rooms: ['*'] } };
  const out = { ...base, ...overrides };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

// Signs `payload` (an object, or a raw JSON string) as a compact JWS.
//   alg: 'HS256' (secret), 'RS256' / 'ES256' (privateKey: KeyObject or PEM), 'none'
//   header: extra / overriding header fields
export function signJwt(payload, { alg = 'HS256', secret, privateKey, header = {} } = {}) {
  const h = { alg, typ: 'JWT', ...header };
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const input = `${b64url(JSON.stringify(h))}.${b64url(body)}`;
  let sig;
  switch (alg) {
    case 'HS256':
      sig = crypto.createHmac('sha256', secret).update(input).digest();
      break;
    case 'RS256':
      sig = crypto.sign('sha256', Buffer.from(input), privateKey);
      break;
    case 'ES256':
      sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'none':
      sig = Buffer.alloc(0);
      break;
    default:
      throw new Error(`signJwt: unsupported alg ${alg}`);
  }
  return `${input}.${b64url(sig)}`;
}

// HS256 token for `secret` with claims(overrides).
export function hsToken(secret, overrides = {}) {
  return signJwt(claims(overrides), { alg: 'HS256', secret });
}

// Generates an RSA-2048 (kind 'rsa') or EC P-256 (kind 'ec') key pair and writes
// the public key as a PEM file into `dir`. Returns {privateKey, publicKey, publicPem, pemPath}.
export function generateKeyFile(kind, dir) {
  const { privateKey, publicKey } = kind === 'rsa'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' });
  const pemPath = path.join(dir, `${kind}-${crypto.randomBytes(4).toString('hex')}.pem`);
  fs.writeFileSync(pemPath, publicPem);
  return { privateKey, publicKey, publicPem, pemPath };
}
