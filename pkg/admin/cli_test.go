package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rotor-auth/rotor/pkg/admin"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// cliWorld runs command lines against a memory-backed deployment with alice
// (two sessions) and bob (one).
type cliWorld struct {
	*world
	opened int
	stack  string
}

func newCLIWorld(t *testing.T) *cliWorld {
	w := &cliWorld{world: newWorld(t, memory.New())}
	w.signup(t, "alice", "bob")
	w.login(t, "alice")
	w.login(t, "alice")
	w.login(t, "bob")
	w.now = w.now.Add(time.Second)
	return w
}

func (w *cliWorld) run(args []string, terminal bool, stdin string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	c := &admin.CLI{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Terminal: terminal,
		Open: func(_ context.Context, stack string) (*admin.Admin, error) {
			w.opened++
			w.stack = stack
			return w.admin, nil
		},
	}
	code = c.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestCLIExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		terminal bool
		stdin    string
		code     int
		opened   bool // whether the deployment was touched
		alice    int  // alice's sessions after
		bob      int
	}{
		{"help", []string{"--help"}, false, "", admin.ExitOK, false, 2, 1},
		{"no command", nil, false, "", admin.ExitOK, false, 2, 1},
		{"unknown command", []string{"frobnicate"}, false, "", admin.ExitUsage, false, 2, 1},
		{"list needs --user", []string{"sessions", "list"}, false, "", admin.ExitUsage, false, 2, 1},
		{"revoke needs one target", []string{"sessions", "revoke", "--user", "alice", "--session", "x", "--yes"}, false, "", admin.ExitUsage, false, 2, 1},
		{"lock needs a name", []string{"users", "lock", "--yes"}, false, "", admin.ExitUsage, false, 2, 1},
		{"list", []string{"sessions", "list", "--user", "alice"}, false, "", admin.ExitOK, true, 2, 1},
		{"list unknown user", []string{"sessions", "list", "--user", "carol"}, false, "", admin.ExitNotFound, true, 2, 1},
		{"revoke without a terminal nor --yes refuses", []string{"sessions", "revoke", "--user", "alice"}, false, "", admin.ExitUsage, false, 2, 1},
		{"without a terminal a piped yes is no confirmation", []string{"sessions", "revoke", "--user", "alice"}, false, "yes\n", admin.ExitUsage, false, 2, 1},
		{"revoke answered no", []string{"sessions", "revoke", "--user", "alice"}, true, "no\n", admin.ExitUsage, false, 2, 1},
		{"revoke answered yes", []string{"sessions", "revoke", "--user", "alice"}, true, "yes\n", admin.ExitOK, true, 0, 1},
		{"revoke --yes", []string{"--yes", "sessions", "revoke", "--user", "alice"}, false, "", admin.ExitOK, true, 0, 1},
		{"revoke unknown user", []string{"sessions", "revoke", "--user", "carol", "--yes"}, false, "", admin.ExitNotFound, true, 2, 1},
		{"revoke unknown session", []string{"sessions", "revoke", "--session", "AAAAAAAAAAAAAAAAAAAAAA", "--yes"}, false, "", admin.ExitNotFound, true, 2, 1},
		{"lock without --yes refuses", []string{"users", "lock", "bob"}, false, "", admin.ExitUsage, false, 2, 1},
		{"lock --yes after the name", []string{"users", "lock", "bob", "--yes"}, false, "", admin.ExitOK, true, 2, 0},
		{"unlock needs no confirmation", []string{"users", "unlock", "bob"}, false, "", admin.ExitOK, true, 2, 1},
		{"revoke-all without --yes refuses", []string{"revoke-all"}, false, "", admin.ExitUsage, false, 2, 1},
		{"revoke-all --before in the future", []string{"revoke-all", "--before", "2099-01-01T00:00:00Z", "--yes"}, false, "", admin.ExitUsage, true, 2, 1},
		{"revoke-all --before not a time", []string{"revoke-all", "--before", "yesterday", "--yes"}, false, "", admin.ExitUsage, false, 2, 1},
		{"revoke-all --yes", []string{"revoke-all", "--yes"}, false, "", admin.ExitOK, true, 0, 0},
		{"keys rotate without --yes refuses", []string{"keys", "rotate", "--emergency"}, false, "", admin.ExitUsage, false, 2, 1},
		{"keys rotate without a secret", []string{"keys", "rotate", "--yes"}, false, "", admin.ExitError, true, 2, 1},
		{"keys rotate --mac --emergency without --yes refuses", []string{"keys", "rotate", "--mac", "--emergency"}, false, "", admin.ExitUsage, false, 2, 1},
		{"keys rotate --mac without a MAC secret", []string{"keys", "rotate", "--mac", "--emergency", "--yes"}, false, "", admin.ExitError, true, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newCLIWorld(t)
			code, stdout, stderr := w.run(tc.args, tc.terminal, tc.stdin)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, stdout, stderr)
			}
			if (w.opened > 0) != tc.opened {
				t.Fatalf("deployment opened %d times, want opened=%v", w.opened, tc.opened)
			}
			ctx := context.Background()
			for name, want := range map[string]int{"alice": tc.alice, "bob": tc.bob} {
				if got, _ := w.admin.Sessions(ctx, name); len(got) != want {
					t.Fatalf("%s has %d sessions, want %d", name, len(got), want)
				}
			}
		})
	}
}

func TestCLIHelpNamesEveryCommand(t *testing.T) {
	_, out, _ := newCLIWorld(t).run([]string{"--help"}, false, "")
	for _, cmd := range []string{"sessions list", "sessions revoke --user", "sessions revoke --session", "users lock", "users unlock", "users mfa reset", "keys rotate", "--emergency", "--mac", "revoke-all", "--before", "--stack", "--json", "--yes", "Exit codes"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("rotor --help does not mention %q", cmd)
		}
	}
}

func TestCLIOutput(t *testing.T) {
	w := newCLIWorld(t)
	code, out, _ := w.run([]string{"sessions", "list", "--user", "alice", "--json", "--stack", "prod"}, false, "")
	if code != 0 || w.stack != "prod" {
		t.Fatalf("exit %d, stack %q", code, w.stack)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("--json: %q (%v)", out, err)
	}
	for _, k := range []string{"id", "created", "last_used", "ip", "user_agent", "expires"} {
		if _, ok := list[0][k]; !ok {
			t.Fatalf("--json session lacks %q: %v", k, list[0])
		}
	}
	_, table, _ := w.run([]string{"sessions", "list", "--user", "alice"}, false, "")
	if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "SESSION") || !strings.Contains(lines[1], "198.51.100.9") {
		t.Fatalf("table:\n%s", table)
	}
	code, out, _ = w.run([]string{"sessions", "revoke", "--user", "alice", "--yes", "--json"}, false, "")
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || res["revoked"] != float64(2) {
		t.Fatalf("revoke --json: %d %q", code, out)
	}
}

type fakeStacks map[string]map[string]string

func (f fakeStacks) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	outs, ok := f[aws.ToString(in.StackName)]
	if !ok {
		return nil, errors.New("ValidationError: Stack does not exist")
	}
	st := cftypes.Stack{}
	for k, v := range outs {
		st.Outputs = append(st.Outputs, cftypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cftypes.Stack{st}}, nil
}

func TestConfigFromStackOutputs(t *testing.T) {
	full := map[string]string{
		"Store": "dynamodb", "UsersTable": "prod-Users-1", "SessionsTable": "prod-Sessions-1", "LoginAttemptsTable": "prod-Attempts-1",
		"SigningSecretArn": "arn:aws:secretsmanager:eu-west-1:1:secret:sign", "MacSecretArn": "arn:mac", "SigningAlg": "EdDSA",
		"Issuer": "https://auth.example.com", "Audience": "urn:rotor:prod:api", "ApiUrl": "https://x",
	}
	// A stack from a template before the Store output: DynamoDB.
	partial := map[string]string{"UsersTable": "u", "SessionsTable": "s", "SigningSecretArn": "arn:sign"}
	pg := map[string]string{
		"Store": "postgres", "DatabaseUrl": "postgres://rotor@proxy.example:5432/rotor?sslmode=require",
		"DatabaseSecretArn": "arn:db", "SigningSecretArn": "arn:sign",
	}
	rd := map[string]string{
		"Store": "redis", "RedisUrl": "rediss://rotor@cache.example:6379", "RedisSecretArn": "arn:cache",
		"RedisCluster": "true", "SigningSecretArn": "arn:sign",
	}
	api := fakeStacks{
		"prod": full, "old": {"UsersTable": "u"}, "partial": partial, "pg": pg, "redis": rd,
		"pg-no-url":    {"Store": "postgres", "SigningSecretArn": "arn:sign"},
		"redis-no-url": {"Store": "redis", "RedisCluster": "true", "SigningSecretArn": "arn:sign"},
		"older-pg":     {"SigningSecretArn": "arn:sign", "ApiUrl": "https://x"},
		"unknown":      {"Store": "cassandra", "SigningSecretArn": "arn:sign"},
	}
	// The operator's environment: what the stack publishes wins over it.
	env := map[string]string{
		"ROTOR_STORE": "memory", "ROTOR_USERS_TABLE": "env-users", "ROTOR_ATTEMPTS_TABLE": "env-attempts",
		"ROTOR_DATABASE_SECRET_ID": "env-db-secret", "ROTOR_REDIS_NAMESPACE": "ops",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		name, stack string
		want        func(config.Config) bool
		wantErr     bool
	}{
		{"every output", "prod", func(c config.Config) bool {
			return c.UsersTable == "prod-Users-1" && c.SessionsTable == "prod-Sessions-1" && c.AttemptsTable == "prod-Attempts-1" &&
				c.SigningSecretID == full["SigningSecretArn"] && c.MACSecretID == "arn:mac" && c.SigningAlg == "EdDSA" && c.Issuer == "https://auth.example.com" && c.Store == "dynamodb"
		}, false},
		{"optional outputs keep the environment's values", "partial", func(c config.Config) bool {
			return c.Store == "dynamodb" && c.UsersTable == "u" && c.AttemptsTable == "env-attempts" && c.SigningAlg == "ES256"
		}, false},
		{"postgres", "pg", func(c config.Config) bool {
			return c.Store == "postgres" && c.DatabaseURL == pg["DatabaseUrl"] && c.DatabaseSecretID == "arn:db" && c.SigningSecretID == "arn:sign"
		}, false},
		{"redis", "redis", func(c config.Config) bool {
			return c.Store == "redis" && c.RedisURL == rd["RedisUrl"] && c.RedisSecretID == "arn:cache" && c.RedisCluster && c.RedisNamespace == "ops"
		}, false},
		{"a required output missing", "old", nil, true},
		{"postgres without its URL", "pg-no-url", nil, true},
		{"redis without its URL", "redis-no-url", nil, true},
		{"neither Store nor the tables", "older-pg", nil, true},
		{"a store the CLI cannot open", "unknown", nil, true},
		{"no such stack", "nope", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs, err := admin.StackOutputs(context.Background(), api, tc.stack)
			var c config.Config
			if err == nil {
				c, err = admin.ConfigFromOutputs(lookup, outs)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !tc.want(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}

type fakeSTS struct{ err error }

func (f fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sts.GetCallerIdentityOutput{Arn: aws.String("arn:aws:sts::1:assumed-role/ops/jo")}, nil
}

func TestCaller(t *testing.T) {
	if got := admin.Caller(context.Background(), fakeSTS{}, discard()); got != "arn:aws:sts::1:assumed-role/ops/jo" {
		t.Fatalf("caller %q", got)
	}
	if got := admin.Caller(context.Background(), fakeSTS{err: errors.New("no route")}, discard()); got != "unknown" {
		t.Fatalf("caller without STS %q", got)
	}
}

// TestCLINamesThatLookLikeFlags: users named -help and --yes exist (the
// username rules allow them). A name is never parsed as a flag: after "--"
// every argument is a name; before it, an argument starting with - is a flag,
// and one the command does not define (-help, -h included) is a usage error.
// So "users lock -help --yes" never exits 0 without locking (it printed the
// help and exited 0 before), and "-- -help --yes" is two names, not a flag.
func TestCLINamesThatLookLikeFlags(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		locked []string // the users locked after
	}{
		{"lock -help --yes", []string{"users", "lock", "-help", "--yes"}, admin.ExitUsage, nil},
		{"lock --yes -help", []string{"users", "lock", "--yes", "-help"}, admin.ExitUsage, nil},
		{"lock bob -h --yes", []string{"users", "lock", "bob", "-h", "--yes"}, admin.ExitUsage, nil},
		{"lock bob --help --yes", []string{"users", "lock", "bob", "--help", "--yes"}, admin.ExitUsage, nil},
		{"lock -- -help --yes is two names", []string{"users", "lock", "--", "-help", "--yes"}, admin.ExitUsage, nil},
		{"lock --yes -- --yes", []string{"users", "lock", "--yes", "--", "--yes"}, admin.ExitOK, []string{"--yes"}},
		{"lock --yes -- -help", []string{"users", "lock", "--yes", "--", "-help"}, admin.ExitOK, []string{"-help"}},
		{"lock -- -help without --yes refuses", []string{"users", "lock", "--", "-help"}, admin.ExitUsage, nil},
		{"unlock -help", []string{"users", "unlock", "-help"}, admin.ExitUsage, nil},
		{"revoke --user with a value that looks like a flag", []string{"sessions", "revoke", "--user", "--yes"}, admin.ExitUsage, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newCLIWorld(t)
			w.signup(t, "-help", "--yes")
			w.login(t, "-help")
			w.login(t, "--yes")
			code, stdout, stderr := w.run(tc.args, false, "")
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, stdout, stderr)
			}
			if code != admin.ExitOK && strings.Contains(stdout, "Usage:") {
				t.Fatalf("printed the help: %q", stdout)
			}
			ctx := context.Background()
			for _, name := range []string{"-help", "--yes", "bob"} {
				u, err := w.admin.Store.GetUser(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if want := slices.Contains(tc.locked, name); u.Locked != want {
					t.Fatalf("user %q locked=%v, want %v; stdout %q stderr %q", name, u.Locked, want, stdout, stderr)
				}
				live, _ := w.admin.Sessions(ctx, name)
				if (len(live) == 0) != slices.Contains(tc.locked, name) {
					t.Fatalf("user %q has %d live sessions, locked=%v", name, len(live), u.Locked)
				}
			}
		})
	}
}

// TestSessionsListEscapes: a user agent and an address are what a client
// sent. rotor sessions list prints none of their control or format
// characters to the operator's terminal: not ESC (escape sequences), NUL,
// DEL or C1, not the bidi override U+202E nor the isolate U+2066 (which make
// "evil\u202Egnp.exe" read as "evilexe.png"), not a zero-width space, in the
// table or in --json (where they are \u escapes: the same string to a JSON
// reader).
func TestSessionsListEscapes(t *testing.T) {
	const ua = "evil\u202egnp.exe \x1b]0;owned\x07 \x1b[2J nul\x00 del\x7f csi\u009b iso\u2066x\u2069 zw\u200b bom\ufeff tag\U000e0001"
	const ip = "203.0.113.7\u202e\x1b[1A"
	unsafe := []string{"\u202e", "\x1b", "\x00", "\x07", "\x7f", "\u009b", "\u2066", "\u2069", "\u200b", "\ufeff", "\U000e0001"}
	w := newWorld(t, memory.New())
	w.signup(t, "mallory")
	if _, err := w.svc.Login(context.Background(), "mallory", pw, "", auth.Client{IP: ip, UserAgent: ua}); err != nil {
		t.Fatal(err)
	}
	cw := &cliWorld{world: w}
	for _, args := range [][]string{{"sessions", "list", "--user", "mallory"}, {"sessions", "list", "--user", "mallory", "--json"}} {
		code, out, stderr := cw.run(args, false, "")
		if code != admin.ExitOK {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
		for _, c := range unsafe {
			if strings.Contains(out, c) {
				t.Errorf("%v printed %U to the terminal: %q", args, []rune(c)[0], out)
			}
		}
		if !strings.Contains(out, "evil") || !strings.Contains(out, "203.0.113.7") {
			t.Fatalf("%v lost the text around the escapes: %q", args, out)
		}
		if slices.Contains(args, "--json") {
			var list []map[string]any
			// The stored strings, as Manager.Start sanitized them (C0/C1
			// controls became U+FFFD; format characters stay).
			stored, err := w.admin.Sessions(context.Background(), "mallory")
			if err != nil || len(stored) != 1 {
				t.Fatalf("stored sessions: %v, %v", stored, err)
			}
			if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0]["user_agent"] != stored[0].UserAgent || list[0]["ip"] != stored[0].IP {
				t.Fatalf("--json is not the stored strings: %q (%v)", out, err)
			}
		}
	}
}
