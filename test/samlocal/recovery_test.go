//go:build samlocal

package samlocal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/rotor-auth/rotor/internal/samlocal"
	"github.com/rotor-auth/rotor/internal/testenv"
)

// TestRecoveryThroughStartAPI: the account-recovery flow as a user lives it
// under `sam local start-api`, with the mail in between delivered by the
// mailer's sweep (`sam local invoke`) to moto's SES: signup with an address,
// the verification link's token verifies it, forgot mails a reset link, its
// token sets a new password, which logs in while the old one no longer does.
func TestRecoveryThroughStartAPI(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	username := fmt.Sprintf("dave-%d", time.Now().UnixNano())
	address := username + "@example.org"
	const password = "correct horse battery staple 42"
	const newPassword = "a reset horse battery staple 44"

	expect(t, "signup with an address", a.do(t, "POST", "/auth/signup",
		map[string]string{"username": username, "password": password, "email": address}, nil), 201, "")
	verify := mailedToken(t, address, "/verify-email")
	expect(t, "verify the address", a.do(t, "POST", "/auth/email/verify", map[string]string{"token": verify}, nil), 204, "")
	expect(t, "verify with the same token again", a.do(t, "POST", "/auth/email/verify", map[string]string{"token": verify}, nil), 400, "")

	expect(t, "forgot", a.do(t, "POST", "/auth/password/forgot", map[string]string{"username": username}, nil), 202, "")
	reset := mailedToken(t, address, "/reset-password")
	expect(t, "reset", a.do(t, "POST", "/auth/password/reset", map[string]string{"token": reset, "new_password": newPassword}, nil), 204, "")
	expect(t, "reset with the same token again", a.do(t, "POST", "/auth/password/reset", map[string]string{"token": reset, "new_password": password}, nil), 400, "")

	creds := func(pw string) map[string]string { return map[string]string{"username": username, "password": pw} }
	expect(t, "login with the old password", a.do(t, "POST", "/auth/login", creds(password), nil), 401, "invalid_credentials")
	tokenPair(t, "login with the reset password", a.do(t, "POST", "/auth/login", creds(newPassword), nil))
}

// senderOnce verifies the template's default sender identity (example.com)
// in moto's SES once for every test.
var senderOnce = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := sesv2.NewFromConfig(samlocal.AWSConfig(env.motoURL)).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("example.com")})
	var exists *sestypes.AlreadyExistsException
	if errors.As(err, &exists) {
		return nil
	}
	return err
})

// linkToken finds a link's token: the app's page, then "#token=".
func linkToken(page string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(page) + `#token=([A-Za-z0-9_.~-]+)`)
}

// mailedToken runs the mailer's sweep under `sam local invoke` and returns
// the token of the one link to page in moto's SES mails to address.
func mailedToken(t *testing.T, address, page string) string {
	t.Helper()
	if err := senderOnce(); err != nil {
		t.Fatal(err)
	}
	if raw, ierr := env.invoke(t, "MailerFunction", event(t, "mailer-sweep.json", placeholders{})); ierr != nil {
		t.Fatalf("sweep: error %q: %s", ierr.Message, raw)
	}
	re := linkToken(page)
	tokens := map[string]bool{}
	for _, m := range testenv.SESMessages(t, env.motoURL, address) {
		b, err := json.Marshal(m) // the subject and bodies, whatever moto names them
		if err != nil {
			t.Fatal(err)
		}
		for _, match := range re.FindAllStringSubmatch(string(b), -1) {
			tokens[match[1]] = true
		}
	}
	if len(tokens) != 1 {
		t.Fatalf("moto's SES holds %d distinct %s tokens for %s; want 1", len(tokens), page, address)
	}
	for tok := range tokens {
		return tok
	}
	return ""
}
