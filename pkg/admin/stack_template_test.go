package admin

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rotor-auth/rotor/internal/testenv"
)

// cfnTemplate evaluates the conditions and !If of template.yaml for one set
// of parameter values: just enough CloudFormation to compare an output with
// the functions' variable it stands for.
type cfnTemplate struct {
	t      *testing.T
	params map[string]string
	conds  *yaml.Node
}

// mapValue is the value of key in a YAML mapping, or nil.
func mapValue(n *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

func (c cfnTemplate) scalar(n *yaml.Node) string {
	if n.Tag == "!Ref" {
		v, ok := c.params[n.Value]
		if !ok {
			c.t.Fatalf("a condition refers to %s, which is not a parameter", n.Value)
		}
		return v
	}
	if n.Kind != yaml.ScalarNode {
		c.t.Fatalf("cannot compare %s at line %d", n.Tag, n.Line)
	}
	return n.Value
}

func (c cfnTemplate) cond(name string) bool {
	n := mapValue(c.conds, name)
	if n == nil {
		c.t.Fatalf("no condition %s", name)
	}
	return c.eval(n)
}

func (c cfnTemplate) eval(n *yaml.Node) bool {
	switch n.Tag {
	case "!Equals":
		return c.scalar(n.Content[0]) == c.scalar(n.Content[1])
	case "!Not":
		return !c.eval(n.Content[0])
	case "!And", "!Or":
		and := n.Tag == "!And"
		for _, m := range n.Content {
			if c.eval(m) != and {
				return !and
			}
		}
		return and
	case "!Condition":
		return c.cond(n.Value)
	}
	c.t.Fatalf("condition function %s (line %d) not evaluated here", n.Tag, n.Line)
	return false
}

// resolve picks the branches of !If.
func (c cfnTemplate) resolve(n *yaml.Node) *yaml.Node {
	for n.Tag == "!If" {
		if c.cond(n.Content[0].Value) {
			n = n.Content[1]
		} else {
			n = n.Content[2]
		}
	}
	return n
}

// empty reports whether n is "", written so or a parameter's value.
func (c cfnTemplate) empty(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if v, ok := c.params[n.Value]; ok && n.Tag == "!Ref" {
		return v == ""
	}
	return n.Tag == "!!str" && n.Value == ""
}

// same reports whether two template expressions are the same, wherever
// they are written.
func same(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !same(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// template is template.yaml's top-level mapping.
func template(t *testing.T) *yaml.Node { return testenv.Template(t) }

// TestStackOutputsAreTheFunctionsVariables holds template.yaml to what
// --stack assumes: for each Store, with and without a connection secret,
// every output the CLI reads is, when published, the very expression the
// functions' variable has, and when not published the functions' variable is
// empty; and the outputs the store needs are published. So the CLI reaches
// the store the way the functions do.
func TestStackOutputsAreTheFunctionsVariables(t *testing.T) {
	root := template(t)
	env := mapValue(root, "Globals", "Function", "Environment", "Variables")
	outputs := mapValue(root, "Outputs")
	if env == nil || outputs == nil {
		t.Fatal("template.yaml has no Globals.Function.Environment.Variables or no Outputs")
	}
	defaults := map[string]string{}
	params := mapValue(root, "Parameters")
	for i := 0; i+1 < len(params.Content); i += 2 {
		if d := mapValue(params.Content[i+1], "Default"); d != nil {
			defaults[params.Content[i].Value] = d.Value
		}
	}
	for _, tc := range []struct{ store, secret, want string }{
		{"DynamoDB", "", "dynamodb"},
		{"PostgreSQL", "", "postgres"},
		{"PostgreSQL", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1", "postgres"},
		{"Redis", "", "redis"},
		{"Redis", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cache", "redis"},
	} {
		t.Run(tc.store+"/secret="+tc.secret, func(t *testing.T) {
			c := cfnTemplate{t: t, params: map[string]string{}, conds: mapValue(root, "Conditions")}
			for k, v := range defaults {
				c.params[k] = v
			}
			c.params["Store"], c.params["ConnectionSecretArn"] = tc.store, tc.secret
			published := map[string]bool{}
			for _, sv := range stackVariables {
				out, v := mapValue(outputs, sv.output), mapValue(env, sv.variable)
				if out == nil || v == nil {
					t.Fatalf("template.yaml has no output %s or no variable %s", sv.output, sv.variable)
				}
				if sv.output == "Issuer" {
					continue // {api_id} in the functions' value: see stackVariables
				}
				cond := mapValue(out, "Condition")
				published[sv.output] = cond == nil || c.cond(cond.Value)
				got := c.resolve(v)
				switch {
				case published[sv.output]:
					if want := c.resolve(mapValue(out, "Value")); !same(got, want) {
						t.Errorf("output %s is %s %q, the functions' %s is %s %q", sv.output, want.Tag, want.Value, sv.variable, got.Tag, got.Value)
					}
					if sv.output == "Store" && (got.Kind != yaml.ScalarNode || got.Value != tc.want) {
						t.Errorf("Store=%s: the functions' ROTOR_STORE is %q, want %q", tc.store, got.Value, tc.want)
					}
				case !c.empty(got):
					t.Errorf("output %s is not published, but the functions' %s is set (%s %q): the CLI would not see it", sv.output, sv.variable, got.Tag, got.Value)
				}
			}
			for _, k := range append(storeOutputs[tc.want], "SigningSecretArn") {
				if !published[k] {
					t.Errorf("Store=%s: output %s, which the CLI needs, is not published", tc.store, k)
				}
			}
		})
	}
}

// refers reports whether n, anywhere inside, names resource (!Ref, !GetAtt).
func refers(n *yaml.Node, resource string) bool {
	if (n.Tag == "!Ref" || n.Tag == "!GetAtt") && n.Kind == yaml.ScalarNode && (n.Value == resource || len(n.Value) > len(resource) && n.Value[:len(resource)+1] == resource+".") {
		return true
	}
	for _, m := range n.Content {
		if refers(m, resource) {
			return true
		}
	}
	return false
}

// TestAccessLogsHaveTheAccountRole: access logging needs the account's API
// Gateway CloudWatch Logs role in the region, or the stage fails to create.
// By default (a first deploy on a fresh account) the template creates the
// role and the account setting, before the stage (the access log group the
// stage logs to refers to the setting), and keeps both on delete; with
// CreateApiGatewayLogsRole=false or without access logs it touches neither.
func TestAccessLogsHaveTheAccountRole(t *testing.T) {
	root := template(t)
	res := mapValue(root, "Resources")
	params := mapValue(root, "Parameters")
	if d := mapValue(params, "EnableAccessLogs", "Default"); d == nil || d.Value != "true" {
		t.Fatal("EnableAccessLogs must default to true")
	}
	if d := mapValue(params, "CreateApiGatewayLogsRole", "Default"); d == nil || d.Value != "true" {
		t.Fatal("with access logs on by default, CreateApiGatewayLogsRole must default to true: a fresh account has no role")
	}
	var account string
	for i := 0; i+1 < len(res.Content); i += 2 {
		if mapValue(res.Content[i+1], "Type").Value == "AWS::ApiGateway::Account" {
			account = res.Content[i].Value
		}
	}
	if account == "" {
		t.Fatal("template.yaml has no AWS::ApiGateway::Account")
	}
	acct := mapValue(res, account)
	role := mapValue(acct, "Properties", "CloudWatchRoleArn")
	if role == nil || role.Tag != "!GetAtt" {
		t.Fatalf("%s.CloudWatchRoleArn is not a role of the template", account)
	}
	roleName := role.Value[:len(role.Value)-len(".Arn")]
	for _, name := range []string{account, roleName} {
		for _, k := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
			if v := mapValue(res, name, k); v == nil || v.Value != "Retain" {
				t.Errorf("%s.%s is not Retain: deleting the stack would leave the region's API logging without a role", name, k)
			}
		}
	}
	for _, tc := range []struct {
		logs, create string
		want         bool
	}{{"true", "true", true}, {"true", "false", false}, {"false", "true", false}, {"false", "false", false}} {
		c := cfnTemplate{t: t, params: map[string]string{"EnableAccessLogs": tc.logs, "CreateApiGatewayLogsRole": tc.create}, conds: mapValue(root, "Conditions")}
		for _, name := range []string{account, roleName} {
			if got := c.cond(mapValue(res, name, "Condition").Value); got != tc.want {
				t.Errorf("EnableAccessLogs=%s CreateApiGatewayLogsRole=%s: %s created %v, want %v", tc.logs, tc.create, name, got, tc.want)
			}
		}
		if !tc.want {
			continue
		}
		// The stage gets AccessLogSetting.DestinationArn from this group.
		group := mapValue(res, "ApiAccessLogGroup")
		if !c.cond(mapValue(group, "Condition").Value) || !refers(c.resolve(mapValue(group, "Properties", "Tags")), account) {
			t.Errorf("ApiAccessLogGroup does not refer to %s: the stage may be created before the account has a role", account)
		}
		if !refers(mapValue(res, "RotorApi", "Properties", "AccessLogSetting"), "ApiAccessLogGroup") {
			t.Error("RotorApi's access logs do not go to ApiAccessLogGroup")
		}
	}
}

// TestPasswordGuessRoutesHaveAMethodThrottle: every route that checks a
// password with argon2id has a gateway method throttle of its own in the
// stage's MethodSettings, tighter than the stage's: a burst of guesses is
// cut at the gateway before the store's per-key reservation refuses it.
func TestPasswordGuessRoutesHaveAMethodThrottle(t *testing.T) {
	settings := mapValue(template(t), "Resources", "RotorApi", "Properties", "MethodSettings")
	if settings == nil || settings.Kind != yaml.SequenceNode {
		t.Fatal("template.yaml: RotorApi has no MethodSettings")
	}
	for _, path := range []string{"/~1auth~1login", "/~1oauth~1token", "/~1auth~1password", "/~1auth~1mfa~1verify"} {
		found := false
		for _, s := range settings.Content {
			if v := mapValue(s, "ResourcePath"); v == nil || v.Value != path {
				continue
			}
			rate, burst := mapValue(s, "ThrottlingRateLimit"), mapValue(s, "ThrottlingBurstLimit")
			if m := mapValue(s, "HttpMethod"); m == nil || m.Value != "POST" || rate == nil || burst == nil || rate.Value == "ApiThrottleRate" || burst.Value == "ApiThrottleBurst" {
				t.Fatalf("%s: %+v; want POST with a rate and burst of its own", path, s)
			}
			found = true
		}
		if !found {
			t.Errorf("no method throttle for POST %s", path)
		}
	}
}
