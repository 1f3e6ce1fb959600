// The Rotor demo page: plain JavaScript over the built client.
//
// Query parameters: ?transport=cookie|body (default cookie: the refresh token
// stays in an HttpOnly cookie), ?poll=<ms> (default 1000; 0 turns the /me
// loop off, for tests that call /me by hand).
//
// The page is also what the links of Rotor's mails open (make dev sets
// ROTOR_APP_URL to it): /verify-email#token=... verifies the address,
// /reset-password#token=... offers the reset form. The token is read from the
// fragment and removed from the address bar at once.
//
// Two-factor: a logged-in user adds an authenticator app (the otpauth URI is
// shown as text and as a QR code drawn here by the vendored qrcode.mjs, so
// the secret goes to no other server), confirms it with a code and sees the
// recovery codes once. A login of such a user answers mfa_required: the page
// asks for a code, or a recovery code, and finishes the login with verifyMfa;
// when the answer offers "passkey" (the user has one), "Use a passkey"
// finishes it with verifyMfaWithPasskey instead. The status shows the access
// token's amr claim (RFC 8176): how the session signed in.
//
// DPoP (?dpop=on|off; default on when the server's discovery document lists
// dpop_signing_alg_values_supported): the client binds the session to a
// non-extractable P-256 key kept in IndexedDB, and the page shows the
// token's type and cnf.jkt beside the key's thumbprint.
import { createRotorFetch, indexedDBStorage, indexedDBKeyStorage, SessionEndedError, RotorError, MfaRequiredError, accessExpiry, linkToken } from './rotor-client.js';
import qrcode from './qrcode.mjs';
import { calculateThumbprint } from 'dpop';

const params = new URLSearchParams(location.search);
const transport = params.get('transport') === 'body' ? 'body' : 'cookie';
const pollMs = params.has('poll') ? Number(params.get('poll')) : 1000;
const dpop = params.has('dpop') ? params.get('dpop') === 'on' : await serverOffersDPoP();
// IndexedDB, shared by every tab of the site: a tab that waited for another
// tab's refresh reads the tokens that tab stored, instead of refreshing again.
const storage = indexedDBStorage('rotor-demo', transport);
const $ = (id) => document.getElementById(id);

let refreshes = 0;
let meCalls = 0;
let timer = null;
let polling = pollMs > 0;

const rf = createRotorFetch({
  baseUrl: location.origin,
  storage,
  transport,
  dpop,
  // One key for the page, whichever transport: kept beside the tokens.
  dpopKeys: indexedDBKeyStorage('rotor-demo'),
  onRefresh(tokens) {
    refreshes++;
    $('refresh-count').textContent = String(refreshes);
    log(`silent refresh #${refreshes}: new access token, expires in ${secondsLeft(tokens)} s`, 'refresh');
  },
  onSessionEnded(err) {
    log(`session ended: ${err.message}. Log in again.`, 'error');
    showSession();
  },
});

function log(text, kind = '') {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  if (kind) li.className = kind;
  $('log').prepend(li);
}

// Whether the server binds tokens to keys: its discovery document lists the
// proof algorithms it accepts when DPoP is not off.
async function serverOffersDPoP() {
  try {
    const res = await fetch('/.well-known/oauth-authorization-server');
    const doc = await res.json();
    return Array.isArray(doc.dpop_signing_alg_values_supported) && doc.dpop_signing_alg_values_supported.length > 0;
  } catch {
    return false;
  }
}

// The claims of a JWT, unverified: shown, never trusted (the server checks).
function claimsOf(jwt) {
  try {
    const b64 = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
  } catch {
    return {};
  }
}

// The binding as the page sees it: the token's type and cnf.jkt, and this
// browser's key (its thumbprint; whether script could read it out).
async function showBinding(tokens) {
  $('dpop-switch').checked = dpop;
  $('token-type').textContent = tokens ? tokens.tokenType ?? 'Bearer' : '–';
  $('cnf-jkt').textContent = tokens ? claimsOf(tokens.accessToken).cnf?.jkt ?? 'none (a bearer token)' : '–';
  const pair = await rf.dpopKeyPair();
  $('dpop-key').textContent = pair ? await calculateThumbprint(pair.publicKey) : 'none (DPoP off)';
  $('dpop-extractable').textContent = pair ? String(pair.privateKey.extractable) : '–';
}

function secondsLeft(tokens) {
  const exp = accessExpiry(tokens.accessToken) ?? tokens.accessExpiresAt;
  return exp === undefined ? '?' : Math.max(0, Math.round((exp - Date.now()) / 1000));
}

async function showSession() {
  const tokens = await storage.load();
  $('session-state').textContent = tokens ? 'logged in' : 'logged out';
  $('enrol').disabled = !tokens;
  if (!tokens) $('mfa-status').textContent = 'Log in to add a second factor.';
  else if ($('mfa-status').textContent === 'Log in to add a second factor.') $('mfa-status').textContent = 'Logged in.';
  $('expires-in').textContent = tokens ? `${secondsLeft(tokens)} s` : '–';
  $('amr').textContent = tokens ? methodsOf(tokens.accessToken) : '–';
  await showBinding(tokens);
  return tokens;
}

// The switch reloads the page with ?dpop=on|off: the client is made once.
$('dpop-switch').addEventListener('change', () => {
  params.set('dpop', $('dpop-switch').checked ? 'on' : 'off');
  location.search = params.toString();
});

// The access token's amr claim, space-separated: shown only (the API checks
// the token; the page never trusts what it reads here).
function methodsOf(accessToken) {
  try {
    const payload = accessToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const { amr } = JSON.parse(atob(payload));
    return Array.isArray(amr) ? amr.join(' ') : '?';
  } catch {
    return '?';
  }
}

async function callMe() {
  try {
    const res = await rf('/me');
    const body = await res.json().catch(() => ({}));
    $('last-status').textContent = String(res.status);
    if (res.ok) {
      meCalls++;
      $('me-count').textContent = String(meCalls);
      $('me-user').textContent = `(${body.username})`;
      log(`GET /me → ${res.status} ${body.username}`);
    } else {
      $('me-user').textContent = '';
      log(`GET /me → ${res.status} ${body.error ?? ''}`, 'error');
    }
  } catch (err) {
    $('last-status').textContent = err instanceof SessionEndedError ? 'session ended' : 'error';
    if (!(err instanceof SessionEndedError)) log(`GET /me failed: ${err.message}`, 'error');
  }
  await showSession();
}

function schedule() {
  clearTimeout(timer);
  $('toggle-poll').textContent = polling ? 'Pause polling' : 'Resume polling';
  if (!polling || pollMs <= 0) return;
  timer = setTimeout(async () => {
    if (await storage.load()) await callMe();
    else await showSession();
    schedule();
  }, pollMs);
}

function credentials() {
  return [$('username').value.trim(), $('password').value];
}

async function login() {
  const [username, password] = credentials();
  try {
    const tokens = await rf.login(username, password);
    await loggedIn(username, tokens);
  } catch (err) {
    if (err instanceof MfaRequiredError) askSecondFactor(err);
    else log(`login failed: ${describe(err)}`, 'error');
  }
}

async function loggedIn(username, tokens, how = '') {
  log(`logged in as ${username}${how}; access token expires in ${secondsLeft(tokens)} s`);
  await showSession();
  await callMe();
}

// ---- The second step of a login ----

let challenge = null; // the MfaRequiredError of the login waiting for its second factor

function askSecondFactor(err) {
  challenge = err;
  useRecovery(false);
  $('mfa-use-passkey').hidden = !err.methods?.includes('passkey');
  $('mfa-code').value = '';
  $('mfa-recovery').value = '';
  $('mfa-form').hidden = false;
  $('mfa-code').focus();
  log(`password accepted for ${err.username}; a second factor is required`);
}

function useRecovery(on) {
  $('mfa-code-label').hidden = on;
  $('mfa-recovery-label').hidden = !on;
  $('mfa-use-recovery').textContent = on ? 'Use a code from the app' : 'Use a recovery code';
  $('mfa-form').dataset.factor = on ? 'recovery' : 'code';
}

function endSecondStep() {
  challenge = null;
  $('mfa-form').hidden = true;
}

$('mfa-use-recovery').addEventListener('click', () => useRecovery($('mfa-form').dataset.factor !== 'recovery'));
$('mfa-cancel').addEventListener('click', endSecondStep);
$('mfa-use-passkey').addEventListener('click', async () => {
  if (!challenge) return;
  try {
    const tokens = await rf.verifyMfaWithPasskey(challenge);
    const username = challenge.username;
    endSecondStep();
    await loggedIn(username, tokens, ' with a passkey');
  } catch (err) {
    log(`second factor refused: ${describe(err)}`, 'error');
    if (err instanceof RotorError && err.code === 'invalid_mfa_token') {
      endSecondStep();
      log('log in again', 'error');
    }
  }
});
$('mfa-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!challenge) return;
  const recovery = $('mfa-form').dataset.factor === 'recovery';
  const factor = recovery ? { recoveryCode: $('mfa-recovery').value.trim() } : { code: $('mfa-code').value.trim() };
  try {
    const tokens = await rf.verifyMfa(challenge, factor);
    const username = challenge.username;
    endSecondStep();
    await loggedIn(username, tokens, recovery ? ' with a recovery code' : ' with a code');
  } catch (err) {
    log(`second factor refused: ${describe(err)}`, 'error');
    // A used or expired mfa_token cannot be retried: the login starts over.
    if (err instanceof RotorError && err.code === 'invalid_mfa_token') {
      endSecondStep();
      log('log in again', 'error');
    }
  }
});

// ---- Two-factor enrolment ----

// Draws `text` as a QR code: an SVG of one path, built with DOM calls.
function drawQr(box, text) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + quiet},${r + quiet}h1v1h-1z`;
  }
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${n + 2 * quiet} ${n + 2 * quiet}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'QR code of the otpauth URI');
  svg.dataset.modules = String(n);
  const bg = document.createElementNS(ns, 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  path.setAttribute('shape-rendering', 'crispEdges');
  svg.append(bg, path);
  box.replaceChildren(svg);
}

$('enrol-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const { secret, otpauthUri } = await rf.enrolTotp($('enrol-password').value);
    $('enrol-password').value = '';
    $('totp-secret').textContent = secret;
    $('otpauth-uri').textContent = otpauthUri;
    drawQr($('otpauth-qr'), otpauthUri);
    $('recovery-codes-box').hidden = true;
    $('enrol-pending').hidden = false;
    $('mfa-status').textContent = 'Pending: confirm with a code from the app.';
    log('authenticator app enrolment started: confirm it with a code');
  } catch (err) {
    $('mfa-status').textContent = `Enrolment refused: ${describe(err)}`;
    log(`enrolment failed: ${describe(err)}`, 'error');
  }
});

$('confirm-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const codes = await rf.confirmTotp($('confirm-code').value.trim());
    $('confirm-code').value = '';
    $('enrol-pending').hidden = true;
    $('otpauth-qr').replaceChildren();
    $('totp-secret').textContent = '';
    $('otpauth-uri').textContent = '';
    $('recovery-codes').replaceChildren(
      ...codes.map((c) => {
        const li = document.createElement('li');
        li.textContent = c;
        return li;
      }),
    );
    $('recovery-codes-box').hidden = false;
    $('mfa-status').textContent = 'Two-factor is on: logins ask for a code.';
    log('two-factor confirmed; 10 recovery codes shown once');
  } catch (err) {
    $('mfa-status').textContent = `Confirmation refused: ${describe(err)}`;
    log(`confirmation failed: ${describe(err)}`, 'error');
  }
});

function describe(err) {
  if (err instanceof RotorError) {
    return err.retryAfterSeconds ? `${err.code} (retry in ${err.retryAfterSeconds} s)` : `${err.code}: ${err.description}`;
  }
  return err.message;
}

$('auth-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  login();
});
$('signup').addEventListener('click', async () => {
  const [username, password] = credentials();
  const email = $('email').value.trim();
  try {
    const { user_id } = await rf.signup(username, password, email || undefined);
    log(`signed up ${username} (${user_id})${email ? `; a verification mail went to ${email}` : ''}`);
    if (email) refreshMailbox();
    await login();
  } catch (err) {
    log(`sign-up failed: ${describe(err)}`, 'error');
  }
});
$('logout').addEventListener('click', async () => {
  try {
    await rf.logout();
    $('recovery-codes-box').hidden = true;
    $('recovery-codes').replaceChildren();
    $('enrol-pending').hidden = true;
    log('logged out');
  } catch (err) {
    log(`logout failed: ${describe(err)}`, 'error');
  }
  await showSession();
});
async function listPasskeys() {
  const list = $('passkeys');
  try {
    const passkeys = await rf.listPasskeys();
    list.replaceChildren();
    for (const p of passkeys) {
      const li = document.createElement('li');
      li.dataset.id = p.id;
      li.textContent = `${p.name}${p.backup_eligible ? ' (synced)' : ''}, last used ${p.last_used_at ?? 'never'} `;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'passkey-remove';
      remove.textContent = 'Remove';
      remove.addEventListener('click', async () => {
        try {
          await rf.removePasskey(p.id);
          log(`passkey ${p.name} removed`);
        } catch (err) {
          log(`removing the passkey failed: ${describe(err)}`, 'error');
        }
        await listPasskeys();
      });
      li.append(remove);
      list.append(li);
    }
    list.dataset.count = String(passkeys.length);
    log(`${passkeys.length} passkey(s)`);
  } catch (err) {
    log(`listing passkeys failed: ${describe(err)}`, 'error');
  }
}

$('passkey-add').addEventListener('click', async () => {
  try {
    const p = await rf.registerPasskey(`demo passkey ${new Date().toLocaleTimeString()}`);
    log(`passkey added: ${p.name}`);
    await listPasskeys();
  } catch (err) {
    log(`adding a passkey failed: ${describe(err)}`, 'error');
  }
});
$('passkey-login').addEventListener('click', async () => {
  try {
    const tokens = await rf.loginWithPasskey();
    log(`signed in with a passkey; access token expires in ${secondsLeft(tokens)} s`);
    await showSession();
    await callMe();
  } catch (err) {
    log(`passkey sign-in failed: ${describe(err)}`, 'error');
  }
});
$('passkey-list').addEventListener('click', () => listPasskeys());
$('call-me').addEventListener('click', () => callMe());
$('toggle-poll').addEventListener('click', () => {
  polling = !polling;
  schedule();
});

// ---- Account recovery ----

function linkStatus(text, error = false) {
  $('link-status').textContent = text;
  $('link-status').className = error ? 'link-status error' : 'link-status';
}

// The page a mail's link opened, and its token; the fragment leaves the
// address bar (and the history) before anything else runs.
const linkPage = location.pathname;
const token = linkToken(location.hash);
if (token) history.replaceState(null, '', '/' + location.search);

async function openedFromLink() {
  if (!token) return;
  if (linkPage === '/verify-email') {
    try {
      await rf.verifyEmail(token);
      linkStatus('Your address is verified.');
      log('address verified from the mail link');
    } catch (err) {
      linkStatus(`This verification link does not work: ${describe(err)}`, true);
      log(`verification failed: ${describe(err)}`, 'error');
    }
  } else if (linkPage === '/reset-password') {
    $('reset-form').hidden = false;
    linkStatus('Choose a new password below.');
    $('new-password').focus();
  }
}

$('reset-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    await rf.resetPassword(token, $('new-password').value);
    $('reset-form').hidden = true;
    await storage.clear(); // every session of the user ended with the reset
    linkStatus('Your password was changed and every session ended. Log in with the new password.');
    log('password reset: every session ended');
    await showSession();
  } catch (err) {
    linkStatus(`The reset did not work: ${describe(err)}`, true);
    log(`reset failed: ${describe(err)}`, 'error');
  }
});

$('forgot-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const account = $('forgot-account').value.trim();
  try {
    await rf.forgotPassword(account.includes('@') ? { email: account } : { username: account });
    log('reset requested: if the account has a verified address, a mail is on its way (the answer is the same either way)');
    setTimeout(refreshMailbox, 500);
  } catch (err) {
    log(`forgot password failed: ${describe(err)}`, 'error');
  }
});

const mailLink = /https?:\/\/[^\s"<>]+#token=[A-Za-z0-9_-]+/g;

// Lists GET /dev/mailbox (the local server's mail, loopback only). Built
// with textContent and attributes only: a mail's fields are data.
async function refreshMailbox() {
  let mails = [];
  try {
    const res = await fetch('/dev/mailbox', { cache: 'no-store' });
    if (!res.ok) return;
    ({ mails } = await res.json());
  } catch {
    return;
  }
  const list = $('mailbox');
  list.replaceChildren(
    ...mails.map((m) => {
      const li = document.createElement('li');
      li.dataset.to = m.to;
      const subject = document.createElement('span');
      subject.className = 'subject';
      subject.textContent = m.subject;
      const to = document.createElement('span');
      to.className = 'to';
      to.textContent = `to ${m.to}`;
      li.append(subject, to);
      for (const href of new Set(m.text.match(mailLink) ?? [])) {
        const url = new URL(href);
        if (url.origin !== location.origin) continue; // links of another app URL
        const a = document.createElement('a');
        a.href = url.href;
        a.className = 'mail-link';
        a.textContent = url.pathname === '/reset-password' ? 'open the reset link' : 'open the verification link';
        li.append(a);
      }
      return li;
    }),
  );
}

$('refresh-mailbox').addEventListener('click', refreshMailbox);
setInterval(refreshMailbox, 2000);

$('transport').textContent = transport === 'cookie' ? 'an HttpOnly cookie' : 'localStorage';
showSession();
schedule();
refreshMailbox();
openedFromLink().finally(() => {
  document.body.dataset.ready = 'true';
});
