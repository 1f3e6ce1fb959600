package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/admin"
	"github.com/rotor-auth/rotor/pkg/device"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

// fetched is a mac.Source that reads the secret at every call: a function
// whose keyring cache has just expired.
type fetched struct {
	sm *secretsmanager.Client
	id string
}

func (f fetched) Keyring(ctx context.Context) (mac.Keyring, error) { return mac.Fetch(ctx, f.sm, f.id) }

// TestMACEmergencyRotation, on Secrets Manager (moto), as the holder of a
// leaked MAC key: the runbook's old remedy (put a new value) and a normal
// rotation leave the leaked key as AWSPREVIOUS, which still verifies, so its
// holder keeps forging refresh tokens (forged revocations by public sid) and
// device tokens (a fresh guessing budget per forged nonce for any
// username). rotor keys rotate --mac --emergency retires it: a fresh read of
// the keyring refuses every refresh token and device token it tagged, a
// warm function's cache does so within ROTOR_KEY_CACHE_TTL, which the CLI
// states, and new tokens work.
func TestMACEmergencyRotation(t *testing.T) {
	ctx := testenv.Context(t)
	sm := testenv.SecretsManager(t)
	id := testenv.Name(t, "mac")
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(strings.Repeat("k", 64))}); err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	owner := storetest.Owner(t, st, "alice")
	now := time.Now()
	m := &sessions.Manager{Store: st, MAC: fetched{sm, id}, IdleTTL: time.Hour, MaxTTL: 24 * time.Hour}
	leaked, err := mac.Fetch(ctx, sm, id) // what the attacker holds
	if err != nil {
		t.Fatal(err)
	}
	deviceToken, err := device.Issue(leaked, "alice", owner.Epoch, now, nil) // forged at will
	if err != nil {
		t.Fatal(err)
	}
	iss, err := m.Start(ctx, owner, sessions.Meta{}, now)
	if err != nil {
		t.Fatal(err)
	}
	refresh := iss.RefreshToken

	w := newWorld(t, st)
	w.admin.Secrets, w.admin.MACSecretID, w.admin.KeyCacheTTL = sm, id, 5*time.Minute

	// A normal rotation: the old key still verifies (nobody is logged out).
	r, err := w.admin.RotateMAC(ctx, false)
	if err != nil || r.Emergency || len(r.RetiredVersions) != 0 {
		t.Fatalf("normal rotation: %+v, %v", r, err)
	}
	ring, err := mac.Fetch(ctx, sm, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := device.Check(ring, "alice", deviceToken); err != nil {
		t.Fatalf("after a normal rotation, a device token of the previous key: %v, want accepted", err)
	}
	next, err := m.Rotate(ctx, refresh, "", now.Add(time.Minute))
	if err != nil {
		t.Fatalf("after a normal rotation, a refresh token of the previous key: %v, want accepted", err)
	}
	refresh = next.RefreshToken // tagged with the key now current: the one that leaks next
	leaked = ring
	deviceToken, _ = device.Issue(leaked, "alice", owner.Epoch, now, nil)

	// A warm function read the keyring just before the emergency.
	clock := now
	warm := &mac.Cache{TTL: w.admin.KeyCacheTTL, Now: func() time.Time { return clock }, Fetch: fetched{sm, id}.Keyring}
	if _, err := warm.Keyring(ctx); err != nil {
		t.Fatal(err)
	}

	cw := &cliWorld{world: w}
	code, out, stderr := cw.run([]string{"keys", "rotate", "--mac", "--emergency", "--yes"}, false, "")
	if code != admin.ExitOK {
		t.Fatalf("keys rotate --mac --emergency: exit %d %s", code, stderr)
	}
	if !strings.Contains(out, "5m0s") || !strings.Contains(out, "logs in again") || !strings.Contains(out, "rotor users mfa reset") {
		t.Fatalf("the CLI does not state the bound and the price (sessions, second factors): %q", out)
	}
	ring, err = mac.Fetch(ctx, sm, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := device.Check(ring, "alice", deviceToken); !errors.Is(err, device.ErrForged) {
		t.Fatalf("after the emergency, a device token of the leaked key: %v, want ErrForged", err)
	}
	if _, err := m.Rotate(ctx, refresh, "", now.Add(2*time.Minute)); !errors.Is(err, sessions.ErrForged) {
		t.Fatalf("after the emergency, a refresh token of the leaked key: %v, want ErrForged", err)
	}
	if ring.Verify("refresh token", leaked.Sum("refresh token", []byte("x"))[:16], []byte("x")) {
		t.Fatal("the leaked key still verifies a tag of its own")
	}

	// The warm function: until its cache expires it holds the old keyring;
	// after KeyCacheTTL it refuses the leaked key's tokens.
	if _, err := device.Check(mustKeyring(t, warm), "alice", deviceToken); err != nil {
		t.Fatalf("inside the cache lifetime the warm keyring is the old one in this design: %v", err)
	}
	clock = clock.Add(w.admin.KeyCacheTTL + time.Second)
	if _, err := device.Check(mustKeyring(t, warm), "alice", deviceToken); !errors.Is(err, device.ErrForged) {
		t.Fatalf("past ROTOR_KEY_CACHE_TTL, the warm function: %v, want ErrForged", err)
	}

	// What the new key tags works: users log in again.
	fresh, err := m.Start(ctx, owner, sessions.Meta{}, now.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(ctx, fresh.RefreshToken, "", now.Add(4*time.Minute)); err != nil {
		t.Fatalf("a session started after the emergency: %v", err)
	}
	if acts := w.events(t, "admin_action"); len(acts) != 2 || acts[1]["action"] != "mac_rotate" || acts[1]["emergency"] != true {
		t.Fatalf("audit: %v", acts)
	}
	if _, err := (&admin.Admin{Secrets: sm}).RotateMAC(ctx, true); !errors.Is(err, admin.ErrNoMACSecret) {
		t.Fatalf("without a MAC secret: %v", err)
	}
}

func mustKeyring(t *testing.T, src mac.Source) mac.Keyring {
	t.Helper()
	ring, err := src.Keyring(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ring
}
