package client_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

// fakeAPI is an in-memory Rotor API speaking the HTTP contract the client
// relies on: login, rolling refresh with a grace window and reuse
// detection, logout, and protected routes that answer 401.
type fakeAPI struct {
	*httptest.Server

	// AccessTTL is the lifetime written in minted access tokens' exp.
	AccessTTL time.Duration
	// Now is the server clock for exp claims.
	Now func() time.Time

	RefreshCalls atomic.Int64 // calls to /auth/refresh
	Unauthorized atomic.Int64 // 401 answers of protected routes

	// DPoP, when set before the first call, checks DPoP proofs as the
	// server does (pkg/dpop's Verifier): a login with a proof binds the
	// session to its key (token_type DPoP); a bound session's refreshes and
	// its access tokens need proofs by that key; a superseded refresh token
	// presented with the key's proof gets the same successor until the
	// successor is used. With DPoP.Nonces set, proofs need the server nonce.
	DPoP          *dpop.Verifier
	NonceRequests atomic.Int64 // use_dpop_nonce answers
	ProofRefusals atomic.Int64 // invalid_dpop_proof answers
	DropRefreshes atomic.Int64 // refresh answers still to be lost (applied, then the connection cut)
	// LostFor is how long each lost answer's outage lasts: the fake's clock
	// for the grace window moves on by it, as if the client's retry came
	// that much later.
	LostFor        time.Duration
	ProofsAccepted atomic.Int64

	mu        sync.Mutex
	seq       int
	users     map[string]string        // username -> password
	access    map[string]string        // valid access token -> username
	refresh   map[string]*refreshState // refresh token -> its state
	rejectAll bool                     // protected routes refuse every token
	echoed    []string                 // bodies received by /echo, in order
	devices   []string                 // device_token of each login, in order ("" for none)
	holdN     int64                    // see HoldRefresh
	hold      chan struct{}            // closed at the holdN-th 401
	mfaUsers  map[string]bool          // usernames with a second factor
	mfaTokens map[string]pendingMFA    // unused mfa_token -> the login it finishes
	mfa       map[string]bool          // access tokens of sessions started with a second factor
	bound     map[string]string        // access token -> the key thumbprint it is bound to
	recovery  map[string]bool          // recovery codes not used yet
	skew      time.Duration            // added to the grace window's clock by lost answers
}

type refreshState struct {
	user       string
	revoked    bool
	replacedAt time.Time
	next       tokenPair // the pair that replaced it
	jkt        string    // the key the session is bound to, "" for bearer
	session    *bool     // shared by a session's tokens: true once revoked
	mfa        bool      // the session was started with a second factor
}

type tokenPair struct {
	Access, Refresh string
}

const graceWindow = 10 * time.Second

func startFakeAPI() *fakeAPI {
	f := &fakeAPI{
		AccessTTL: time.Minute,
		Now:       time.Now,
		users:     map[string]string{"alice": "correct horse battery staple", "carol": "carol's own passphrase", "dana": "dana's second factor"},
		access:    map[string]string{},
		refresh:   map[string]*refreshState{},
		mfaUsers:  map[string]bool{"dana": true},
		mfaTokens: map[string]pendingMFA{},
		mfa:       map[string]bool{},
		bound:     map[string]string{},
		recovery:  map[string]bool{fakeRecoveryCode: true},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/login", f.login)
	mux.HandleFunc("POST /auth/refresh", f.doRefresh)
	mux.HandleFunc("POST /auth/logout", f.logout)
	mux.HandleFunc("POST /auth/mfa/verify", f.verifyMFA)
	// An MFA route: the authorizer's step-up refusal for a token without
	// "mfa" (RFC 9470), as template.yaml's ACCESS_DENIED answers it.
	mux.HandleFunc("POST /payments", f.protected(func(w http.ResponseWriter, r *http.Request, user string) {
		f.mu.Lock()
		mfa := f.mfa[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		f.mu.Unlock()
		if !mfa {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="A multi-factor login is required"`)
			writeError(w, http.StatusUnauthorized, "insufficient_user_authentication", "This route needs a multi-factor login.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"paid_by": user})
	}))
	mux.HandleFunc("GET /me", f.protected(func(w http.ResponseWriter, r *http.Request, user string) {
		writeJSON(w, http.StatusOK, map[string]string{"user_id": "u-" + user, "username": user, "session_id": "s-1"})
	}))
	mux.HandleFunc("/echo", f.protected(func(w http.ResponseWriter, r *http.Request, user string) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.echoed = append(f.echoed, string(b))
		f.mu.Unlock()
		w.Write(b)
	}))
	f.Server = httptest.NewServer(mux)
	return f
}

// HoldRefresh makes /auth/refresh wait until protected routes have answered
// n 401s in all: a barrier that makes n requests find their token stale
// while one refresh is in flight, without sleeping.
func (f *fakeAPI) HoldRefresh(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holdN, f.hold = n, make(chan struct{})
}

// ExpireAccess makes every access token issued so far invalid, as if their
// lifetime ran out.
func (f *fakeAPI) ExpireAccess() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.access)
}

// RevokeSessions ends every session, as an admin or a password change would.
func (f *fakeAPI) RevokeSessions() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.refresh {
		*s.session = true
	}
}

// RejectAll makes protected routes refuse every access token, fresh or not.
func (f *fakeAPI) RejectAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejectAll = true
}

// Echoed returns the bodies /echo received, including refused attempts.
func (f *fakeAPI) Echoed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.echoed...)
}

func (f *fakeAPI) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username, Password string
		DeviceToken        string `json:"device_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "bad JSON")
		return
	}
	if in.Username == "throttled" {
		w.Header().Set("Retry-After", "7")
		writeError(w, http.StatusTooManyRequests, "too_many_attempts", "try again later")
		return
	}
	jkt, ok := f.tokenProof(w, r, "")
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devices = append(f.devices, in.DeviceToken)
	if pw, ok := f.users[in.Username]; !ok || pw != in.Password {
		writeError(w, http.StatusUnauthorized, "invalid_credentials", "invalid username or password")
		return
	}
	if f.mfaUsers[in.Username] {
		f.seq++
		tok := fmt.Sprintf("mfa_fake_%d", f.seq)
		f.mfaTokens[tok] = pendingMFA{user: in.Username, device: in.DeviceToken}
		writeJSON(w, http.StatusForbidden, map[string]any{
			"error": "mfa_required", "error_description": "Enter a code from your authenticator app.",
			"mfa_token": tok, "mfa_methods": []string{"otp", "recovery_code"},
		})
		return
	}
	revoked := false
	p := f.mint(in.Username, &revoked, false, jkt)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":             p.Access,
		"token_type":               tokenType(jkt),
		"expires_in":               int(f.AccessTTL / time.Second),
		"refresh_token":            p.Refresh,
		"refresh_token_expires_in": 14 * 24 * 3600,
		"device_token":             fmt.Sprintf("rtd_fake_%s_%d", in.Username, f.seq),
	})
}

// BoundTo returns the key thumbprint an access token is bound to, "" for a
// bearer token.
func (f *fakeAPI) BoundTo(access string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bound[access]
}

// DevicesSent returns the device_token of every login so far, in order.
func (f *fakeAPI) DevicesSent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.devices...)
}

func (f *fakeAPI) doRefresh(w http.ResponseWriter, r *http.Request) {
	f.RefreshCalls.Add(1)
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.RefreshToken == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
		return
	}
	f.mu.Lock()
	s, ok := f.refresh[in.RefreshToken]
	jkt := ""
	if ok {
		jkt = s.jkt
	}
	f.mu.Unlock()
	var proofJKT string
	if ok {
		// As the server: a bound session's refresh without a proof by its
		// key is refused before anything changes (no rotation, no reuse).
		if proofJKT, ok = f.tokenProof(w, r, jkt); !ok {
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok = f.refresh[in.RefreshToken]
	var answer tokenPair
	switch {
	case !ok || *s.session:
		writeError(w, http.StatusUnauthorized, "invalid_grant", "refresh token is not valid")
		return
	case s.replacedAt.IsZero():
		s.next = f.mint(s.user, s.session, s.mfa, s.jkt)
		s.replacedAt = time.Now().Add(f.skew)
		answer = s.next
	case time.Now().Add(f.skew).Sub(s.replacedAt) < graceWindow:
		answer = s.next
	case s.jkt != "" && proofJKT == s.jkt && f.refresh[s.next.Refresh].replacedAt.IsZero():
		// The owner's retry after a lost answer: the same successor.
		answer = s.next
	default:
		*s.session = true // reuse: the whole session is revoked
		writeError(w, http.StatusUnauthorized, "invalid_grant", "refresh token is not valid")
		return
	}
	if f.DropRefreshes.Add(-1) >= 0 {
		// The answer is lost on its way: the rotation happened, the client
		// never hears of it.
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			f.skew += f.LostFor
			conn.Close()
			return
		}
	}
	writeTokens(w, answer, f.AccessTTL, tokenType(s.jkt))
}

// tokenProof checks the DPoP header of a call to a token endpoint and
// returns the proof's key thumbprint. With jkt set (a bound session) the
// proof is required and must be by that key; otherwise it is optional. A
// refused proof is answered here (400 invalid_dpop_proof, or
// use_dpop_nonce with a nonce) and ok is false.
func (f *fakeAPI) tokenProof(w http.ResponseWriter, r *http.Request, jkt string) (string, bool) {
	header := r.Header.Get(dpop.HeaderName)
	if f.DPoP == nil || (header == "" && jkt == "") {
		return "", true
	}
	p, err := f.DPoP.Verify(r.Context(), header, dpop.Check{Method: r.Method, URL: f.URL + r.URL.Path, JKT: jkt, Now: time.Now()})
	if err != nil {
		f.refuseProof(w, r, err, false)
		return "", false
	}
	f.ProofsAccepted.Add(1)
	return p.JKT, true
}

// refuseProof answers a refused proof as RFC 9449 says: 400 at a token
// endpoint, 401 with WWW-Authenticate at a resource.
func (f *fakeAPI) refuseProof(w http.ResponseWriter, r *http.Request, err error, resource bool) {
	code := "invalid_dpop_proof"
	if errors.Is(err, dpop.ErrUseNonce) {
		code = "use_dpop_nonce"
		f.NonceRequests.Add(1)
		nonce, nerr := f.DPoP.Nonces.Issue(r.Context(), time.Now())
		if nerr != nil {
			writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", nerr.Error())
			return
		}
		w.Header().Set(dpop.NonceHeader, nonce)
	} else {
		f.ProofRefusals.Add(1)
	}
	if resource {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`DPoP error=%q, algs="ES256"`, code))
		writeError(w, http.StatusUnauthorized, code, err.Error())
		return
	}
	writeError(w, http.StatusBadRequest, code, err.Error())
}

func tokenType(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return "Bearer"
}

func (f *fakeAPI) logout(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	json.NewDecoder(r.Body).Decode(&in)
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.refresh[in.RefreshToken]; ok {
		*s.session = true
	}
	w.WriteHeader(http.StatusNoContent)
}

// Revoked reports whether the session of refreshToken is over.
func (f *fakeAPI) Revoked(refreshToken string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.refresh[refreshToken]
	return !ok || *s.session
}

func (f *fakeAPI) protected(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		f.mu.Lock()
		user, valid := f.access[tok]
		jkt := f.bound[tok]
		f.mu.Unlock()
		if valid && jkt != "" {
			// As the authorizer: a bound token needs the DPoP scheme and a
			// proof of this request, with its hash, by its key.
			if scheme != "DPoP" {
				f.refuseProof(w, r, errors.New("a DPoP-bound token sent as a bearer token"), true)
				return
			}
			_, err := f.DPoP.Verify(r.Context(), r.Header.Get(dpop.HeaderName), dpop.Check{Method: r.Method, URL: f.URL + r.URL.Path, AccessToken: tok, JKT: jkt, Now: time.Now()})
			if err != nil {
				f.refuseProof(w, r, err, true)
				return
			}
			f.ProofsAccepted.Add(1)
		} else if scheme != "Bearer" {
			valid = false
		}
		f.mu.Lock()
		valid = valid && ok && !f.rejectAll
		if !valid && f.Unauthorized.Add(1) == f.holdN {
			close(f.hold)
		}
		if !valid {
			// The body is still read, as a real server would, so tests can
			// see what a refused attempt carried.
			if r.URL.Path == "/echo" {
				b, _ := io.ReadAll(r.Body)
				f.echoed = append(f.echoed, string(b))
			}
		}
		f.mu.Unlock()
		if !valid {
			writeError(w, http.StatusUnauthorized, "invalid_token", "access token is missing or invalid")
			return
		}
		h(w, r, user)
	}
}

// mint issues a pair for user in a session, started with a second factor
// when mfa, bound to the key jkt when set; f.mu must be held.
func (f *fakeAPI) mint(user string, session *bool, mfa bool, jkt string) tokenPair {
	f.seq++
	p := tokenPair{
		Access:  fakeJWT(f.Now().Add(f.AccessTTL), f.seq),
		Refresh: fmt.Sprintf("rtr_fake_%d", f.seq),
	}
	f.access[p.Access] = user
	f.mfa[p.Access] = mfa
	if jkt != "" {
		f.bound[p.Access] = jkt
	}
	f.refresh[p.Refresh] = &refreshState{user: user, session: session, mfa: mfa, jkt: jkt}
	return p
}

// The second factors the fake accepts: the app's code, and one recovery
// code that works once.
const (
	fakeOTP          = "246810"
	fakeRecoveryCode = "rc-7f3k-9q2m"
)

// pendingMFA is a login waiting for its second step: the user and the device
// token the login sent.
type pendingMFA struct{ user, device string }

// verifyMFA is POST /auth/mfa/verify: an unused mfa_token and a code (or a
// recovery code) answer as a login does.
func (f *fakeAPI) verifyMFA(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MFAToken     string `json:"mfa_token"`
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
		DeviceToken  string `json:"device_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.MFAToken == "" || (in.Code == "") == (in.RecoveryCode == "") {
		writeError(w, http.StatusBadRequest, "invalid_request", "mfa_token and one of code or recovery_code")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pending, ok := f.mfaTokens[in.MFAToken]
	user := pending.user
	switch {
	case !ok:
		writeError(w, http.StatusUnauthorized, "invalid_grant", "the mfa_token is unknown, used or expired")
		return
	case in.DeviceToken != pending.device:
		// As the server: the mfa_token is bound to the login's device token.
		writeError(w, http.StatusUnauthorized, "invalid_mfa_token", "the mfa_token is of another device")
		return
	case in.Code != "" && in.Code != fakeOTP, in.RecoveryCode != "" && !f.recovery[in.RecoveryCode]:
		writeError(w, http.StatusUnauthorized, "invalid_mfa_code", "wrong code")
		return
	}
	delete(f.mfaTokens, in.MFAToken)
	delete(f.recovery, in.RecoveryCode)
	revoked := false
	p := f.mint(user, &revoked, true, "")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":             p.Access,
		"token_type":               "Bearer",
		"expires_in":               int(f.AccessTTL / time.Second),
		"refresh_token":            p.Refresh,
		"refresh_token_expires_in": 14 * 24 * 3600,
		"device_token":             fmt.Sprintf("rtd_fake_%s_%d", user, f.seq),
	})
}

// fakeJWT builds an unsigned token whose payload has exp, enough for the
// client, which never verifies.
func fakeJWT(exp time.Time, jti int) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"ES256","typ":"at+jwt"}`))
	payload := enc.EncodeToString(fmt.Appendf(nil, `{"sub":"u1","exp":%d,"jti":"%d"}`, exp.Unix(), jti))
	return header + "." + payload + ".c2ln"
}

func writeTokens(w http.ResponseWriter, p tokenPair, ttl time.Duration, tokenType string) {
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":             p.Access,
		"token_type":               tokenType,
		"expires_in":               int(ttl / time.Second),
		"refresh_token":            p.Refresh,
		"refresh_token_expires_in": 14 * 24 * 3600,
	})
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
