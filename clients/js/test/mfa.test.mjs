import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRotorFetch, memoryStorage, memoryDeviceStorage, MfaRequiredError, RotorError, stepUpRequired } from '../dist/index.js';
import { fakeApi, BASE, OTP, RECOVERY_CODE } from './fake-api.mjs';

const DANA = "dana's second factor";

function client(api, extra = {}) {
  return createRotorFetch({ baseUrl: BASE, fetch: api.fetch, storage: memoryStorage(), locks: null, channelName: null, ...extra });
}

/** Logs dana in up to the second factor; returns the challenge. */
async function challenge(rf, storage) {
  const err = await rf.login('dana', DANA).then(
    () => assert.fail('login of an enrolled user resolved'),
    (e) => e,
  );
  assert.ok(err instanceof MfaRequiredError, `rejected with ${err}`);
  assert.ok(err instanceof RotorError);
  assert.equal(err.status, 403);
  assert.equal(err.code, 'mfa_required');
  assert.equal(err.username, 'dana');
  assert.deepEqual(err.methods, ['otp', 'recovery_code']);
  assert.match(err.mfaToken, /^mfa_fake_/);
  assert.ok(!err.message.includes(err.mfaToken), 'the message shows the mfa_token');
  if (storage) assert.equal(await storage.load(), null, 'tokens stored before the second factor');
  return err;
}

describe('mfa_required', () => {
  test('a login answered mfa_required is finished with a code; tokens and device token are kept', async () => {
    const api = fakeApi();
    const storage = memoryStorage();
    const devices = memoryDeviceStorage();
    const rf = client(api, { storage, devices });
    const mfa = await challenge(rf, storage);
    await assert.rejects(rf.verifyMfa(mfa, { code: '000000' }), (e) => e instanceof RotorError && e.status === 401);
    const tokens = await rf.verifyMfa(mfa, { code: OTP });
    assert.ok(tokens.accessToken && tokens.refreshToken);
    assert.deepEqual(await storage.load(), tokens);
    assert.match(await devices.get('dana'), /^rtd_fake_dana_/);
    const res = await rf('/payments', { method: 'POST' });
    assert.equal(res.status, 200);
    // A refresh keeps the session's methods: still allowed after one.
    api.expireAccess();
    assert.equal((await rf('/payments', { method: 'POST' })).status, 200);
    assert.equal(api.refreshCalls, 1);
    // The mfa_token works once.
    await assert.rejects(rf.verifyMfa(mfa, { code: OTP }), (e) => e.code === 'invalid_grant');
  });

  test('the second step sends the device token the login sent, to which the mfa_token is bound', async () => {
    for (const transport of ['body', 'cookie']) {
      const api = fakeApi();
      const rf = client(api, { transport, devices: memoryDeviceStorage() });
      await rf.verifyMfa(await challenge(rf), { code: OTP }); // the first login: no device token yet
      await rf.logout();
      const mfa = await challenge(rf);
      assert.match(api.devicesSent.at(-1) ?? '', /^rtd_fake_dana_/, `${transport}: the second login sent its device token`);
      const tokens = await rf.verifyMfa(mfa, { code: OTP });
      assert.ok(tokens.accessToken, `${transport}: the second step of a known device`);
    }
  });

  test('a recovery code finishes the login once', async () => {
    const api = fakeApi();
    const rf = client(api);
    await rf.verifyMfa(await challenge(rf), { recoveryCode: RECOVERY_CODE });
    const again = client(api);
    await assert.rejects(again.verifyMfa(await challenge(again), { recoveryCode: RECOVERY_CODE }), (e) => e instanceof RotorError && e.status === 401);
  });

  test('the cookie transport finishes the login too', async () => {
    const api = fakeApi();
    const rf = client(api, { transport: 'cookie' });
    const tokens = await rf.verifyMfa(await challenge(rf), { code: OTP });
    assert.ok(tokens.csrfToken && !tokens.refreshToken);
    assert.ok(api.jar.rotor_refresh);
  });
});

describe('step-up at the edge', () => {
  test('a 401 insufficient_user_authentication is returned, not refreshed', async () => {
    const api = fakeApi();
    const rf = client(api);
    await rf.login('alice', 'correct horse battery staple');
    const res = await rf('/payments', { method: 'POST' });
    assert.equal(res.status, 401);
    assert.ok(stepUpRequired(res));
    assert.equal((await res.json()).error, 'insufficient_user_authentication');
    assert.equal(api.refreshCalls, 0, 'a step-up refusal was refreshed');
    api.expireAccess();
    const me = await rf('/me');
    assert.equal(me.status, 200);
    assert.ok(!stepUpRequired(me));
    assert.equal(api.refreshCalls, 1);
  });
});

describe('enrolment', () => {
  const ALICE = 'correct horse battery staple';

  test('enrol with the password, confirm with a code: recovery codes once, then logins ask for the factor', async () => {
    const api = fakeApi();
    const rf = client(api);
    await rf.login('alice', ALICE);
    await assert.rejects(rf.enrolTotp('wrong password'), (e) => e instanceof RotorError && e.code === 'invalid_credentials');
    assert.equal(api.refreshCalls, 0, 'a wrong current password was taken for an expired token');
    assert.equal(api.wrongPasswords, 1, 'the wrong password was sent more than once');
    const enrolment = await rf.enrolTotp(ALICE);
    assert.match(enrolment.secret, /^[A-Z2-7]+$/);
    assert.ok(enrolment.otpauthUri.startsWith('otpauth://totp/'));
    assert.ok(enrolment.otpauthUri.includes(`secret=${enrolment.secret}`));
    // Pending until confirmed: a login is not asked for a code yet.
    await client(api).login('alice', ALICE);
    await assert.rejects(rf.confirmTotp('000000'), (e) => e instanceof RotorError && e.code === 'invalid_code');
    const codes = await rf.confirmTotp(OTP);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    await assert.rejects(rf.enrolTotp(ALICE), (e) => e.code === 'mfa_already_enrolled');

    const next = client(api);
    const mfa = await next.login('alice', ALICE).then(() => assert.fail('enrolled login resolved'), (e) => e);
    assert.ok(mfa instanceof MfaRequiredError);
    await next.verifyMfa(mfa, { recoveryCode: codes[0] });

    // Regenerating voids the old set.
    const fresh = await rf.regenerateRecoveryCodes(OTP);
    assert.equal(fresh.length, 10);
    const third = client(api);
    const again = await third.login('alice', ALICE).then(() => assert.fail('enrolled login resolved'), (e) => e);
    await assert.rejects(third.verifyMfa(again, { recoveryCode: codes[1] }), (e) => e.status === 401);
    await third.verifyMfa(again, { recoveryCode: fresh[1] });

    // Removing needs a proof; then a login is a login again.
    await assert.rejects(rf.removeTotp({ code: '000000' }), (e) => e.code === 'invalid_code');
    await rf.removeTotp({ recoveryCode: fresh[2] });
    const tokens = await client(api).login('alice', ALICE);
    assert.ok(tokens.accessToken);
  });

  test('enrolment needs a session', async () => {
    const rf = client(fakeApi());
    await assert.rejects(rf.enrolTotp(ALICE), (e) => e instanceof RotorError && e.status === 401);
    await assert.rejects(rf.confirmTotp(OTP), (e) => e instanceof RotorError && e.status === 401);
  });
});

describe('verifyMfaWithPasskey', () => {
  /** A stand-in for the browser's WebAuthn: the JSON forms as they are, and an authenticator answering with the allowed credential. */
  function browser(calls) {
    globalThis.PublicKeyCredential = { parseCreationOptionsFromJSON: (o) => o, parseRequestOptionsFromJSON: (o) => o };
    return {
      async get({ publicKey }) {
        calls.push(publicKey);
        const id = publicKey.allowCredentials[0].id;
        return { toJSON: () => ({ id, challenge: publicKey.challenge }) };
      },
      async create() {
        throw new Error('not used');
      },
    };
  }

  test('options for the login\'s user go to credentials.get, the assertion to /auth/mfa/verify; tokens and device token kept', async () => {
    const api = fakeApi();
    const storage = memoryStorage();
    const devices = memoryDeviceStorage();
    const calls = [];
    const rf = client(api, { storage, devices, credentials: browser(calls) });
    const mfa = await challenge(rf, storage);
    const tokens = await rf.verifyMfaWithPasskey(mfa);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0].allowCredentials, [{ type: 'public-key', id: 'pk_dana' }]);
    assert.ok(tokens.accessToken && tokens.refreshToken);
    assert.deepEqual(await storage.load(), tokens);
    assert.match(await devices.get('dana'), /^rtd_fake_dana_/);
    // The mfa_token works once.
    await assert.rejects(rf.verifyMfaWithPasskey(mfa), (e) => e instanceof RotorError && e.code === 'invalid_mfa_token');
    delete globalThis.PublicKeyCredential;
  });

  test('a cancelled choice rejects with passkey_cancelled and stores nothing', async () => {
    const api = fakeApi();
    const storage = memoryStorage();
    globalThis.PublicKeyCredential = { parseCreationOptionsFromJSON: (o) => o, parseRequestOptionsFromJSON: (o) => o };
    const rf = client(api, { storage, credentials: { get: async () => null, create: async () => null } });
    const mfa = await challenge(rf, storage);
    await assert.rejects(rf.verifyMfaWithPasskey(mfa), (e) => e instanceof RotorError && e.code === 'passkey_cancelled');
    assert.equal(await storage.load(), null);
    delete globalThis.PublicKeyCredential;
  });
});
