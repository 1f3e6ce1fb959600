package totp_test

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/totp"
)

// rfcSecret is RFC 6238 Appendix B's SHA-1 key, "12345678901234567890".
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

// TestRFC6238Vectors: the SHA-1 vectors of RFC 6238 Appendix B (their last
// six digits: Rotor's codes are six digits long), each matched at its own
// time step by the injected clock, and at the steps either side (±1 step of
// skew), never two steps away.
func TestRFC6238Vectors(t *testing.T) {
	vectors := []struct {
		unix int64
		code string // the RFC's 8-digit value's last 6 digits
	}{
		{59, "287082"},          // 94287082
		{1111111109, "081804"},  // 07081804
		{1111111111, "050471"},  // 14050471
		{1234567890, "005924"},  // 89005924
		{2000000000, "279037"},  // 69279037
		{20000000000, "353130"}, // 65353130
	}
	for _, v := range vectors {
		at := time.Unix(v.unix, 0).UTC()
		got, err := totp.Code(rfcSecret, at)
		if err != nil || got != v.code {
			t.Fatalf("code at %d: %q, %v; want %s", v.unix, got, err, v.code)
		}
		for _, d := range []time.Duration{0, -totp.Period, totp.Period} {
			step, ok := totp.Match(rfcSecret, v.code, at.Add(d))
			if !ok || step != totp.Step(at) {
				t.Fatalf("match at %d%+v: step %d, %v; want step %d", v.unix, d, step, ok, totp.Step(at))
			}
		}
		for _, d := range []time.Duration{-2 * totp.Period, 2 * totp.Period} {
			if v.unix < 120 {
				continue // two steps before 59 s is before 1970
			}
			if _, ok := totp.Match(rfcSecret, v.code, at.Add(d)); ok {
				t.Fatalf("the code of %d matched two steps away (%v)", v.unix, d)
			}
		}
	}
}

func TestMatchRefusesMalformed(t *testing.T) {
	at := time.Unix(59, 0)
	for _, code := range []string{"", "28708", "2870822", "28708a", " 287082", "２８７０８２", "-28708"} {
		if _, ok := totp.Match(rfcSecret, code, at); ok {
			t.Fatalf("malformed code %q matched", code)
		}
	}
}

func TestNewKey(t *testing.T) {
	k, err := totp.NewKey("Rotor Demo", "alice@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(k.Secret)
	if err != nil || len(raw) != totp.SecretSize {
		t.Fatalf("secret %q: %d bytes, %v", k.Secret, len(raw), err)
	}
	u, err := url.Parse(k.URI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || q.Get("secret") != k.Secret || q.Get("issuer") != "Rotor Demo" ||
		q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" || !strings.Contains(u.Path, "alice@example.com") {
		t.Fatalf("uri %q", k.URI)
	}
	other, _ := totp.NewKey("Rotor Demo", "alice@example.com", nil)
	if other.Secret == k.Secret {
		t.Fatal("two keys share a secret")
	}
}

// FuzzMatch: no code and no stored secret panics the check; only six
// digits ever match.
func FuzzMatch(f *testing.F) {
	f.Add(rfcSecret, "287082", int64(59))
	f.Add("not base32!", "000000", int64(0))
	f.Add("", "", int64(-1))
	f.Fuzz(func(t *testing.T, secret, code string, unix int64) {
		if _, ok := totp.Match(secret, code, time.Unix(unix%(1<<40), 0)); ok && totp.CheckCode(code) != nil {
			t.Fatalf("%q matched", code)
		}
	})
}
