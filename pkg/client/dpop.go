package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

// TokenTypeDPoP is the token_type of a pair bound to the client's DPoP key
// (RFC 9449 §5): its access token goes in "Authorization: DPoP", each
// request with a proof.
const TokenTypeDPoP = "DPoP"

// bound reports whether tok was issued bound to a DPoP key.
func (tok Tokens) bound() bool { return strings.EqualFold(tok.TokenType, TokenTypeDPoP) }

// proof signs a DPoP proof with t.DPoPKey for a request to target (the
// query is not part of htu), with ath when accessToken is set and the
// latest nonce target's origin gave. Each proof has a fresh jti, so a retry
// never replays one.
func (t *Transport) proof(method string, target *url.URL, accessToken string) (string, error) {
	t.mu.Lock()
	nonce := t.nonces[origin(target)]
	t.mu.Unlock()
	return dpop.NewProof(t.DPoPKey, dpop.Request{
		Method:      method,
		URL:         target.String(),
		AccessToken: accessToken,
		Nonce:       nonce,
		Now:         t.now(),
	})
}

// keepNonce keeps the DPoP-Nonce an answer from target's origin carries (a
// server may send a new one with any answer, RFC 9449 §8.2) and reports
// whether there was one.
func (t *Transport) keepNonce(target *url.URL, resp *http.Response) bool {
	nonce := resp.Header.Get(dpop.NonceHeader)
	if nonce == "" {
		return false
	}
	t.mu.Lock()
	if t.nonces == nil {
		t.nonces = make(map[string]string)
	}
	t.nonces[origin(target)] = nonce
	t.mu.Unlock()
	return true
}

// useDPoPNonce reports whether resp asks for a proof with the server's
// nonce: 400 {"error":"use_dpop_nonce"} from a token endpoint (RFC 9449
// §8), or 401 with WWW-Authenticate: DPoP error="use_dpop_nonce" from a
// resource (§9). The body read is put back.
func useDPoPNonce(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`)
	case http.StatusBadRequest:
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		var body struct {
			Error string `json:"error"`
		}
		return json.Unmarshal(raw, &body) == nil && body.Error == "use_dpop_nonce"
	}
	return false
}

// origin is the scheme and host of u, the scope of a server nonce.
func origin(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}
