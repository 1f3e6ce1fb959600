package auth

import (
	"slices"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/passkey"
)

// TestPasskeyAMR: a synced passkey is "swk", a device-bound one "hwk"; a
// user-verified assertion adds "user" and "mfa" (it counts as MFA), one
// without user verification does not.
func TestPasskeyAMR(t *testing.T) {
	for _, tc := range []struct {
		be, uv bool
		want   []string
	}{
		{false, true, []string{"hwk", "user", "mfa"}},
		{true, true, []string{"swk", "user", "mfa"}},
		{false, false, []string{"hwk"}},
		{true, false, []string{"swk"}},
	} {
		if got := passkeyAMR(passkey.Record{BackupEligible: tc.be}, passkey.Assertion{UserVerified: tc.uv}); !slices.Equal(got, tc.want) {
			t.Errorf("backup eligible %v, user verified %v: %v, want %v", tc.be, tc.uv, got, tc.want)
		}
	}
}

// TestMFAPasskeyAMR: a passkey as the second step after a password.
func TestMFAPasskeyAMR(t *testing.T) {
	for _, tc := range []struct {
		be, uv bool
		want   []string
	}{
		{false, true, []string{"pwd", "hwk", "user", "mfa"}},
		{true, true, []string{"pwd", "swk", "user", "mfa"}},
		{false, false, []string{"pwd", "hwk", "mfa"}},
		{true, false, []string{"pwd", "swk", "mfa"}},
	} {
		if got := mfaPasskeyAMR(passkey.Record{BackupEligible: tc.be}, passkey.Assertion{UserVerified: tc.uv}); !slices.Equal(got, tc.want) {
			t.Errorf("backup eligible %v, user verified %v: %v, want %v", tc.be, tc.uv, got, tc.want)
		}
	}
}

func TestPasskeyName(t *testing.T) {
	for in, want := range map[string]string{"": "Passkey", "  laptop ": "laptop", "Ünïcode 🔑": "Ünïcode 🔑"} {
		if got, err := passkeyName(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"tab\there", "bell\a", strings.Repeat("a", MaxPasskeyName+1)} {
		if _, err := passkeyName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
