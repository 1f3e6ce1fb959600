package oauth

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAWSJWTVerify: with an https issuer, aws-jwt-verify verifies Rotor's
// access tokens given the issuer alone (it derives the JWKS URL from it), for
// RSA and EC keys; a token from another Rotor (another key) and the wrong
// audience fail. Node trusts the test certificate through
// NODE_EXTRA_CA_CERTS, as it would a private CA.
func TestAWSJWTVerify(t *testing.T) {
	dir := nodeModules(t)
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			s := start(t, true, alg)
			s.signup("nodejs", "correct horse battery")
			tok := s.token("nodejs", "correct horse battery")["access_token"].(string)
			other := start(t, true, alg)
			other.signup("nodejs", "correct horse battery")
			foreign := other.token("nodejs", "correct horse battery")["access_token"].(string)

			tests := []struct {
				name, audience, token string
				ok                    bool
			}{
				{"Rotor's token", s.cfg.Audience, tok, true},
				{"another issuer's token", s.cfg.Audience, foreign, false},
				{"a forged signature", s.cfg.Audience, forge(t, tok), false},
				{"another audience", "https://other.example.com", tok, false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					cmd := exec.CommandContext(ctx, "node", "verify.mjs", s.url, tc.audience, tc.token)
					cmd.Dir = dir
					cmd.Env = append(cmd.Environ(), "NODE_EXTRA_CA_CERTS="+s.caFile)
					out, err := cmd.Output()
					var got struct {
						OK      bool   `json:"ok"`
						Sub     string `json:"sub"`
						Iss     string `json:"iss"`
						Error   string `json:"error"`
						Message string `json:"message"`
					}
					if jerr := json.Unmarshal(out, &got); jerr != nil {
						t.Fatalf("node output %q (%v): %v", out, err, jerr)
					}
					if got.OK != tc.ok || (err == nil) != tc.ok {
						t.Fatalf("verify: %+v (exit %v); want ok=%v", got, err, tc.ok)
					}
					t.Logf("aws-jwt-verify: %+v", got)
					if tc.ok && (got.Iss != s.url || !strings.HasPrefix(got.Sub, "usr_")) {
						t.Errorf("payload: %+v", got)
					}
				})
			}
		})
	}
}

// forge keeps a token's header and claims and replaces its signature with
// another valid-looking one of the same length.
func forge(t *testing.T, tok string) string {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	sig := []byte(tok[i+1:])
	for j := range sig {
		if sig[j] == 'A' {
			sig[j] = 'B'
		} else {
			sig[j] = 'A'
		}
	}
	return tok[:i+1] + string(sig)
}
