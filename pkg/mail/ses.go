package mail

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
)

// SESAPI is the part of the SES v2 client the transport uses.
type SESAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// SES sends through Amazon SES v2 from a verified identity.
type SES struct {
	API SESAPI
	// IdentityARN is the SES identity that authorises the From address
	// (template.yaml's sender identity parameter); the function's IAM policy
	// allows ses:SendEmail on it alone.
	IdentityARN string
	// ConfigurationSet, when set, names the SES configuration set (event
	// publishing of bounces and complaints).
	ConfigurationSet string
}

// Send implements Transport. The SDK does not retry the call: SendEmail is
// not idempotent, and a retry after a lost answer would send twice. The
// outbox retries instead, after its backoff; throttling and server errors
// are transient, a rejected message or sender permanent.
func (t *SES) Send(ctx context.Context, e Email) error {
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(e.From),
		Destination:      &types.Destination{ToAddresses: []string{e.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(e.Subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(e.Text), Charset: aws.String("UTF-8")},
				Html: &types.Content{Data: aws.String(e.HTML), Charset: aws.String("UTF-8")},
			},
			Headers: []types.MessageHeader{{Name: aws.String("X-Rotor-Message-Id"), Value: aws.String(e.ID)}},
		}},
		// The message id, also as a tag: it is in SES's event records, so
		// a bounce or a delivery can be traced to its outbox message.
		EmailTags: []types.MessageTag{{Name: aws.String("rotor_message_id"), Value: aws.String(e.ID)}},
	}
	if t.IdentityARN != "" {
		in.FromEmailAddressIdentityArn = aws.String(t.IdentityARN)
	}
	if t.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(t.ConfigurationSet)
	}
	_, err := t.API.SendEmail(ctx, in, func(o *sesv2.Options) { o.RetryMaxAttempts = 1 })
	if err == nil {
		return nil
	}
	if sesPermanent(err) {
		return Permanent(fmt.Errorf("ses: %w", err))
	}
	return fmt.Errorf("mail: ses: %w", err)
}

// sesPermanent reports whether SES refused the message for a reason a
// retry cannot change.
func sesPermanent(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false // a network error: transient
	}
	switch api.ErrorCode() {
	case "MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException",
		"NotFoundException", "AccountSuspendedException", "InvalidParameterValue":
		return true
	}
	return false
}
