package admin_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rotor-auth/rotor/internal/testenv"
)

// TestMailerSMTPSecretScoped, as someone who takes over the mailer function:
// with MailTransport=smtp its role reads the relay's login secret
// (SmtpSecretArn) and no other secret but the MAC key's, and the function
// is told that secret (ROTOR_SMTP_SECRET_ID) and the transport.
func TestMailerSMTPSecretScoped(t *testing.T) {
	tpl := testenv.Template(t)
	fn := node(node(tpl, "Resources"), "MailerFunction")
	out, err := yaml.Marshal(node(node(fn, "Properties"), "Policies"))
	if err != nil {
		t.Fatal(err)
	}
	policies := string(out)
	if !strings.Contains(policies, "!If [HasSmtpSecret, {AWSSecretsManagerGetSecretValuePolicy: {SecretArn: !Ref SmtpSecretArn}}") &&
		!strings.Contains(policies, "SecretArn: !Ref SmtpSecretArn") {
		t.Fatalf("the mailer cannot read the SMTP secret:\n%s", policies)
	}
	for _, line := range strings.Split(policies, "\n") {
		if strings.Contains(line, "SecretArn:") && !strings.Contains(line, "SmtpSecretArn") &&
			!strings.Contains(line, "MacSecret") && !strings.Contains(line, "ConnectionSecretArn") {
			t.Fatalf("the mailer may read another secret: %s", line)
		}
	}
	cond := node(node(tpl, "Conditions"), "HasSmtpSecret")
	if cond == nil {
		t.Fatal("no HasSmtpSecret condition")
	}
	if c, _ := yaml.Marshal(cond); !strings.Contains(string(c), "UseSmtp") {
		t.Fatalf("HasSmtpSecret holds without MailTransport=smtp: %s", c)
	}
	env := node(node(node(fn, "Properties"), "Environment"), "Variables")
	for _, k := range []string{"ROTOR_MAIL_TRANSPORT", "ROTOR_SMTP_ADDR", "ROTOR_SMTP_SECRET_ID"} {
		if node(env, k) == nil {
			t.Fatalf("the mailer is not given %s", k)
		}
	}
}
