// DPoP with independent implementations against the local Rotor server
// (scripts/js-test.sh starts it with ROTOR_DPOP=optional): oauth4webapi, a
// stock OAuth client with its own DPoP code, runs the password and
// refresh_token grants at /oauth/token and calls a protected route with its
// bound token; proofs made by the npm package dpop go to /auth/login and
// /auth/refresh. Nothing of Rotor's own clients is used here.
//
// Environment: ROTOR_URL (the server).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { generateKeyPair, generateProof, calculateThumbprint } from 'dpop';

const BASE = process.env.ROTOR_URL;
if (!BASE) throw new Error('ROTOR_URL is required (run scripts/js-test.sh)');
const PASSWORD = 'correct horse battery staple';
let seq = 0;

async function signup() {
  const username = `interop${process.pid}x${Date.now()}x${++seq}`;
  const res = await fetch(`${BASE}/auth/signup`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(res.status, 201, await res.text());
  return username;
}

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
}

async function postJSON(path, body, proof) {
  const headers = { 'Content-Type': 'application/json' };
  if (proof) headers.DPoP = proof;
  const res = await fetch(BASE + path, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

test('discovery lists the proof algorithms', async () => {
  const doc = await (await fetch(`${BASE}/.well-known/oauth-authorization-server`)).json();
  assert.ok(doc.dpop_signing_alg_values_supported?.includes('ES256'), JSON.stringify(doc.dpop_signing_alg_values_supported));
});

describe('oauth4webapi at /oauth/token', () => {
  const as = { issuer: BASE, token_endpoint: `${BASE}/oauth/token` };
  const client = { client_id: 'oauth4webapi-interop' };
  const insecure = { [oauth.allowInsecureRequests]: true }; // the local server is plain http on loopback

  test('password grant with DPoP, a protected call with the bound token, the refresh_token grant with DPoP', async () => {
    const username = await signup();
    const keys = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(client, keys);
    const res = await oauth.genericTokenEndpointRequest(as, client, oauth.None(), 'password', { username, password: PASSWORD }, { DPoP, ...insecure });
    const tokens = await oauth.processGenericTokenEndpointResponse(as, client, res);
    assert.equal(tokens.token_type, 'dpop');
    const jkt = await DPoP.calculateThumbprint();
    assert.equal(claims(tokens.access_token).cnf?.jkt, jkt);

    const me = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(`${BASE}/me`), undefined, undefined, { DPoP, ...insecure });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).username, username);

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, { DPoP, ...insecure }),
    );
    assert.equal(refreshed.token_type, 'dpop');
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.equal(claims(refreshed.access_token).cnf?.jkt, jkt);

    // Another key's proofs get nothing from the session, and end nothing.
    const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    await assert.rejects(
      async () => oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token, { DPoP: thief, ...insecure })),
      (err) => err.error === 'invalid_dpop_proof',
    );
    // oauth4webapi turns the route's 401 challenge into an error.
    await assert.rejects(
      oauth.protectedResourceRequest(refreshed.access_token, 'GET', new URL(`${BASE}/me`), undefined, undefined, { DPoP: thief, ...insecure }),
      (err) => err instanceof oauth.WWWAuthenticateChallengeError && err.status === 401 && err.cause.some((c) => c.scheme === 'dpop'),
    );
    const again = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token, { DPoP, ...insecure }),
    );
    assert.equal(claims(again.access_token).cnf?.jkt, jkt);
  });

  test('without DPoP the same grant gives a bearer token (DPoP optional)', async () => {
    const username = await signup();
    const res = await oauth.genericTokenEndpointRequest(as, client, oauth.None(), 'password', { username, password: PASSWORD }, insecure);
    const tokens = await oauth.processGenericTokenEndpointResponse(as, client, res);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(claims(tokens.access_token).cnf, undefined);
  });
});

describe('proofs made by the dpop package at /auth/login and /auth/refresh', () => {
  test('a proof binds the session; each refresh needs a fresh proof by the same key; the refusals end nothing', async () => {
    const username = await signup();
    const keys = await generateKeyPair('ES256');
    const jkt = await calculateThumbprint(keys.publicKey);
    const login = await postJSON('/auth/login', { username, password: PASSWORD }, await generateProof(keys, `${BASE}/auth/login`, 'POST'));
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(login.body.token_type, 'DPoP');
    assert.equal(claims(login.body.access_token).cnf?.jkt, jkt);
    const rt = login.body.refresh_token;

    const refused = [
      ['no proof', undefined],
      ['another key', await generateProof(await generateKeyPair('ES256'), `${BASE}/auth/refresh`, 'POST')],
      ['a proof for another URL', await generateProof(keys, `${BASE}/auth/login`, 'POST')],
      ['a proof for another method', await generateProof(keys, `${BASE}/auth/refresh`, 'GET')],
    ];
    for (const [name, proof] of refused) {
      const r = await postJSON('/auth/refresh', { refresh_token: rt }, proof);
      assert.equal(r.status, 400, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, 'invalid_dpop_proof', name);
    }

    const proof = await generateProof(keys, `${BASE}/auth/refresh`, 'POST');
    const ok = await postJSON('/auth/refresh', { refresh_token: rt }, proof);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.token_type, 'DPoP');
    assert.equal(claims(ok.body.access_token).cnf?.jkt, jkt);

    // The same proof again (its jti is spent) is refused, even for the new token.
    const replay = await postJSON('/auth/refresh', { refresh_token: ok.body.refresh_token }, proof);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_dpop_proof');

    const next = await postJSON('/auth/refresh', { refresh_token: ok.body.refresh_token }, await generateProof(keys, `${BASE}/auth/refresh`, 'POST'));
    assert.equal(next.status, 200, JSON.stringify(next.body));
  });
});
