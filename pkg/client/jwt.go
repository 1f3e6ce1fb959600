package client

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// accessExpiry reads the exp claim of a JWT without verifying it. The
// client holds no keys and needs no trust here: exp only decides when to
// refresh early, and the server still checks every token.
func accessExpiry(jwt string) (time.Time, bool) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 {
		return time.Time{}, false
	}
	sec := int64(exp)
	return time.Unix(sec, int64((exp-float64(sec))*1e9)), true
}
