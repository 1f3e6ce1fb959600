package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/mail"
	"github.com/rotor-auth/rotor/pkg/outbox"
)

// DefaultMailInterval is how often the local mailer sweeps the outbox: the
// local stand-in for the stream and the schedule, short enough that a mail
// is in the mailbox by the time a developer looks.
const DefaultMailInterval = 250 * time.Millisecond

// Mailer is the local server's mail sender: mail.Sender on the store's
// outbox, delivering into a Mailbox that GET /dev/mailbox lists. Only the
// local server has it; no Lambda function links this package.
type Mailer struct {
	Sender   *mail.Sender
	Box      *mail.Mailbox
	Interval time.Duration // DefaultMailInterval when 0
}

// NewMailer returns the local mailer of cfg on st. tokens mints the links'
// tokens (the account flows' minter).
func NewMailer(cfg config.Config, st any, tokens mail.TokenMinter, log *slog.Logger) (*Mailer, error) {
	box, ok := st.(outbox.Store)
	if !ok {
		return nil, errors.New("devserver: the store has no outbox")
	}
	tpl, err := mail.NewTemplates(cfg.ProductName, cfg.AppURL, cfg.MailFrom, cfg.MailTemplates)
	if err != nil {
		return nil, err
	}
	mb := &mail.Mailbox{}
	return &Mailer{Box: mb, Sender: &mail.Sender{
		Outbox: box, Transport: mb, Render: tpl, Tokens: tokens, Log: log,
		Backoff: mail.Backoff{Base: cfg.MailBackoffBase, Max: cfg.MailBackoffMax, MaxAttempts: cfg.MailMaxAttempts},
	}}, nil
}

// Run sweeps the outbox until ctx ends.
func (m *Mailer) Run(ctx context.Context) {
	every := m.Interval
	if every <= 0 {
		every = DefaultMailInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := m.Sender.Sweep(ctx, time.Now()); err != nil && ctx.Err() == nil && m.Sender.Log != nil {
			m.Sender.Log.Warn("local mail sweep failed", "cause", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mailJSON is a mail as GET /dev/mailbox lists it.
type mailJSON struct {
	ID      string `json:"id"`
	To      string `json:"to"`
	From    string `json:"from"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// ServeHTTP answers GET /dev/mailbox[?to=address]: {"mails":[...]}, newest
// first. The mails hold live reset links, so only a client on the same
// machine (a loopback address) gets them, even when the server listens on
// another address.
func (m *Mailer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		http.NotFound(w, r)
		return
	}
	out := struct {
		Mails []mailJSON `json:"mails"`
	}{Mails: []mailJSON{}}
	for _, e := range m.Box.List(r.URL.Query().Get("to")) {
		out.Mails = append(out.Mails, mailJSON{ID: e.ID, To: e.To, From: e.From, Subject: e.Subject, Text: e.Text, HTML: e.HTML})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}
