import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRotorFetch, linkToken, RotorError } from '../dist/index.js';
import { fakeApi, BASE } from './fake-api.mjs';

const PASSWORD = 'correct horse battery staple';

function client(api = fakeApi()) {
  return { api, rf: createRotorFetch({ baseUrl: BASE, fetch: api.fetch, locks: null, channelName: null }) };
}

function lastMail(api, kind) {
  const m = api.mailbox.filter((x) => x.kind === kind).at(-1);
  assert.ok(m, `no ${kind} mail in ${JSON.stringify(api.mailbox)}`);
  return m;
}

describe('account recovery calls', () => {
  test('signup with an address, then verify with the mailed token', async () => {
    const { api, rf } = client();
    const { user_id } = await rf.signup('dora', PASSWORD, 'dora@example.com');
    assert.equal(user_id, 'u-dora');
    const m = lastMail(api, 'verify_email');
    assert.equal(m.to, 'dora@example.com');
    await rf.verifyEmail(m.token);
    assert.deepEqual(api.emails.get('dora'), { address: 'dora@example.com', verified: true });
  });

  test('signup without an address sends no email field', async () => {
    const { api, rf } = client();
    await rf.signup('erin', PASSWORD);
    assert.equal(api.emails.has('erin'), false);
    assert.equal(api.mailbox.length, 0);
  });

  test('a used or unknown link rejects with RotorError invalid_link_token', async () => {
    const { api, rf } = client();
    await rf.signup('dora', PASSWORD, 'dora@example.com');
    const { token } = lastMail(api, 'verify_email');
    await rf.verifyEmail(token);
    for (const t of [token, 'rtv_made_up']) {
      await assert.rejects(rf.verifyEmail(t), (e) => e instanceof RotorError && e.status === 400 && e.code === 'invalid_link_token');
    }
  });

  test('forgot, reset, log in with the new password; the old session has ended', async () => {
    const { api, rf } = client();
    await rf.signup('dora', PASSWORD, 'dora@example.com');
    await rf.verifyEmail(lastMail(api, 'verify_email').token);
    await rf.login('dora', PASSWORD);
    const before = await rf('/me');
    assert.equal(before.status, 200);

    await rf.forgotPassword({ username: 'dora' });
    await rf.forgotPassword({ email: 'dora@example.com' });
    await rf.forgotPassword({ username: 'nobody' }); // resolves alike
    assert.equal(api.mailbox.filter((m) => m.kind === 'password_reset').length, 2);

    await rf.resetPassword(lastMail(api, 'password_reset').token, 'a brand new passphrase');
    await assert.rejects(rf.refresh(), (e) => e.name === 'SessionEndedError');
    await assert.rejects(rf.login('dora', PASSWORD), (e) => e instanceof RotorError && e.code === 'invalid_credentials');
    await rf.login('dora', 'a brand new passphrase');
  });

  test('forgot with neither name nor address rejects with invalid_request', async () => {
    const { rf } = client();
    await assert.rejects(rf.forgotPassword({}), (e) => e instanceof RotorError && e.status === 400 && e.code === 'invalid_request');
  });

  test('resend and change address carry the bearer token', async () => {
    const { api, rf } = client();
    await rf.signup('dora', PASSWORD, 'dora@example.com');
    await assert.rejects(rf.resendVerification(), (e) => e.name === 'SessionEndedError' || e instanceof RotorError);
    await rf.login('dora', PASSWORD);
    await rf.resendVerification();
    assert.equal(api.mailbox.filter((m) => m.kind === 'verify_email').length, 2);
    await assert.rejects(rf.changeEmail('wrong password', 'new@example.com'), (e) => e instanceof RotorError && e.code === 'invalid_credentials');
    await rf.changeEmail(PASSWORD, 'new@example.com');
    const m = lastMail(api, 'email_change');
    assert.equal(m.to, 'new@example.com');
    await rf.verifyEmail(m.token);
    assert.equal(api.emails.get('dora').address, 'new@example.com');
  });
});

describe('linkToken', () => {
  for (const [hash, want] of [
    ['#token=rtp_abc-_1', 'rtp_abc-_1'],
    ['token=rtv_x', 'rtv_x'],
    ['#flow=reset&token=rtp_y', 'rtp_y'],
    ['#token=', undefined],
    ['', undefined],
    ['#other=1', undefined],
  ]) {
    test(`${JSON.stringify(hash)} → ${want}`, () => assert.equal(linkToken(hash), want));
  }
});
