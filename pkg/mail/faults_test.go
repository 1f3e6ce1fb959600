package mail_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/rotor-auth/rotor/pkg/mail"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

// dying is a store on which the process "dies" right after the transport
// sent: the mark never reaches the store.
type dying struct {
	outbox.Store
	mu   sync.Mutex
	dies int // marks to lose
}

var errDied = errors.New("test: the process died between send and mark")

func (d *dying) MarkSent(ctx context.Context, id string, leaseUntil, now time.Time) error {
	d.mu.Lock()
	die := d.dies > 0
	d.dies--
	d.mu.Unlock()
	if die {
		return errDied
	}
	return d.Store.MarkSent(ctx, id, leaseUntil, now)
}

// TestKilledBetweenSendAndMark, on every store: a sender that dies after
// the send and before the mark leaves the message leased. Retries of the
// hand-off (the stream's) and sweeps while the lease holds send nothing;
// the first sweep after it ends sends it again: one duplicate per such
// crash, never more, and the only way to one.
func TestKilledBetweenSendAndMark(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			st := sc.make(t)
			box := &mail.Mailbox{}
			c := &clock{t: t0}
			var l logs
			crashing := newSender(t, &dying{Store: st, dies: 1}, box, c, &l)
			addMessage(t, st, storetest.NewMessage("msg_crash", t0))
			ctx := context.Background()
			if err := crashing.Deliver(ctx, "msg_crash"); !errors.Is(err, errDied) {
				t.Fatalf("deliver: %v; want the crash", err)
			}
			if n := len(box.List("")); n != 1 {
				t.Fatalf("%d mails sent before the crash", n)
			}
			// A fresh sender (the next invocation) retries at once and
			// sweeps during the lease: nothing more is sent.
			s := newSender(t, st, box, c, &l)
			c.Set(t0.Add(30 * time.Second))
			if err := s.Deliver(ctx, "msg_crash"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Sweep(ctx, c.Now()); err != nil {
				t.Fatal(err)
			}
			if n := len(box.List("")); n != 1 {
				t.Fatalf("%d mails while the dead sender's lease holds; want 1", n)
			}
			// The lease (1 minute) ends: the sweep sends it once more.
			for _, at := range []time.Duration{time.Minute, 2 * time.Minute, time.Hour} {
				c.Set(t0.Add(at))
				if _, err := s.Sweep(ctx, c.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(box.List("")); n != 2 {
				t.Fatalf("%d mails after one crash between send and mark; want 2 (one duplicate)", n)
			}
		})
	}
}

// gate holds every send until the test opens it, so a second sender that
// got past the claim would be caught sending too.
type gate struct {
	box     *mail.Mailbox
	entered atomic.Int64
	open    chan struct{}
}

func (g *gate) Send(ctx context.Context, e mail.Email) error {
	g.entered.Add(1)
	<-g.open
	return g.box.Send(ctx, e)
}

// TestRacingSenders, on every store: 16 senders (two functions, a stream
// retry and the sweep) deliver one message at once, the winner's send held
// until every other has given up or is sending too: one mail.
func TestRacingSenders(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			st := sc.make(t)
			g := &gate{box: &mail.Mailbox{}, open: make(chan struct{})}
			c := &clock{t: t0}
			var l logs
			addMessage(t, st, storetest.NewMessage("msg_race", t0))
			const n = 16
			var wg sync.WaitGroup
			var done atomic.Int64
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer done.Add(1)
					s := newSender(t, st, g, c, &l)
					var err error
					if i%2 == 0 {
						err = s.Deliver(context.Background(), "msg_race")
					} else {
						_, err = s.Sweep(context.Background(), t0)
					}
					if err != nil {
						t.Error(err)
					}
				}()
			}
			for deadline := time.Now().Add(30 * time.Second); g.entered.Load()+done.Load() < n; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d senders sending, %d returned, of %d", g.entered.Load(), done.Load(), n)
				}
			}
			close(g.open)
			wg.Wait()
			if got := len(g.box.List("")); got != 1 {
				t.Fatalf("%d mails from %d racing senders; want 1", got, n)
			}
		})
	}
}

// throttling answers SES's TooManyRequestsException to its first n calls,
// then passes them to moto.
type throttling struct {
	mail.SESAPI
	mu    sync.Mutex
	n     int
	calls int
}

func (th *throttling) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	th.mu.Lock()
	th.calls++
	throttle := th.calls <= th.n
	th.mu.Unlock()
	if throttle {
		return nil, &types.TooManyRequestsException{Message: new("Maximum sending rate exceeded.")}
	}
	return th.SESAPI.SendEmail(ctx, in, opts...)
}

// TestSESThrottled: SES throttles the first two sends; the sender backs off
// (30 s, then 60 s) and the third goes out: one mail in moto's SES, none
// sent twice, and no attempt before its time.
func TestSESThrottled(t *testing.T) {
	c0, url := sesOnMoto(t, "no-reply@throttled.example.com")
	api := &throttling{SESAPI: c0, n: 2}
	st := storetestMemory()
	c := &clock{t: t0}
	var l logs
	s := newSender(t, st, &mail.SES{API: api}, c, &l)
	s.Render = mustTemplates(t, "Example <no-reply@throttled.example.com>")
	m := storetest.NewMessage("msg_throttled", t0)
	m.To = "throttled-" + t.Name() + "@example.org"
	addMessage(t, st, m)
	ctx := context.Background()
	if err := s.Deliver(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at    time.Duration
		calls int
	}{
		{29 * time.Second, 1}, // before the first backoff ends: no attempt
		{30 * time.Second, 2}, // throttled again: 60 s more
		{89 * time.Second, 2},
		{90 * time.Second, 3}, // sent
		{time.Hour, 3},
	} {
		c.Set(t0.Add(step.at))
		if _, err := s.Sweep(ctx, c.Now()); err != nil {
			t.Fatal(err)
		}
		if api.calls != step.calls {
			t.Fatalf("at +%s: %d calls to SES; want %d", step.at, api.calls, step.calls)
		}
	}
	if got := sentTo(t, url, m.To); len(got) != 1 {
		t.Fatalf("moto's SES holds %d mails; want 1", len(got))
	}
	if ev := l.events(); count(ev, "mail_retry") != 2 || count(ev, "mail_sent") != 1 {
		t.Fatalf("events %v", ev)
	}
}
