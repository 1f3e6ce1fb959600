package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/admin"
	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	rstore "github.com/rotor-auth/rotor/pkg/store/redis"
)

// withoutPassword splits a connection URL into the URL a stack publishes
// (no password) and the password, which goes into a secret.
func withoutPassword(t *testing.T, raw string) (string, string, string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		t.Fatalf("test server URL without credentials: %v", err)
	}
	pw, _ := u.User.Password()
	user := u.User.Username()
	u.User = nil
	if user != "" {
		u.User = url.User(user)
	}
	return u.String(), user, pw
}

// secret stores value in moto's Secrets Manager and returns its ARN.
func secret(t *testing.T, value string) string {
	t.Helper()
	out, err := testenv.SecretsManager(t).CreateSecret(testenv.Context(t), &secretsmanager.CreateSecretInput{
		Name: aws.String(testenv.Name(t, "conn")), SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

// TestStackOnEveryStore: rotor --stack NAME reads the stack's outputs
// (moto's CloudFormation) and acts on the store they name, reached as the
// functions reach it: DynamoDB tables; a PostgreSQL or Redis URL without its
// password, which comes from the secret the stack names. The operator's
// environment names another store, which the stack overrides.
func TestStackOnEveryStore(t *testing.T) {
	signing := "arn:aws:secretsmanager:us-east-1:123456789012:secret:rotor-signing"
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, env map[string]string) (apifn.Store, map[string]string)
	}{
		{"dynamodb", func(t *testing.T, _ map[string]string) (apifn.Store, map[string]string) {
			db := testenv.DynamoDB(t)
			tables := testenv.DynamoTables(t, db)
			return dynamo.New(db, tables), map[string]string{"Store": "dynamodb",
				"UsersTable": tables.Users, "SessionsTable": tables.Sessions, "LoginAttemptsTable": tables.Attempts}
		}},
		{"postgres", func(t *testing.T, _ map[string]string) (apifn.Store, map[string]string) {
			full := testenv.PostgresSchema(t)
			pool := testenv.PostgresPool(t, full)
			published, user, pw := withoutPassword(t, full)
			creds, _ := json.Marshal(map[string]string{"username": user, "password": pw})
			return postgres.New(pool), map[string]string{"Store": "postgres",
				"DatabaseUrl": published, "DatabaseSecretArn": secret(t, string(creds))}
		}},
		{"redis", func(t *testing.T, env map[string]string) (apifn.Store, map[string]string) {
			full := testenv.RedisURL(t)
			c := testenv.RedisClient(t, full)
			// The template sets no namespace (the default); a test's own
			// comes from the environment, which fills what the stack omits.
			env["ROTOR_REDIS_NAMESPACE"] = testenv.RedisNamespace(t)
			published, _, pw := withoutPassword(t, full)
			return rstore.New(c, env["ROTOR_REDIS_NAMESPACE"]), map[string]string{"Store": "redis",
				"RedisUrl": published, "RedisSecretArn": secret(t, pw), "RedisCluster": "false"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testenv.Context(t)
			env := map[string]string{"ROTOR_STORE": "memory", "ROTOR_USERS_TABLE": "not-this-table", "ROTOR_DATABASE_URL": "postgres://nowhere.invalid/rotor"}
			st, outputs := tc.setup(t, env)
			outputs["SigningSecretArn"] = signing
			w := newWorld(t, st)
			w.signup(t, "alice")
			w.login(t, "alice")

			stack := testenv.Name(t, "stack")
			tpl := map[string]any{"Resources": map[string]any{"Topic": map[string]any{"Type": "AWS::SNS::Topic"}}, "Outputs": map[string]any{}}
			for k, v := range outputs {
				tpl["Outputs"].(map[string]any)[k] = map[string]any{"Value": v}
			}
			body, _ := json.Marshal(tpl)
			ac := testenv.AWSConfig(testenv.MotoURL(t))
			if _, err := cloudformation.NewFromConfig(ac).CreateStack(ctx, &cloudformation.CreateStackInput{
				StackName: aws.String(stack), TemplateBody: aws.String(string(body)),
			}); err != nil {
				t.Fatal(err)
			}

			run := func(args ...string) (int, string) {
				var out, errb bytes.Buffer
				cli := &admin.CLI{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
					Open: func(ctx context.Context, stack string) (*admin.Admin, error) {
						return admin.ConnectAWS(ctx, ac, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, stack, discard())
					}}
				code := cli.Run(ctx, append([]string{"--stack", stack, "--json"}, args...))
				if code != admin.ExitOK {
					t.Fatalf("rotor %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
				}
				return code, out.String()
			}
			var list []map[string]any
			if _, out := run("sessions", "list", "--user", "alice"); json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0]["ip"] != "198.51.100.9" {
				t.Fatalf("sessions list: %s", out)
			}
			run("users", "lock", "alice", "--yes")
			if _, out := run("sessions", "list", "--user", "alice"); strings.TrimSpace(out) != "[]" {
				t.Fatalf("sessions after the lock: %s", out)
			}
			if u, err := st.GetUser(ctx, "alice"); err != nil || !u.Locked {
				t.Fatalf("alice in the store after the lock: %+v, %v", u, err)
			}
		})
	}
}
