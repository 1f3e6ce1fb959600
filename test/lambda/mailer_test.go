package lambda_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
)

// TestMailer runs the real mailer binary: a message written to the Outbox
// table is delivered through moto's SES v2 on the scheduled sweep, once; a
// stream record of the same message afterwards sends nothing more; the
// message is marked sent in the table.
func TestMailer(t *testing.T) {
	e := requireEnv(t)
	ctx := context.Background()
	ses := sesv2.NewFromConfig(testenv.AWSConfig(e.motoURL))
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("lambda-mail.example.com")}); err != nil {
		t.Fatal(err)
	}
	f := e.startEnv(t, "MailerFunction", "MailerFunction#ses", map[string]string{
		"ROTOR_MAIL_TRANSPORT": "ses",
		"ROTOR_MAIL_FROM":      "Example <no-reply@lambda-mail.example.com>",
		"ROTOR_APP_URL":        "https://app.example.com",
		"ROTOR_PRODUCT_NAME":   "Example",
	})
	ddb := dynamodb.NewFromConfig(testenv.AWSConfig(e.motoURL))
	st := dynamo.New(ddb, dynamo.Tables{Outbox: e.vars["ROTOR_OUTBOX_TABLE"]})
	to := "lambda-" + strings.ReplaceAll(t.Name(), "/", "-") + "@example.org"
	m := outbox.Message{ID: "msg_lambda1", Kind: outbox.PasswordChanged, To: to, UserID: "usr_1",
		Data: map[string]string{"ip": "203.0.113.7"}, CreatedAt: time.Now().Add(-time.Second)}
	if err := st.AddMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, ierr := f.invoke(t, map[string]any{"source": "aws.events", "detail-type": "Scheduled Event", "detail": map[string]any{}}); ierr != nil {
		t.Fatalf("sweep: %v", ierr)
	}
	stream := map[string]any{"Records": []any{map[string]any{
		"eventName": "INSERT", "eventSource": "aws:dynamodb",
		"dynamodb": map[string]any{"SequenceNumber": "1", "NewImage": map[string]any{"id": map[string]any{"S": m.ID}}},
	}}}
	out, ierr := f.invoke(t, stream)
	if ierr != nil {
		t.Fatalf("stream: %v", ierr)
	}
	var resp struct {
		BatchItemFailures []any `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("stream answer %s: %v", out, err)
	}
	if n := sesMessagesTo(t, e.motoURL, to); n != 1 {
		t.Fatalf("moto's SES holds %d mails to %s; want 1", n, to)
	}
	due, err := st.DueMessages(ctx, time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range due {
		if d.ID == m.ID {
			t.Fatalf("the message is still waiting: %+v", d)
		}
	}
}

// sesMessagesTo counts the mails moto's SES accepted for to.
func sesMessagesTo(t *testing.T, url, to string) int {
	return len(testenv.SESMessages(t, url, to))
}
