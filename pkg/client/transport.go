package client

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

// DefaultRefreshTimeout bounds one call to /auth/refresh when
// Transport.RefreshTimeout is zero.
const DefaultRefreshTimeout = 30 * time.Second

// Transport is an http.RoundTripper that authenticates requests to a Rotor
// API with the access token in Store. When the API answers 401 it
// exchanges the refresh token for a new pair once, however many requests
// failed at the same moment, saves the pair in Store and retries each
// request once with the new access token.
//
// Requests to other origins than BaseURL, and requests that already carry
// an Authorization header, are passed to Base untouched, so the tokens
// never leak to another host (for example after a redirect).
//
// A Transport must not be copied after first use. Its fields must not be
// changed while it is in use.
type Transport struct {
	// BaseURL is the API's root, including any stage prefix, such as
	// "https://abc.execute-api.eu-west-1.amazonaws.com/Prod". The refresh
	// endpoint is BaseURL + "/auth/refresh". Required.
	BaseURL string
	// Store holds the current token pair. Required.
	Store TokenStore
	// Devices, when set, keeps the device token each Login returns and
	// sends it on the next Login as the same username, so this client's
	// logins are throttled apart from strangers guessing the password.
	Devices DeviceStore
	// DPoPKey, when set, binds the session to this key (DPoP, RFC 9449):
	// login, the second step, refresh and logout each carry a proof signed
	// with it, and when the server answers token_type "DPoP" every request
	// through the transport sends "Authorization: DPoP <access token>"
	// and a proof of its method and URL with the token's hash. A copy of
	// such tokens is useless without the key. Use a P-256 *ecdsa.PrivateKey
	// (ES256, which every server with DPoP accepts) or any crypto.Signer
	// pkg/dpop signs with; a program that keeps its tokens across runs
	// (FileStore) must keep the key too, since a bound session refuses
	// every other key. A server nonce (use_dpop_nonce) is fetched and the
	// call retried once, the latest nonce kept per origin. A refresh whose
	// answer never came is retried at once with the same refresh token and
	// a fresh proof: the server answers a bound session's owner with the
	// same successor, however long the answer was lost.
	DPoPKey crypto.Signer
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// RefreshBefore, when positive, refreshes before sending a request
	// whose access token expires within this margin, saving the round trip
	// of a 401. The expiry is read from the token's exp claim, unverified.
	RefreshBefore time.Duration
	// RefreshTimeout bounds one call to /auth/refresh; zero means
	// DefaultRefreshTimeout. The refresh is shared by every waiting
	// request, so it is not cancelled with the request that started it: a
	// rotated pair that nobody saved would end the session.
	RefreshTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnSessionEnded, when set, is called once each time the server
	// refuses the refresh token, after Store was cleared and before any
	// request waiting on that refresh returns ErrSessionEnded: the place to
	// send the user back to a login screen. Those requests wait for it, so
	// it should return promptly.
	OnSessionEnded func(err error)

	mu       sync.Mutex
	inflight map[string]*refreshCall // keyed by the refresh token being exchanged
	// tickets holds the retry_ticket of a refresh answered 503, by the
	// refresh token it was for: the next refresh with that token sends it,
	// so a rotation the server applied late is collected, not taken for theft.
	tickets map[string]string
	refused *refreshCall      // the last exchange the server refused
	stale   string            // the refresh token refused was exchanging
	nonces  map[string]string // the latest DPoP-Nonce, by origin
}

var _ http.RoundTripper = (*Transport)(nil)

// refreshCall is one exchange of a refresh token, shared by every request
// that found that token stale.
type refreshCall struct {
	done   chan struct{}
	tokens Tokens
	err    error
}

// Client returns an *http.Client that sends its requests through t.
func (t *Transport) Client() *http.Client {
	return &http.Client{Transport: t}
}

// RoundTrip sends req with the current access token and, on a 401,
// refreshes and retries it once; a 401 insufficient_user_authentication
// (StepUpRequired) is returned as it is. It returns an error matching
// ErrSessionEnded when the server refuses the refresh token, and
// ErrBodyNotReplayable when the retry would need a body req cannot give
// again.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base, err := url.Parse(t.BaseURL)
	if err != nil || base.Host == "" {
		closeBody(req)
		return nil, fmt.Errorf("client: invalid BaseURL %q", t.BaseURL)
	}
	if !sameOrigin(req.URL, base) || req.Header.Get("Authorization") != "" {
		return t.base().RoundTrip(req)
	}
	ctx := req.Context()
	tok, err := t.Store.Load(ctx)
	if errors.Is(err, ErrNoTokens) {
		// Not logged in: public routes still work through this transport;
		// protected ones answer 401 to the caller.
		return t.base().RoundTrip(req)
	}
	if err != nil {
		closeBody(req)
		return nil, err
	}

	if t.RefreshBefore > 0 && t.expiresWithin(tok, t.RefreshBefore) {
		fresh, err := t.refresh(ctx, tok)
		switch {
		case err == nil:
			tok = fresh
		case errors.Is(err, ErrSessionEnded), ctx.Err() != nil:
			closeBody(req)
			return nil, err
		default:
			// The token is still valid for a while; the 401 path will try
			// again if it runs out.
		}
	}

	resp, err := t.send(req, req.Body, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || tok.RefreshToken == "" || StepUpRequired(resp) {
		// A step-up refusal is the caller's to see: a refresh keeps the
		// session's methods, so it would only cost a rotation.
		return resp, err
	}
	discard(resp)

	fresh, err := t.refresh(ctx, tok)
	if err != nil {
		return nil, err
	}
	body, err := replayBody(req)
	if err != nil {
		return nil, err
	}
	return t.send(req, body, fresh)
}

// send sends a copy of req with body and tok's access token: as a bearer
// token, or for a DPoP-bound pair with a proof of this request, retried
// once with the server's nonce when the answer asks for one.
func (t *Transport) send(req *http.Request, body io.ReadCloser, tok Tokens) (*http.Response, error) {
	withProof := tok.bound() && t.DPoPKey != nil
	for attempt := 0; ; attempt++ {
		r := req.Clone(req.Context())
		r.Body = body
		if withProof {
			p, err := t.proof(r.Method, r.URL, tok.AccessToken)
			if err != nil {
				closeBody(r)
				return nil, err
			}
			r.Header.Set("Authorization", TokenTypeDPoP+" "+tok.AccessToken)
			r.Header.Set(dpop.HeaderName, p)
		} else {
			r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		}
		resp, err := t.base().RoundTrip(r)
		if err != nil || !withProof {
			return resp, err
		}
		if !t.keepNonce(r.URL, resp) || attempt > 0 || !useDPoPNonce(resp) {
			return resp, nil
		}
		discard(resp)
		if body, err = replayBody(req); err != nil {
			return nil, err
		}
	}
}

// refresh returns the pair that replaces the one whose refresh token is
// stale. Only the first caller for a given stale token calls the server;
// the others wait for its answer. A caller whose stale token was already
// replaced gets the stored pair without any call, so a request that failed
// just after a refresh finished does not start a second one.
func (t *Transport) refresh(ctx context.Context, old Tokens) (Tokens, error) {
	stale := old.RefreshToken
	t.mu.Lock()
	c, ok := t.inflight[stale]
	if !ok && t.refused != nil && t.stale == stale {
		// That token was just refused: a request whose 401 came late gets
		// the server's answer too, after OnSessionEnded, not a second call.
		c, ok = t.refused, true
	}
	if !ok {
		cur, err := t.Store.Load(ctx)
		switch {
		case errors.Is(err, ErrNoTokens) || (err == nil && cur.RefreshToken == ""):
			t.mu.Unlock()
			return Tokens{}, &SessionEndedError{Description: "no tokens stored"}
		case err != nil:
			t.mu.Unlock()
			return Tokens{}, err
		case cur.RefreshToken != stale:
			t.mu.Unlock()
			return cur, nil
		}
		c = &refreshCall{done: make(chan struct{})}
		if t.inflight == nil {
			t.inflight = make(map[string]*refreshCall)
		}
		t.inflight[stale] = c
		go t.run(context.WithoutCancel(ctx), old, c)
	}
	t.mu.Unlock()

	select {
	case <-c.done:
		return c.tokens, c.err
	case <-ctx.Done():
		return Tokens{}, ctx.Err()
	}
}

// run performs c and publishes its result. The call leaves the in-flight
// map only after the new pair is saved, so a later caller with the same
// stale token finds the new pair in the store; a refused call stays as
// t.refused, so a later caller with that token gets the same refusal.
func (t *Transport) run(ctx context.Context, old Tokens, c *refreshCall) {
	stale := old.RefreshToken
	c.tokens, c.err = t.exchange(ctx, old)
	t.mu.Lock()
	delete(t.inflight, stale)
	if errors.Is(c.err, ErrSessionEnded) {
		t.refused, t.stale = c, stale
	}
	t.mu.Unlock()
	// The callback runs before the waiting requests are released: an
	// application that reacts to their ErrSessionEnded (say, by showing the
	// login screen) finds the session already marked ended.
	if errors.Is(c.err, ErrSessionEnded) && t.OnSessionEnded != nil {
		t.OnSessionEnded(c.err)
	}
	close(c.done)
}

// exchange calls /auth/refresh with old's refresh token and saves the new
// pair, or clears the store when the server refuses the token.
func (t *Transport) exchange(ctx context.Context, old Tokens) (Tokens, error) {
	refreshToken := old.RefreshToken
	timeout := t.RefreshTimeout
	if timeout <= 0 {
		timeout = DefaultRefreshTimeout
	}

	body := map[string]string{"refresh_token": refreshToken}
	t.mu.Lock()
	if ticket := t.tickets[refreshToken]; ticket != "" {
		body["retry_ticket"] = ticket
	}
	t.mu.Unlock()
	parent := ctx
	var resp *http.Response
	var err error
	for attempt := 0; ; attempt++ {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, timeout)
		defer cancel()
		resp, err = t.postToken(ctx, "/auth/refresh", body)
		// The answer was lost (connection cut, timeout): each attempt has
		// its own timeout. For a DPoP-bound session the server answers its
		// key's retry with the same successor, so retrying at once is safe;
		// a bearer session's retry after the grace window would be taken
		// for reuse, so it waits for the next request instead.
		if err == nil || attempt > 0 || !old.bound() || t.DPoPKey == nil || parent.Err() != nil {
			break
		}
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("client: refresh: %w", err)
	}
	defer discard(resp)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.mu.Lock()
		delete(t.tickets, refreshToken)
		t.mu.Unlock()
	}
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable:
		apiErr, ticket := decodeRetryable(resp)
		if ticket != "" {
			t.mu.Lock()
			if t.tickets == nil {
				t.tickets = make(map[string]string)
			}
			t.tickets[refreshToken] = ticket
			t.mu.Unlock()
		}
		return Tokens{}, fmt.Errorf("client: refresh: %w", apiErr)
	case resp.StatusCode == http.StatusOK:
		tok, err := decodeTokens(resp, t.now())
		if err != nil {
			return Tokens{}, fmt.Errorf("client: refresh: %w", err)
		}
		if err := t.Store.Save(ctx, tok); err != nil {
			return Tokens{}, fmt.Errorf("client: refresh: %w", err)
		}
		return tok, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest:
		apiErr := decodeAPIError(resp)
		if apiErr.Code == "use_dpop_nonce" {
			// A nonce that went stale between the two tries: the session
			// is not refused, the next request tries again.
			return Tokens{}, fmt.Errorf("client: refresh: %w", apiErr)
		}
		ended := &SessionEndedError{StatusCode: apiErr.StatusCode, Code: apiErr.Code, Description: apiErr.Description}
		if err := t.Store.Clear(ctx); err != nil {
			return Tokens{}, errors.Join(ended, err)
		}
		return Tokens{}, ended
	default:
		return Tokens{}, fmt.Errorf("client: refresh: %w", decodeAPIError(resp))
	}
}

// expiresWithin reports whether tok's access token expires within margin.
// A token whose expiry is unknown is assumed valid.
func (t *Transport) expiresWithin(tok Tokens, margin time.Duration) bool {
	exp, ok := accessExpiry(tok.AccessToken)
	if !ok {
		exp = tok.AccessExpiresAt
	}
	if exp.IsZero() {
		return false
	}
	return !t.now().Add(margin).Before(exp)
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// endpoint joins BaseURL and an API path such as "/auth/login".
func (t *Transport) endpoint(path string) string {
	return strings.TrimRight(t.BaseURL, "/") + path
}

// replayBody returns a fresh copy of req's body for a retry.
func replayBody(req *http.Request) (io.ReadCloser, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req.Body, nil
	}
	if req.GetBody == nil {
		return nil, fmt.Errorf("%w: %s %s", ErrBodyNotReplayable, req.Method, req.URL.Redacted())
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("client: replay body of %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	return body, nil
}

func sameOrigin(u, base *url.URL) bool {
	return strings.EqualFold(u.Scheme, base.Scheme) && strings.EqualFold(u.Host, base.Host)
}

// closeBody honours the RoundTripper rule that the request body is closed
// even when RoundTrip fails before sending.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// discard reads a little of resp's body, so the connection can be reused,
// and closes it.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
