import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { IDBFactory } from 'fake-indexeddb';
import { calculateThumbprint } from 'dpop';
import {
  createRotorFetch,
  memoryStorage,
  indexedDBStorage,
  memoryKeyStorage,
  indexedDBKeyStorage,
  SessionEndedError,
} from '../dist/index.js';
import { fakeApi, BASE } from './fake-api.mjs';

const PASSWORD = 'correct horse battery staple';

function client(api, rest = {}) {
  return createRotorFetch({ baseUrl: BASE, fetch: api.fetch, locks: null, channelName: null, dpop: true, dpopKeys: memoryKeyStorage(), ...rest });
}

describe('DPoP: the session is bound to the client\'s key', () => {
  test('login binds the session to the key; API calls and refreshes carry proofs the server accepts', async () => {
    const api = fakeApi({ dpop: true });
    const rf = client(api);
    const tokens = await rf.login('alice', PASSWORD);
    assert.equal(tokens.tokenType, 'DPoP');
    const pair = await rf.dpopKeyPair();
    assert.equal(api.boundTo(tokens.accessToken), await calculateThumbprint(pair.publicKey));

    assert.equal((await rf('/me')).status, 200);
    assert.equal((await rf('/me?page=2')).status, 200);
    const echoed = await rf('/echo', { method: 'POST', body: 'hello' });
    assert.equal(await echoed.text(), 'hello');

    api.expireAccess();
    assert.equal((await rf('/me')).status, 200);
    assert.equal(api.refreshCalls, 1);
    // login, three calls, the refresh, the retried call (the expired token's 401 checks none)
    assert.equal(api.proofsAccepted, 6);
    assert.equal(api.proofsRefused, 0);
  });

  test('the private key is not extractable: script can sign with it, never read it', async () => {
    const rf = client(fakeApi({ dpop: true }));
    await rf.login('alice', PASSWORD);
    const { privateKey, publicKey } = await rf.dpopKeyPair();
    assert.equal(privateKey.extractable, false);
    assert.deepEqual(privateKey.algorithm, { name: 'ECDSA', namedCurve: 'P-256' });
    await assert.rejects(crypto.subtle.exportKey('jwk', privateKey));
    await assert.rejects(crypto.subtle.exportKey('pkcs8', privateKey));
    assert.equal(publicKey.extractable, true); // the proof embeds it
  });

  test('the key survives a new client (a reload): IndexedDB keeps the CryptoKeyPair itself', async () => {
    // fake-indexeddb stores values by structured clone, as browsers do; the
    // Chromium test (test/browser/dpop.test.mjs) checks a real reload.
    const factory = new IDBFactory();
    const api = fakeApi({ dpop: true });
    const make = () => client(api, { storage: indexedDBStorage('rotor', 'tokens', factory), dpopKeys: indexedDBKeyStorage('rotor', 'dpop', factory) });
    const first = make();
    await first.login('alice', PASSWORD);
    const before = await calculateThumbprint((await first.dpopKeyPair()).publicKey);

    const second = make();
    const pair = await second.dpopKeyPair();
    assert.equal(await calculateThumbprint(pair.publicKey), before);
    assert.equal(pair.privateKey.extractable, false);
    api.expireAccess();
    assert.equal((await second('/me')).status, 200, 'the reloaded client refreshes and calls with the same key');
    assert.equal(api.proofsRefused, 0);
  });

  test('two clients making the first key at once end up with one key', async () => {
    const factory = new IDBFactory();
    const api = fakeApi({ dpop: true });
    const a = client(api, { dpopKeys: indexedDBKeyStorage('rotor', 'dpop', factory) });
    const b = client(api, { dpopKeys: indexedDBKeyStorage('rotor', 'dpop', factory) });
    const [ka, kb] = await Promise.all([a.dpopKeyPair(), b.dpopKeyPair()]);
    assert.equal(await calculateThumbprint(ka.publicKey), await calculateThumbprint(kb.publicKey));
  });

  test('a server with DPoP off answers Bearer: the client sends a bearer token', async () => {
    const api = fakeApi();
    const rf = client(api);
    const tokens = await rf.login('alice', PASSWORD);
    assert.equal(tokens.tokenType, 'Bearer');
    assert.equal((await rf('/me')).status, 200);
  });
});

describe('DPoP: a copy of the tokens without the key', () => {
  for (const thief of ['no key', 'another key']) {
    test(`is refused (${thief}), and the owner's session goes on`, async () => {
      const api = fakeApi({ dpop: true });
      const owner = client(api);
      const stolen = await owner.login('alice', PASSWORD);
      const rf = createRotorFetch({ baseUrl: BASE, fetch: api.fetch, locks: null, channelName: null, storage: memoryStorage(stolen), dpop: thief === 'another key', dpopKeys: memoryKeyStorage() });
      await assert.rejects(rf('/me'), SessionEndedError);
      assert.equal(api.isRevoked(stolen.refreshToken), false, "the thief's refused refresh must not end the owner's session");
      assert.equal((await owner('/me')).status, 200);
      api.expireAccess();
      assert.equal((await owner('/me')).status, 200);
    });
  }
});

describe('DPoP: server nonces', () => {
  test('use_dpop_nonce is answered once with the nonce, kept for the next calls; a new nonce is taken on a resource and a refresh', async () => {
    const api = fakeApi({ dpop: true, dpopNonce: true });
    const rf = client(api);
    await rf.login('alice', PASSWORD);
    assert.equal(api.nonceRequests, 1);
    assert.equal((await rf('/me')).status, 200);
    assert.equal(api.nonceRequests, 1, 'the kept nonce is used');

    api.rotateNonce();
    const res = await rf('/echo', { method: 'POST', body: 'twice' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'twice');
    assert.equal(api.nonceRequests, 2);

    api.rotateNonce();
    api.expireAccess();
    assert.equal((await rf('/me')).status, 200);
    assert.equal(api.proofsRefused, 0);
  });
});

describe('DPoP: a lost refresh answer', () => {
  test('bound: the client retries at once with a fresh proof and gets the same successor, past the grace window', async () => {
    const api = fakeApi({ dpop: true });
    const rf = client(api);
    await rf.login('alice', PASSWORD);
    api.expireAccess();
    api.dropRefreshes = 1;
    api.lostForMs = 11_000; // longer than the 10 s grace window
    assert.equal((await rf('/me')).status, 200);
    assert.equal(api.refreshCalls, 2);
  });

  test('bearer: the next refresh, after the grace window, is reuse and ends the session', async () => {
    const api = fakeApi();
    const rf = createRotorFetch({ baseUrl: BASE, fetch: api.fetch, locks: null, channelName: null });
    await rf.login('alice', PASSWORD);
    api.expireAccess();
    api.dropRefreshes = 1;
    api.lostForMs = 11_000;
    await assert.rejects(rf('/me'), TypeError);
    await assert.rejects(rf('/me'), SessionEndedError);
  });
});
