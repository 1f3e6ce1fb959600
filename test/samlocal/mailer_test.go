//go:build samlocal

package samlocal_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
)

// mailSweep writes a message to the outbox, verifies the template's
// default sender identity (example.com) in moto's SES, and runs the
// mailer's sweep under `sam local invoke`: one mail in moto's SES.
func mailSweep(t *testing.T, use func(string) string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := testenv.AWSConfig(env.motoURL)
	if _, err := sesv2.NewFromConfig(cfg).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("example.com")}); err != nil {
		t.Fatal(err)
	}
	st := dynamo.New(dynamodb.NewFromConfig(cfg), dynamo.Tables{Outbox: env.vars["ROTOR_OUTBOX_TABLE"]})
	const to = "sam-local@example.org"
	if err := st.AddMessage(ctx, outbox.Message{ID: "msg_samlocal", Kind: outbox.PasswordChanged, To: to, UserID: "usr_1",
		Data: map[string]string{"ip": "203.0.113.7"}, CreatedAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if raw, ierr := env.invoke(t, "MailerFunction", event(t, use("mailer-sweep.json"), placeholders{})); ierr != nil {
		t.Fatalf("sweep: error %q: %s", ierr.Message, raw)
	}
	n := len(testenv.SESMessages(t, env.motoURL, to))
	if n != 1 {
		t.Fatalf("moto's SES holds %d mails to %s; want 1", n, to)
	}
}
