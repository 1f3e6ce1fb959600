package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// stackVariables pairs each output of template.yaml that the CLI reads with
// the variable of the functions whose value it publishes: --stack configures
// the CLI through config.Load, from the values the functions get, so it
// reaches the store the way they do (serverstore.Open for PostgreSQL and
// Redis, credentials from the same secret). pkg/admin
// TestStackOutputsAreTheFunctionsVariables holds template.yaml to it.
var stackVariables = []struct{ output, variable string }{
	{"Store", "ROTOR_STORE"},
	{"UsersTable", "ROTOR_USERS_TABLE"},
	{"SessionsTable", "ROTOR_SESSIONS_TABLE"},
	{"LoginAttemptsTable", "ROTOR_ATTEMPTS_TABLE"},
	{"DatabaseUrl", "ROTOR_DATABASE_URL"},
	{"DatabaseSecretArn", "ROTOR_DATABASE_SECRET_ID"},
	{"RedisUrl", "ROTOR_REDIS_URL"},
	{"RedisSecretArn", "ROTOR_REDIS_SECRET_ID"},
	{"RedisCluster", "ROTOR_REDIS_CLUSTER"},
	{"SigningSecretArn", "ROTOR_SIGNING_SECRET_ID"},
	{"MacSecretArn", "ROTOR_MAC_SECRET_ID"},
	{"SigningAlg", "ROTOR_SIGNING_ALG"},
	// The functions get the issuer with an {api_id} placeholder they fill
	// in from the first request; the output has the API id already.
	{"Issuer", "ROTOR_ISSUER"},
	{"Audience", "ROTOR_AUDIENCE"},
}

// storeOutputs are the outputs each store needs besides SigningSecretArn.
var storeOutputs = map[string][]string{
	"dynamodb": {"UsersTable", "SessionsTable"},
	"postgres": {"DatabaseUrl"},
	"redis":    {"RedisUrl"},
}

// ConfigFromOutputs is the configuration of a stack: its outputs stand for
// the functions' variables (ROTOR_STORE, the tables or the connection URL and
// secret, the signing secret...), and a variable the stack does not publish
// is looked up in the environment (lookup). A stack without a Store output
// (deployed from a template before it) is a DynamoDB one. The outputs the
// store needs must be there; the result is validated as the functions'.
func ConfigFromOutputs(lookup func(string) (string, bool), outputs map[string]string) (config.Config, error) {
	store := outputs["Store"]
	if store == "" {
		if outputs["UsersTable"] == "" {
			return config.Config{}, errors.New("admin: stack has no output Store (deployed from an older template? deploy the current one)")
		}
		store = "dynamodb"
	}
	need, ok := storeOutputs[store]
	if !ok {
		return config.Config{}, fmt.Errorf("admin: stack output Store=%q: the CLI works on dynamodb, postgres or redis", store)
	}
	for _, k := range append(need, "SigningSecretArn") {
		if outputs[k] == "" {
			return config.Config{}, fmt.Errorf("admin: stack has no output %s, which Store=%s needs (deployed from an older template? deploy the current one)", k, store)
		}
	}
	vars := map[string]string{"ROTOR_STORE": store}
	for _, o := range stackVariables {
		if v := outputs[o.output]; v != "" && o.output != "Store" {
			vars[o.variable] = v
		}
	}
	return config.Load(func(name string) (string, bool) {
		if v, ok := vars[name]; ok {
			return v, true
		}
		return lookup(name)
	})
}

// Connect builds the Admin of a deployment with the operator's AWS
// credentials, found the standard way (profiles, SSO, roles; unlike the
// functions, app.LambdaAWS): see ConnectAWS.
func Connect(ctx context.Context, lookup func(string) (string, bool), stack string, log *slog.Logger) (*Admin, error) {
	ac, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("admin: aws config: %w", err)
	}
	return ConnectAWS(ctx, ac, lookup, stack, log)
}

// ConnectAWS builds the Admin of a deployment on ac: its configuration comes
// from the outputs of stack when it is not empty (ConfigFromOutputs), else
// from the environment (lookup) as for the functions; then the store it
// names (dynamodb, postgres or redis, opened as the functions open it),
// Secrets Manager, and the caller's identity from STS.
func ConnectAWS(ctx context.Context, ac aws.Config, lookup func(string) (string, bool), stack string, log *slog.Logger) (*Admin, error) {
	var cfg config.Config
	var err error
	if stack == "" {
		cfg, err = config.Load(lookup)
	} else {
		var outs map[string]string
		if outs, err = StackOutputs(ctx, cloudformation.NewFromConfig(ac), stack); err == nil {
			cfg, err = ConfigFromOutputs(lookup, outs)
		}
	}
	if err != nil {
		return nil, err
	}
	// Every AWS response tells the time: revoke-all takes it from there.
	clock := &AWSClock{}
	ac.HTTPClient = clock.HTTPClient(ac.HTTPClient)
	identity := sts.NewFromConfig(ac)
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
		st = server
	default:
		return nil, fmt.Errorf("admin: ROTOR_STORE=%q: the CLI works on dynamodb, postgres or redis (the embedded store lives inside rotor-local)", cfg.Store)
	}
	return &Admin{
		Store:    st,
		Secrets:  sm,
		SecretID: cfg.SigningSecretID,
		Alg:      cfg.SigningAlg,
		// The MAC key and its cache lifetime (keys rotate --mac).
		MACSecretID: cfg.MACSecretID,
		KeyCacheTTL: cfg.KeyCacheTTL,
		Caller:      Caller(ctx, identity, log),
		AWSNow:      func(ctx context.Context) (time.Time, error) { return clock.NowFrom(ctx, identity) },
		Log:         log,
		Logs:        cloudwatchlogs.NewFromConfig(ac),
		Stack:       stack,
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
