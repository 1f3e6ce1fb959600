package mac_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/mac"
)

// TestRetiredKeysNeverMAC, as the holder of a key two normal rotations
// retired: the keyring still derives from it (factor keys), but a tag it
// made verifies under no label, and the ring never tags with it.
func TestRetiredKeysNeverMAC(t *testing.T) {
	retired := key(1)
	old, _ := mac.NewKeyring(retired)
	ring, _ := mac.NewKeyring(key(3), key(2))
	ring, err := ring.WithRetired(retired)
	if err != nil || ring.Retired() != 1 {
		t.Fatalf("WithRetired: %d retired, %v", ring.Retired(), err)
	}
	parts := [][]byte{[]byte("sid"), []byte("secret")}
	for _, label := range []string{"refresh", "device", "onetime", "mfa token"} {
		if ring.Verify(label, old.Sum(label, parts...), parts...) || ring.Verify(label, old.Sum(label, parts...)[:16], parts...) {
			t.Fatalf("a tag of a retired key verified (label %q)", label)
		}
		if bytes.Equal(ring.Sum(label, parts...), old.Sum(label, parts...)) {
			t.Fatalf("the ring tags with its retired key (label %q)", label)
		}
	}
	if ring.Fingerprint("username", "x") == old.Fingerprint("username", "x") {
		t.Fatal("the ring fingerprints with its retired key")
	}
	// It derives: the retired key's derived key is last, and DeriveID finds it.
	want := old.Derive("seal")[0]
	d := ring.Derive("seal")
	if len(d) != 3 || d[2].ID != want.ID || !bytes.Equal(d[2].Key, want.Key) {
		t.Fatalf("Derive: %d keys, want current, previous, retired", len(d))
	}
	got, ok := ring.DeriveID("seal", want.ID)
	if !ok || !bytes.Equal(got.Key, want.Key) {
		t.Fatal("DeriveID does not find the retired key")
	}
	if _, ok := ring.DeriveID("seal", "00000000"); ok {
		t.Fatal("DeriveID found a key id the ring does not hold")
	}
	if _, ok := (mac.Keyring{}).DeriveID("seal", want.ID); ok {
		t.Fatal("the zero keyring derived a key")
	}
	// A key given twice, or also current or previous, is kept once.
	twice, _ := ring.WithRetired(retired, retired, key(2), key(3))
	if twice.Retired() != 1 {
		t.Fatalf("%d retired keys, want 1", twice.Retired())
	}
	if _, err := ring.WithRetired(key(4)[:31]); !errors.Is(err, mac.ErrShortKey) {
		t.Fatalf("a short retired key: %v", err)
	}
}

// TestParseSecret: a bare key (every secret before retired keys, and what
// the template generates) reads as a key with nothing retired; the JSON a
// rotation writes reads back; a malformed one is refused, never read as a
// bare key.
func TestParseSecret(t *testing.T) {
	k, r1, r2 := strings.Repeat("k", 64), strings.Repeat("r", 64), strings.Repeat("s", 40)
	s, err := mac.ParseSecret(k)
	if err != nil || string(s.Key) != k || len(s.Retired) != 0 || s.Value() != k {
		t.Fatalf("bare key: %+v, %v", s, err)
	}
	in := mac.Secret{Key: []byte(k), Retired: [][]byte{[]byte(r1), []byte(r2)}}
	s, err = mac.ParseSecret(in.Value())
	if err != nil || string(s.Key) != k || len(s.Retired) != 2 || string(s.Retired[0]) != r1 || string(s.Retired[1]) != r2 {
		t.Fatalf("round trip of %s: %+v, %v", in.Value(), s, err)
	}
	if key, err := mac.Parse(in.Value()); err != nil || string(key) != k {
		t.Fatalf("Parse of a secret with retired keys: %q, %v", key, err)
	}
	tooMany := make([]string, mac.MaxRetired+1)
	for i := range tooMany {
		tooMany[i] = `"` + r1 + `"`
	}
	for name, bad := range map[string]string{
		"not JSON":         `{` + k,
		"no key":           `{"retired":["` + r1 + `"]}`,
		"short key":        `{"key":"short"}`,
		"short retired":    `{"key":"` + k + `","retired":["short"]}`,
		"unknown field":    `{"key":"` + k + `","previous":"` + r1 + `"}`,
		"two objects":      `{"key":"` + k + `"}{"key":"` + r1 + `"}`,
		"retired not list": `{"key":"` + k + `","retired":"` + r1 + `"}`,
		"too many retired": `{"key":"` + k + `","retired":[` + strings.Join(tooMany, ",") + `]}`,
	} {
		if _, err := mac.ParseSecret(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestFetchRetired, on Secrets Manager (moto): the keyring of a secret
// whose versions carry retired keys derives from those of both versions
// and verifies only with the current and previous keys.
func TestFetchRetired(t *testing.T) {
	ctx := testenv.Context(t)
	sm := testenv.SecretsManager(t)
	id := testenv.Name(t, "mac")
	k1, k2, k3, k0 := strings.Repeat("1", 64), strings.Repeat("2", 64), strings.Repeat("3", 64), strings.Repeat("0", 64)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(mac.Secret{Key: []byte(k2), Retired: [][]byte{[]byte(k0)}}.Value())}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(mac.Secret{Key: []byte(k3), Retired: [][]byte{[]byte(k1)}}.Value())}); err != nil {
		t.Fatal(err)
	}
	ring, err := mac.Fetch(ctx, sm, id)
	if err != nil {
		t.Fatal(err)
	}
	if ring.Retired() != 2 || len(ring.Derive("x")) != 4 {
		t.Fatalf("%d retired, %d derived keys; want 2 and 4", ring.Retired(), len(ring.Derive("x")))
	}
	for _, k := range []string{k0, k1} {
		r, _ := mac.NewKeyring([]byte(k))
		if _, ok := ring.DeriveID("x", r.Derive("x")[0].ID); !ok {
			t.Fatal("a retired key does not derive")
		}
		if ring.Verify("refresh", r.Sum("refresh", []byte("t")), []byte("t")) {
			t.Fatal("a retired key's tag verifies")
		}
	}
	prev, _ := mac.NewKeyring([]byte(k2))
	if !ring.Verify("refresh", prev.Sum("refresh", []byte("t")), []byte("t")) {
		t.Fatal("the previous key's tag no longer verifies")
	}
}

// FuzzParseSecret: any secret value parses or is refused without a panic; a
// parsed one holds keys of at least MinKeyLen, and writes back to a value
// that parses to the same keys.
func FuzzParseSecret(f *testing.F) {
	f.Add(strings.Repeat("k", 64))
	f.Add(`{"key":"` + strings.Repeat("k", 64) + `","retired":["` + strings.Repeat("r", 64) + `"]}`)
	f.Add(`{"key":""}`)
	f.Fuzz(func(t *testing.T, v string) {
		s, err := mac.ParseSecret(v)
		if err != nil {
			return
		}
		if len(s.Key) < mac.MinKeyLen || len(s.Retired) > mac.MaxRetired {
			t.Fatalf("parsed a key of %d bytes, %d retired", len(s.Key), len(s.Retired))
		}
		for _, r := range s.Retired {
			if len(r) < mac.MinKeyLen {
				t.Fatalf("parsed a retired key of %d bytes", len(r))
			}
		}
		back, err := mac.ParseSecret(s.Value())
		if err != nil || !bytes.Equal(back.Key, s.Key) || len(back.Retired) != len(s.Retired) {
			t.Fatalf("%q: written back as %q: %v", v, s.Value(), err)
		}
	})
}
