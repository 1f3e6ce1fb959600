package devserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/devserver"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// TestLocalMailer: a message written to the embedded store's outbox lands
// in the local mailbox, listed at GET /dev/mailbox for a loopback client
// only (the mails hold live links).
func TestLocalMailer(t *testing.T) {
	st := memory.New()
	m, err := devserver.NewMailer(config.Default(), st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	if err := st.AddMessage(ctx, outbox.Message{ID: "msg_local", Kind: outbox.PasswordChanged, To: "dev@example.org",
		Data: map[string]string{"ip": "127.0.0.1"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	srv := &devserver.Server{Mailbox: m}
	var got struct {
		Mails []struct{ ID, To, Subject, Text string }
	}
	for deadline := time.Now().Add(20 * time.Second); len(got.Mails) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the message never reached the mailbox")
		}
		time.Sleep(10 * time.Millisecond)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/dev/mailbox?to=dev@example.org", nil)
		req.RemoteAddr = "127.0.0.1:50000"
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("GET /dev/mailbox: %d %v", rec.Code, rec.Header())
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
	}
	if len(got.Mails) != 1 || got.Mails[0].ID != "msg_local" || !strings.Contains(got.Mails[0].Subject, "Rotor") || !strings.Contains(got.Mails[0].Text, "127.0.0.1") {
		t.Fatalf("mailbox: %+v", got)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/dev/mailbox", nil)
	req.RemoteAddr = "192.0.2.10:50000"
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "msg_local") {
		t.Fatalf("a client on another machine read the mailbox: %d %s", rec.Code, rec.Body.String())
	}
}
