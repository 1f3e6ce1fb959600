import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { IDBFactory } from 'fake-indexeddb';
import {
  createRotorFetch,
  memoryDeviceStorage,
  indexedDBDeviceStorage,
  indexedDBStorage,
  RotorError,
} from '../dist/index.js';
import { fakeApi, BASE } from './fake-api.mjs';

const ALICE = 'correct horse battery staple';
const CAROL = "carol's own passphrase";

describe('device tokens', () => {
  const storages = [
    { name: 'memory', make: () => memoryDeviceStorage() },
    { name: 'IndexedDB', make: () => indexedDBDeviceStorage('rotor', new IDBFactory()) },
  ];
  for (const st of storages) {
    test(`${st.name}: login sends the username's device token and keeps the new one, across a logout`, async () => {
      const api = fakeApi();
      const rf = createRotorFetch({ baseUrl: BASE, fetch: api.fetch, devices: st.make(), locks: null, channelName: null });
      await rf.login('alice', ALICE);
      await rf.login('alice', ALICE);
      await rf.logout();
      await rf.login('carol', CAROL);
      await assert.rejects(rf.login('Alice', 'wrong'), RotorError);
      await rf.login(' ALICE ', ALICE);
      assert.deepEqual(api.devicesSent, [null, 'rtd_fake_alice_2', null, 'rtd_fake_alice_4', 'rtd_fake_alice_4']);
    });
  }

  test('IndexedDB: device tokens last across page loads and share the database with the tokens', async () => {
    const factory = new IDBFactory();
    const first = indexedDBDeviceStorage('rotor', factory);
    await first.set('alice', 'rtd_1');
    await first.set('bob', 'rtd_2');
    const tokens = indexedDBStorage('rotor', 'tokens', factory);
    await tokens.save({ accessToken: 'a.b.c', refreshToken: 'rtr_1' });
    await tokens.clear(); // a logout
    const reloaded = indexedDBDeviceStorage('rotor', factory);
    assert.equal(await reloaded.get('alice'), 'rtd_1');
    assert.equal(await reloaded.get('BOB'), 'rtd_2');
    assert.equal(await reloaded.get('carol'), null);
    await tokens.save({ accessToken: 'd.e.f', refreshToken: 'rtr_2' });
    assert.equal((await indexedDBStorage('rotor', 'tokens', factory).load()).refreshToken, 'rtr_2');
  });

  test('an IndexedDB database of version 1 keeps its tokens when the devices store is added', async () => {
    const factory = new IDBFactory();
    await new Promise((resolve, reject) => {
      const req = factory.open('rotor', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('tokens').put({ accessToken: 'old', refreshToken: 'rtr_old' }, 'tokens');
      req.onsuccess = () => {
        req.result.close();
        resolve();
      };
      req.onerror = () => reject(req.error);
    });
    assert.equal((await indexedDBStorage('rotor', 'tokens', factory).load()).refreshToken, 'rtr_old');
    const devices = indexedDBDeviceStorage('rotor', factory);
    await devices.set('alice', 'rtd_1');
    assert.equal(await devices.get('alice'), 'rtd_1');
  });

  test('devices: null sends no device token', async () => {
    const api = fakeApi();
    const rf = createRotorFetch({ baseUrl: BASE, fetch: api.fetch, devices: null, locks: null, channelName: null });
    await rf.login('alice', ALICE);
    await rf.login('alice', ALICE);
    assert.deepEqual(api.devicesSent, [null, null]);
  });

  test('cookie transport: the device token stays in the HttpOnly cookie, never in storage or the body', async () => {
    const api = fakeApi();
    const devices = memoryDeviceStorage();
    const rf = createRotorFetch({ baseUrl: BASE, fetch: api.fetch, transport: 'cookie', devices, locks: null, channelName: null });
    const first = await rf.login('alice', ALICE);
    await rf.login('alice', ALICE);
    assert.deepEqual(api.devicesSent, [null, 'rtd_fake_alice_2']);
    assert.equal(await devices.get('alice'), null);
    assert.equal(JSON.stringify(first).includes('rtd_'), false);
  });
});
