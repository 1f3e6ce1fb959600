package token

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestWireClaimsAreJWTClaims: the jwt.Claims methods of wireClaims (which
// golang-jwt calls only if a parser validates claims, which Verify's does
// not) report what the JSON says, and nothing for an absent or bad date.
func TestWireClaimsAreJWTClaims(t *testing.T) {
	none := numericDate(math.NaN())
	tests := []struct {
		name, json    string
		exp, nbf, iat *time.Time
		aud           []string
		audErr        bool
	}{
		{"all dates", `{"iss":"i","sub":"s","aud":"a","exp":1900000000,"nbf":1800000000.9,"iat":1800000000}`,
			at(1900000000), at(1800000000), at(1800000000), []string{"a"}, false},
		{"no dates", `{"iss":"i","sub":"s","aud":["a","b"]}`, nil, nil, nil, []string{"a", "b"}, false},
		{"dates out of range", `{"exp":-1,"nbf":9007199254740992,"iat":0,"aud":5}`, nil, nil, at(0), nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := wireClaims{Exp: none, Nbf: none, Iat: none}
			if err := json.Unmarshal([]byte(tc.json), &c); err != nil {
				t.Fatal(err)
			}
			for _, d := range []struct {
				name string
				get  func() (*jwt.NumericDate, error)
				want *time.Time
			}{{"exp", c.GetExpirationTime, tc.exp}, {"nbf", c.GetNotBefore, tc.nbf}, {"iat", c.GetIssuedAt, tc.iat}} {
				got, err := d.get()
				switch {
				case err != nil:
					t.Errorf("%s: %v", d.name, err)
				case d.want == nil && got != nil:
					t.Errorf("%s = %v; want none", d.name, got.Time)
				case d.want != nil && (got == nil || !got.Time.Equal(*d.want)):
					t.Errorf("%s = %v; want %v", d.name, got, *d.want)
				}
			}
			aud, err := c.GetAudience()
			if (err != nil) != tc.audErr || len(aud) != len(tc.aud) {
				t.Errorf("aud = %v, %v; want %v (error %v)", aud, err, tc.aud, tc.audErr)
			}
			for i := range tc.aud {
				if aud[i] != tc.aud[i] {
					t.Errorf("aud = %v; want %v", aud, tc.aud)
				}
			}
			if iss, _ := c.GetIssuer(); iss != c.Iss {
				t.Errorf("iss = %q", iss)
			}
			if sub, _ := c.GetSubject(); sub != c.Sub {
				t.Errorf("sub = %q", sub)
			}
		})
	}
}

func at(sec int64) *time.Time { t := time.Unix(sec, 0); return &t }
