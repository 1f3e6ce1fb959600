/**
 * @rotor-auth/client: a `fetch` wrapper for APIs protected by Rotor.
 *
 * It sends the access token as a bearer token. When a protected route
 * answers 401 it exchanges the refresh token for a new pair once, however
 * many requests failed together and however many tabs of the same site are
 * open, stores the pair and retries each request once. When the server
 * refuses the refresh token the session is over: calls reject with
 * {@link SessionEndedError} and `onSessionEnded` runs, with no retry loop.
 *
 * Browsers may keep the refresh token out of JavaScript's reach with
 * `transport: 'cookie'`: the server then sets it as an HttpOnly cookie and
 * the client only keeps the access token and a CSRF token.
 *
 * With `dpop: true` the session is bound to a non-extractable P-256 key
 * this client keeps in IndexedDB (DPoP, RFC 9449): each token call and API
 * call carries a proof signed with it, so a copy of the tokens is useless
 * without the key, and script can use the key but never read it out. The
 * proofs are made by the `dpop` package (WebCrypto, no dependencies).
 *
 * @packageDocumentation
 */
import { generateKeyPair, generateProof } from 'dpop';
/** A storage that lives as long as the page or process: one tab, one session. */
export function memoryStorage(initial = null) {
    let tokens = initial;
    return {
        load: () => tokens,
        save: (t) => {
            tokens = { ...t };
        },
        clear: () => {
            tokens = null;
        },
    };
}
/**
 * A storage over the Web Storage API (`localStorage` by default), shared by
 * every tab of the origin. Anything that can run script on the page can
 * read it: prefer `transport: 'cookie'`, which keeps the refresh token out
 * of it. Tabs stay correct with it, but one may read another's write late
 * and refresh a second time (the server's grace window answers that with
 * the same pair); {@link indexedDBStorage} avoids it.
 */
export function webStorage(area = globalThis.localStorage, key = 'rotor.tokens') {
    return {
        load() {
            const raw = area.getItem(key);
            if (raw === null)
                return null;
            try {
                const t = JSON.parse(raw);
                return typeof t.accessToken === 'string' ? t : null;
            }
            catch {
                return null;
            }
        },
        save: (t) => area.setItem(key, JSON.stringify(t)),
        clear: () => area.removeItem(key),
        subscribe(listener) {
            const target = globalThis;
            if (typeof target.addEventListener !== 'function')
                return () => { };
            const onStorage = (ev) => {
                const se = ev;
                if (se.storageArea === area && (se.key === key || se.key === null))
                    listener();
            };
            target.addEventListener('storage', onStorage);
            return () => target.removeEventListener('storage', onStorage);
        },
    };
}
/**
 * A storage in IndexedDB, shared by every tab of the origin: the right
 * choice for several tabs. A write resolves once its transaction has
 * committed, and every read asks the database, so a tab that takes the
 * refresh lock after another tab released it always reads the tokens that
 * tab saved. (`localStorage` does not promise that: in Chromium each tab's
 * renderer keeps a copy that other tabs' writes reach a little later, and a
 * tab can read the old tokens just after taking the lock, and refresh
 * again.)
 */
export function indexedDBStorage(dbName = 'rotor', key = 'tokens', factory = globalThis.indexedDB) {
    const db = rotorDB(dbName, factory);
    return {
        load: async () => (await db.run('tokens', 'readonly', (s) => s.get(key))) ?? null,
        save: async (t) => {
            await db.run('tokens', 'readwrite', (s) => s.put({ ...t }, key));
        },
        clear: async () => {
            await db.run('tokens', 'readwrite', (s) => s.delete(key));
        },
    };
}
/**
 * Opens (once) the client's IndexedDB database, with an object store for
 * the tokens and one for the device tokens, and runs one request per
 * transaction, resolving when the transaction has committed.
 */
function rotorDB(dbName, factory) {
    const stores = ['tokens', 'devices', 'keys'];
    let opened;
    const open = () => (opened ??= new Promise((resolve, reject) => {
        // Version 2 added the devices store, 3 the DPoP keys; an upgrade keeps what was there.
        const req = factory.open(dbName, 3);
        req.onupgradeneeded = () => {
            for (const name of stores) {
                if (!req.result.objectStoreNames.contains(name))
                    req.result.createObjectStore(name);
            }
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    }));
    return {
        async run(storeName, mode, op) {
            const db = await open();
            return new Promise((resolve, reject) => {
                const tx = db.transaction(storeName, mode);
                const req = op(tx.objectStore(storeName));
                // Resolve on commit, not on the request's success: a write must be
                // visible to other tabs before the refresh lock is released.
                tx.oncomplete = () => resolve(req.result);
                tx.onerror = tx.onabort = () => reject(tx.error ?? req.error);
            });
        },
    };
}
/** The key a device token is kept under: the username trimmed, in lower case. */
function deviceKey(username) {
    return username.trim().toLowerCase();
}
/** A device storage that lives as long as the page or process. */
export function memoryDeviceStorage() {
    const tokens = new Map();
    return {
        get: (u) => tokens.get(deviceKey(u)) ?? null,
        set: (u, t) => {
            tokens.set(deviceKey(u), t);
        },
    };
}
/**
 * A device storage in IndexedDB (the `devices` store of the database
 * {@link indexedDBStorage} uses), kept across reloads and shared by every
 * tab of the origin.
 */
export function indexedDBDeviceStorage(dbName = 'rotor', factory = globalThis.indexedDB) {
    const db = rotorDB(dbName, factory);
    return {
        get: async (u) => {
            const v = await db.run('devices', 'readonly', (s) => s.get(deviceKey(u)));
            return typeof v === 'string' ? v : null;
        },
        set: async (u, t) => {
            await db.run('devices', 'readwrite', (s) => s.put(t, deviceKey(u)));
        },
    };
}
/** A DPoP key storage that lives as long as the page or process. */
export function memoryKeyStorage() {
    let stored = null;
    return {
        load: () => stored,
        add: (pair) => (stored ??= pair),
    };
}
/**
 * A DPoP key storage in IndexedDB (the `keys` store of the database
 * {@link indexedDBStorage} uses), shared by every tab of the origin and kept
 * across reloads. IndexedDB stores the CryptoKey objects themselves (the
 * structured clone of a non-extractable key stays non-extractable): the
 * private key's bytes are never exposed to script, nor written anywhere
 * script could read them.
 */
export function indexedDBKeyStorage(dbName = 'rotor', key = 'dpop', factory = globalThis.indexedDB) {
    const db = rotorDB(dbName, factory);
    const load = async () => (await db.run('keys', 'readonly', (s) => s.get(key))) ?? null;
    return {
        load,
        async add(pair) {
            try {
                // add, not put: a pair another tab stored first is kept.
                await db.run('keys', 'readwrite', (s) => s.add(pair, key));
                return pair;
            }
            catch (err) {
                const stored = await load();
                if (stored)
                    return stored;
                throw err;
            }
        },
    };
}
/** An error answer of the Rotor API, `{"error","error_description"}`. */
export class RotorError extends Error {
    status;
    code;
    description;
    retryAfterSeconds;
    retryTicket;
    name = 'RotorError';
    constructor(
    /** The HTTP status. */
    status, 
    /** The `error` code, such as `invalid_credentials`. */
    code, 
    /** The `error_description` text. */
    description, 
    /** The `Retry-After` header of a 429, in seconds. */
    retryAfterSeconds, 
    /** The `retry_ticket` of a 503 to a refresh: sent back on the retry. */
    retryTicket) {
        super(code ? `rotor: ${status} ${code}: ${description}` : `rotor: server answered ${status}`);
        this.status = status;
        this.code = code;
        this.description = description;
        this.retryAfterSeconds = retryAfterSeconds;
        this.retryTicket = retryTicket;
    }
}
/**
 * The password was right and the account has a second factor: the server
 * answered 403 `mfa_required`. Finish the login with
 * {@link RotorFetch.verifyMfa}, passing this error and the user's code.
 */
export class MfaRequiredError extends RotorError {
    mfaToken;
    methods;
    username;
    name = 'MfaRequiredError';
    constructor(description, 
    /** The short-lived, single-use token that binds the second step to this login. */
    mfaToken, 
    /** The second factors on offer, such as `totp`, `recovery_code` and `passkey`. */
    methods, 
    /** Who logged in: the verify's device token is kept for this username. */
    username = '') {
        super(403, 'mfa_required', description);
        this.mfaToken = mfaToken;
        this.methods = methods;
        this.username = username;
    }
}
/**
 * Whether `res` is RFC 9470's refusal of a route that needs a multi-factor
 * login: 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication"`.
 * The client returns such an answer as it is, without refreshing: a refresh
 * keeps the session's methods; a login with a second factor is what helps.
 * (Cross-origin, the API must expose WWW-Authenticate, as Rotor's does.)
 */
export function stepUpRequired(res) {
    return res.status === 401 && (res.headers.get('WWW-Authenticate') ?? '').includes('error="insufficient_user_authentication"');
}
/**
 * The session is over: the server refused the refresh token (unknown,
 * expired, revoked or reused) or no tokens are stored. The user must log in
 * again; the stored tokens have been cleared.
 */
export class SessionEndedError extends Error {
    status;
    code;
    name = 'SessionEndedError';
    constructor(message, 
    /** The HTTP status of the refused refresh, absent when nothing was stored. */
    status, 
    /** The server's error code, such as `invalid_grant`. */
    code) {
        super(`rotor: session ended: ${message}`);
        this.status = status;
        this.code = code;
    }
}
const transportHeader = 'X-Rotor-Refresh-Transport';
/**
 * Wraps fetch for a Rotor API. Requests to other origins than `baseUrl`,
 * and requests that already carry an Authorization header, pass through
 * untouched, so tokens never reach another host. A string URL that is not
 * absolute is taken relative to `baseUrl` (`'/me'` is `baseUrl + '/me'`).
 */
export function createRotorFetch(options) {
    const base = new URL(options.baseUrl);
    const root = options.baseUrl.replace(/\/+$/, '');
    const storage = options.storage ?? memoryStorage();
    const cookie = options.transport === 'cookie';
    const devices = cookie ? null : options.devices === undefined ? memoryDeviceStorage() : options.devices;
    const now = options.now ?? Date.now;
    const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const coordinator = makeCoordinator(options, storage, now);
    const inflight = new Map();
    const dpop = options.dpop
        ? dpopSigner(options.dpopKeys ?? (globalThis.indexedDB ? indexedDBKeyStorage() : memoryKeyStorage()))
        : null;
    function toRequest(input, init) {
        if (typeof input === 'string' && !isAbsolute(input)) {
            input = root + (input.startsWith('/') ? input : '/' + input);
        }
        return new Request(input, init);
    }
    function withBearer(req, accessToken) {
        const headers = new Headers(req.headers);
        headers.set('Authorization', `Bearer ${accessToken}`);
        return new Request(req, { headers });
    }
    /** Whether `tokens` are bound to this client's DPoP key. */
    const bound = (tokens) => dpop !== null && tokens.tokenType?.toLowerCase() === 'dpop';
    /**
     * Sends `req` with the access token: as a bearer token, or for a bound
     * pair as `Authorization: DPoP` with a proof of this request, retried
     * once with the server's nonce when the answer asks for one.
     */
    async function authorized(req, tokens) {
        if (!dpop || !bound(tokens))
            return send(withBearer(req, tokens.accessToken));
        const spare = req.clone();
        const withProof = async (r) => {
            const headers = new Headers(r.headers);
            headers.set('Authorization', `DPoP ${tokens.accessToken}`);
            headers.set('DPoP', await dpop.proof(r.method, r.url, tokens.accessToken));
            return new Request(r, { headers });
        };
        const res = await send(await withProof(req));
        if (!dpop.keepNonce(req.url, res) || !(await useDPoPNonce(res)))
            return res;
        await res.body?.cancel().catch(() => { });
        return send(await withProof(spare));
    }
    /**
     * The calls that start, use or end a session: with `dpop` each carries a
     * proof. The second step's calls too: the server binds a login's
     * mfa_token to the key of its proof.
     */
    const tokenPaths = new Set(['/auth/login', '/auth/mfa/passkey/options', '/auth/mfa/verify', '/auth/passkeys/login', '/auth/refresh', '/auth/logout']);
    async function postAuth(path, body, csrfToken) {
        const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
        if (cookie) {
            headers[transportHeader] = 'cookie';
            if (csrfToken)
                headers['X-CSRF-Token'] = csrfToken;
        }
        const post = async () => {
            if (dpop && tokenPaths.has(path))
                headers.DPoP = await dpop.proof('POST', root + path);
            return send(root + path, {
                method: 'POST',
                headers,
                body: JSON.stringify(body),
                credentials: cookie ? 'include' : 'same-origin',
            });
        };
        const res = await post();
        if (!dpop || !tokenPaths.has(path) || !dpop.keepNonce(root + path, res) || !(await useDPoPNonce(res)))
            return res;
        await res.body?.cancel().catch(() => { });
        return post();
    }
    /** Reads a token response; a login's device token goes to `login.deviceToken`. */
    async function readTokens(res, previous, login) {
        const body = (await res.json());
        if (typeof body.access_token !== 'string' || !body.access_token) {
            throw new RotorError(res.status, 'invalid_response', 'token response lacks access_token');
        }
        const tokens = { accessToken: body.access_token };
        if (typeof body.token_type === 'string' && body.token_type)
            tokens.tokenType = body.token_type;
        if (typeof body.refresh_token === 'string')
            tokens.refreshToken = body.refresh_token;
        const csrf = typeof body.csrf_token === 'string' ? body.csrf_token : previous?.csrfToken;
        if (csrf)
            tokens.csrfToken = csrf;
        if (typeof body.expires_in === 'number')
            tokens.accessExpiresAt = now() + body.expires_in * 1000;
        if (login && typeof body.device_token === 'string' && body.device_token)
            login.deviceToken = body.device_token;
        if (!cookie && !tokens.refreshToken) {
            throw new RotorError(res.status, 'invalid_response', 'token response lacks refresh_token');
        }
        return tokens;
    }
    /**
     * The retry ticket of a refresh answered 503, by the refresh token it was
     * for ('' in the cookie transport): the next refresh with that token sends
     * it, so a rotation the server applied late is collected, not taken for theft.
     */
    const tickets = new Map();
    /** Calls /auth/refresh with `current` and stores the new pair. */
    async function exchange(current) {
        if (!cookie && !current.refreshToken)
            return endSession(new SessionEndedError('no refresh token stored'));
        const key = cookie ? '' : current.refreshToken;
        const body = cookie ? {} : { refresh_token: key };
        const ticket = tickets.get(key);
        if (ticket)
            body.retry_ticket = ticket;
        let res;
        try {
            res = await postAuth('/auth/refresh', body, current.csrfToken);
        }
        catch (err) {
            // The answer never came. A bound session's server answers the same
            // token with a fresh proof by its key with the same successor, so one
            // retry at once is safe; a bearer session waits for the next call
            // (after the grace window its retry would be taken for reuse).
            if (!bound(current))
                throw err;
            res = await postAuth('/auth/refresh', body, current.csrfToken);
        }
        if (res.status !== 503)
            tickets.delete(key);
        if (res.ok) {
            const tokens = await readTokens(res, current);
            await storage.save(tokens);
            options.onRefresh?.(tokens);
            return tokens;
        }
        const err = await readError(res);
        if (res.status === 503 && err.retryTicket)
            tickets.set(key, err.retryTicket);
        // A nonce that went stale between the two tries refuses nothing: the next call tries again.
        if (err.code === 'use_dpop_nonce')
            throw err;
        if (res.status === 400 || res.status === 401 || res.status === 403) {
            return endSession(new SessionEndedError(`${err.code || res.status}: ${err.description}`, res.status, err.code));
        }
        throw err;
    }
    async function endSession(err) {
        await storage.clear();
        options.onSessionEnded?.(err);
        throw err;
    }
    /**
     * Returns the tokens that replace the pair whose access token is
     * `stale`. One refresh per stale token in this tab; under the cross-tab
     * lock the storage is read again, so a tab whose tokens another tab
     * already rotated takes those instead of refreshing.
     */
    function refreshFrom(stale) {
        let flight = inflight.get(stale);
        if (!flight) {
            flight = coordinator
                .run(async () => {
                const current = await storage.load();
                if (!current)
                    throw new SessionEndedError('no tokens stored');
                if (current.accessToken !== stale)
                    return current;
                return exchange(current);
            })
                .finally(() => inflight.delete(stale));
            inflight.set(stale, flight);
        }
        return flight;
    }
    function expiresWithin(tokens, marginMs) {
        const exp = accessExpiry(tokens.accessToken) ?? tokens.accessExpiresAt;
        return exp !== undefined && now() + marginMs >= exp;
    }
    /** Reads a login's (or an MFA verify's) answer: stores the tokens and the device token. */
    async function finishLogin(username, res) {
        if (!res.ok)
            throw await readError(res, username);
        const issued = {};
        const tokens = await readTokens(res, undefined, issued);
        await storage.save(tokens);
        if (devices && username && issued.deviceToken)
            await devices.set(username, issued.deviceToken);
        return tokens;
    }
    const rotorFetch = async (input, init) => {
        const req = toRequest(input, init);
        if (new URL(req.url).origin !== base.origin || req.headers.has('Authorization'))
            return send(req);
        let tokens = await storage.load();
        if (!tokens)
            return send(req); // not logged in: protected routes answer 401 to the caller
        const margin = options.refreshBeforeMs ?? 0;
        if (margin > 0 && expiresWithin(tokens, margin)) {
            try {
                tokens = await refreshFrom(tokens.accessToken);
            }
            catch (err) {
                // A refused token ends the session; a failed call leaves the
                // still-valid token in use and the 401 path to try again.
                if (err instanceof SessionEndedError)
                    throw err;
            }
        }
        // Cloned before the first send consumes the body, so the retry sends
        // exactly the same bytes.
        const spare = req.clone();
        const first = await authorized(req, tokens);
        // A step-up refusal is the caller's to see: a refresh would change nothing.
        // So is a wrong current password (enrolTotp, changeEmail): the token was
        // good, and a retry would count the same wrong password twice.
        if (first.status !== 401 || stepUpRequired(first) || (await wrongPassword(first)))
            return first;
        await first.body?.cancel().catch(() => { });
        const fresh = await refreshFrom(tokens.accessToken);
        return authorized(spare, fresh);
    };
    /** An authenticated JSON call to the API; a refusal rejects with a {@link RotorError}. */
    async function call(path, method, body) {
        const headers = { Accept: 'application/json' };
        const init = { method, headers, credentials: cookie ? 'include' : 'same-origin' };
        if (body !== undefined) {
            headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
        const res = await rotorFetch(root + path, init);
        if (!res.ok)
            throw await readError(res);
        return res;
    }
    /** The browser's WebAuthn JSON support (WebAuthn Level 3), or a refusal. */
    function webauthn() {
        const json = globalThis.PublicKeyCredential;
        const credentials = options.credentials ?? globalThis.navigator?.credentials;
        if (!json?.parseCreationOptionsFromJSON || !json.parseRequestOptionsFromJSON || !credentials) {
            throw new RotorError(0, 'passkeys_unsupported', 'this browser cannot use passkeys (WebAuthn JSON forms)');
        }
        return { json, credentials };
    }
    return Object.assign(rotorFetch, {
        async registerPasskey(name = '', currentPassword) {
            const { json, credentials } = webauthn();
            const res = await call('/auth/passkeys/register/options', 'POST', currentPassword ? { current_password: currentPassword } : {});
            const publicKey = json.parseCreationOptionsFromJSON(await res.json());
            const credential = (await credentials.create({ publicKey }));
            if (!credential)
                throw new RotorError(0, 'passkey_cancelled', 'no passkey was created');
            const added = await call('/auth/passkeys/register', 'POST', { credential: credential.toJSON(), name });
            return (await added.json());
        },
        async loginWithPasskey(o = {}) {
            const { json, credentials } = webauthn();
            const opts = await postAuth('/auth/passkeys/login/options', {});
            if (!opts.ok)
                throw await readError(opts);
            const publicKey = json.parseRequestOptionsFromJSON(await opts.json());
            const credential = (await credentials.get({ publicKey, mediation: o.mediation, signal: o.signal }));
            if (!credential)
                throw new RotorError(0, 'passkey_cancelled', 'no passkey was chosen');
            const res = await postAuth('/auth/passkeys/login', { credential: credential.toJSON() });
            if (!res.ok)
                throw await readError(res);
            const tokens = await readTokens(res);
            await storage.save(tokens);
            return tokens;
        },
        async listPasskeys() {
            const res = await call('/auth/passkeys', 'GET');
            return (await res.json()).passkeys;
        },
        async renamePasskey(id, name) {
            await call(`/auth/passkeys/${encodeURIComponent(id)}`, 'PATCH', { name });
        },
        async removePasskey(id, currentPassword) {
            await call(`/auth/passkeys/${encodeURIComponent(id)}`, 'DELETE', currentPassword ? { current_password: currentPassword } : {});
        },
        async signup(username, password, email) {
            const res = await postAuth('/auth/signup', email === undefined ? { username, password } : { username, password, email });
            if (!res.ok)
                throw await readError(res);
            return (await res.json());
        },
        async verifyEmail(token) {
            await expectOk(await postAuth('/auth/email/verify', { token }));
        },
        async resendVerification() {
            await expectOk(await rotorFetch(root + '/auth/email/verify/resend', jsonPost({})));
        },
        async changeEmail(currentPassword, newEmail) {
            await expectOk(await rotorFetch(root + '/auth/email', jsonPost({ current_password: currentPassword, email: newEmail })));
        },
        async forgotPassword(account) {
            await expectOk(await postAuth('/auth/password/forgot', account));
        },
        async resetPassword(token, newPassword) {
            await expectOk(await postAuth('/auth/password/reset', { token, new_password: newPassword }));
        },
        async login(username, password) {
            const body = { username, password };
            const device = await devices?.get(username);
            if (device)
                body.device_token = device;
            return finishLogin(username, await postAuth('/auth/login', body));
        },
        async verifyMfaWithPasskey(challenge, o = {}) {
            const { json, credentials } = webauthn();
            const body = { mfa_token: challenge.mfaToken };
            // Both calls carry the device token the login sent (the mfa_token is bound to it).
            const device = challenge.username ? await devices?.get(challenge.username) : undefined;
            if (device)
                body.device_token = device;
            const opts = await postAuth('/auth/mfa/passkey/options', body);
            if (!opts.ok)
                throw await readError(opts);
            const publicKey = json.parseRequestOptionsFromJSON(await opts.json());
            const credential = (await credentials.get({ publicKey, signal: o.signal }));
            if (!credential)
                throw new RotorError(0, 'passkey_cancelled', 'no passkey was chosen');
            return finishLogin(challenge.username, await postAuth('/auth/mfa/verify', { ...body, credential: credential.toJSON() }));
        },
        async verifyMfa(challenge, factor) {
            const body = { mfa_token: challenge.mfaToken };
            if ('code' in factor)
                body.code = factor.code;
            else
                body.recovery_code = factor.recoveryCode;
            // The mfa_token is bound to the device token the login sent (the body
            // transport's, from `devices`; the cookie transport's rides in its cookie).
            const device = challenge.username ? await devices?.get(challenge.username) : undefined;
            if (device)
                body.device_token = device;
            return finishLogin(challenge.username, await postAuth('/auth/mfa/verify', body));
        },
        async enrolTotp(currentPassword) {
            const body = currentPassword === undefined ? {} : { current_password: currentPassword };
            const res = await rotorFetch(root + '/auth/mfa/totp', jsonPost(body));
            if (!res.ok)
                throw await readError(res);
            const got = (await res.json());
            if (typeof got.secret !== 'string' || typeof got.otpauth_uri !== 'string' || !got.otpauth_uri.startsWith('otpauth://totp/')) {
                throw new RotorError(res.status, 'invalid_response', 'enrolment answer lacks secret or otpauth_uri');
            }
            return { secret: got.secret, otpauthUri: got.otpauth_uri };
        },
        async confirmTotp(code) {
            return readRecoveryCodes(await rotorFetch(root + '/auth/mfa/totp/confirm', jsonPost({ code })));
        },
        async regenerateRecoveryCodes(code) {
            return readRecoveryCodes(await rotorFetch(root + '/auth/mfa/recovery-codes', jsonPost({ code })));
        },
        async removeTotp(proof) {
            const body = 'code' in proof ? { code: proof.code } : { recovery_code: proof.recoveryCode };
            await expectOk(await rotorFetch(root + '/auth/mfa/totp', { ...jsonPost(body), method: 'DELETE' }));
        },
        async logout() {
            const current = await storage.load();
            if (!current)
                return;
            await storage.clear();
            const res = await postAuth('/auth/logout', cookie ? {} : { refresh_token: current.refreshToken }, current.csrfToken);
            await res.body?.cancel().catch(() => { });
            // 401: the session had already ended, which is what was asked for.
            if (!res.ok && res.status !== 401)
                throw await readError(res);
        },
        async refresh() {
            const current = await storage.load();
            if (!current)
                throw new SessionEndedError('no tokens stored');
            return refreshFrom(current.accessToken);
        },
        async dpopKeyPair() {
            return dpop ? dpop.keyPair() : null;
        },
        close() {
            coordinator.close();
        },
    });
}
/**
 * Signs DPoP proofs with the key pair in `keys` (made, non-extractable, on
 * first use) and keeps the latest server nonce per origin.
 */
function dpopSigner(keys) {
    let pair;
    const nonces = new Map();
    const keyPair = () => (pair ??= (async () => {
        const stored = await keys.load();
        if (stored)
            return stored;
        // Only the public half is extractable (the proof embeds it as a JWK).
        return keys.add(await generateKeyPair('ES256', { extractable: false }));
    })().catch((err) => {
        pair = undefined;
        throw err;
    }));
    return {
        keyPair,
        /** A proof for `method` at `url` (htu without query and fragment), with `ath` when `accessToken` is given. */
        async proof(method, url, accessToken) {
            const htu = new URL(url);
            const nonce = nonces.get(htu.origin);
            htu.search = '';
            htu.hash = '';
            return generateProof(await keyPair(), htu.href, method, nonce, accessToken);
        },
        /** Keeps the DPoP-Nonce `res` carries, if any (a server may send one with any answer); reports whether it did. */
        keepNonce(url, res) {
            const nonce = res.headers.get('DPoP-Nonce');
            if (!nonce)
                return false;
            nonces.set(new URL(url).origin, nonce);
            return true;
        },
    };
}
/**
 * Whether `res` asks for a proof with the server's nonce: 400
 * `use_dpop_nonce` from a token endpoint, or 401 with `WWW-Authenticate:
 * DPoP error="use_dpop_nonce"` from a resource (RFC 9449 §8, §9). Reads a
 * clone.
 */
async function useDPoPNonce(res) {
    if (res.status === 401)
        return (res.headers.get('WWW-Authenticate') ?? '').includes('error="use_dpop_nonce"');
    if (res.status !== 400)
        return false;
    try {
        return (await res.clone().json()).error === 'use_dpop_nonce';
    }
    catch {
        return false;
    }
}
/** Whether a 401 is the API's `invalid_credentials` (a wrong current password), read from a clone. */
async function wrongPassword(res) {
    if (!(res.headers.get('Content-Type') ?? '').includes('json'))
        return false;
    try {
        const body = (await res.clone().json());
        return body.error === 'invalid_credentials';
    }
    catch {
        return false;
    }
}
/** A JSON POST for the bearer calls, which go through the wrapped fetch. */
function jsonPost(body) {
    return { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) };
}
/** Reads a `{"recovery_codes": [...]}` answer, or rejects with its {@link RotorError}. */
async function readRecoveryCodes(res) {
    if (!res.ok)
        throw await readError(res);
    const got = (await res.json());
    const codes = got.recovery_codes;
    if (!Array.isArray(codes) || codes.length === 0 || !codes.every((c) => typeof c === 'string')) {
        throw new RotorError(res.status, 'invalid_response', 'answer lacks recovery_codes');
    }
    return codes;
}
/** Resolves for a 2xx answer (its body discarded), rejects with its {@link RotorError} otherwise. */
async function expectOk(res) {
    if (!res.ok)
        throw await readError(res);
    await res.body?.cancel().catch(() => { });
}
/**
 * Reads the token of a mail's link from a URL fragment such as
 * `#token=rtp_...` (`location.hash`). Rotor's links carry their token in
 * the fragment, which browsers send in no request and no `Referer`; a page
 * should remove it from the address bar once read (`history.replaceState`).
 */
export function linkToken(hash = globalThis.location?.hash ?? '') {
    const token = new URLSearchParams(hash.replace(/^#/, '')).get('token');
    return token || undefined;
}
async function readError(res, username = '') {
    let code = '';
    let description = '';
    let ticket;
    try {
        const body = (await res.json());
        if (typeof body.error === 'string')
            code = body.error;
        if (typeof body.error_description === 'string')
            description = body.error_description;
        if (typeof body.retry_ticket === 'string')
            ticket = body.retry_ticket;
        if (res.status === 403 && code === 'mfa_required' && typeof body.mfa_token === 'string' && body.mfa_token) {
            const methods = Array.isArray(body.mfa_methods) ? body.mfa_methods.filter((m) => typeof m === 'string') : [];
            return new MfaRequiredError(description, body.mfa_token, methods, username);
        }
    }
    catch {
        // Not the API's error shape: the status alone tells what happened.
    }
    const retryAfter = Number(res.headers.get('Retry-After'));
    return new RotorError(res.status, code, description, retryAfter > 0 ? retryAfter : undefined, ticket);
}
function isAbsolute(url) {
    try {
        new URL(url);
        return true;
    }
    catch {
        return false;
    }
}
/**
 * Reads the `exp` claim of a JWT, unverified, in ms since the epoch. The
 * client holds no keys and needs none: exp only decides when to refresh
 * early, and the server checks every token.
 */
export function accessExpiry(jwt) {
    const parts = jwt.split('.');
    if (parts.length !== 3)
        return undefined;
    try {
        const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
        const claims = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
        return typeof claims.exp === 'number' && claims.exp > 0 ? claims.exp * 1000 : undefined;
    }
    catch {
        return undefined;
    }
}
function makeCoordinator(options, storage, now) {
    const locks = options.locks === undefined ? defaultLocks() : options.locks;
    if (locks) {
        const name = options.lockName ?? 'rotor-refresh';
        return { run: (fn) => locks.request(name, () => fn()), close() { } };
    }
    // Without Web Locks: refreshes in this tab run one after another, and
    // other tabs hear about them on a BroadcastChannel.
    let queue = Promise.resolve();
    const serial = (fn) => {
        const result = queue.then(fn, fn);
        queue = result.catch(() => { });
        return result;
    };
    const channelName = options.channelName === undefined ? 'rotor-refresh' : options.channelName;
    if (channelName === null || typeof BroadcastChannel === 'undefined') {
        return { run: serial, close() { } };
    }
    const waitMs = options.peerWaitMs ?? 5000;
    const channel = new BroadcastChannel(channelName);
    channel.unref?.(); // never keep a Node process alive
    let peerBusyUntil = 0;
    let waiters = [];
    const wakeAll = () => {
        const w = waiters;
        waiters = [];
        w.forEach((f) => f());
    };
    channel.onmessage = (ev) => {
        const type = ev.data?.type;
        if (type === 'refresh-start')
            peerBusyUntil = now() + waitMs;
        if (type === 'refresh-done') {
            peerBusyUntil = 0;
            wakeAll();
        }
    };
    const unsubscribe = storage.subscribe?.(wakeAll);
    const waitForPeer = () => new Promise((resolve) => {
        const timer = setTimeout(done, Math.max(0, peerBusyUntil - now()));
        function done() {
            clearTimeout(timer);
            resolve();
        }
        waiters.push(done);
    });
    return {
        run: (fn) => serial(async () => {
            if (peerBusyUntil > now())
                await waitForPeer();
            channel.postMessage({ type: 'refresh-start' });
            try {
                return await fn();
            }
            finally {
                channel.postMessage({ type: 'refresh-done' });
            }
        }),
        close() {
            unsubscribe?.();
            channel.close();
            wakeAll();
        },
    };
}
function defaultLocks() {
    const nav = globalThis.navigator;
    return nav?.locks ?? null;
}
