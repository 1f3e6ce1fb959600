package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/mail"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	"github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// stores makes a fresh outbox of each kind, for the tests that must hold on
// every store.
var stores = []struct {
	name string
	make func(t *testing.T) storetest.OutboxStore
}{
	{"memory", func(*testing.T) storetest.OutboxStore { return memory.New() }},
	{"dynamodb", func(t *testing.T) storetest.OutboxStore { st, _ := testenv.DynamoStore(t); return st }},
	{"postgres", func(t *testing.T) storetest.OutboxStore {
		return postgres.New(testenv.PostgresPool(t, testenv.PostgresSchema(t)))
	}},
	{"redis", func(t *testing.T) storetest.OutboxStore {
		return redis.New(testenv.RedisClient(t, testenv.RedisURL(t)), testenv.RedisNamespace(t))
	}},
}

// minter stands for the account flows' token minter.
type minter struct{}

func (minter) MintToken(_ context.Context, m outbox.Message) (string, error) {
	return "rtr_" + string(m.Kind) + "_" + m.TokenID, nil
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// logs collects the sender's JSON log lines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.Write(p) }

// events returns the "event" of every line.
func (l *logs) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["event"] != nil {
			out = append(out, fmt.Sprint(m["event"]))
		}
	}
	return out
}

func (l *logs) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

func count(events []string, e string) int {
	n := 0
	for _, x := range events {
		if x == e {
			n++
		}
	}
	return n
}

func newTemplates(t testing.TB) *mail.Templates {
	t.Helper()
	tpl, err := mail.NewTemplates("Example", "https://app.example.com", "Example <no-reply@example.com>", "")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// newSender returns a sender on st through tr, on clock c.
func newSender(t testing.TB, st outbox.Store, tr mail.Transport, c *clock, l *logs) *mail.Sender {
	return &mail.Sender{
		Outbox: st, Transport: tr, Render: newTemplates(t), Tokens: minter{}, Now: c.Now,
		Log:     slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Backoff: mail.Backoff{Base: 30 * time.Second, Max: 2 * time.Minute, MaxAttempts: 4},
		Lease:   time.Minute,
	}
}

func addMessage(t testing.TB, st storetest.OutboxStore, m outbox.Message) {
	t.Helper()
	if err := st.AddMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// flaky fails its first n sends with err, then sends to the mailbox.
type flaky struct {
	mu   sync.Mutex
	n    int
	err  error
	box  *mail.Mailbox
	seen int
}

func (f *flaky) Send(ctx context.Context, e mail.Email) error {
	f.mu.Lock()
	f.seen++
	fail := f.seen <= f.n
	f.mu.Unlock()
	if fail {
		return f.err
	}
	return f.box.Send(ctx, e)
}

// TestDeliver: the outcomes of one message, by what the transport answers.
func TestDeliver(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fails     int
		err       error
		wantMails int
		wantEvent string
		wantRetry []time.Duration // the retry times after t0, in order
	}{
		{"sent", 0, nil, 1, "mail_sent", nil},
		{"transient, then sent", 2, errors.New("connection reset"), 1, "mail_sent", []time.Duration{30 * time.Second, 90 * time.Second}},
		{"permanent", 1, mail.Permanent(errors.New("550 no such user")), 0, "mail_failed", nil},
		{"too many attempts", 100, errors.New("451 later"), 0, "mail_failed",
			[]time.Duration{30 * time.Second, 90 * time.Second, 210 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memory.New()
			box := &mail.Mailbox{}
			c := &clock{t: t0}
			var l logs
			s := newSender(t, st, &flaky{n: tc.fails, err: tc.err, box: box}, c, &l)
			m := storetest.NewMessage("msg_d", t0)
			addMessage(t, st, m)
			ctx := context.Background()
			if err := s.Deliver(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			var retries []time.Duration
			for range 10 {
				due, err := st.DueMessages(ctx, t0.Add(time.Hour), 10)
				if err != nil || len(due) == 0 {
					break
				}
				retries = append(retries, due[0].NextAt.Sub(t0))
				c.Set(due[0].NextAt)
				if _, err := s.Sweep(ctx, c.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if fmt.Sprint(retries) != fmt.Sprint(tc.wantRetry) {
				t.Errorf("retried at %v; want %v (exponential backoff, capped)", retries, tc.wantRetry)
			}
			mails := box.List("")
			if len(mails) != tc.wantMails {
				t.Fatalf("%d mails; want %d", len(mails), tc.wantMails)
			}
			if ev := l.events(); count(ev, tc.wantEvent) != 1 {
				t.Fatalf("events %v; want one %s", ev, tc.wantEvent)
			}
			if strings.Contains(l.String(), "rtr_") {
				t.Fatalf("a link token reached the log: %s", l.String())
			}
			if tc.wantMails == 1 {
				e := mails[0]
				if e.ID != m.ID || e.To != m.To || !strings.Contains(e.Text, "https://app.example.com/reset-password#token=rtr_password_reset_tok_msg_d") {
					t.Fatalf("mail %+v", e)
				}
			}
			// Done either way: a later delivery sends nothing more.
			c.Set(t0.Add(24 * time.Hour))
			if err := s.Deliver(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			if n, err := s.Sweep(ctx, c.Now()); err != nil || n != 0 {
				t.Fatalf("sweep after the end: %d, %v", n, err)
			}
			if got := len(box.List("")); got != tc.wantMails {
				t.Fatalf("%d mails after a late retry; want %d", got, tc.wantMails)
			}
		})
	}
}

// TestDeliverRetried: a stream delivers the same record twice (at least
// once), or the caller retries: one mail.
func TestDeliverRetried(t *testing.T) {
	st := memory.New()
	box := &mail.Mailbox{}
	var l logs
	s := newSender(t, st, box, &clock{t: t0}, &l)
	addMessage(t, st, storetest.NewMessage("msg_twice", t0))
	for range 3 {
		if err := s.Deliver(context.Background(), "msg_twice"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(box.List("")); n != 1 {
		t.Fatalf("%d mails for one message delivered three times; want 1", n)
	}
}

func storetestMemory() storetest.OutboxStore { return memory.New() }

func mustTemplates(t testing.TB, from string) *mail.Templates {
	t.Helper()
	tpl, err := mail.NewTemplates("Example", "https://app.example.com", from, "")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// TestSweepStopsBeforeTheDeadline: a sweep whose function is about to time
// out starts no send (a send cut off before its mark is a duplicate later);
// the next sweep delivers.
func TestSweepStopsBeforeTheDeadline(t *testing.T) {
	st := memory.New()
	box := &mail.Mailbox{}
	var l logs
	s := newSender(t, st, box, &clock{t: t0}, &l)
	addMessage(t, st, storetest.NewMessage("msg_late", t0))
	ctx, cancel := context.WithTimeout(context.Background(), mail.SweepMargin/2)
	defer cancel()
	if _, err := s.Sweep(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if n := len(box.List("")); n != 0 {
		t.Fatalf("%d mails sent with less than the margin left", n)
	}
	if _, err := s.Sweep(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	if n := len(box.List("")); n != 1 {
		t.Fatalf("%d mails after a sweep with time; want 1", n)
	}
}
