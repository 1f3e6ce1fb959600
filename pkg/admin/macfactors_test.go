package admin_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/admin"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/device"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/mfa"
	"github.com/rotor-auth/rotor/pkg/totp"
)

// secondStep logs name in with the password and finishes the login with a
// TOTP code or a recovery code; it returns the second step's error.
func (w *world) secondStep(t *testing.T, name, code, recovery string) error {
	t.Helper()
	ctx := context.Background()
	_, err := w.svc.Login(ctx, name, pw, "", auth.Client{IP: "198.51.100.9"})
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != "mfa_required" {
		t.Fatalf("login of an enrolled user: %v, want mfa_required", err)
	}
	_, err = w.svc.VerifyMFA(ctx, e.Fields["mfa_token"], code, recovery, "", auth.Client{IP: "198.51.100.9"})
	return err
}

// TestMFASurvivesMACRotations, on Secrets Manager (moto) and every store,
// as a user who enrolled and then did not log in through three normal
// `rotor keys rotate --mac`: the factor's TOTP code and recovery codes
// still finish the login (the keys the rotations retired still open the
// sealed secret and match the codes' hashes) — while a refresh token and a
// device token tagged under the now-retired key are refused, since a
// retired key never verifies a MAC. After `--emergency` neither the code
// nor a recovery code works, and the answer is invalid_code (400) with the
// security event mfa_key_gone, not a 500; the operator's way out, rotor
// users mfa reset, lets the user in with the password again.
func TestMFASurvivesMACRotations(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := testenv.Context(t)
		sm := testenv.SecretsManager(t)
		id := testenv.Name(t, "mac")
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(strings.Repeat("k", 64))}); err != nil {
			t.Fatal(err)
		}
		w.svc.MAC, w.svc.Sessions.MAC = fetched{sm, id}, fetched{sm, id}
		w.svc.Log = slog.New(slog.NewJSONHandler(w.log, nil))
		w.admin.Secrets, w.admin.MACSecretID, w.admin.KeyCacheTTL = sm, id, 5*time.Minute

		w.signup(t, "alice")
		first := w.login(t, "alice")
		c := auth.Caller{UserID: first.UserID, Username: "alice", SessionID: first.SessionID}
		e, err := w.svc.EnrolTOTP(ctx, c, "", auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		code := func() string {
			w.now = w.now.Add(time.Minute) // a fresh step: no replay
			s, err := totp.Code(e.Secret, w.now)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		recovery, err := w.svc.ConfirmTOTP(ctx, c, code(), auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		ring0 := mustKeyring(t, fetched{sm, id})
		dev, err := device.Issue(ring0, "alice", 0, w.now, nil)
		if err != nil {
			t.Fatal(err)
		}

		rotate := func(emergency bool, retired int) {
			t.Helper()
			r, err := w.admin.RotateMAC(ctx, emergency)
			if err != nil || r.RetiredKeys != retired {
				t.Fatalf("rotate (emergency %v): %+v, %v; want %d retired keys", emergency, r, err, retired)
			}
		}
		rotate(false, 0)
		rotate(false, 1)
		// Two rotations: the enrolment's key is retired. It verifies no MAC.
		if w.refreshes(t, &first) {
			t.Fatal("a refresh token tagged under a retired key still refreshes")
		}
		if _, err := device.Check(mustKeyring(t, fetched{sm, id}), "alice", dev); err == nil {
			t.Fatal("a device token tagged under a retired key still verifies")
		}
		// It opens the factor: a recovery code (hashed under it) works.
		if err := w.secondStep(t, "alice", "", recovery[0]); err != nil {
			t.Fatalf("a recovery code after two MAC rotations: %v", err)
		}
		rotate(false, 2)
		// Three rotations: the TOTP secret, still sealed under the
		// enrolment's key (a recovery code does not re-seal), opens.
		if err := w.secondStep(t, "alice", code(), ""); err != nil {
			t.Fatalf("a TOTP code after three MAC rotations: %v", err)
		}
		if err := w.secondStep(t, "alice", "", recovery[1]); err != nil {
			t.Fatalf("a recovery code after three MAC rotations: %v", err)
		}
		if err := w.secondStep(t, "alice", "", recovery[1]); err == nil {
			t.Fatal("a used recovery code worked again")
		}
		if n := len(w.events(t, "mfa_key_gone")); n != 0 {
			t.Fatalf("%d mfa_key_gone events after normal rotations", n)
		}

		// The key leaked: the emergency rotation voids every stored factor.
		rotate(true, 0)
		for name, try := range map[string][2]string{"totp": {code(), ""}, "recovery_code": {"", recovery[2]}} {
			err := w.secondStep(t, "alice", try[0], try[1])
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Code != "invalid_code" || ae.Status != http.StatusBadRequest {
				t.Fatalf("%s after an emergency rotation: %v, want 400 invalid_code", name, err)
			}
		}
		gone := w.events(t, "mfa_key_gone")
		if len(gone) != 2 || gone[0]["user_id"] != first.UserID {
			t.Fatalf("mfa_key_gone events: %v, want one per refused step naming the user", gone)
		}
		// The operator's way out.
		if _, err := w.admin.ResetMFA(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		w.login(t, "alice")
	})
}

// TestMACRotationReadsFirst: a normal rotation of a secret it cannot read
// writes nothing (else the keys it would retire were lost), and says so.
func TestMACRotationReadsFirst(t *testing.T) {
	ctx := testenv.Context(t)
	sm := testenv.SecretsManager(t)
	id := testenv.Name(t, "mac")
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(`{"key":"short"}`)}); err != nil {
		t.Fatal(err)
	}
	a := &admin.Admin{Secrets: sm, MACSecretID: id, Caller: "local", Log: discard()}
	if _, err := a.RotateMAC(ctx, false); err == nil || !strings.Contains(err.Error(), "nothing rotated") {
		t.Fatalf("rotation of an unreadable secret: %v", err)
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil || aws.ToString(out.SecretString) != `{"key":"short"}` {
		t.Fatalf("the secret changed: %v", err)
	}
	// The emergency rotation reads nothing: it replaces whatever is there.
	if _, err := a.RotateMAC(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := mac.Fetch(ctx, sm, id); err != nil {
		t.Fatalf("after the emergency rotation: %v", err)
	}
}

// staleReads is Secrets Manager whose reads answer what the secret held
// when it was made: the second of two rotations run at the same instant.
type staleReads struct {
	*secretsmanager.Client
	seen map[string]*secretsmanager.GetSecretValueOutput
}

func (s staleReads) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if out, ok := s.seen[aws.ToString(in.VersionStage)]; ok {
		return out, nil
	}
	return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no such stage")}
}

// TestConcurrentMACRotationsLoseNoKey: two operators rotate the MAC key at
// the same instant (both read the same versions, then both write). The key
// that was current before both, under which the newest factors are sealed,
// must stay in the ring: the later write names it among its retired keys.
func TestConcurrentMACRotationsLoseNoKey(t *testing.T) {
	ctx := testenv.Context(t)
	sm := testenv.SecretsManager(t)
	id := testenv.Name(t, "mac")
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(strings.Repeat("p", 64))}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(strings.Repeat("a", 64))}); err != nil {
		t.Fatal(err)
	}
	before := mustKeyring(t, fetched{sm, id})
	sealed, err := mfa.Seal(before, "usr_a", "JBSWY3DPEHPK3PXP", nil)
	if err != nil {
		t.Fatal(err)
	}
	stale := staleReads{Client: sm, seen: map[string]*secretsmanager.GetSecretValueOutput{}}
	for _, stage := range []string{"AWSCURRENT", "AWSPREVIOUS"} {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)})
		if err != nil {
			t.Fatal(err)
		}
		stale.seen[stage] = out
	}
	first := &admin.Admin{Secrets: sm, MACSecretID: id, Caller: "local", Log: discard()}
	second := &admin.Admin{Secrets: stale, MACSecretID: id, Caller: "local", Log: discard()}
	if _, err := first.RotateMAC(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := second.RotateMAC(ctx, false); err != nil {
		t.Fatal(err)
	}
	if got, err := mfa.Open(mustKeyring(t, fetched{sm, id}), "usr_a", sealed); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("a factor sealed before two simultaneous rotations: %q, %v", got, err)
	}
}
