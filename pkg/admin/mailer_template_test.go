package admin_test

import (
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rotor-auth/rotor/internal/testenv"
)

// TestMailerPolicyScoped, as someone who takes over the mailer function (a
// template injection, a compromised dependency): its role sends mail from
// the configured identity only, touches the Outbox table only, and no
// statement of it names every resource.
func TestMailerPolicyScoped(t *testing.T) {
	res := node(testenv.Template(t), "Resources")
	fn := node(res, "MailerFunction")
	if fn == nil {
		t.Fatal("template.yaml has no MailerFunction")
	}
	out, err := yaml.Marshal(node(node(fn, "Properties"), "Policies"))
	if err != nil {
		t.Fatal(err)
	}
	policies := string(out)
	if regexp.MustCompile(`Resource:\s*['"]?\*`).MatchString(policies) || strings.Contains(policies, "- '*'") {
		t.Fatalf("a mailer statement names every resource:\n%s", policies)
	}
	// "ses:" twice: the action and the ARN's service.
	ses := regexp.MustCompile(`(?s)Action: ses:SendEmail\s+Resource: !Sub ['"]?arn:\$\{AWS::Partition\}:ses:\$\{AWS::Region\}:\$\{AWS::AccountId\}:identity/\$\{MailSenderIdentity\}['"]?\s`)
	if !ses.MatchString(policies) || strings.Count(policies, "ses:") != 2 || strings.Contains(policies, "ses:*") {
		t.Fatalf("want ses:SendEmail on the sender identity alone:\n%s", policies)
	}
	for _, table := range []string{"UsersTable", "SessionsTable", "LoginAttemptsTable"} {
		if strings.Contains(policies, table) {
			t.Fatalf("the mailer may touch %s:\n%s", table, policies)
		}
	}
	env := node(node(node(fn, "Properties"), "Environment"), "Variables")
	if arn := node(env, "ROTOR_SES_IDENTITY_ARN"); arn == nil || !strings.Contains(arn.Value, "identity/${MailSenderIdentity}") {
		t.Fatalf("the function is not told the identity its policy allows: %v", arn)
	}
}
