package mail_test

import (
	"bufio"
	"context"
	"errors"
	"mime"
	"net"
	netmail "net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/mail"
)

// smtpServer starts testdata/smtpd.py (aiosmtpd) on a free loopback port
// and returns its address and the directory it writes mails to. It fails
// the test, never skips, without python3-aiosmtpd.
func smtpServer(t testing.TB) (addr, dir string) {
	t.Helper()
	python := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import aiosmtpd").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		t.Fatal("the SMTP tests need aiosmtpd: apt-get install -y python3-aiosmtpd")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	dir = t.TempDir()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(python, "testdata/smtpd.py", "127.0.0.1", port, dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("smtpd.py did not start: %q, %v", line, err)
	}
	return addr, dir
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
