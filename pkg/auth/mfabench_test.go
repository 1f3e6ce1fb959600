package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/totp"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// counting counts the HTTP requests a DynamoDB client sends: one per store
// round trip (a batch or a transaction is one). seq counts those sent while
// no other was in flight: the round trips a flow waits for one after
// another (its latency in round trips), where requests sent at the same
// time count once.
type counting struct {
	next     http.RoundTripper
	n        atomic.Int64
	seq      atomic.Int64
	mu       sync.Mutex
	inflight int
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	c.mu.Lock()
	if c.inflight == 0 {
		c.seq.Add(1)
	}
	c.inflight++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inflight--
		c.mu.Unlock()
	}()
	return c.next.RoundTrip(r)
}

// cpu is the process's user and system CPU time so far.
func cpu(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mfaBench is an enrolled user on DynamoDB (moto), with the service's clock
// in the benchmark's hands.
type mfaBench struct {
	svc    *auth.Service
	trips  *counting
	now    time.Time
	secret string
}

func newMFABench(b *testing.B) *mfaBench {
	cfg := config.Default()
	cfg.LoginMaxFailures = 1 << 20 // the benchmark measures, it does not guess
	trips := &counting{next: http.DefaultTransport}
	aws := testenv.AWSConfig(testenv.MotoURL(b))
	aws.HTTPClient = &http.Client{Transport: trips}
	db := dynamodb.NewFromConfig(aws)
	st := dynamo.New(db, testenv.DynamoTables(b, db))
	m := &mfaBench{trips: trips, now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	m.svc = testapi.Service(b, cfg, testapi.Deps(b, cfg, st, nil))
	m.svc.Now = func() time.Time { return m.now }
	ctx := context.Background()
	if _, err := m.svc.Signup(ctx, "bench", alicePW); err != nil {
		b.Fatal(err)
	}
	p, err := m.svc.Login(ctx, "bench", alicePW, "", auth.Client{})
	if err != nil {
		b.Fatal(err)
	}
	c := auth.Caller{UserID: p.UserID, Username: "bench", SessionID: p.SessionID}
	e, err := m.svc.EnrolTOTP(ctx, c, "", auth.Client{})
	if err != nil {
		b.Fatal(err)
	}
	m.secret = e.Secret
	if _, err := m.svc.ConfirmTOTP(ctx, c, m.code(b), auth.Client{}); err != nil {
		b.Fatal(err)
	}
	return m
}

func (m *mfaBench) code(b *testing.B) string {
	code, err := totp.Code(m.secret, m.now)
	if err != nil {
		b.Fatal(err)
	}
	return code
}

// login runs a login's first step and returns its mfa_token.
func (m *mfaBench) login(b *testing.B) string {
	_, err := m.svc.Login(context.Background(), "bench", alicePW, "", auth.Client{})
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != "mfa_required" {
		b.Fatalf("login: %v, want mfa_required", err)
	}
	return e.Fields["mfa_token"]
}

// BenchmarkVerifyMFA measures a login's second step (POST /auth/mfa/verify
// with a TOTP code) on DynamoDB: store round trips and this process's CPU
// per verify (the reservation, the mfa_token record, the user and the
// factor, the one transaction, the session, the release), without the
// first step's argon2id. ns/op includes moto's latency; cpu-ns/op is
// Rotor's own work.
//
//	go test -run '^$' -bench BenchmarkVerifyMFA -benchtime 50x ./pkg/auth
func BenchmarkVerifyMFA(b *testing.B) {
	m := newMFABench(b)
	ctx := context.Background()
	var trips int64
	var spent time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		m.now = m.now.Add(totp.Period) // a fresh step: a code works once
		tok := m.login(b)
		code := m.code(b)
		before, t0 := m.trips.n.Load(), cpu(b)
		b.StartTimer()
		if _, err := m.svc.VerifyMFA(ctx, tok, code, "", "", auth.Client{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		spent += cpu(b) - t0
		trips += m.trips.n.Load() - before
		b.StartTimer()
	}
	b.ReportMetric(float64(trips)/float64(b.N), "trips/op")
	b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkLoginMFARequired measures the first step of an enrolled user's
// login: the store round trips (the factor is read while argon2id runs) and
// CPU, argon2id included.
//
//	go test -run '^$' -bench BenchmarkLoginMFARequired -benchtime 20x ./pkg/auth
func BenchmarkLoginMFARequired(b *testing.B) {
	m := newMFABench(b)
	var trips int64
	var spent time.Duration
	b.ResetTimer()
	for range b.N {
		before, t0 := m.trips.n.Load(), cpu(b)
		m.login(b)
		spent += cpu(b) - t0
		trips += m.trips.n.Load() - before
	}
	b.ReportMetric(float64(trips)/float64(b.N), "trips/op")
	b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkEnrolTOTP measures a TOTP enrolment as a user makes it (POST
// /auth/mfa/totp on a recent login, then /auth/mfa/totp/confirm with a code:
// the factor sealed, ten recovery codes hashed, the notice written): store
// round trips and this process's CPU per enrolment. Each op is a new user,
// signed up and logged in outside the measure (argon2id is the login's).
//
//	go test -run '^$' -bench BenchmarkEnrolTOTP -benchtime 20x ./pkg/auth
func BenchmarkEnrolTOTP(b *testing.B) {
	m := newMFABench(b)
	ctx := context.Background()
	var trips int64
	var spent time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		name := fmt.Sprintf("enrol%d", i)
		if _, err := m.svc.Signup(ctx, name, alicePW); err != nil {
			b.Fatal(err)
		}
		p, err := m.svc.Login(ctx, name, alicePW, "", auth.Client{})
		if err != nil {
			b.Fatal(err)
		}
		c := auth.Caller{UserID: p.UserID, Username: name, SessionID: p.SessionID}
		before, t0 := m.trips.n.Load(), cpu(b)
		b.StartTimer()
		e, err := m.svc.EnrolTOTP(ctx, c, "", auth.Client{})
		if err != nil {
			b.Fatal(err)
		}
		code, err := totp.Code(e.Secret, m.now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.svc.ConfirmTOTP(ctx, c, code, auth.Client{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		spent += cpu(b) - t0
		trips += m.trips.n.Load() - before
		b.StartTimer()
	}
	b.ReportMetric(float64(trips)/float64(b.N), "trips/op")
	b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
