import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRotorFetch,
  memoryStorage,
  webStorage,
  accessExpiry,
  SessionEndedError,
  RotorError,
} from '../dist/index.js';
import { fakeApi, fakeLocks, fakeJwt, BASE } from './fake-api.mjs';

const PASSWORD = 'correct horse battery staple';

async function loggedIn({ api = fakeApi(), transport = 'body', storage = memoryStorage(), locks = null, ...rest } = {}) {
  const rf = createRotorFetch({ baseUrl: BASE, fetch: api.fetch, storage, transport, locks, channelName: null, ...rest });
  await rf.login('alice', PASSWORD);
  return { api, rf, storage };
}

describe('one refresh for many 401s', () => {
  const cases = [
    { name: 'slow refresh, no lock', refreshDelayMs: 50, locks: null },
    { name: 'fast refresh, no lock', refreshDelayMs: 0, locks: null },
    { name: 'slow refresh, with a lock', refreshDelayMs: 50, locks: fakeLocks() },
  ];
  for (const tc of cases) {
    test(`50 concurrent calls with an expired token: ${tc.name}`, async () => {
      const { api, rf } = await loggedIn({ api: fakeApi({ refreshDelayMs: tc.refreshDelayMs }), locks: tc.locks });
      api.expireAccess();
      const responses = await Promise.all(Array.from({ length: 50 }, () => rf('/me')));
      assert.deepEqual(responses.map((r) => r.status), Array(50).fill(200));
      assert.equal(api.refreshCalls, 1);
    });
  }

  test('a 401 for a token that was already replaced retries without refreshing', async () => {
    const api = fakeApi();
    let holding;
    const held = new Promise((r) => (holding = r));
    let release;
    const released = new Promise((r) => (release = r));
    let first = true;
    // Holds the first /me request, so its 401 arrives after another
    // request has already refreshed.
    const holdFirst = async (input, init) => {
      const req = new Request(input, init);
      if (first && req.url.endsWith('/me')) {
        first = false;
        holding();
        await released;
      }
      return api.fetch(req);
    };
    const rf = createRotorFetch({ baseUrl: BASE, fetch: holdFirst, locks: null, channelName: null });
    await rf.login('alice', PASSWORD);
    api.expireAccess();
    const late = rf('/me');
    await held;
    assert.equal((await rf('/me')).status, 200);
    release();
    assert.equal((await late).status, 200);
    assert.equal(api.refreshCalls, 1);
    assert.equal(api.unauthorized, 2);
  });
});

describe('refused refresh', () => {
  for (const concurrent of [1, 10]) {
    test(`${concurrent} call(s): SessionEndedError, storage cleared, no loop`, async () => {
      const ended = [];
      const { api, rf, storage } = await loggedIn({
        api: fakeApi({ refreshDelayMs: 20 }),
        onSessionEnded: (e) => ended.push(e),
      });
      api.expireAccess();
      api.revokeSessions();
      const results = await Promise.allSettled(Array.from({ length: concurrent }, () => rf('/me')));
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.ok(r.reason instanceof SessionEndedError, String(r.reason));
        assert.equal(r.reason.status, 401);
        assert.equal(r.reason.code, 'invalid_grant');
      }
      assert.equal(api.refreshCalls, 1);
      assert.equal(ended.length, 1);
      assert.equal(await storage.load(), null);
    });
  }

  test('a retry that still gets 401 is returned, not retried again', async () => {
    const { api, rf } = await loggedIn();
    api.rejectAll = true;
    const res = await rf('/me');
    assert.equal(res.status, 401);
    assert.equal(api.refreshCalls, 1);
    assert.equal(api.unauthorized, 2);
  });
});

describe('request bodies are replayed intact', () => {
  const payload = JSON.stringify({ note: 'rotor '.repeat(3000) });
  const cases = [
    { name: 'string body', make: () => [`${BASE}/echo`, { method: 'POST', body: payload }] },
    { name: 'Uint8Array body', make: () => [`${BASE}/echo`, { method: 'PUT', body: new TextEncoder().encode(payload) }] },
    { name: 'Blob body', make: () => [`${BASE}/echo`, { method: 'POST', body: new Blob([payload]) }] },
    {
      name: 'ReadableStream body',
      make: () => {
        const body = new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(payload.slice(0, 100)));
            c.enqueue(new TextEncoder().encode(payload.slice(100)));
            c.close();
          },
        });
        return [`${BASE}/echo`, { method: 'POST', body, duplex: 'half' }];
      },
    },
    { name: 'Request object', make: () => [new Request(`${BASE}/echo`, { method: 'PATCH', body: payload })] },
  ];
  for (const tc of cases) {
    test(tc.name, async () => {
      const { api, rf } = await loggedIn();
      api.expireAccess();
      const res = await rf(...tc.make());
      assert.equal(res.status, 200);
      assert.equal(await res.text(), payload);
      assert.equal(api.echoed.length, 2, 'the refused try and the retry');
      assert.equal(api.echoed[0], payload);
      assert.equal(api.echoed[1], payload);
    });
  }
});

describe('two tabs sharing one storage', () => {
  test('with a lock: one refresh, the other tab uses the rotated tokens', async () => {
    const api = fakeApi({ refreshDelayMs: 30 });
    const storage = memoryStorage();
    const locks = fakeLocks();
    const tab = () => createRotorFetch({ baseUrl: BASE, fetch: api.fetch, storage, locks, channelName: null });
    const [a, b] = [tab(), tab()];
    await a.login('alice', PASSWORD);
    api.expireAccess();
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b)('/me')));
    assert.deepEqual(responses.map((r) => r.status), Array(40).fill(200));
    assert.equal(api.refreshCalls, 1);
    assert.equal(locks.held, 2, 'each tab took the lock once');
  });

  test('without a lock: one refresh when BroadcastChannel announces it', async () => {
    const api = fakeApi({ refreshDelayMs: 100 });
    const storage = memoryStorage();
    const channelName = `rotor-test-${Math.random()}`;
    const tab = () => createRotorFetch({ baseUrl: BASE, fetch: api.fetch, storage, locks: null, channelName });
    const [a, b] = [tab(), tab()];
    try {
      await a.login('alice', PASSWORD);
      api.expireAccess();
      const first = a('/me');
      await new Promise((r) => setTimeout(r, 30)); // a's refresh is under way and announced
      const second = b('/me');
      assert.equal((await first).status, 200);
      assert.equal((await second).status, 200);
      assert.equal(api.refreshCalls, 1);
    } finally {
      a.close();
      b.close();
    }
  });

  test('without any coordination, racing tabs stay logged in through the grace window', async () => {
    const api = fakeApi({ refreshDelayMs: 30 });
    const storage = memoryStorage();
    const tab = () => createRotorFetch({ baseUrl: BASE, fetch: api.fetch, storage, locks: null, channelName: null });
    const [a, b] = [tab(), tab()];
    await a.login('alice', PASSWORD);
    api.expireAccess();
    const [ra, rb] = await Promise.all([a('/me'), b('/me')]);
    assert.equal(ra.status, 200);
    assert.equal(rb.status, 200);
    assert.equal((await a('/me')).status, 200);
  });
});

describe('cookie transport', () => {
  test('keeps the refresh token out of storage and sends the CSRF token', async () => {
    const { api, rf, storage } = await loggedIn({ transport: 'cookie', api: fakeApi({ refreshDelayMs: 20 }) });
    const stored = await storage.load();
    assert.equal(stored.refreshToken, undefined);
    assert.match(stored.csrfToken, /^csrf_/);
    assert.match(api.jar.rotor_refresh, /^rtr_fake_/);

    api.expireAccess();
    const responses = await Promise.all(Array.from({ length: 50 }, () => rf('/me')));
    assert.deepEqual(responses.map((r) => r.status), Array(50).fill(200));
    assert.equal(api.refreshCalls, 1);
    assert.equal((await storage.load()).csrfToken, stored.csrfToken, 'the CSRF token lives as long as the session');
  });

  test('a CSRF mismatch ends the session instead of looping', async () => {
    const { api, rf, storage } = await loggedIn({ transport: 'cookie' });
    await storage.save({ ...(await storage.load()), csrfToken: 'forged' });
    api.expireAccess();
    await assert.rejects(rf('/me'), (e) => e instanceof SessionEndedError && e.status === 403 && e.code === 'csrf_failed');
    assert.equal(api.refreshCalls, 1);
  });

  test('logout sends the CSRF token and ends the session', async () => {
    const { api, rf, storage } = await loggedIn({ transport: 'cookie' });
    const cookie = api.jar.rotor_refresh;
    await rf.logout();
    assert.ok(api.isRevoked(cookie));
    assert.equal(await storage.load(), null);
  });
});

test('a refresh answered 503 is retried with its retry ticket and keeps the session', async () => {
  const { api, rf } = await loggedIn();
  api.expireAccess();
  api.unavailableOnce = true;
  await assert.rejects(rf('/me'), (e) => e instanceof RotorError && e.status === 503 && Boolean(e.retryTicket));
  const res = await rf('/me');
  assert.equal(res.status, 200);
  assert.match(api.lastRefreshBody.retry_ticket ?? '', /^ticket-/);
  await rf('/me');
  api.expireAccess();
  assert.equal((await rf('/me')).status, 200, 'the session survived the outage');
  assert.equal(api.lastRefreshBody.retry_ticket, undefined, 'a ticket is sent only for the token it was issued for');
});

test('proactive refresh before the access token expires', async () => {
  for (const tc of [
    { skewMs: 0, wantRefresh: 0 },
    { skewMs: 55_000, wantRefresh: 1 },
  ]) {
    const { api, rf } = await loggedIn({ refreshBeforeMs: 10_000, now: () => Date.now() + tc.skewMs });
    assert.equal((await rf('/me')).status, 200);
    assert.equal(api.refreshCalls, tc.wantRefresh, `skew ${tc.skewMs}`);
    assert.equal(api.unauthorized, 0);
  }
});

test('tokens are sent only to the API origin', async () => {
  const seen = [];
  const api = fakeApi();
  const spy = (input, init) => {
    const req = new Request(input, init);
    seen.push([new URL(req.url).origin, req.headers.get('Authorization')]);
    return req.url.startsWith(BASE) ? api.fetch(req) : Promise.resolve(new Response('ok'));
  };
  const rf = createRotorFetch({ baseUrl: BASE, fetch: spy, locks: null, channelName: null });
  await rf.login('alice', PASSWORD);
  seen.length = 0;
  await rf('https://elsewhere.test/collect');
  await rf('/me');
  assert.equal(seen[0][1], null);
  assert.match(seen[1][1], /^Bearer /);
});

describe('login, signup and logout', () => {
  const cases = [
    { name: 'wrong password', user: 'alice', password: 'nope', status: 401, code: 'invalid_credentials' },
    { name: 'unknown user', user: 'bob', password: PASSWORD, status: 401, code: 'invalid_credentials' },
    { name: 'throttled', user: 'throttled', password: 'x', status: 429, code: 'too_many_attempts', retryAfterSeconds: 7 },
  ];
  for (const tc of cases) {
    test(`login refused: ${tc.name}`, async () => {
      const storage = memoryStorage();
      const rf = createRotorFetch({ baseUrl: BASE, fetch: fakeApi().fetch, storage, locks: null, channelName: null });
      await assert.rejects(rf.login(tc.user, tc.password), (e) => {
        assert.ok(e instanceof RotorError);
        assert.equal(e.status, tc.status);
        assert.equal(e.code, tc.code);
        assert.equal(e.retryAfterSeconds, tc.retryAfterSeconds);
        return true;
      });
      assert.equal(await storage.load(), null);
    });
  }

  test('logout revokes the session and clears storage', async () => {
    const { api, rf, storage } = await loggedIn();
    const { refreshToken } = await storage.load();
    await rf.logout();
    assert.ok(api.isRevoked(refreshToken));
    assert.equal(await storage.load(), null);
    await rf.logout(); // nothing stored: nothing to do
  });

  test('not logged in: requests go out without a token', async () => {
    const api = fakeApi();
    const rf = createRotorFetch({ baseUrl: BASE, fetch: api.fetch, locks: null, channelName: null });
    assert.equal((await rf('/me')).status, 401);
    assert.equal(api.refreshCalls, 0);
    await assert.rejects(rf.refresh(), SessionEndedError);
  });
});

test('webStorage round trip over a Storage area', async () => {
  const data = new Map();
  const area = {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
  };
  const s = webStorage(area, 'k');
  assert.equal(s.load(), null);
  s.save({ accessToken: 'a', refreshToken: 'r', accessExpiresAt: 5 });
  assert.deepEqual(s.load(), { accessToken: 'a', refreshToken: 'r', accessExpiresAt: 5 });
  data.set('k', 'not json');
  assert.equal(s.load(), null);
  s.clear();
  assert.equal(data.has('k'), false);
});

describe('accessExpiry', () => {
  const cases = [
    { name: 'exp claim', jwt: fakeJwt({ exp: 1700000000 }), want: 1700000000000 },
    { name: 'no exp', jwt: fakeJwt({ sub: 'u' }), want: undefined },
    { name: 'not a JWT', jwt: 'opaque', want: undefined },
    { name: 'bad payload', jwt: 'a.!!!.c', want: undefined },
    { name: 'exp not a number', jwt: fakeJwt({ exp: 'soon' }), want: undefined },
  ];
  for (const tc of cases) test(tc.name, () => assert.equal(accessExpiry(tc.jwt), tc.want));
});
