package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/descope/virtualwebauthn"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/internal/testpasskey"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/totp"
)

// The passkey ceremonies on DynamoDB (moto), with a virtual authenticator
// as the browser: store round trips and this process's CPU per call (the
// authenticator's own signing is outside the measured calls).
//
//	go test -run '^$' -bench 'BenchmarkPasskey' -benchtime 50x ./pkg/auth

type passkeyBench struct {
	svc    *auth.Service
	trips  *counting
	caller auth.Caller
	auth   virtualwebauthn.Authenticator
	cred   virtualwebauthn.Credential
}

func newPasskeyBench(b *testing.B) *passkeyBench {
	cfg := config.Default()
	trips := &counting{next: http.DefaultTransport}
	aws := testenv.AWSConfig(testenv.MotoURL(b))
	aws.HTTPClient = &http.Client{Transport: trips}
	db := dynamodb.NewFromConfig(aws)
	st := dynamo.New(db, testenv.DynamoTables(b, db))
	m := &passkeyBench{trips: trips}
	m.svc = testapi.Service(b, cfg, testapi.Deps(b, cfg, st, slog.New(slog.DiscardHandler)))
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	m.svc.Now = func() time.Time { return now } // the login stays recent
	ctx := context.Background()
	if _, err := m.svc.Signup(ctx, "bench", alicePW); err != nil {
		b.Fatal(err)
	}
	p, err := m.svc.Login(ctx, "bench", alicePW, "", auth.Client{})
	if err != nil {
		b.Fatal(err)
	}
	m.caller = auth.Caller{UserID: p.UserID, Username: "bench", SessionID: p.SessionID}
	m.auth = virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(p.UserID)})
	m.cred = testpasskey.Credential()
	m.register(b, m.cred)
	m.auth.AddCredential(m.cred)
	return m
}

func (m *passkeyBench) attestation(b *testing.B, cred virtualwebauthn.Credential) json.RawMessage {
	raw, err := m.svc.PasskeyRegistrationOptions(context.Background(), m.caller, "", auth.Client{})
	if err != nil {
		b.Fatal(err)
	}
	o, err := virtualwebauthn.ParseAttestationOptions(string(raw))
	if err != nil {
		b.Fatal(err)
	}
	return json.RawMessage(virtualwebauthn.CreateAttestationResponse(testpasskey.Local, m.auth, cred, *o))
}

func (m *passkeyBench) register(b *testing.B, cred virtualwebauthn.Credential) {
	if _, err := m.svc.RegisterPasskey(context.Background(), m.caller, m.attestation(b, cred), "bench", auth.Client{}); err != nil {
		b.Fatal(err)
	}
}

func (m *passkeyBench) assertion(b *testing.B) json.RawMessage {
	raw, err := m.svc.PasskeyLoginOptions(context.Background(), auth.Client{})
	if err != nil {
		b.Fatal(err)
	}
	o, err := virtualwebauthn.ParseAssertionOptions(string(raw))
	if err != nil {
		b.Fatal(err)
	}
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(testpasskey.Local, m.auth, m.cred, *o))
}

// measure runs op b.N times with prepare outside the timer, and reports
// round trips (all, and those waited for one after another) and CPU per
// op.
func (m *passkeyBench) measure(b *testing.B, prepare func(), op func() error) {
	var trips, seq int64
	var spent time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		prepare()
		before, beforeSeq, t0 := m.trips.n.Load(), m.trips.seq.Load(), cpu(b)
		b.StartTimer()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		spent += cpu(b) - t0
		trips += m.trips.n.Load() - before
		seq += m.trips.seq.Load() - beforeSeq
		b.StartTimer()
	}
	b.ReportMetric(float64(trips)/float64(b.N), "trips/op")
	b.ReportMetric(float64(seq)/float64(b.N), "seq-trips/op")
	b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkPasskeyRegisterOptions: POST /auth/passkeys/register/options
// (session check, the user's passkeys for the exclusion list, the
// challenge record).
func BenchmarkPasskeyRegisterOptions(b *testing.B) {
	m := newPasskeyBench(b)
	m.measure(b, func() {}, func() error {
		_, err := m.svc.PasskeyRegistrationOptions(context.Background(), m.caller, "", auth.Client{})
		return err
	})
}

// BenchmarkPasskeyRegister: POST /auth/passkeys/register (session check,
// the challenge used, attestation verified, the credential and its notice
// in one transaction).
func BenchmarkPasskeyRegister(b *testing.B) {
	m := newPasskeyBench(b)
	var att json.RawMessage
	var last string
	m.measure(b, func() {
		// The last op's passkey goes, outside the measure: an account holds
		// at most auth.MaxPasskeys.
		if last != "" {
			if err := m.svc.Passkeys.RemovePasskey(context.Background(), m.caller.UserID, last); err != nil {
				b.Fatal(err)
			}
		}
		att = m.attestation(b, testpasskey.Credential())
	}, func() error {
		v, err := m.svc.RegisterPasskey(context.Background(), m.caller, att, "bench", auth.Client{})
		last = v.ID
		return err
	})
}

// BenchmarkPasskeyLoginOptions: POST /auth/passkeys/login/options (the
// challenge record).
func BenchmarkPasskeyLoginOptions(b *testing.B) {
	m := newPasskeyBench(b)
	m.measure(b, func() {}, func() error {
		_, err := m.svc.PasskeyLoginOptions(context.Background(), auth.Client{})
		return err
	})
}

// BenchmarkPasskeyLogin: POST /auth/passkeys/login (the challenge used,
// the credential, the user, the signature, the sign count, the session).
func BenchmarkPasskeyLogin(b *testing.B) {
	m := newPasskeyBench(b)
	var a json.RawMessage
	m.measure(b, func() { a = m.assertion(b) }, func() error {
		_, err := m.svc.LoginWithPasskey(context.Background(), a, "", auth.Client{})
		return err
	})
}

// BenchmarkMFAPasskey: a login's second step with a passkey, for a TOTP
// user with one passkey: POST /auth/mfa/passkey/options (the mfa_token's
// record, the user's passkeys, the challenge record) and POST
// /auth/mfa/verify with the assertion (the mfa_token's record, the
// reservation, the challenge used, the credential, user and factor, the
// sign count, the mfa_token used, the session, the release). The first
// step's argon2id and the authenticator's signing are outside.
//
//	go test -run '^$' -bench 'BenchmarkMFAPasskey' -benchtime 50x ./pkg/auth
func BenchmarkMFAPasskey(b *testing.B) {
	for _, step := range []string{"options", "verify"} {
		b.Run(step, func(b *testing.B) {
			m := newPasskeyBench(b)
			ctx := context.Background()
			now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
			m.svc.Now = func() time.Time { return now }
			m.svc.Throttle.MaxFailures = 1 << 20 // measured, not guessed
			e, err := m.svc.EnrolTOTP(ctx, m.caller, "", auth.Client{})
			if err != nil {
				b.Fatal(err)
			}
			code, _ := totp.Code(e.Secret, now)
			if _, err := m.svc.ConfirmTOTP(ctx, m.caller, code, auth.Client{}); err != nil {
				b.Fatal(err)
			}
			var tok string
			var a json.RawMessage
			prepare := func() {
				now = now.Add(time.Minute) // the key's last use is before this mfa_token
				_, err := m.svc.Login(ctx, "bench", alicePW, "", auth.Client{})
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Code != "mfa_required" {
					b.Fatalf("login: %v, want mfa_required", err)
				}
				tok = ae.Fields["mfa_token"]
				if step == "verify" {
					raw, err := m.svc.MFAPasskeyOptions(ctx, tok, "", auth.Client{})
					if err != nil {
						b.Fatal(err)
					}
					o, err := virtualwebauthn.ParseAssertionOptions(string(raw))
					if err != nil {
						b.Fatal(err)
					}
					a = json.RawMessage(virtualwebauthn.CreateAssertionResponse(testpasskey.Local, m.auth, m.cred, *o))
				}
			}
			m.measure(b, prepare, func() error {
				if step == "options" {
					_, err := m.svc.MFAPasskeyOptions(ctx, tok, "", auth.Client{})
					return err
				}
				_, err := m.svc.VerifyMFAWithPasskey(ctx, tok, a, "", auth.Client{})
				return err
			})
		})
	}
}
