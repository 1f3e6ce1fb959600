package mailerfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/app/serverstore"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/mail"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
)

// sesTimeout bounds one SendEmail call.
const sesTimeout = 10 * time.Second

// Run is the cold start of the mail sender function.
func Run(ctx context.Context) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	s, err := FromAWS(ctx, cfg)
	if err != nil {
		return err
	}
	lambda.Start((&Handler{Sender: s}).Handle)
	return nil
}

// FromAWS builds the sender of cfg: its store's outbox, its transport and
// its templates.
func FromAWS(ctx context.Context, cfg config.Config) (*mail.Sender, error) {
	ac, err := app.LambdaAWS(os.LookupEnv, cfg)
	if err != nil {
		return nil, err
	}
	var box outbox.Store
	if cfg.Store == "postgres" || cfg.Store == "redis" {
		st, err := serverstore.Open(ctx, cfg, secretsmanager.NewFromConfig(ac), 2)
		if err != nil {
			return nil, err
		}
		var ok bool
		if box, ok = st.(outbox.Store); !ok {
			return nil, fmt.Errorf("mailerfn: the %s store has no outbox", cfg.Store)
		}
	} else {
		box, _ = app.DynamoStore(ac, cfg)
	}
	tr, err := Transport(ctx, cfg, ac, secretsmanager.NewFromConfig(ac))
	if err != nil {
		return nil, err
	}
	tpl, err := mail.NewTemplates(cfg.ProductName, cfg.AppURL, cfg.MailFrom, cfg.MailTemplates)
	if err != nil {
		return nil, err
	}
	// The link tokens are minted from each message's TokenID under the
	// server MAC key (onetime.Minter): the outbox holds none.
	ring, err := app.SecretMAC(ac, cfg)
	if err != nil {
		return nil, err
	}
	return &mail.Sender{
		Outbox: box, Transport: tr, Render: tpl, Log: app.Logger(),
		Tokens:  onetime.Minter{MAC: ring},
		Backoff: mail.Backoff{Base: cfg.MailBackoffBase, Max: cfg.MailBackoffMax, MaxAttempts: cfg.MailMaxAttempts},
	}, nil
}

// Transport is the transport cfg names: SES v2 on ac, or SMTP with its
// credentials from cfg, or from the Secrets Manager secret
// cfg.SMTPSecretID (read through sm, once: the function calls it at its
// cold start).
func Transport(ctx context.Context, cfg config.Config, ac aws.Config, sm serverstore.SecretValueAPI) (mail.Transport, error) {
	switch cfg.MailTransport {
	case "ses":
		// The store's short per-attempt timeout (app.HTTPClient) would cut
		// off a send SES may still accept: a duplicate on the retry.
		api := sesv2.NewFromConfig(ac, func(o *sesv2.Options) { o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(sesTimeout) })
		return &mail.SES{API: api, IdentityARN: cfg.SESIdentityARN}, nil
	case "smtp":
		t := &mail.SMTP{Addr: cfg.SMTPAddr, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS}
		if cfg.SMTPSecretID != "" {
			var err error
			if t.Username, t.Password, err = SMTPCredentials(ctx, sm, cfg.SMTPSecretID); err != nil {
				return nil, err
			}
		}
		return t, nil
	}
	return nil, fmt.Errorf("mailerfn: ROTOR_MAIL_TRANSPORT=%q: a function sends through ses or smtp", cfg.MailTransport)
}

// SMTPCredentials reads the SMTP relay's user and password from the secret
// id: JSON {"username","password"}, the shape of the database secrets
// (serverstore.Credentials parses it). A relay's login needs both.
func SMTPCredentials(ctx context.Context, sm serverstore.SecretValueAPI, id string) (username, password string, err error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", "", fmt.Errorf("mailerfn: read the SMTP secret: %w", err)
	}
	username, password, err = serverstore.Credentials(aws.ToString(out.SecretString))
	if err != nil {
		return "", "", fmt.Errorf("mailerfn: the SMTP secret: %w", err)
	}
	if username == "" {
		return "", "", errors.New(`mailerfn: the SMTP secret has no username: want JSON {"username","password"}`)
	}
	return username, password, nil
}

// Handler answers the function's two events.
type Handler struct {
	Sender *mail.Sender
	Now    func() time.Time
}

// event is the part of either event Handle looks at.
type event struct {
	Records []events.DynamoDBEventRecord `json:"Records"`
	Source  string                       `json:"source"`
}

// ErrUnknownEvent: neither a stream batch nor the schedule.
var ErrUnknownEvent = errors.New("mailerfn: unknown event")

// Handle delivers the new messages of a DynamoDB Streams batch, reporting
// the records whose delivery met a store error as failures (the stream
// retries from the first, then sends it to the dead-letter queue), or, on
// the schedule ("aws.events"), sweeps the messages due.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (*events.DynamoDBEventResponse, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnknownEvent, err)
	}
	switch {
	case len(ev.Records) > 0:
		resp := &events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
		for _, r := range ev.Records {
			if r.EventName != string(events.DynamoDBOperationTypeInsert) {
				continue // the mark's own updates; the template filters them too
			}
			id, ok := r.Change.NewImage["id"]
			if !ok || id.DataType() != events.DataTypeString {
				continue
			}
			// Near the function's timeout no send starts (one cut off
			// before its mark is sent again later): the stream retries.
			d, hasDeadline := ctx.Deadline()
			if hasDeadline && time.Until(d) < mail.SweepMargin {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
				continue
			}
			if err := h.Sender.Deliver(ctx, id.String()); err != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			}
		}
		return resp, nil
	case ev.Source == "aws.events" || ev.Source == "rotor.sweep":
		now := time.Now
		if h.Now != nil {
			now = h.Now
		}
		_, err := h.Sender.Sweep(ctx, now())
		return nil, err
	}
	return nil, ErrUnknownEvent
}
