// A real OpenID provider (the `oidc-provider` package) on 127.0.0.1, for the
// OIDC tests. It issues RFC 9068 JWT access tokens to confidential clients with
// the client_credentials grant, for resource indicators (RFC 8707) whose
// audience is the resource itself.
//
//   const idp = await startIdp({ keys: [rsaKey('k1')] });
//   const token = await idp.accessToken('app', { scope: 'room.join', resource: 'urn:switchboard' });
//   idp.rotate([ecKey('k2')]);      // a new Provider with other keys behind the same issuer URL
//   idp.requests('/jwks')            // how many times a path was fetched
//
// Every key is generated here with node:crypto; `key.privateKey` lets a test sign
// tokens the provider would never issue (expired ones) with the provider's own key.
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

/** A fresh signing key (RS256 with RSA 2048, or ES256 with P-256) as a private JWK with kid and alg. */
export function makeKey(kid, alg = 'RS256') {
  const { privateKey } = alg === 'ES256'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg, privateKey, jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

// The scopes of every resource server; what a client may ask for.
const SCOPES = 'room.join switchboard.admin openid';

function providerFor(issuer, keys, clients, extraClaims) {
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: keys.map((k) => k.jwk) },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:switchboard',
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => ({
          scope: SCOPES,
          audience: resource,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: keys[0].alg } },
        }),
      },
    },
    extraTokenClaims: (ctx, token) => extraClaims[token.clientId] ?? {},
    scopes: SCOPES.split(' '),
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    ttl: { ClientCredentials: 300 },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc-provider:', err));
  return provider;
}

/**
 * Starts the provider. `clients`: {client_id: {secret, claims}} — `claims` are added to every
 * access token of that client (e.g. `groups`).
 */
export async function startIdp({ keys, clients = {} }) {
  const counts = new Map();
  let current = null;
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    counts.set(p, (counts.get(p) ?? 0) + 1);
    current.callback()(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const metadata = Object.entries(clients).map(([id, c]) => ({
    client_id: id, client_secret: c.secret, grant_types: ['client_credentials'], redirect_uris: [],
    response_types: [], token_endpoint_auth_method: 'client_secret_basic',
  }));
  const extra = Object.fromEntries(Object.entries(clients).map(([id, c]) => [id, c.claims ?? {}]));
  current = providerFor(issuer, keys, metadata, extra);
  return {
    issuer,
    keys,
    /** Replaces the provider by one with `newKeys` (same issuer URL, same clients). */
    rotate(newKeys) {
      this.keys = newKeys;
      current = providerFor(issuer, newKeys, metadata, extra);
    },
    requests: (p) => counts.get(p) ?? 0,
    /** A JWT access token from the token endpoint (client_credentials). */
    async accessToken(clientId, { scope = 'room.join', resource = 'urn:switchboard' } = {}) {
      const basic = Buffer.from(`${clientId}:${clients[clientId].secret}`).toString('base64');
      const r = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
      });
      const body = await r.json();
      if (r.status !== 200) throw new Error(`token endpoint: ${r.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

/** Signs `claims` as a JWT with `key` (from makeKey), header typ `at+jwt`, kid = key.kid. */
export function signWith(key, claims, header = {}) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header })}.${b64(claims)}`;
  const sig = key.alg === 'ES256'
    ? crypto.sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : crypto.sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}
