// A fake Rotor API behind a fake fetch, speaking the HTTP contract the
// client relies on: login, rolling refresh with a grace window and reuse
// detection, the cookie transport with its CSRF check, logout, and
// protected routes that answer 401; and the account-recovery routes, whose
// mails land in api.mailbox ({ to, kind, token }).

export const BASE = 'https://api.test/Prod';
/** The second factors the fake accepts: the app's code, and one recovery code that works once. */
export const OTP = '246810';
export const RECOVERY_CODE = 'rc-7f3k-9q2m';
const GRACE_MS = 10_000;

// With dpop: true the fake checks DPoP proofs (RFC 9449) as the server and
// the authorizer do, with WebCrypto: a login with a proof binds the session
// to its key (token_type DPoP); a bound session's refresh needs a proof by
// that key (refused with 400 invalid_dpop_proof, nothing rotated); a
// superseded refresh token with the key's proof gets the same successor
// until the successor is used (lost answers); bound access tokens need
// "Authorization: DPoP" and a proof with ath. dpopNonce: true makes proofs
// carry api.nonce (use_dpop_nonce otherwise).
export function fakeApi({ refreshDelayMs = 0, accessTtlSeconds = 60, dpop = false, dpopNonce = false } = {}) {
  let seq = 0;
  const users = new Map([
    ['alice', 'correct horse battery staple'],
    ['carol', "carol's own passphrase"],
    ['dana', "dana's second factor"],
  ]);
  const mfaUsers = new Set(['dana']); // users with a second factor
  const mfaTokens = new Map(); // unused mfa_token -> username
  const passkeyChallenges = new Map(); // unused challenge of /auth/mfa/passkey/options -> username
  const mfaAccess = new Set(); // access tokens of sessions started with a second factor
  const recoveryCodes = new Map([['dana', new Set([RECOVERY_CODE])]]); // username -> unused codes
  const pendingTotp = new Map(); // username -> secret of an unconfirmed enrolment
  const access = new Map(); // valid access token -> username
  const refresh = new Map(); // refresh token -> { session, replacedAt, next }
  const jar = {}; // the browser's cookies for /auth, shared by every tab
  const boundAccess = new Map(); // access token -> the key thumbprint it is bound to
  const spentJti = new Set();
  const api = {
    proofsAccepted: 0,
    proofsRefused: 0,
    nonceRequests: 0,
    nonce: 'n-1',
    rotateNonce() {
      this.nonce = `n-${++seq}`;
    },
    // The next refresh answers still to be lost (applied, then a network
    // error), and how long each outage lasts (the grace window's clock moves on).
    dropRefreshes: 0,
    lostForMs: 0,
    boundTo: (accessToken) => boundAccess.get(accessToken),
    refreshCalls: 0,
    unauthorized: 0,
    echoed: [],
    devicesSent: [], // the device token each login presented (body or cookie), null for none
    jar,
    rejectAll: false,
    // The next refresh rotates, as if the store applied the write late, and
    // answers 503 with a retry ticket.
    unavailableOnce: false,
    lastRefreshBody: null,
    wrongPasswords: 0, // wrong current passwords sent to the bearer routes
    expireAccess: () => access.clear(),
    revokeSessions: () => {
      for (const r of refresh.values()) r.session.revoked = true;
    },
    isRevoked: (token) => !refresh.has(token) || refresh.get(token).session.revoked,
    mailbox: [],
    emails: new Map(), // username -> { address, verified, pending }
    fetch,
  };
  const links = new Map(); // token -> { kind, user, address, used }

  function mail(to, kind, user, address) {
    const prefix = { verify_email: 'rtv_', password_reset: 'rtp_', email_change: 'rtc_' }[kind];
    const token = `${prefix}fake_${++seq}`;
    links.set(token, { kind, user, address, used: false });
    api.mailbox.push({ to, kind, token });
  }

  // The account-recovery routes without a bearer token; undefined for any other.
  async function recovery(req, path) {
    if (req.method !== 'POST') return undefined;
    if (path === '/auth/signup') {
      const { username, password, email } = await req.json();
      if (users.has(username)) return json(409, err('username_taken', 'taken'));
      users.set(username, password);
      if (email !== undefined) {
        api.emails.set(username, { address: email, verified: false });
        mail(email, 'verify_email', username, email);
      }
      return json(201, { user_id: `u-${username}` });
    }
    if (path === '/auth/email/verify') {
      const link = links.get((await req.json()).token);
      if (!link || link.used || link.kind === 'password_reset') return json(400, err('invalid_link_token', 'The link is invalid or has expired.'));
      link.used = true;
      api.emails.set(link.user, { address: link.address, verified: true });
      return new Response(null, { status: 204 });
    }
    if (path === '/auth/password/forgot') {
      const body = await req.json();
      if (!body.username && !body.email) return json(400, err('invalid_request', 'username or email is required'));
      for (const [user, e] of api.emails) {
        if (e.verified && (user === body.username || e.address === body.email)) mail(e.address, 'password_reset', user, e.address);
      }
      return json(202, { status: 'accepted' });
    }
    if (path === '/auth/password/reset') {
      const { token, new_password } = await req.json();
      const link = links.get(token);
      if (!link || link.used || link.kind !== 'password_reset') return json(400, err('invalid_link_token', 'The link is invalid or has expired.'));
      link.used = true;
      users.set(link.user, new_password);
      for (const r of refresh.values()) if (r.session.user === link.user) r.session.revoked = true;
      return new Response(null, { status: 204 });
    }
    return undefined;
  }

  function state0(token) {
    return refresh.get(token);
  }

  function mint(user, session) {
    seq++;
    const exp = Math.floor(Date.now() / 1000) + accessTtlSeconds;
    const claims = { sub: user, exp, jti: String(seq) };
    if (session.jkt) claims.cnf = { jkt: session.jkt };
    const pair = { access: fakeJwt(claims), refresh: `rtr_fake_${seq}` };
    access.set(pair.access, user);
    if (session.jkt) boundAccess.set(pair.access, session.jkt);
    if (session.mfa) mfaAccess.add(pair.access); // a refresh keeps the session's methods
    refresh.set(pair.refresh, { session, replacedAt: 0, next: null });
    return pair;
  }

  function tokenResponse(req, pair, session, device) {
    const body = { access_token: pair.access, token_type: session.jkt ? 'DPoP' : 'Bearer', expires_in: accessTtlSeconds, refresh_token_expires_in: 1209600 };
    if (req.headers.get('X-Rotor-Refresh-Transport') === 'cookie') {
      if (req.credentials === 'include') {
        jar.rotor_refresh = pair.refresh;
        jar.rotor_csrf = session.csrf;
        if (device) jar.rotor_device = device;
      }
      body.csrf_token = session.csrf;
    } else {
      body.refresh_token = pair.refresh;
      if (device) body.device_token = device;
    }
    return json(200, body);
  }

  /**
   * Checks the DPoP header of req as RFC 9449 §4.3 says; resolves to
   * { jkt } or { refusal } (the answer: 400 at a token endpoint, 401 with
   * WWW-Authenticate at a resource).
   */
  function refuseProof(code, resource) {
    const headers = code === 'use_dpop_nonce' ? { 'DPoP-Nonce': api.nonce } : {};
    if (code === 'use_dpop_nonce') api.nonceRequests++;
    else api.proofsRefused++;
    if (!resource) return { refusal: json(400, err(code, 'DPoP proof refused'), headers) };
    return { refusal: json(401, err(code, 'DPoP proof refused'), { ...headers, 'WWW-Authenticate': `DPoP error="${code}", algs="ES256"` }) };
  }

  async function checkProof(req, { accessToken, jkt, resource }) {
    const refuse = (code) => refuseProof(code, resource);
    const proof = req.headers.get('DPoP') ?? '';
    const parts = proof.split('.');
    if (parts.length !== 3) return refuse('invalid_dpop_proof');
    let header, claims;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
    } catch {
      return refuse('invalid_dpop_proof');
    }
    if (header.typ !== 'dpop+jwt' || header.alg !== 'ES256' || header.jwk?.kty !== 'EC' || header.jwk.d !== undefined) return refuse('invalid_dpop_proof');
    const { crv, kty, x, y } = header.jwk;
    const key = await crypto.subtle.importKey('jwk', { crv, kty, x, y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const signed = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(parts[2], 'base64url'), new TextEncoder().encode(`${parts[0]}.${parts[1]}`));
    const url = new URL(req.url);
    const htu = url.origin + url.pathname;
    const thumbprint = await sha256(JSON.stringify({ crv, kty, x, y }));
    if (!signed || claims.htm !== req.method || claims.htu !== htu || Math.abs(Date.now() / 1000 - claims.iat) > 60 || typeof claims.jti !== 'string') {
      return refuse('invalid_dpop_proof');
    }
    if (accessToken !== undefined && claims.ath !== (await sha256(accessToken))) return refuse('invalid_dpop_proof');
    if (jkt && thumbprint !== jkt) return refuse('invalid_dpop_proof');
    if (dpopNonce && claims.nonce !== api.nonce) return refuse('use_dpop_nonce');
    if (spentJti.has(claims.jti)) return refuse('invalid_dpop_proof');
    spentJti.add(claims.jti);
    api.proofsAccepted++;
    return { jkt: thumbprint };
  }

  /** The proof of a call to a token endpoint: optional, but required (and by jkt's key) for a bound session. */
  async function tokenProof(req, jkt) {
    if (!dpop || (!req.headers.has('DPoP') && !jkt)) return {};
    return checkProof(req, { jkt, resource: false });
  }

  async function fetch(input, init) {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (!req.url.startsWith(BASE + '/')) return new Response('not found', { status: 404 });
    const path = url.pathname.slice(new URL(BASE).pathname.length);
    const cookieMode = req.headers.get('X-Rotor-Refresh-Transport') === 'cookie';

    if (req.method === 'POST' && path === '/auth/login') {
      const { username: typed, password, device_token } = await req.json();
      const username = typed.trim().toLowerCase();
      const cookieDevice = cookieMode && req.credentials === 'include' ? jar.rotor_device : undefined;
      api.devicesSent.push(device_token ?? cookieDevice ?? null);
      if (username === 'throttled') return json(429, err('too_many_attempts', 'slow down'), { 'Retry-After': '7' });
      const proof = await tokenProof(req);
      if (proof.refusal) return proof.refusal;
      if (users.get(username) !== password) return json(401, err('invalid_credentials', 'invalid username or password'));
      if (mfaUsers.has(username)) {
        const mfaToken = `mfa_fake_${++seq}`;
        mfaTokens.set(mfaToken, { username, device: device_token ?? cookieDevice ?? null });
        return json(403, { ...err('mfa_required', 'Enter a code from your authenticator app.'), mfa_token: mfaToken, mfa_methods: ['otp', 'recovery_code'] });
      }
      const session = { user: username, revoked: false, csrf: `csrf_${++seq}`, jkt: proof.jkt };
      return tokenResponse(req, mint(username, session), session, `rtd_fake_${username}_${seq}`);
    }

    if (req.method === 'POST' && path === '/auth/mfa/passkey/options') {
      const { mfa_token: mfaToken, device_token } = await req.json();
      const challenge = mfaTokens.get(mfaToken);
      const cookieDevice = cookieMode && req.credentials === 'include' ? jar.rotor_device : undefined;
      if (!challenge || challenge.device !== (device_token ?? cookieDevice ?? null)) {
        return json(401, err('invalid_mfa_token', 'the mfa_token is unknown, used, expired or of another device'));
      }
      // Not used by the options: the verify uses it.
      const passkeyChallenge = `pkc_${++seq}`;
      passkeyChallenges.set(passkeyChallenge, challenge.username);
      return json(200, { challenge: passkeyChallenge, allowCredentials: [{ type: 'public-key', id: `pk_${challenge.username}` }] });
    }

    if (req.method === 'POST' && path === '/auth/mfa/verify') {
      const { mfa_token: mfaToken, code, recovery_code: recovery, device_token, credential } = await req.json();
      const challenge = mfaTokens.get(mfaToken);
      const cookieDevice = cookieMode && req.credentials === 'include' ? jar.rotor_device : undefined;
      // Bound to the login's device token, as the server binds it.
      if (!challenge || challenge.device !== (device_token ?? cookieDevice ?? null)) {
        return json(401, err('invalid_grant', 'the mfa_token is unknown, used, expired or of another device'));
      }
      const { username } = challenge;
      if (credential !== undefined) {
        // The fake's "assertion": the options' challenge, answered by the user's passkey.
        if (code !== undefined || recovery !== undefined) return json(400, err('invalid_request', 'one of code, recovery_code or credential'));
        if (passkeyChallenges.get(credential.challenge) !== username || credential.id !== `pk_${username}`) {
          return json(401, err('invalid_passkey', 'the passkey could not be verified'));
        }
        passkeyChallenges.delete(credential.challenge);
      } else if ((code === undefined) === (recovery === undefined)) {
        return json(400, err('invalid_request', 'one of code or recovery_code'));
      } else if (code !== undefined ? code !== OTP : !recoveryCodes.get(username)?.has(recovery)) {
        return json(401, err('invalid_grant', 'wrong code'));
      }
      mfaTokens.delete(mfaToken);
      recoveryCodes.get(username)?.delete(recovery);
      const session = { user: username, revoked: false, csrf: `csrf_${++seq}`, mfa: true };
      return tokenResponse(req, mint(username, session), session, `rtd_fake_${username}_${seq}`);
    }

    if (req.method === 'POST' && path === '/auth/refresh') {
      api.refreshCalls++;
      await new Promise((r) => setTimeout(r, refreshDelayMs));
      let presented;
      if (cookieMode) {
        if (req.credentials !== 'include' || !jar.rotor_refresh) return json(401, err('invalid_grant', 'no refresh cookie'));
        const body = await req.json();
        if (Object.keys(body).length !== 0) return json(400, err('invalid_request', 'cookie mode takes {}'));
        if (req.headers.get('X-CSRF-Token') !== jar.rotor_csrf) return json(403, err('csrf_failed', 'CSRF token mismatch'));
        presented = jar.rotor_refresh;
      } else {
        const body = await req.json();
        api.lastRefreshBody = body;
        presented = body.refresh_token;
        if (!presented) return json(400, err('invalid_request', 'refresh_token is required'));
        if (state0(presented)?.ticket && body.retry_ticket === state0(presented).ticket) {
          return tokenResponse(req, state0(presented).next, state0(presented).session);
        }
      }
      const state = refresh.get(presented);
      if (!state || state.session.revoked) return json(401, err('invalid_grant', 'refresh token is not valid'));
      // A bound session's refresh without a proof by its key is refused
      // before anything changes: no rotation, no reuse.
      const proof = await tokenProof(req, state.session.jkt);
      if (proof.refusal) return proof.refusal;
      if (api.unavailableOnce) {
        api.unavailableOnce = false;
        state.next = mint(state.session.user, state.session);
        state.replacedAt = Date.now() - 10 * GRACE_MS;
        state.ticket = `ticket-${seq}`;
        return json(503, { ...err('temporarily_unavailable', 'store timed out'), retry_ticket: state.ticket });
      }
      if (!state.replacedAt) {
        state.next = mint(state.session.user, state.session);
        state.replacedAt = Date.now();
      } else if (Date.now() - state.replacedAt >= GRACE_MS) {
        // The owner's retry after a lost answer: its key's proof gets the same
        // successor until the successor is used.
        const owner = state.session.jkt && proof.jkt === state.session.jkt && !refresh.get(state.next.refresh).replacedAt;
        if (!owner) {
          state.session.revoked = true;
          return json(401, err('invalid_grant', 'refresh token reused'));
        }
      }
      if (api.dropRefreshes > 0) {
        api.dropRefreshes--;
        state.replacedAt -= api.lostForMs;
        throw new TypeError('fetch failed: the answer was lost');
      }
      return tokenResponse(req, state.next, state.session);
    }

    if (req.method === 'POST' && path === '/auth/logout') {
      const token = cookieMode ? jar.rotor_refresh : (await req.json()).refresh_token;
      if (cookieMode && req.headers.get('X-CSRF-Token') !== jar.rotor_csrf) return json(403, err('csrf_failed', 'CSRF token mismatch'));
      const state = refresh.get(token);
      if (state) state.session.revoked = true;
      return new Response(null, { status: 204 });
    }

    const answered = await recovery(req.clone(), path);
    if (answered) return answered;

    // Protected routes.
    const [scheme, bearer = ''] = (req.headers.get('Authorization') ?? '').split(' ', 2);
    const jkt = boundAccess.get(bearer);
    if (jkt && access.has(bearer)) {
      // As the authorizer: a bound token needs the DPoP scheme and a proof
      // of this request, with its hash, by its key.
      const proof = scheme === 'DPoP' ? await checkProof(req, { accessToken: bearer, jkt, resource: true }) : refuseProof('invalid_dpop_proof', true);
      if (proof.refusal) {
        if (path === '/echo') api.echoed.push(await req.text());
        return proof.refusal;
      }
    }
    const user = api.rejectAll || (!jkt && scheme !== 'Bearer') ? undefined : access.get(bearer);
    const body = req.method === 'GET' || req.method === 'HEAD' ? '' : await req.text();
    if (path === '/echo') api.echoed.push(body);
    if (!user) {
      api.unauthorized++;
      return json(401, err('invalid_token', 'access token is missing or invalid'));
    }
    if (path === '/me') return json(200, { user_id: `u-${user}`, username: user, session_id: 's-1' });
    if (path === '/payments') {
      // An MFA route: the authorizer's step-up refusal (RFC 9470), as
      // template.yaml's ACCESS_DENIED gateway response answers it.
      if (!mfaAccess.has(bearer)) {
        return json(401, err('insufficient_user_authentication', 'This route needs a multi-factor login.'), {
          'WWW-Authenticate': 'Bearer error="insufficient_user_authentication", error_description="A multi-factor login is required"',
        });
      }
      return json(200, { paid_by: user });
    }
    if (path === '/echo') return new Response(body, { status: 200 });
    if (req.method === 'POST' && path === '/auth/email/verify/resend') {
      const e = api.emails.get(user);
      if (e && !e.verified) mail(e.address, 'verify_email', user, e.address);
      return json(202, { status: 'accepted' });
    }
    if (req.method === 'POST' && path === '/auth/email') {
      const { current_password, email } = JSON.parse(body);
      if (users.get(user) !== current_password) return json(401, err('invalid_credentials', 'The current password is incorrect.'));
      mail(email, 'email_change', user, email);
      return json(202, { status: 'accepted' });
    }
    if (path === '/auth/mfa/totp' && req.method === 'POST') {
      if (mfaUsers.has(user)) return json(409, err('mfa_already_enrolled', 'remove the factor first'));
      const { current_password } = JSON.parse(body || '{}');
      if (users.get(user) !== current_password) {
        api.wrongPasswords++;
        return json(401, err('invalid_credentials', 'The current password is incorrect.'));
      }
      const secret = `JBSWY3DPEHPK3PXP${++seq}`.replace(/[^A-Z2-7]/g, 'A');
      pendingTotp.set(user, secret);
      return json(200, { secret, otpauth_uri: `otpauth://totp/Rotor:${user}?secret=${secret}&issuer=Rotor` });
    }
    if (path === '/auth/mfa/totp/confirm' && req.method === 'POST') {
      if (!pendingTotp.has(user)) return json(409, err('mfa_not_enrolled', 'no pending enrolment'));
      if (JSON.parse(body).code !== OTP) return json(400, err('invalid_code', 'The code is incorrect or was already used.'));
      pendingTotp.delete(user);
      mfaUsers.add(user);
      return json(200, { recovery_codes: newRecoveryCodes(user) });
    }
    if (path === '/auth/mfa/recovery-codes' && req.method === 'POST') {
      if (!mfaUsers.has(user)) return json(409, err('mfa_not_enrolled', 'no factor'));
      if (JSON.parse(body).code !== OTP) return json(400, err('invalid_code', 'The code is incorrect or was already used.'));
      return json(200, { recovery_codes: newRecoveryCodes(user) });
    }
    if (path === '/auth/mfa/totp' && req.method === 'DELETE') {
      if (!mfaUsers.has(user)) return json(409, err('mfa_not_enrolled', 'no factor'));
      const { code, recovery_code: recovery } = JSON.parse(body);
      if (code !== undefined ? code !== OTP : !recoveryCodes.get(user)?.delete(recovery)) return json(400, err('invalid_code', 'The code is incorrect or was already used.'));
      mfaUsers.delete(user);
      recoveryCodes.delete(user);
      return new Response(null, { status: 204 });
    }
    return json(404, err('not_found', path));
  }

  /** Ten fresh codes for `user`; the old set stops working. */
  function newRecoveryCodes(user) {
    const codes = Array.from({ length: 10 }, (_, i) => `r${String(++seq).padStart(4, '0')}-code${i}`);
    recoveryCodes.set(user, new Set(codes));
    return codes;
  }

  return api;
}

/** An in-process stand-in for navigator.locks: one holder per name, FIFO. */
export function fakeLocks() {
  const tails = new Map();
  return {
    held: 0,
    request(name, callback) {
      const prev = tails.get(name) ?? Promise.resolve();
      const run = prev.then(() => {
        this.held++;
        return callback();
      });
      tails.set(name, run.catch(() => {}));
      return run;
    },
  };
}

export function fakeJwt(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'ES256', typ: 'at+jwt' })}.${enc(claims)}.c2ln`;
}

async function sha256(text) {
  return Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))).toString('base64url');
}

function err(code, description) {
  return { error: code, error_description: description };
}

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}
