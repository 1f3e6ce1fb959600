package client

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestAccessExpiry(t *testing.T) {
	enc := func(payload string) string {
		return "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
	}
	tests := []struct {
		name   string
		jwt    string
		want   time.Time
		wantOK bool
	}{
		{"integer exp", enc(`{"exp":1700000000}`), time.Unix(1700000000, 0), true},
		{"fractional exp", enc(`{"exp":1700000000.5}`), time.Unix(1700000000, 5e8), true},
		{"padded payload", "h." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1700000000}`)) + ".s", time.Unix(1700000000, 0), true},
		{"no exp", enc(`{"sub":"u1"}`), time.Time{}, false},
		{"not a JWT", "opaque-token", time.Time{}, false},
		{"payload not base64", "h.!!!.s", time.Time{}, false},
		{"payload not JSON", enc(`exp`), time.Time{}, false},
		{"exp not a number", enc(`{"exp":"soon"}`), time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := accessExpiry(tc.jwt)
			if ok != tc.wantOK || !got.Equal(tc.want) {
				t.Errorf("accessExpiry = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
