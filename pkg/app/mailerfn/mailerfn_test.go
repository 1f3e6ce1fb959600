package mailerfn_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/app/mailerfn"
	"github.com/rotor-auth/rotor/pkg/mail"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

var t0 = time.UnixMilli(1796634000000).UTC()

// broken fails every claim of one id, as a store that times out.
type broken struct {
	outbox.Store
	id string
}

var errStore = errors.New("test: store unavailable")

func (b broken) ClaimMessage(ctx context.Context, id string, now, lease time.Time) (outbox.Message, error) {
	if id == b.id {
		return outbox.Message{}, errStore
	}
	return b.Store.ClaimMessage(ctx, id, now, lease)
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHandle: a stream batch delivers its inserts (the mark's own updates
// are skipped); a record whose delivery meets a store error is reported for
// the stream's retry; the schedule sweeps what is due.
func TestHandle(t *testing.T) {
	tpl, err := mail.NewTemplates("Example", "https://app.example.com", "no-reply@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		event    string
		failID   string
		mails    int
		failures []string
	}{
		{"stream", "stream.json", "", 1, nil},
		{"stream, store down", "stream.json", "msg_stream1", 0, []string{"111"}},
		{"schedule", "scheduled.json", "", 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memory.New()
			for _, id := range []string{"msg_stream1", "msg_stream2"} {
				m := storetest.NewMessage(id, t0)
				m.Kind, m.TokenID = outbox.PasswordChanged, ""
				if err := st.AddMessage(context.Background(), m); err != nil {
					t.Fatal(err)
				}
			}
			box := &mail.Mailbox{}
			now := func() time.Time { return t0.Add(time.Second) }
			h := &mailerfn.Handler{Now: now, Sender: &mail.Sender{Outbox: broken{st, tc.failID}, Transport: box, Render: tpl, Now: now}}
			resp, err := h.Handle(context.Background(), read(t, tc.event))
			if err != nil {
				t.Fatal(err)
			}
			var failures []string
			if resp != nil {
				for _, f := range resp.BatchItemFailures {
					failures = append(failures, f.ItemIdentifier)
				}
			}
			if n := len(box.List("")); n != tc.mails || len(failures) != len(tc.failures) || len(failures) > 0 && failures[0] != tc.failures[0] {
				t.Fatalf("%d mails, failures %v; want %d, %v", n, failures, tc.mails, tc.failures)
			}
		})
	}
	if _, err := (&mailerfn.Handler{}).Handle(context.Background(), []byte(`{"source":"aws.s3"}`)); !errors.Is(err, mailerfn.ErrUnknownEvent) {
		t.Fatalf("unknown event: %v", err)
	}
}

// TestHandleNearTheDeadline: a stream batch that arrives with less than
// mail.SweepMargin left starts no send and reports its records for the
// stream's retry.
func TestHandleNearTheDeadline(t *testing.T) {
	tpl, err := mail.NewTemplates("Example", "https://app.example.com", "no-reply@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	m := storetest.NewMessage("msg_stream1", t0)
	m.Kind, m.TokenID = outbox.PasswordChanged, ""
	if err := st.AddMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	box := &mail.Mailbox{}
	h := &mailerfn.Handler{Sender: &mail.Sender{Outbox: st, Transport: box, Render: tpl}}
	ctx, cancel := context.WithTimeout(context.Background(), mail.SweepMargin/2)
	defer cancel()
	resp, err := h.Handle(ctx, read(t, "stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(box.List("")) != 0 || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "111" {
		t.Fatalf("%d mails, failures %+v; want none sent and record 111 retried", len(box.List("")), resp.BatchItemFailures)
	}
}

// FuzzHandle: no event, however malformed, panics the handler or delivers
// a message it does not name.
func FuzzHandle(f *testing.F) {
	for _, name := range []string{"stream.json", "scheduled.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Records":[{"eventName":"INSERT","dynamodb":{"NewImage":{"id":{"N":"1"}}}}]}`))
	tpl, err := mail.NewTemplates("Example", "https://app.example.com", "no-reply@example.com", "")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		st := memory.New()
		m := storetest.NewMessage("msg_fuzz", t0)
		m.Kind, m.TokenID = outbox.PasswordChanged, ""
		if err := st.AddMessage(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		box := &mail.Mailbox{}
		h := &mailerfn.Handler{Now: func() time.Time { return t0.Add(-time.Hour) },
			Sender: &mail.Sender{Outbox: st, Transport: box, Render: tpl, Now: func() time.Time { return t0 }}}
		_, _ = h.Handle(context.Background(), raw)
		if n := len(box.List("")); n > 0 && !strings.Contains(string(raw), "msg_fuzz") {
			t.Fatalf("%d mails from an event that names no message", n)
		}
	})
}
