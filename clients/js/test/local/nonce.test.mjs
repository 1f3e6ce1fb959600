// Server nonces (RFC 9449 §8) against a local Rotor server with
// ROTOR_DPOP_NONCE=true (scripts/js-test.sh starts it): a proof without the
// server's nonce is answered use_dpop_nonce with a DPoP-Nonce; the TS
// client, oauth4webapi and a proof made by the dpop package each succeed
// with it.
//
// Environment: ROTOR_NONCE_URL (the server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { generateKeyPair, generateProof } from 'dpop';
import { createRotorFetch, memoryKeyStorage } from '../../dist/index.js';

const BASE = process.env.ROTOR_NONCE_URL;
if (!BASE) throw new Error('ROTOR_NONCE_URL is required (run scripts/js-test.sh)');
const PASSWORD = 'correct horse battery staple';
let seq = 0;

async function signup() {
  const username = `nonce${process.pid}x${Date.now()}x${++seq}`;
  const res = await fetch(`${BASE}/auth/signup`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(res.status, 201, await res.text());
  return username;
}

test('a proof without the nonce is answered use_dpop_nonce with one; the proof with it is accepted', async () => {
  const username = await signup();
  const keys = await generateKeyPair('ES256');
  const post = async (nonce) =>
    fetch(`${BASE}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', DPoP: await generateProof(keys, `${BASE}/auth/login`, 'POST', nonce) },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
  const first = await post();
  assert.equal(first.status, 400);
  assert.equal((await first.json()).error, 'use_dpop_nonce');
  const nonce = first.headers.get('DPoP-Nonce');
  assert.ok(nonce);
  const second = await post(nonce);
  assert.equal(second.status, 200);
  assert.equal((await second.json()).token_type, 'DPoP');
});

test('the TS client takes the nonce once and keeps it for its calls and refreshes', async () => {
  let nonceAnswers = 0;
  const counting = async (input, init) => {
    const res = await fetch(input, init);
    if (res.headers.get('DPoP-Nonce') && (res.status === 400 || res.status === 401)) nonceAnswers++;
    return res;
  };
  const rf = createRotorFetch({ baseUrl: BASE, fetch: counting, locks: null, channelName: null, dpop: true, dpopKeys: memoryKeyStorage() });
  const username = await signup();
  const tokens = await rf.login(username, PASSWORD);
  assert.equal(tokens.tokenType, 'DPoP');
  assert.equal(nonceAnswers, 1);
  assert.equal((await rf('/me')).status, 200);
  await rf.refresh();
  assert.equal((await rf('/me')).status, 200);
  assert.equal(nonceAnswers, 1, 'the kept nonce served every later call');
});

test('oauth4webapi: the password grant retried once with the nonce, then a protected call and a refresh', async () => {
  const as = { issuer: BASE, token_endpoint: `${BASE}/oauth/token` };
  const client = { client_id: 'oauth4webapi-nonce' };
  const opts = { DPoP: oauth.DPoP(client, await oauth.generateKeyPair('ES256')), [oauth.allowInsecureRequests]: true };
  const username = await signup();
  const grant = async () =>
    oauth.processGenericTokenEndpointResponse(as, client, await oauth.genericTokenEndpointRequest(as, client, oauth.None(), 'password', { username, password: PASSWORD }, opts));
  let tokens;
  try {
    tokens = await grant();
    assert.fail('the first proof had no nonce, yet the grant succeeded');
  } catch (err) {
    assert.ok(oauth.isDPoPNonceError(err), `want use_dpop_nonce, got ${err}`);
    tokens = await grant(); // oauth4webapi keeps the nonce the error carried
  }
  assert.equal(tokens.token_type, 'dpop');
  const me = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(`${BASE}/me`), undefined, undefined, opts);
  assert.equal(me.status, 200);
  const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, opts));
  assert.equal(refreshed.token_type, 'dpop');
});
