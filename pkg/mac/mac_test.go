package mac_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/mac"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestVerify(t *testing.T) {
	old, _ := mac.NewKeyring(key(1))
	ring, _ := mac.NewKeyring(key(2), key(1))
	stranger, _ := mac.NewKeyring(key(3))
	parts := [][]byte{[]byte("sid"), []byte("secret")}
	tag := ring.Sum("refresh", parts...)
	cases := []struct {
		name  string
		label string
		tag   []byte
		parts [][]byte
		want  bool
	}{
		{"full tag", "refresh", tag, parts, true},
		{"truncated to 16 bytes", "refresh", tag[:16], parts, true},
		{"truncated below 16 bytes", "refresh", tag[:15], parts, false},
		{"tag of the previous key", "refresh", old.Sum("refresh", parts...)[:16], parts, true},
		{"tag of a stranger's key", "refresh", stranger.Sum("refresh", parts...)[:16], parts, false},
		{"another label", "device", tag[:16], parts, false},
		{"parts shifted", "refresh", tag[:16], [][]byte{[]byte("sids"), []byte("ecret")}, false},
		{"flipped bit", "refresh", append([]byte{tag[0] ^ 1}, tag[1:16]...), parts, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ring.Verify(tc.label, tc.tag, tc.parts...); got != tc.want {
				t.Fatalf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
	if old.Verify("refresh", ring.Sum("refresh", parts...)[:16], parts...) {
		t.Fatal("a keyring without the current key verified its tag")
	}
	if _, err := mac.NewKeyring(key(1)[:31]); !errors.Is(err, mac.ErrShortKey) {
		t.Fatalf("short key: %v", err)
	}
	if (mac.Keyring{}).Verify("refresh", tag[:16], parts...) {
		t.Fatal("the zero keyring verified a tag")
	}
}

func TestFingerprint(t *testing.T) {
	ring, _ := mac.NewKeyring(key(2))
	other, _ := mac.NewKeyring(key(3))
	fp := ring.Fingerprint("username", "hunter2hunter2")
	if len(fp) != 16 || fp == other.Fingerprint("username", "hunter2hunter2") || fp != ring.Fingerprint("username", "hunter2hunter2") {
		t.Fatalf("fingerprint %q: not keyed, stable and short", fp)
	}
}

// TestFetch reads a keyring from moto's Secrets Manager: the current version
// tags, the previous still verifies.
func TestFetch(t *testing.T) {
	ctx := testenv.Context(t)
	sm := testenv.SecretsManager(t)
	id := testenv.Name(t, "mac")
	first, second := string(bytes.Repeat([]byte("a"), 40)), string(bytes.Repeat([]byte("b"), 40))
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	ring, err := mac.Fetch(ctx, sm, id)
	if err != nil {
		t.Fatal(err)
	}
	tag := ring.Sum("refresh", []byte("x"))
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(second)}); err != nil {
		t.Fatal(err)
	}
	ring2, err := mac.Fetch(ctx, sm, id)
	if err != nil {
		t.Fatal(err)
	}
	if !ring2.Verify("refresh", tag[:16], []byte("x")) {
		t.Fatal("a tag of the previous version no longer verifies")
	}
	if bytes.Equal(ring2.Sum("refresh", []byte("x")), tag) {
		t.Fatal("the new version does not tag")
	}
}

func TestCacheKeepsLastGood(t *testing.T) {
	now := time.Unix(0, 0)
	ring, _ := mac.Generate(nil)
	calls, fail := 0, false
	c := &mac.Cache{TTL: time.Minute, Now: func() time.Time { return now }, Fetch: func(context.Context) (mac.Keyring, error) {
		calls++
		if fail {
			return mac.Keyring{}, errors.New("secrets manager down")
		}
		return ring, nil
	}}
	ctx := context.Background()
	if _, err := c.Keyring(ctx); err != nil || calls != 1 {
		t.Fatalf("first: %v, %d calls", err, calls)
	}
	if _, _ = c.Keyring(ctx); calls != 1 {
		t.Fatalf("cached read fetched again")
	}
	now, fail = now.Add(2*time.Minute), true
	if _, err := c.Keyring(ctx); err != nil || calls != 2 {
		t.Fatalf("failed re-read: %v, %d calls; want the last good keyring", err, calls)
	}
	empty := &mac.Cache{TTL: time.Minute, Fetch: func(context.Context) (mac.Keyring, error) { return mac.Keyring{}, errors.New("down") }}
	if _, err := empty.Keyring(ctx); err == nil {
		t.Fatal("no keyring yet and the fetch failed, yet no error: must fail closed")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestGenerateAndKeyLength(t *testing.T) {
	if _, err := mac.Generate(failingReader{}); err == nil {
		t.Fatal("Generate without randomness gave a key")
	}
	if _, err := mac.NewKeyring(key(1)); err != nil {
		t.Fatalf("a key of exactly MinKeyLen bytes: %v", err)
	}
	if _, err := mac.NewKeyring(key(1), key(2)[:31]); !errors.Is(err, mac.ErrShortKey) {
		t.Fatalf("a short previous key: %v", err)
	}
	if _, err := mac.Parse(string(key('a')[:31])); !errors.Is(err, mac.ErrShortKey) {
		t.Fatalf("Parse of a short secret: %v", err)
	}
	if _, err := mac.Parse(""); !errors.Is(err, mac.ErrNoKey) {
		t.Fatalf("Parse of an empty secret: %v", err)
	}
}

// TestCacheDefaultRetry: after a failed re-read, the cache tries again 10 s
// later by default, not before.
func TestCacheDefaultRetry(t *testing.T) {
	now := time.Unix(0, 0)
	ring, _ := mac.Generate(nil)
	calls, fail := 0, false
	c := &mac.Cache{TTL: time.Minute, Now: func() time.Time { return now }, Fetch: func(context.Context) (mac.Keyring, error) {
		calls++
		if fail {
			return mac.Keyring{}, errors.New("down")
		}
		return ring, nil
	}}
	ctx := context.Background()
	_, _ = c.Keyring(ctx)
	now, fail = now.Add(2*time.Minute), true
	_, _ = c.Keyring(ctx) // fails, keeps the last good keyring
	now = now.Add(9 * time.Second)
	if _, _ = c.Keyring(ctx); calls != 2 {
		t.Fatalf("%d fetches 9 s after a failure, want none since", calls)
	}
	now = now.Add(2 * time.Second)
	if _, _ = c.Keyring(ctx); calls != 3 {
		t.Fatalf("%d fetches 11 s after a failure, want a retry", calls)
	}
}
