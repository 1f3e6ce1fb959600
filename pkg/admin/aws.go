package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/app/serverstore"
	"github.com/rotor-auth/rotor/pkg/config"
)

// StacksAPI is the part of CloudFormation that --stack uses.
type StacksAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// IdentityAPI is the part of STS that names the caller.
type IdentityAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// StackOutputs reads the outputs of a CloudFormation stack (key → value).
func StackOutputs(ctx context.Context, api StacksAPI, stack string) (map[string]string, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, fmt.Errorf("admin: describe stack %s: %w", stack, err)
	}
	if len(out.Stacks) != 1 {
		return nil, fmt.Errorf("%w: stack %q", ErrNotFound, stack)
	}
	m := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return m, nil
}

// stackOutputs maps the template's outputs to configuration fields.
var stackOutputs = []struct {
	key      string
	required bool
	field    func(*config.Config) *string
}{
	{"UsersTable", true, func(c *config.Config) *string { return &c.UsersTable }},
	{"SessionsTable", true, func(c *config.Config) *string { return &c.SessionsTable }},
	{"LoginAttemptsTable", false, func(c *config.Config) *string { return &c.AttemptsTable }},
	{"SigningSecretArn", true, func(c *config.Config) *string { return &c.SigningSecretID }},
	{"MacSecretArn", false, func(c *config.Config) *string { return &c.MACSecretID }},
	{"SigningAlg", false, func(c *config.Config) *string { return &c.SigningAlg }},
	{"Issuer", false, func(c *config.Config) *string { return &c.Issuer }},
	{"Audience", false, func(c *config.Config) *string { return &c.Audience }},
}

// ConfigFromOutputs overrides base with a stack's outputs: the tables, the
// secrets and the signing algorithm. The tables and the signing secret must
// be there; the result is validated.
func ConfigFromOutputs(base config.Config, outputs map[string]string) (config.Config, error) {
	c := base
	for _, o := range stackOutputs {
		v, ok := outputs[o.key]
		if !ok || v == "" {
			if o.required {
				return config.Config{}, fmt.Errorf("admin: stack has no output %s (deployed from an older template?)", o.key)
			}
			continue
		}
		*o.field(&c) = v
	}
	c.Store = "dynamodb"
	if err := c.Validate(); err != nil {
		return config.Config{}, err
	}
	return c, nil
}

// Connect builds the Admin of a deployment: configuration from the
// environment (lookup), overridden by the outputs of stack when it is not
// empty (a DynamoDB stack); the store ROTOR_STORE names (dynamodb, postgres
// or redis), Secrets Manager, and the caller's identity from STS.
func Connect(ctx context.Context, lookup func(string) (string, bool), stack string, log *slog.Logger) (*Admin, error) {
	cfg, err := config.Load(lookup)
	if err != nil {
		return nil, err
	}
	// The operator's credentials the standard way (profiles, SSO, roles),
	// unlike the functions (app.LambdaAWS).
	ac, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("admin: aws config: %w", err)
	}
	if stack != "" {
		outs, err := StackOutputs(ctx, cloudformation.NewFromConfig(ac), stack)
		if err != nil {
			return nil, err
		}
		if cfg, err = ConfigFromOutputs(cfg, outs); err != nil {
			return nil, err
		}
	}
	sm := secretsmanager.NewFromConfig(ac)
	var st Store
	switch cfg.Store {
	case "dynamodb":
		st, _ = app.DynamoStore(ac, cfg)
	case "postgres", "redis":
		server, err := serverstore.Open(ctx, cfg, sm, 2)
		if err != nil {
			return nil, err
		}
		var ok bool
		if st, ok = server.(Store); !ok {
			return nil, fmt.Errorf("admin: the %s store cannot lock users", cfg.Store)
		}
	default:
		return nil, fmt.Errorf("admin: ROTOR_STORE=%q: the CLI works on dynamodb, postgres or redis (the embedded store lives inside rotor-local)", cfg.Store)
	}
	return &Admin{
		Store:    st,
		Secrets:  sm,
		SecretID: cfg.SigningSecretID,
		Alg:      cfg.SigningAlg,
		Caller:   Caller(ctx, sts.NewFromConfig(ac), log),
		Log:      log,
		Logs:     cloudwatchlogs.NewFromConfig(ac),
		Stack:    stack,
	}, nil
}

// Caller names who runs the commands for the audit log: the ARN STS gives
// for the credentials in use. When STS cannot answer the commands still run
// (an incident is no time to be blocked), logged as an unknown caller.
func Caller(ctx context.Context, api IdentityAPI, log *slog.Logger) string {
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		log.WarnContext(ctx, "caller identity unknown", "event", "admin_identity_unknown", "cause", err.Error())
		return "unknown"
	}
	return aws.ToString(out.Arn)
}

func isNotFound(err error) bool {
	var nf *cwltypes.ResourceNotFoundException
	return errors.As(err, &nf)
}
