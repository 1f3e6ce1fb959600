package mailerfn_test

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/app/mailerfn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/mail"
)

// TestSMTPCredentialsFromSecretsManager: the SMTP relay's user and password
// come from a Secrets Manager secret (ROTOR_SMTP_SECRET_ID, on moto) and
// reach the relay's AUTH: a private SMTP server that requires STARTTLS and
// exactly those credentials (a provider's submission port) accepts the
// mail; with the wrong ones in the secret, or without the secret, it
// refuses it. A secret that is missing or names no
// user stops the cold start.
func TestSMTPCredentialsFromSecretsManager(t *testing.T) {
	ctx := testenv.Context(t)
	sm := testenv.SecretsManager(t)
	relay := testenv.SMTPServer(t, "rotor-mailer:s3cret pass")
	secret := func(t *testing.T, value string) string {
		t.Helper()
		name := testenv.Name(t, "smtp")
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
		return name
	}
	cfg := config.Default()
	cfg.MailTransport, cfg.SMTPAddr, cfg.SMTPTLS = "smtp", relay.Addr, "starttls"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	email := mail.Email{ID: "msg_auth1", From: "Example <no-reply@example.com>", To: "alice@example.org", Subject: "Hello", Text: "text\n", HTML: "<p>html</p>"}
	mails := func() int {
		names, _ := filepath.Glob(filepath.Join(relay.Dir, "*.eml"))
		return len(names)
	}

	for _, tc := range []struct {
		name   string
		secret string // "" : no secret configured
		sent   bool
	}{
		{"the secret's credentials", `{"username":"rotor-mailer","password":"s3cret pass"}`, true},
		{"a wrong password in the secret", `{"username":"rotor-mailer","password":"guess"}`, false},
		{"no secret", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.secret != "" {
				c.SMTPSecretID = secret(t, tc.secret)
			}
			tr, err := mailerfn.Transport(ctx, c, aws.Config{}, sm)
			if err != nil {
				t.Fatal(err)
			}
			tr.(*mail.SMTP).TLSConfig = relay.TLS // the test relay's own certificate; a function uses the system roots
			before := mails()
			err = tr.Send(ctx, email)
			if tc.sent != (err == nil) {
				t.Fatalf("send: %v; want sent %v", err, tc.sent)
			}
			if want := before + map[bool]int{true: 1}[tc.sent]; mails() != want {
				t.Fatalf("%d mails at the relay, want %d", mails(), want)
			}
		})
	}

	for _, tc := range []struct {
		name string
		id   func(t *testing.T) string
	}{
		{"a secret without a username", func(t *testing.T) string { return secret(t, "just-a-password") }},
		{"a secret that is not there", func(t *testing.T) string { return testenv.Name(t, "absent") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.SMTPSecretID = tc.id(t)
			if _, err := mailerfn.Transport(ctx, c, aws.Config{}, sm); err == nil {
				t.Fatal("the transport was built")
			}
		})
	}
}
