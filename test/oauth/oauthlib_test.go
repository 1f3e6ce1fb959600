package oauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
)

// TestRequestsOAuthlib runs requests-oauthlib's fetch_token and automatic
// refresh (test/oauth/oauthlib_client.py) against Rotor behind TLS, trusting
// the test certificate the way requests does (REQUESTS_CA_BUNDLE): oauthlib
// refuses plain http unless told otherwise, as it should.
func TestRequestsOAuthlib(t *testing.T) {
	py := python(t)
	s := start(t, true, "ES256")
	s.signup("pythonista", "correct horse battery")
	out := run(t, root(), []string{"REQUESTS_CA_BUNDLE=" + s.caFile}, py, filepath.Join("test", "oauth", "oauthlib_client.py"), s.url, "pythonista", "correct horse battery")
	var got struct {
		User               string `json:"user"`
		Refreshed          int    `json:"refreshed"`
		FirstRefreshToken  string `json:"first_refresh_token"`
		SecondRefreshToken string `json:"second_refresh_token"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	if got.User != "pythonista" || got.Refreshed != 1 {
		t.Fatalf("client: %+v", got)
	}
	// Rotation happened on the server: the second token works, the
	// first is superseded (inside the grace window it replays the same
	// answer; the session is intact).
	st, body := s.post("/oauth/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {got.SecondRefreshToken}}.Encode())
	if st != http.StatusOK {
		t.Fatalf("refresh with the client's latest token: %d %v", st, body)
	}
}
