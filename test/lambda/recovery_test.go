package lambda_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/rotor-auth/rotor/internal/testenv"
)

// linkToken is the token of a mail's link: the fragment of ROTOR_APP_URL +
// page + "#token=...".
var linkToken = regexp.MustCompile(`#token=(rt[a-z]_[A-Za-z0-9_-]+)`)

// TestRecoveryPath runs the whole account recovery on the real bootstraps:
// a signup with an address (SignupFunction) writes the verification mail to
// the Outbox table in its write; the mailer binary's sweep delivers it
// through moto's SES v2; the token read from the delivered mail verifies
// the address (EmailFunction); forgot (RecoveryFunction) queues a reset mail
// the mailer delivers the same way; its token resets the password
// (RecoveryFunction), after which the new password logs in (LoginFunction)
// and the old one does not, and the session started before the reset no
// longer refreshes.
func TestRecoveryPath(t *testing.T) {
	e := requireEnv(t)
	ctx := context.Background()
	ses := sesv2.NewFromConfig(testenv.AWSConfig(e.motoURL))
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("lambda-recovery.example.com")}); err != nil {
		t.Fatal(err)
	}
	mailer := e.startEnv(t, "MailerFunction", "MailerFunction#recovery", map[string]string{
		"ROTOR_MAIL_TRANSPORT": "ses",
		"ROTOR_MAIL_FROM":      "Example <no-reply@lambda-recovery.example.com>",
		"ROTOR_APP_URL":        "https://app.example.com",
		"ROTOR_PRODUCT_NAME":   "Example",
	})
	sweep := func() {
		t.Helper()
		if _, ierr := mailer.invoke(t, map[string]any{"source": "aws.events", "detail-type": "Scheduled Event", "detail": map[string]any{}}); ierr != nil {
			t.Fatalf("sweep: %v", ierr)
		}
	}
	const user, oldPW, newPW = "lambda-recovery", "Pw-lambda-recovery-1", "Pw-lambda-recovery-2"
	to := "lambda-recovery@example.org"

	r := call(t, "SignupFunction", request{method: "POST", path: "/auth/signup",
		body: mustJSON(map[string]string{"username": user, "password": oldPW, "email": to})})
	expectStatus(t, "signup with an address", r, 201)
	sweep()
	verify := sesToken(t, e.motoURL, to, "rtv_", 1)
	r = call(t, "EmailFunction", request{method: "POST", path: "/auth/email/verify", body: mustJSON(map[string]string{"token": verify})})
	expectStatus(t, "verify", r, 204)
	// The link is used once.
	r = call(t, "EmailFunction", request{method: "POST", path: "/auth/email/verify", body: mustJSON(map[string]string{"token": verify})})
	expectStatus(t, "verify again", r, 400)

	before := login(t, user, oldPW)
	r = call(t, "RecoveryFunction", request{method: "POST", path: "/auth/password/forgot", body: mustJSON(map[string]string{"username": user})})
	expectStatus(t, "forgot", r, 202)
	sweep()
	reset := sesToken(t, e.motoURL, to, "rtp_", 1)
	r = call(t, "RecoveryFunction", request{method: "POST", path: "/auth/password/reset",
		body: mustJSON(map[string]string{"token": reset, "new_password": newPW})})
	expectStatus(t, "reset", r, 204)
	r = call(t, "RecoveryFunction", request{method: "POST", path: "/auth/password/reset",
		body: mustJSON(map[string]string{"token": reset, "new_password": "Pw-lambda-recovery-3"})})
	expectStatus(t, "reset again with the same token", r, 400)

	login(t, user, newPW)
	r = call(t, "LoginFunction", request{method: "POST", path: "/auth/login", body: mustJSON(map[string]string{"username": user, "password": oldPW})})
	expectStatus(t, "login with the old password", r, 401)
	r = call(t, "RefreshFunction", request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": before.Refresh})})
	expectStatus(t, "refresh of a session from before the reset", r, 401)

	// The reset's notice went out too, on the next sweep.
	sweep()
	if n := sesMails(t, e.motoURL, to); n != 3 {
		t.Fatalf("moto's SES holds %d mails to %s; want 3 (verification, reset, notice)", n, to)
	}
}

// sesTexts returns every mail moto's SES accepted for to, as the JSON of its
// record (subject, bodies), in order.
func sesTexts(t *testing.T, url, to string) []string {
	t.Helper()
	var out []string
	for _, m := range testenv.SESMessages(t, url, to) {
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	return out
}

func sesMails(t *testing.T, url, to string) int { t.Helper(); return len(sesTexts(t, url, to)) }

// sesToken returns the link token with prefix of the one mail to to that
// carries such a link, failing unless exactly want mails do.
func sesToken(t *testing.T, url, to, prefix string, want int) string {
	t.Helper()
	var found []string
	for _, m := range sesTexts(t, url, to) {
		for _, g := range linkToken.FindAllStringSubmatch(m, -1) {
			if strings.HasPrefix(g[1], prefix) && !contains(found, g[1]) {
				found = append(found, g[1])
			}
		}
	}
	if len(found) != want {
		t.Fatalf("%d distinct %s links in the mails to %s; want %d", len(found), prefix, to, want)
	}
	return found[len(found)-1]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
