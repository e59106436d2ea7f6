// A real OpenID provider (the `oidc-provider` package) on 127.0.0.1, for the
// OIDC tests. It issues RFC 9068 JWT access tokens to confidential clients with
// the client_credentials grant, for resource indicators (RFC 8707) whose
// audience is the resource itself, and ID tokens through a real authorization
// code flow (with PKCE) that idToken() drives like a browser: the provider's
// own login and consent pages, cookies and redirects.
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
const SCOPES = 'room.join switchboard.admin openid profile groups';

// The people who can log in (any password): their profile claims.
const ACCOUNTS = {
  alice: { name: 'Alice Liddell', preferred_username: 'alice', groups: ['teachers'] },
  bob: { preferred_username: 'bob', groups: ['students'] },
};

function providerFor(issuer, keys, clients, extraClaims) {
  const provider = new Provider(issuer, {
    clients,
    findAccount: (ctx, id) => (ACCOUNTS[id] ? { accountId: id, claims: () => ({ sub: id, ...ACCOUNTS[id] }) } : undefined),
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], groups: ['groups'] },
    conformIdTokenClaims: false, // profile claims in the ID token itself

    jwks: { keys: keys.map((k) => k.jwk) },
    features: {
      devInteractions: { enabled: true },
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
    ttl: { ClientCredentials: 300, AccessToken: 300, IdToken: 300, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc-provider:', err));
  return provider;
}

const REDIRECT_URI = 'http://127.0.0.1/callback';

/** A tiny cookie jar for one browser-like session. */
function jar() {
  const cookies = new Map();
  return {
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    take(res) {
      for (const c of res.headers.getSetCookie()) {
        const [kv] = c.split(';');
        const i = kv.indexOf('=');
        cookies.set(kv.slice(0, i), kv.slice(i + 1));
      }
    },
  };
}

/**
 * Starts the provider. `clients`: {client_id: {secret, claims}} — `claims` are added to every
 * access token of that client (e.g. `groups`).
 */
export async function startIdp({ keys, clients = {} }) {
  const counts = new Map();
  let current = null;
  const state = { down: false };
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    counts.set(p, (counts.get(p) ?? 0) + 1);
    if (state.down) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('down for maintenance');
      return;
    }
    current.callback()(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const metadata = Object.entries(clients).map(([id, c]) => ({
    client_id: id, client_secret: c.secret, grant_types: ['client_credentials', 'authorization_code'],
    redirect_uris: [REDIRECT_URI], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
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
    /** While true, every request gets 503. */
    set down(v) { state.down = v; },
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
    /**
     * Logs `account` in through the authorization code flow of `clientId` (login page, consent
     * page, redirect with the code, token request with the PKCE verifier) and returns the ID token.
     */
    async idToken(clientId, account, { scope = 'openid profile groups' } = {}) {
      const cookies = jar();
      const go = async (url, init = {}) => {
        const r = await fetch(new URL(url, issuer), {
          ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), cookie: cookies.header() },
        });
        cookies.take(r);
        return r;
      };
      const verifier = crypto.randomBytes(32).toString('base64url');
      const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
      const auth = new URL('/auth', issuer);
      auth.search = new URLSearchParams({
        client_id: clientId, response_type: 'code', scope, redirect_uri: REDIRECT_URI, nonce: 'n-1',
        code_challenge: challenge, code_challenge_method: 'S256', state: 's-1',
      });
      let r = await go(auth);
      for (let step = 0; step < 12; step += 1) {
        if (r.status < 300 || r.status >= 400) throw new Error(`authorization flow: HTTP ${r.status}: ${await r.text()}`);
        const location = new URL(r.headers.get('location'), issuer);
        if (location.href.startsWith(REDIRECT_URI)) {
          const code = location.searchParams.get('code');
          if (!code) throw new Error(`authorization flow ended without a code: ${location}`);
          const basic = Buffer.from(`${clientId}:${clients[clientId].secret}`).toString('base64');
          const t = await fetch(`${issuer}/token`, {
            method: 'POST',
            headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
          });
          const body = await t.json();
          if (t.status !== 200) throw new Error(`token endpoint: ${t.status} ${JSON.stringify(body)}`);
          return body.id_token;
        }
        const page = await go(location);
        if (page.status >= 300 && page.status < 400) { r = page; continue; }
        const html = await page.text();
        // The provider's own pages: a login form, then a consent form, each POSTing back.
        const form = { prompt: html.includes('name="login"') ? 'login' : 'consent' };
        if (form.prompt === 'login') Object.assign(form, { login: account, password: 'any' });
        r = await go(location, {
          method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form),
        });
      }
      throw new Error('authorization flow: too many redirects');
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
