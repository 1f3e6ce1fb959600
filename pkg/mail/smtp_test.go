package mail_test

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/mail"
)

// smtpServer starts a private SMTP server (testenv.SMTPServer) without
// authentication.
func smtpServer(t testing.TB) (addr, dir string) {
	t.Helper()
	r := testenv.SMTPServer(t, "")
	return r.Addr, r.Dir
}

// received reads the mails the server accepted, in order.
func received(t testing.TB, dir string) []*netmail.Message {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var out []*netmail.Message
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		m, err := netmail.ReadMessage(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestSMTP sends to a private SMTP server: the mail arrives with its
// Message-ID derived from the outbox id (a resend carries the same); a 550
// is permanent, a 451 transient.
func TestSMTP(t *testing.T) {
	addr, dir := smtpServer(t)
	tr := &mail.SMTP{Addr: addr, TLS: "none"}
	ctx := context.Background()
	e := mail.Email{ID: "msg_smtp1", From: "Example <no-reply@example.com>", To: "alice@example.org", Subject: "Réinitialiser", Text: "text body\n", HTML: "<p>html body</p>"}
	if err := tr.Send(ctx, e); err != nil {
		t.Fatal(err)
	}
	got := received(t, dir)
	if len(got) != 1 {
		t.Fatalf("%d mails received", len(got))
	}
	h := got[0].Header
	subj, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if h.Get("Message-Id") != "<msg_smtp1@example.com>" || h.Get("To") != "<alice@example.org>" || subj != e.Subject ||
		!strings.Contains(h.Get("Content-Type"), "multipart/alternative") {
		t.Fatalf("headers %v (subject %q)", h, subj)
	}
	for _, tc := range []struct {
		to        string
		permanent bool
	}{
		{"reject@example.org", true},
		{"busy@example.org", false},
	} {
		t.Run(tc.to, func(t *testing.T) {
			e.To = tc.to
			err := tr.Send(ctx, e)
			if err == nil || errors.Is(err, mail.ErrPermanent) != tc.permanent {
				t.Fatalf("send to %s: %v; want an error, permanent %v", tc.to, err, tc.permanent)
			}
		})
	}
	t.Run("server down", func(t *testing.T) {
		down := &mail.SMTP{Addr: "127.0.0.1:1", TLS: "none"}
		if err := down.Send(ctx, e); err == nil || errors.Is(err, mail.ErrPermanent) {
			t.Fatalf("send to a closed port: %v; want a transient error", err)
		}
	})
	if n := len(received(t, dir)); n != 1 {
		t.Fatalf("%d mails received; want 1", n)
	}
}

// TestSMTPAuthOverTLS: the relay's login reaches a relay that requires it,
// over STARTTLS (the default) and over implicit TLS ("tls", port 465
// style); a wrong password is refused permanently (535).
func TestSMTPAuthOverTLS(t *testing.T) {
	for _, tc := range []struct {
		mode  string
		relay func(testing.TB, string) testenv.SMTPRelay
	}{
		{"starttls", testenv.SMTPServer},
		{"tls", testenv.SMTPServerImplicitTLS},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			r := tc.relay(t, "mailer:pw 1")
			e := mail.Email{ID: "msg_auth" + tc.mode, From: "Example <no-reply@example.com>", To: "alice@example.org", Subject: "s", Text: "t\n", HTML: "<p>h</p>"}
			ok := &mail.SMTP{Addr: r.Addr, TLS: tc.mode, TLSConfig: r.TLS, Username: "mailer", Password: "pw 1"}
			if err := ok.Send(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			if n := len(received(t, r.Dir)); n != 1 {
				t.Fatalf("%d mails received", n)
			}
			bad := &mail.SMTP{Addr: r.Addr, TLS: tc.mode, TLSConfig: r.TLS, Username: "mailer", Password: "guess"}
			if err := bad.Send(context.Background(), e); err == nil {
				t.Fatal("a wrong password sent the mail")
			}
		})
	}
}

// TestSMTPRelayStopsAnswering: a relay that accepts the connection and
// greets, then never answers, does not hold the sender: the send fails,
// transiently (the outbox retries), once the connection's deadline passes.
// Without the deadline go-mail waits for the EHLO answer forever; the
// select below is only a hang guard, not a measurement.
func TestSMTPRelayStopsAnswering(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("220 stalling.example ESMTP\r\n"))
			go io.Copy(io.Discard, c) // reads every command, answers none
		}
	}()
	done := make(chan error, 1)
	go func() {
		tr := &mail.SMTP{Addr: l.Addr().String(), TLS: "none", Timeout: 200 * time.Millisecond}
		done <- tr.Send(context.Background(), mail.Email{ID: "msg_stall", From: "a@example.com", To: "b@example.com", Subject: "s", Text: "t", HTML: "h"})
	}()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, mail.ErrPermanent) {
			t.Fatalf("send to a silent relay: %v; want a transient error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the send to a relay that stopped answering never returned")
	}
}
