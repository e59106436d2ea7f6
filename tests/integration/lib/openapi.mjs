// Validates real admin API responses against docs/openapi.yaml (OpenAPI 3.1,
// whose schemas are JSON Schema 2020-12, checked with Ajv).
//
//   const api = adminClient(server, key);
//   const r = await api.get('/v1/rooms');   // {status, body, headers}; throws when the
//                                           // response is not one documented for that
//                                           // operation and status, or does not match it
//   assertAllOperationsCovered();           // every documented 2xx was seen at least once
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import YAML from 'yaml';

const SPEC_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/openapi.yaml');
export const spec = YAML.parse(fs.readFileSync(SPEC_PATH, 'utf8'));

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(spec, 'openapi.json');

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const covered = new Set();

// The documented template ("/v1/rooms/{room}") matching a concrete path.
function templateOf(p) {
  const clean = p.split('?')[0].replace(/\/$/, '');
  for (const t of Object.keys(spec.paths)) {
    const re = new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(clean)) return t;
  }
  return null;
}

// Throws unless `body` (parsed JSON or null) is what the spec documents for
// `method` on `p` with `status`.
export function validate(method, p, status, body, headers) {
  const t = templateOf(p);
  assert.ok(t, `${method} ${p}: no such path in docs/openapi.yaml`);
  const op = spec.paths[t][method.toLowerCase()];
  assert.ok(op, `${method} ${t}: not documented`);
  let response = op.responses[String(status)];
  assert.ok(response, `${method} ${t}: status ${status} is not documented (body ${JSON.stringify(body)})`);
  let pointer = `/paths/${esc(t)}/${method.toLowerCase()}/responses/${status}`;
  if (response.$ref) {
    pointer = response.$ref.slice(1);
    response = response.$ref.split('/').slice(1).reduce((o, k) => o[k], spec);
  }
  covered.add(`${method.toUpperCase()} ${t} ${status}`);
  if (!response.content) {
    assert.equal(body, null, `${method} ${t} ${status}: documented without a body, got ${JSON.stringify(body)}`);
    return;
  }
  assert.match(headers.get('content-type') ?? '', /^application\/json/, `${method} ${t} ${status}: content type`);
  const validateFn = ajv.getSchema(`openapi.json#${pointer}/content/application~1json/schema`)
    ?? ajv.compile({ $ref: `openapi.json#${pointer}/content/application~1json/schema` });
  if (!validateFn(body)) {
    assert.fail(`${method} ${p} ${status}: the response does not match docs/openapi.yaml:\n`
      + `${ajv.errorsText(validateFn.errors)}\nbody: ${JSON.stringify(body)}`);
  }
}

// Every documented 2xx response of every operation (under `prefix`, when given)
// has been validated at least once.
export function assertAllOperationsCovered({ prefix } = {}) {
  const missing = [];
  for (const [t, ops] of Object.entries(spec.paths)) {
    if (prefix && !t.startsWith(prefix)) continue;
    for (const [m, op] of Object.entries(ops)) {
      if (m === 'parameters') continue;
      for (const status of Object.keys(op.responses)) {
        if (status.startsWith('2') && !covered.has(`${m.toUpperCase()} ${t} ${status}`)) {
          missing.push(`${m.toUpperCase()} ${t} ${status}`);
        }
      }
    }
  }
  assert.deepEqual(missing, [], 'documented success responses never exercised');
}

// A small admin API client. `credential` goes in Authorization: Bearer; null sends none.
export function adminClient(server, credential) {
  const call = async (method, p, body, { headers = {}, raw } = {}) => {
    const h = { ...headers };
    if (credential !== null && credential !== undefined) h.authorization = `Bearer ${credential}`;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) { payload = JSON.stringify(body); h['content-type'] = 'application/json'; }
    const r = await fetch(`${server.httpUrl}${p}`, { method, headers: h, body: payload });
    const text = await r.text();
    let parsed = null;
    if (text.length) {
      try { parsed = JSON.parse(text); } catch { assert.fail(`${method} ${p}: not JSON: ${text.slice(0, 200)}`); }
    }
    validate(method, p, r.status, parsed, r.headers);
    return { status: r.status, body: parsed, headers: r.headers };
  };
  return {
    get: (p, o) => call('GET', p, undefined, o),
    post: (p, body, o) => call('POST', p, body, o),
    patch: (p, body, o) => call('PATCH', p, body, o),
    delete: (p, body, o) => call('DELETE', p, body, o),
    call,
  };
}
