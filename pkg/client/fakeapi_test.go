package client_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
	recovery  map[string]bool          // recovery codes not used yet
}

type refreshState struct {
	user       string
	revoked    bool
	replacedAt time.Time
	next       tokenPair // the pair that replaced it
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
	p := f.mint(in.Username, &revoked, false)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":             p.Access,
		"token_type":               "Bearer",
		"expires_in":               int(f.AccessTTL / time.Second),
		"refresh_token":            p.Refresh,
		"refresh_token_expires_in": 14 * 24 * 3600,
		"device_token":             fmt.Sprintf("rtd_fake_%s_%d", in.Username, f.seq),
	})
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
	defer f.mu.Unlock()
	s, ok := f.refresh[in.RefreshToken]
	switch {
	case !ok || *s.session:
		writeError(w, http.StatusUnauthorized, "invalid_grant", "refresh token is not valid")
	case s.replacedAt.IsZero():
		s.next = f.mint(s.user, s.session, s.mfa)
		s.replacedAt = time.Now()
		writeTokens(w, s.next, f.AccessTTL)
	case time.Since(s.replacedAt) < graceWindow:
		writeTokens(w, s.next, f.AccessTTL)
	default:
		*s.session = true // reuse: the whole session is revoked
		writeError(w, http.StatusUnauthorized, "invalid_grant", "refresh token is not valid")
	}
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
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		user, valid := f.access[tok]
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
// when mfa; f.mu must be held.
func (f *fakeAPI) mint(user string, session *bool, mfa bool) tokenPair {
	f.seq++
	p := tokenPair{
		Access:  fakeJWT(f.Now().Add(f.AccessTTL), f.seq),
		Refresh: fmt.Sprintf("rtr_fake_%d", f.seq),
	}
	f.access[p.Access] = user
	f.mfa[p.Access] = mfa
	f.refresh[p.Refresh] = &refreshState{user: user, session: session, mfa: mfa}
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
	p := f.mint(user, &revoked, true)
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

func writeTokens(w http.ResponseWriter, p tokenPair, ttl time.Duration) {
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":             p.Access,
		"token_type":               "Bearer",
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
