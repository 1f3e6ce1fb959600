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

// TestRecoveryWritesAllowed: the functions whose store operation now holds
// a mail or a read may make it in AWS (moto and the local server check no
// IAM, so only the template says): the password change's transaction puts
// its notice into the Outbox table, and /me reads the user for its address.
func TestRecoveryWritesAllowed(t *testing.T) {
	res := node(testenv.Template(t), "Resources")
	for _, tc := range []struct {
		fn, action, resource string
	}{
		{"PasswordFunction", "dynamodb:PutItem", "!GetAtt OutboxTable.Arn"},
		{"MeFunction", "dynamodb:GetItem", "!GetAtt UsersTable.Arn"},
	} {
		out, err := yaml.Marshal(node(node(node(res, tc.fn), "Properties"), "Policies"))
		if err != nil {
			t.Fatal(err)
		}
		ok := false
		lines := strings.Split(string(out), "\n")
		for i := 0; i+1 < len(lines); i++ {
			if strings.Contains(lines[i], tc.action) && strings.Contains(lines[i+1], "Resource: "+tc.resource) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s may not %s on %s:\n%s", tc.fn, tc.action, tc.resource, out)
		}
	}
}
