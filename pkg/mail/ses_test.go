package mail_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/mail"
)

// sesOnMoto returns an SES v2 client on the test's moto_server with from
// verified as an identity, and the server's URL.
func sesOnMoto(t testing.TB, from string) (*sesv2.Client, string) {
	t.Helper()
	url := testenv.MotoURL(t)
	c := sesv2.NewFromConfig(testenv.AWSConfig(url))
	domain := from[strings.LastIndex(from, "@")+1:]
	if _, err := c.CreateEmailIdentity(testenv.Context(t), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain)}); err != nil {
		t.Fatal(err)
	}
	return c, url
}

// sentTo returns the messages moto's SES accepted for address to.
func sentTo(t testing.TB, url, to string) []map[string]any {
	return testenv.SESMessages(t, url, to)
}

// TestSES: a mail sent through SES v2 is what moto's SES records; a sender
// without a verified identity is refused for good (ErrPermanent: the
// outbox gives the message up instead of retrying forever).
func TestSES(t *testing.T) {
	c, url := sesOnMoto(t, "no-reply@ses-test.example.com")
	tr := &mail.SES{API: c}
	ctx := testenv.Context(t)
	to := testenv.Name(t, "to") + "@example.org"
	e := mail.Email{ID: "msg_ses1", From: "Example <no-reply@ses-test.example.com>", To: to, Subject: "Reset your password", Text: "text", HTML: "<p>html</p>"}
	if err := tr.Send(ctx, e); err != nil {
		t.Fatal(err)
	}
	got := sentTo(t, url, to)
	if len(got) != 1 || got[0]["subject"] != e.Subject || got[0]["source"] != e.From || got[0]["body"] != e.HTML {
		t.Fatalf("moto recorded %v", got)
	}
	e.From = "someone@unverified.example.net"
	if err := tr.Send(ctx, e); !errors.Is(err, mail.ErrPermanent) {
		t.Fatalf("send from an unverified identity: %v, want ErrPermanent", err)
	}
	if got := sentTo(t, url, to); len(got) != 1 {
		t.Fatalf("%d messages recorded; want the first only", len(got))
	}
}

// sdkOptions records the SDK options a SendEmail call is made with.
type sdkOptions struct{ got sesv2.Options }

func (o *sdkOptions) SendEmail(_ context.Context, _ *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	o.got = sesv2.Options{RetryMaxAttempts: 3}
	for _, f := range opts {
		f(&o.got)
	}
	return &sesv2.SendEmailOutput{}, nil
}

// TestSESNoSDKRetry: the SDK does not resend SendEmail itself (a resend
// after a lost answer would be a second mail); the outbox retries, after
// checking its lease.
func TestSESNoSDKRetry(t *testing.T) {
	o := &sdkOptions{}
	if err := (&mail.SES{API: o}).Send(context.Background(), mail.Email{ID: "m", From: "a@example.com", To: "b@example.org"}); err != nil {
		t.Fatal(err)
	}
	if o.got.RetryMaxAttempts != 1 {
		t.Fatalf("SendEmail may be sent %d times by the SDK; want 1", o.got.RetryMaxAttempts)
	}
}
