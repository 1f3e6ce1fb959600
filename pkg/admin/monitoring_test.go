package admin_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"gopkg.in/yaml.v3"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/mail"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/stepup"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/token"
	"github.com/rotor-auth/rotor/pkg/totp"
)

// filterPattern is the subset of the CloudWatch Logs filter pattern syntax
// for JSON log events the template uses: `{ $.field = "value" }` and
// `!=`, joined by && and || (&& binds tighter), without parentheses. See
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
// ("Using metric filters to match terms in JSON log events").
type filterPattern [][]term // OR of ANDs

type term struct {
	path  []string
	neg   bool
	value string
}

var termRE = regexp.MustCompile(`^\$\.([A-Za-z0-9_.]+)\s*(=|!=)\s*"([^"]*)"$`)

func parseFilter(t *testing.T, p string) filterPattern {
	t.Helper()
	p = strings.TrimSpace(p)
	if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") || strings.ContainsAny(p, "()") {
		t.Fatalf("filter pattern %q: want { $.field = \"value\" [&& ...] [|| ...] }", p)
	}
	var out filterPattern
	for _, alt := range strings.Split(p[1:len(p)-1], "||") {
		var and []term
		for _, part := range strings.Split(alt, "&&") {
			m := termRE.FindStringSubmatch(strings.TrimSpace(part))
			if m == nil {
				t.Fatalf("filter pattern %q: term %q outside the supported syntax", p, part)
			}
			and = append(and, term{path: strings.Split(m[1], "."), neg: m[2] == "!=", value: m[3]})
		}
		out = append(out, and)
	}
	return out
}

func (f filterPattern) match(line map[string]any) bool {
	for _, and := range f {
		ok := true
		for _, tm := range and {
			var v any = line
			for _, k := range tm.path {
				m, isMap := v.(map[string]any)
				if !isMap {
					v = nil
					break
				}
				v = m[k]
			}
			s, isStr := v.(string)
			eq := isStr && s == tm.value
			if eq == tm.neg {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// metricFilter is one AWS::Logs::MetricFilter of template.yaml.
type metricFilter struct {
	name, logGroup, pattern, metric string
}

// node returns the value of key in a YAML mapping node.
func node(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func templateResources(t *testing.T) (filters []metricFilter, alarmMetrics []string) {
	t.Helper()
	res := node(testenv.Template(t), "Resources")
	for i := 0; i+1 < len(res.Content); i += 2 {
		name, r := res.Content[i].Value, res.Content[i+1]
		props := node(r, "Properties")
		switch node(r, "Type").Value {
		case "AWS::Logs::MetricFilter":
			tr := node(props, "MetricTransformations").Content[0]
			filters = append(filters, metricFilter{name: name, logGroup: node(props, "LogGroupName").Value,
				pattern: node(props, "FilterPattern").Value, metric: node(tr, "MetricName").Value})
		case "AWS::CloudWatch::Alarm":
			if strings.HasPrefix(node(props, "Namespace").Value, "AWS/") {
				continue // a service's own metric (the mailer's dead-letter queue), not a log's
			}
			alarmMetrics = append(alarmMetrics, node(props, "MetricName").Value)
		}
	}
	return filters, alarmMetrics
}

// logs collects JSON log lines per log group (one per function).
type logs map[string]*bytes.Buffer

func (l logs) logger(group string) *slog.Logger {
	if l[group] == nil {
		l[group] = &bytes.Buffer{}
	}
	return slog.New(slog.NewJSONHandler(l[group], nil))
}

func (l logs) lines(t *testing.T, group string) []map[string]any {
	t.Helper()
	var out []map[string]any
	if l[group] == nil {
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(l[group].Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

type failingKeys struct{}

func (failingKeys) Keys(context.Context) (keys.Set, error) {
	return keys.Set{}, errors.New("secrets manager unavailable")
}

// runFlows runs every flow that writes a security event, each function's
// code logging to its own log group, as deployed.
func runFlows(t *testing.T) logs {
	l := logs{}
	w := newWorld(t, memory.New())
	ctx := context.Background()
	w.signup(t, "alice", "bob")

	w.svc.Log = l.logger("LoginLogGroup")
	a := w.login(t, "alice")
	for range 6 { // the 6th is throttled
		w.svc.Login(ctx, "bob", "wrong password", "", auth.Client{IP: "203.0.113.5"})
	}

	w.svc.Log = l.logger("RefreshLogGroup")
	old := a
	if !w.refreshes(t, &a) {
		t.Fatal("refresh")
	}
	w.now = w.now.Add(time.Minute)
	if _, err := w.svc.Refresh(ctx, old.RefreshToken, ""); err == nil {
		t.Fatal("reuse of a superseded token succeeded")
	}
	// Another base64url letter in the session id: still one spelling of a
	// token, so it reaches the MAC check (an XOR could make '8' a ';', which
	// is refused earlier as malformed and logs no refresh_token_forged).
	forged := []byte(a.RefreshToken)
	forged[5] = 'A'
	if a.RefreshToken[5] == 'A' {
		forged[5] = 'B'
	}
	if _, err := w.svc.Refresh(ctx, string(forged), ""); err == nil {
		t.Fatal("a forged refresh token was accepted")
	}

	w.svc.Log = l.logger("LogoutLogGroup")
	w.svc.Logout(ctx, string(forged))

	// The token and revoke functions run the same flows (pkg/httpapi
	// oauth.go calls auth.Service's Login, Refresh and Logout).
	w.svc.Log = l.logger("TokenLogGroup")
	tk := w.login(t, "alice")
	for range 6 {
		w.svc.Login(ctx, "bob", "wrong password", "", auth.Client{IP: "203.0.113.6"})
	}
	tkOld := tk
	if !w.refreshes(t, &tk) {
		t.Fatal("refresh")
	}
	w.now = w.now.Add(time.Minute)
	w.svc.Refresh(ctx, tkOld.RefreshToken, "")
	w.svc.Refresh(ctx, string(forged), "")
	w.svc.Log = l.logger("RevokeLogGroup")
	w.svc.Logout(ctx, string(forged))

	w.svc.Log = l.logger("PasswordLogGroup")
	b := w.login(t, "alice")
	c := auth.Caller{UserID: b.UserID, Username: "alice", SessionID: b.SessionID}
	for range 6 {
		w.svc.ChangePassword(ctx, c, "not the password", "a brand new passphrase")
	}

	// The second step: a replayed code, then wrong codes until throttled.
	w.signup(t, "carol")
	secret := w.enrol(t, "carol", w.login(t, "carol"))
	w.svc.Log = l.logger("MfaLogGroup")
	mfaTokenOf := func(name string) string {
		_, err := w.svc.Login(ctx, name, pw, "", auth.Client{})
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != "mfa_required" {
			t.Fatalf("login of an enrolled user: %v", err)
		}
		return e.Fields["mfa_token"]
	}
	mfaToken := func() string { return mfaTokenOf("carol") }
	w.now = w.now.Add(time.Minute)
	code, _ := totp.Code(secret, w.now)
	if _, err := w.svc.VerifyMFA(ctx, mfaToken(), code, "", "", auth.Client{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	w.svc.VerifyMFA(ctx, mfaToken(), code, "", "", auth.Client{})
	tok := mfaToken()
	for range 6 { // the last are throttled
		w.svc.VerifyMFA(ctx, tok, "000000", "", "", auth.Client{})
	}
	// The token function's MFA grants (pkg/httpapi oauth.go) run the same
	// second step: a replayed code and a wrong one.
	w.signup(t, "erin")
	secret = w.enrol(t, "erin", w.login(t, "erin"))
	w.svc.Log = l.logger("TokenLogGroup")
	w.now = w.now.Add(time.Minute)
	code, _ = totp.Code(secret, w.now)
	if _, err := w.svc.VerifyMFA(ctx, mfaTokenOf("erin"), code, "", "", auth.Client{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	w.svc.VerifyMFA(ctx, mfaTokenOf("erin"), code, "", "", auth.Client{})
	w.svc.VerifyMFA(ctx, mfaTokenOf("erin"), "000000", "", "", auth.Client{})

	// The key leaked: after the emergency MAC rotation an enrolled user's
	// TOTP step cannot be checked (mfa_key_gone), in the MFA function and
	// in the token function (its MFA grant runs the same VerifyMFA).
	keyGone(t, l.logger("MfaLogGroup"), l.logger("TokenLogGroup"))

	az := &authorizer.Authorizer{
		Verifier: &token.Verifier{Keys: w.svc.Tokens.Keys, Alg: "ES256", Issuer: "rotor", Audience: "rotor-api"},
		Log:      l.logger("AuthorizerLogGroup"),
	}
	az.Authorize(ctx, "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
	// A bearer token under the DPoP scheme: a refused use (dpop_refused).
	dz := &authorizer.Authorizer{
		Verifier: &token.Verifier{Keys: w.svc.Tokens.Keys, Alg: "ES256", Issuer: w.svc.Tokens.Issuer, Audience: w.svc.Tokens.Audience, Now: func() time.Time { return w.now }},
		Log:      l.logger("AuthorizerLogGroup"),
	}
	if _, err := dz.Authorize(ctx, "DPoP "+b.AccessToken); !errors.Is(err, authorizer.ErrInvalidProof) {
		t.Fatalf("a bearer token under DPoP: %v", err)
	}
	az.Verifier = &token.Verifier{Keys: failingKeys{}, Alg: "ES256", Issuer: "rotor", Audience: "rotor-api"}
	az.Authorize(ctx, "Bearer "+b.AccessToken)
	// A password-only token on a route of ROTOR_MFA_ROUTES (step_up_required).
	routes, err := stepup.Parse("POST /payments/*")
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return w.now }
	az.Verifier = &token.Verifier{Keys: w.svc.Tokens.Keys, Alg: "ES256", Issuer: w.svc.Tokens.Issuer, Audience: w.svc.Tokens.Audience, Now: clock}
	az.MFARoutes, az.Now = routes, clock
	ev, err := json.Marshal(map[string]string{"type": "TOKEN", "authorizationToken": "Bearer " + w.login(t, "alice").AccessToken,
		"methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/v1/POST/payments/42"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := az.Invoke(ctx, ev); err != nil {
		t.Fatalf("authorizer on an MFA route: %v", err)
	}

	// The mail sender gives up a message its transport refuses for good.
	box := memory.New()
	if err := box.AddMessage(ctx, outbox.Message{ID: "msg_monitoring", Kind: outbox.PasswordChanged, To: "a@example.org", CreatedAt: w.now}); err != nil {
		t.Fatal(err)
	}
	tpl, err := mail.NewTemplates("Rotor", "https://app.example.com", "no-reply@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	s := &mail.Sender{Outbox: box, Transport: refusing{}, Render: tpl, Now: func() time.Time { return w.now }, Log: l.logger("MailerLogGroup")}
	if err := s.Deliver(ctx, "msg_monitoring"); err != nil {
		t.Fatal(err)
	}
	return l
}

// keyGone enrols a user with the MAC key in Secrets Manager (moto), rotates
// it as `rotor keys rotate --mac --emergency` does, and tries the user's
// second step with a TOTP code once per logger, logging to it.
func keyGone(t *testing.T, loggers ...*slog.Logger) {
	t.Helper()
	ctx := testenv.Context(t)
	sm := testenv.SecretsManager(t)
	id := testenv.Name(t, "mac")
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(strings.Repeat("k", 64))}); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, memory.New())
	w.svc.MAC, w.svc.Sessions.MAC = fetched{sm, id}, fetched{sm, id}
	w.admin.Secrets, w.admin.MACSecretID, w.admin.KeyCacheTTL = sm, id, 5*time.Minute
	w.signup(t, "dave")
	secret := w.enrol(t, "dave", w.login(t, "dave"))
	if _, err := w.admin.RotateMAC(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, log := range loggers {
		w.svc.Log = log
		w.now = w.now.Add(time.Minute) // a fresh step: no replay
		code, err := totp.Code(secret, w.now)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.secondStep(t, "dave", code, ""); err == nil {
			t.Fatal("a TOTP code sealed under the key an emergency rotation removed finished a login")
		}
	}
}

// refusing is a mail transport that refuses every mail for good.
type refusing struct{}

func (refusing) Send(context.Context, mail.Email) error {
	return mail.Permanent(errors.New("550 mailbox unavailable"))
}

// lambdaLevels orders Lambda's application log levels (advanced logging
// controls); a line whose "level" Lambda cannot read counts as INFO.
var lambdaLevels = map[string]int{"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4, "FATAL": 5}

// lambdaKeeps reports whether Lambda sends line to CloudWatch Logs under the
// function's ApplicationLogLevel ("" when Lambda does not filter).
func lambdaKeeps(line map[string]any, min string) bool {
	if min == "" {
		return true
	}
	lv, _ := line["level"].(string)
	n, ok := lambdaLevels[strings.ToUpper(lv)]
	if !ok {
		n = lambdaLevels["INFO"]
	}
	return n >= lambdaLevels[min]
}

// appLogLevels returns, per log group of a function in template.yaml, the
// ApplicationLogLevel Lambda filters that function's lines with (Globals
// merged with the function's own LoggingConfig, a !Ref read as its
// parameter's default). Lambda filters by level only in the JSON format, so
// a level without LogFormat JSON is an error here.
func appLogLevels(t *testing.T) map[string]string {
	t.Helper()
	tpl := testenv.Template(t)
	params := node(tpl, "Parameters")
	value := func(n *yaml.Node) string {
		if n == nil {
			return ""
		}
		if p := node(params, n.Value); n.Tag == "!Ref" && p != nil {
			return node(p, "Default").Value
		}
		return n.Value // a literal, or a !Ref of a resource (a log group)
	}
	global := node(node(node(tpl, "Globals"), "Function"), "LoggingConfig")
	res := node(tpl, "Resources")
	out := map[string]string{}
	for i := 0; i+1 < len(res.Content); i += 2 {
		name, r := res.Content[i].Value, res.Content[i+1]
		if node(r, "Type").Value != "AWS::Serverless::Function" {
			continue
		}
		own := node(node(r, "Properties"), "LoggingConfig")
		get := func(key string) string {
			if v := value(node(own, key)); v != "" {
				return v
			}
			return value(node(global, key))
		}
		level, format := get("ApplicationLogLevel"), get("LogFormat")
		if level != "" && format != "JSON" {
			t.Errorf("%s: ApplicationLogLevel %s with LogFormat %q; Lambda filters levels only in JSON", name, level, format)
		}
		if _, ok := lambdaLevels[level]; level != "" && !ok {
			t.Errorf("%s: ApplicationLogLevel %q is not one of Lambda's levels", name, level)
		}
		if group := value(node(own, "LogGroup")); group != "" {
			out[group] = level
		}
	}
	return out
}

// TestMetricFiltersMatchTheLogs feeds the log lines the code writes through
// each metric filter of template.yaml: each filter counts at least one line
// of its own function's log and only lines of its event; every alarm watches
// a metric some filter produces. Lines go through the level filter the
// template configures for the function (LoggingConfig ApplicationLogLevel):
// a filter whose events Lambda would drop counts nothing.
func TestMetricFiltersMatchTheLogs(t *testing.T) {
	filters, alarms := templateResources(t)
	if len(filters) == 0 {
		t.Fatal("template.yaml has no metric filters")
	}
	l := runFlows(t)
	levels := appLogLevels(t)
	metrics := map[string]bool{}
	events := map[string]bool{}
	for _, f := range filters {
		t.Run(f.name, func(t *testing.T) {
			p := parseFilter(t, f.pattern)
			want := p[0][0].value // the event the filter is about
			matched := 0
			for _, line := range l.lines(t, f.logGroup) {
				if !lambdaKeeps(line, levels[f.logGroup]) {
					continue // Lambda drops it before CloudWatch Logs sees it
				}
				if p.match(line) {
					matched++
					if line["event"] != want {
						t.Errorf("%s counts a %v line: %v", f.pattern, line["event"], line)
					}
				}
			}
			if matched == 0 {
				t.Errorf("%s matches no line that %s's function writes", f.pattern, f.logGroup)
			}
			metrics[f.metric] = true
			events[want] = true
		})
	}
	for _, m := range alarms {
		if !metrics[m] {
			t.Errorf("an alarm watches %s, which no metric filter produces", m)
		}
	}
	for _, e := range []string{"reuse_detected", "refresh_token_forged", "login_failed", "login_throttled", "token_refused", "dpop_refused", "authorizer_error", "mail_failed", "mfa_failed", "mfa_replayed", "mfa_key_gone", "step_up_required"} {
		if !events[e] {
			t.Errorf("no metric filter counts %s", e)
		}
	}
}

func TestFilterPatternSyntax(t *testing.T) {
	line := map[string]any{"event": "login_failed", "ip": "203.0.113.5", "n": 3.0, "req": map[string]any{"path": "/auth/login"}}
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{`{ $.event = "login_failed" }`, true},
		{`{ $.event = "login_throttled" }`, false},
		{`{ $.event != "login_throttled" }`, true},
		{`{ $.event = "login_failed" && $.ip = "203.0.113.5" }`, true},
		{`{ $.event = "login_failed" && $.ip = "198.51.100.1" }`, false},
		{`{ $.event = "x" || $.req.path = "/auth/login" }`, true},
		{`{ $.missing = "x" }`, false},
	} {
		if got := parseFilter(t, tc.pattern).match(line); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.pattern, got, tc.want)
		}
	}
}
