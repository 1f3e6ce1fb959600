package mail_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/mail"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// A sender delivers a message from the outbox into the local mailbox: the
// link is the configured app URL with the token in the fragment.
func ExampleSender_Deliver() {
	st := memory.New()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	_ = st.AddMessage(context.Background(), outbox.Message{
		ID: "msg_example", Kind: outbox.PasswordReset, To: "alice@example.org", TokenID: "tok_1",
		Data: map[string]string{"ip": "203.0.113.7"}, CreatedAt: now,
	})
	tpl, err := mail.NewTemplates("Example", "https://app.example.com", "Example <no-reply@example.com>", "")
	if err != nil {
		panic(err)
	}
	box := &mail.Mailbox{}
	s := &mail.Sender{
		Outbox: st, Transport: box, Render: tpl, Tokens: minter{},
		Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := s.Deliver(context.Background(), "msg_example"); err != nil {
		panic(err)
	}
	e := box.List("alice@example.org")[0]
	fmt.Println(e.Subject)
	for _, line := range strings.Split(e.Text, "\n") {
		if strings.HasPrefix(line, "https://") {
			fmt.Println(line)
		}
	}
	// Output:
	// Reset your Example password
	// https://app.example.com/reset-password#token=rtr_password_reset_tok_1
}
