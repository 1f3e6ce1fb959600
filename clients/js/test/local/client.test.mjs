// The TypeScript client with dpop: true against the local Rotor server
// (scripts/js-test.sh starts it with ROTOR_DPOP=optional): the server
// accepts its proofs, binds the session to its key, and refuses the tokens
// copied without the key.
//
// Environment: ROTOR_URL (the server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calculateThumbprint } from 'dpop';
import { createRotorFetch, memoryStorage, memoryKeyStorage } from '../../dist/index.js';

const BASE = process.env.ROTOR_URL;
if (!BASE) throw new Error('ROTOR_URL is required (run scripts/js-test.sh)');
const PASSWORD = 'correct horse battery staple';
let seq = 0;

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
}

async function loggedIn(rest = {}) {
  const rf = createRotorFetch({ baseUrl: BASE, locks: null, channelName: null, dpop: true, dpopKeys: memoryKeyStorage(), ...rest });
  const username = `tsdpop${process.pid}x${Date.now()}x${++seq}`;
  await rf.signup(username, PASSWORD);
  const tokens = await rf.login(username, PASSWORD);
  return { rf, username, tokens };
}

test('the server binds the session to the client key and accepts its proofs on calls and refreshes', async () => {
  const { rf, username, tokens } = await loggedIn();
  assert.equal(tokens.tokenType, 'DPoP');
  const jkt = await calculateThumbprint((await rf.dpopKeyPair()).publicKey);
  assert.equal(claims(tokens.accessToken).cnf?.jkt, jkt);

  const me = await rf('/me');
  assert.equal(me.status, 200);
  assert.equal((await me.json()).username, username);

  const fresh = await rf.refresh();
  assert.notEqual(fresh.refreshToken, tokens.refreshToken);
  assert.equal(claims(fresh.accessToken).cnf?.jkt, jkt);
  assert.equal((await rf('/me')).status, 200);
  await rf.logout();
});

test('a copy of the tokens without the key is refused, and the owner goes on', async () => {
  const { rf, tokens } = await loggedIn();
  const refresh = await fetch(`${BASE}/auth/refresh`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: tokens.refreshToken }),
  });
  assert.equal(refresh.status, 400);
  assert.equal((await refresh.json()).error, 'invalid_dpop_proof');
  for (const scheme of ['Bearer', 'DPoP']) {
    const call = await fetch(`${BASE}/me`, { headers: { Authorization: `${scheme} ${tokens.accessToken}` } });
    assert.equal(call.status, 401, `${scheme} without a proof`);
  }
  // Another client with its own key holding the copied pair gets nothing either.
  const thief = createRotorFetch({ baseUrl: BASE, locks: null, channelName: null, dpop: true, dpopKeys: memoryKeyStorage(), storage: memoryStorage(tokens) });
  await assert.rejects(thief.refresh(), (err) => err.code === 'invalid_dpop_proof');

  await rf.refresh();
  assert.equal((await rf('/me')).status, 200);
});

test('a refresh whose answer is lost is retried at once with a fresh proof, and the session goes on', async () => {
  let drop = false;
  let refreshes = 0;
  const lossy = async (input, init) => {
    const res = await fetch(input, init);
    if (new URL(input instanceof Request ? input.url : String(input)).pathname === '/auth/refresh') {
      refreshes++;
      if (drop) {
        drop = false;
        await res.body?.cancel();
        throw new TypeError('fetch failed: the answer was lost');
      }
    }
    return res;
  };
  const { rf, tokens } = await loggedIn({ fetch: lossy });
  drop = true;
  const fresh = await rf.refresh();
  assert.equal(refreshes, 2);
  assert.notEqual(fresh.refreshToken, tokens.refreshToken);
  assert.equal((await rf('/me')).status, 200);
  assert.equal((await rf.refresh()).tokenType, 'DPoP', 'the successor the retry got is the live one');
});
