package lambda_test

// The IAM audit: moto enforces no IAM, so a function whose code makes a call
// its role in template.yaml does not allow passes every local test and fails
// in AWS. Every function runs here with its own access key id (its logical
// id) and talks to moto through auditProxy, which records who called what on
// which resource. After all tests, TestMain checks each recorded call against
// that function's policy in template.yaml, as deployed with the DynamoDB
// store (the parameters' defaults), and fails the run naming every call the
// policy does not allow.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// Where the audit places the stack: moto's default account and the tests' region.
const (
	auditAccount   = "123456789012"
	auditPartition = "aws"
)

// apiCall is one AWS API request a function made: the IAM action it needs
// and the resource it needs it on.
type apiCall struct {
	Function string // the function's logical id (its access key id here)
	Action   string // e.g. dynamodb:GetItem
	Resource string // an ARN
}

func (c apiCall) String() string { return c.Function + " " + c.Action + " " + c.Resource }

// auditProxy forwards every request to moto and records the calls in it.
type auditProxy struct {
	url string
	srv *http.Server

	mu    sync.Mutex
	calls map[apiCall]int
	items map[apiCall][]map[string]string // the key attributes of each single-item DynamoDB call
	bad   []string                        // requests the proxy could not read: the audit fails on them
}

func startAuditProxy(motoURL string) (*auditProxy, error) {
	target, err := url.Parse(motoURL)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &auditProxy{url: "http://" + l.Addr().String(), calls: map[apiCall]int{}, items: map[apiCall][]map[string]string{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.record(r, body)
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

func (p *auditProxy) close() { _ = p.srv.Close() }

var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request`)

func (p *auditProxy) record(r *http.Request, body []byte) {
	calls, err := callsOf(r.Header.Get("Authorization"), r.Header.Get("X-Amz-Target"), r.Method, r.URL.Path, body)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.bad = append(p.bad, fmt.Sprintf("%s %s: %v", r.Method, r.URL.Path, err))
		return
	}
	for _, c := range calls {
		p.calls[c]++
		if k := itemKeys(r.Header.Get("X-Amz-Target"), body); k != nil {
			p.items[c] = append(p.items[c], k)
		}
	}
}

// itemsOf returns the key attributes recorded for each single-item call.
func (p *auditProxy) itemsOf() map[apiCall][]map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[apiCall][]map[string]string, len(p.items))
	for c, ks := range p.items {
		out[c] = append([]map[string]string(nil), ks...)
	}
	return out
}

// snapshot returns the recorded calls, sorted, and the unreadable requests.
func (p *auditProxy) snapshot() ([]apiCall, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]apiCall, 0, len(p.calls))
	for c := range p.calls {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, append([]string(nil), p.bad...)
}

func tableARN(name string) string {
	return fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", auditPartition, region, auditAccount, name)
}

// callsOf reads one signed request: who (the SigV4 access key id), which
// action (X-Amz-Target of the JSON APIs; the REST path of SES v2) and which
// resources (the tables in the body, with the per-item actions the
// transactions need; the secret; the sending identity).
func callsOf(authz, target, method, path string, body []byte) ([]apiCall, error) {
	m := credentialRE.FindStringSubmatch(authz)
	if m == nil {
		return nil, fmt.Errorf("no SigV4 credential in Authorization %q", authz)
	}
	fn, service := m[1], m[3]
	one := func(action, resource string) []apiCall {
		return []apiCall{{fn, action, resource}}
	}
	switch service {
	case "dynamodb":
		op, ok := strings.CutPrefix(target, "DynamoDB_20120810.")
		if !ok {
			return nil, fmt.Errorf("dynamodb request without a DynamoDB_20120810 X-Amz-Target: %q", target)
		}
		var in struct {
			TableName     string
			IndexName     string
			RequestItems  map[string]json.RawMessage
			TransactItems []map[string]struct{ TableName string }
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("dynamodb %s body: %v", op, err)
		}
		var out []apiCall
		switch op {
		case "BatchGetItem", "BatchWriteItem":
			// Authorised per table by the batch action itself.
			for table := range in.RequestItems {
				out = append(out, apiCall{fn, "dynamodb:" + op, tableARN(table)})
			}
		case "TransactWriteItems", "TransactGetItems":
			// Authorised per item by the item action (AWS: "DynamoDB API
			// permissions"): Put→PutItem, Update→UpdateItem, Delete→DeleteItem,
			// ConditionCheck→ConditionCheckItem, Get→GetItem.
			item := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
			for _, ti := range in.TransactItems {
				for kind, v := range ti {
					a, ok := item[kind]
					if !ok {
						return nil, fmt.Errorf("dynamodb %s: unknown item kind %q", op, kind)
					}
					out = append(out, apiCall{fn, "dynamodb:" + a, tableARN(v.TableName)})
				}
			}
		default:
			if in.TableName == "" {
				return one("dynamodb:"+op, "*"), nil
			}
			res := tableARN(in.TableName)
			if in.IndexName != "" {
				res += "/index/" + in.IndexName
			}
			out = one("dynamodb:"+op, res)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("dynamodb %s names no table", op)
		}
		return out, nil
	case "secretsmanager":
		op, ok := strings.CutPrefix(target, "secretsmanager.")
		if !ok {
			return nil, fmt.Errorf("secretsmanager request without a secretsmanager X-Amz-Target: %q", target)
		}
		var in struct{ SecretId string }
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("secretsmanager %s body: %v", op, err)
		}
		if in.SecretId == "" {
			return one("secretsmanager:"+op, "*"), nil
		}
		return one("secretsmanager:"+op, in.SecretId), nil
	case "ses":
		if method == http.MethodPost && path == "/v2/email/outbound-emails" {
			var in struct {
				FromEmailAddress            string
				FromEmailAddressIdentityArn string
			}
			if err := json.Unmarshal(body, &in); err != nil {
				return nil, fmt.Errorf("ses SendEmail body: %v", err)
			}
			if in.FromEmailAddressIdentityArn != "" {
				return one("ses:SendEmail", in.FromEmailAddressIdentityArn), nil
			}
			from := in.FromEmailAddress
			if i := strings.LastIndex(from, "<"); i >= 0 {
				from = strings.TrimSuffix(from[i+1:], ">")
			}
			_, domain, ok := strings.Cut(from, "@")
			if !ok {
				return nil, fmt.Errorf("ses SendEmail From %q has no domain", in.FromEmailAddress)
			}
			return one("ses:SendEmail", fmt.Sprintf("arn:%s:ses:%s:%s:identity/%s", auditPartition, region, auditAccount, domain)), nil
		}
		return nil, fmt.Errorf("ses v2 %s %s: not mapped to an IAM action (add it to callsOf)", method, path)
	}
	return nil, fmt.Errorf("service %q: not mapped to IAM actions (add it to callsOf)", service)
}

// statement is one resolved Allow or Deny of a function's role.
type statement struct {
	allow     bool
	actions   []string
	resources []string
	// leadingKeys, when set, is the statement's only condition the audit
	// reads, ForAllValues:StringLike dynamodb:LeadingKeys: it matches a call
	// only if every item the call named has a partition key among them.
	leadingKeys []string
}

// samPolicyTemplates are the SAM policy templates template.yaml uses, as
// their statements (github.com/aws/serverless-application-model,
// policy_templates.json). A template not listed fails the audit.
var samPolicyTemplates = map[string]func(params map[string]string) (statement, error){
	"AWSSecretsManagerGetSecretValuePolicy": func(params map[string]string) (statement, error) {
		arn, ok := params["SecretArn"]
		if !ok {
			return statement{}, fmt.Errorf("AWSSecretsManagerGetSecretValuePolicy without SecretArn")
		}
		return statement{allow: true, actions: []string{"secretsmanager:GetSecretValue"}, resources: []string{arn}}, nil
	},
}

// templateResolver evaluates the intrinsic functions of template.yaml for
// one deployment: parameter defaults (with overrides), conditions, and the
// tests' names for the tables and secrets.
type templateResolver struct {
	params     map[string]string
	conditions map[string]*yaml.Node
	refs       map[string]string // !Ref / ${X} of resources
	atts       map[string]string // !GetAtt X.Y / ${X.Y}
	condCache  map[string]bool
}

func mapping(n *yaml.Node, key string) *yaml.Node {
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

// newTemplateResolver reads template.yaml with the environment's tables
// and secrets standing for the stack's.
func newTemplateResolver(root string, vars map[string]string) (*yaml.Node, *templateResolver, error) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, nil, err
	}
	top := doc.Content[0]
	r := &templateResolver{params: map[string]string{}, conditions: map[string]*yaml.Node{}, condCache: map[string]bool{}}
	if ps := mapping(top, "Parameters"); ps != nil {
		for i := 0; i+1 < len(ps.Content); i += 2 {
			if d := mapping(ps.Content[i+1], "Default"); d != nil {
				r.params[ps.Content[i].Value] = d.Value
			}
		}
	}
	// The sending identity is the deployer's; the stack's rules keep MailFrom
	// within it. Any identity the test's mail comes from stands for it.
	r.params["MailSenderIdentity"] = "*"
	if cs := mapping(top, "Conditions"); cs != nil {
		for i := 0; i+1 < len(cs.Content); i += 2 {
			r.conditions[cs.Content[i].Value] = cs.Content[i+1]
		}
	}
	tables := map[string]string{
		"UsersTable": vars["ROTOR_USERS_TABLE"], "SessionsTable": vars["ROTOR_SESSIONS_TABLE"],
		"LoginAttemptsTable": vars["ROTOR_ATTEMPTS_TABLE"], "OutboxTable": vars["ROTOR_OUTBOX_TABLE"],
	}
	r.refs = map[string]string{
		"AWS::Partition": auditPartition, "AWS::Region": region, "AWS::AccountId": auditAccount,
		"AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "rotor",
		"SigningSecret": vars["ROTOR_SIGNING_SECRET_ID"], "MacSecret": vars["ROTOR_MAC_SECRET_ID"],
	}
	r.atts = map[string]string{}
	for id, name := range tables {
		r.refs[id] = name
		r.atts[id+".Arn"] = tableARN(name)
		r.atts[id+".StreamArn"] = tableARN(name) + "/stream/*"
	}
	return top, r, nil
}

func (r *templateResolver) ref(name string) (string, bool) {
	if v, ok := r.params[name]; ok {
		return v, true
	}
	v, ok := r.refs[name]
	return v, ok
}

// att resolves X.Y. A resource the functions do not reach through moto
// (a queue, a stream) gets an ARN that matches no call the proxy records:
// a call to it would be reported, never allowed by accident.
func (r *templateResolver) att(name string) string {
	if v, ok := r.atts[name]; ok {
		return v
	}
	return "arn:unresolved:" + name
}

func (r *templateResolver) condition(name string) (bool, error) {
	if v, ok := r.condCache[name]; ok {
		return v, nil
	}
	n, ok := r.conditions[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %q", name)
	}
	v, err := r.truth(n)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	r.condCache[name] = v
	return v, nil
}

// truth evaluates a condition expression.
func (r *templateResolver) truth(n *yaml.Node) (bool, error) {
	args := n.Content
	switch n.Tag {
	case "!Condition":
		return r.condition(n.Value)
	case "!Not":
		if len(args) != 1 {
			return false, fmt.Errorf("!Not takes one condition")
		}
		v, err := r.truth(args[0])
		return !v, err
	case "!And", "!Or":
		and := n.Tag == "!And"
		for _, a := range args {
			v, err := r.truth(a)
			if err != nil {
				return false, err
			}
			if v != and {
				return !and, nil
			}
		}
		return and, nil
	case "!Equals":
		if len(args) != 2 {
			return false, fmt.Errorf("!Equals takes two values")
		}
		a, err := r.scalar(args[0])
		if err != nil {
			return false, err
		}
		b, err := r.scalar(args[1])
		return a == b, err
	}
	return false, fmt.Errorf("condition %s not understood", n.Tag)
}

var subRE = regexp.MustCompile(`\$\{([^}]+)\}`)

// scalar resolves a string-valued expression.
func (r *templateResolver) scalar(n *yaml.Node) (string, error) {
	switch n.Tag {
	case "!Ref":
		v, ok := r.ref(n.Value)
		if !ok {
			return "", fmt.Errorf("!Ref %s: not known to the audit", n.Value)
		}
		return v, nil
	case "!GetAtt":
		return r.att(n.Value), nil
	case "!Sub":
		if n.Kind != yaml.ScalarNode {
			return "", fmt.Errorf("!Sub with a variable map: not supported by the audit")
		}
		var bad error
		out := subRE.ReplaceAllStringFunc(n.Value, func(s string) string {
			name := s[2 : len(s)-1]
			if v, ok := r.ref(name); ok {
				return v
			}
			if strings.Contains(name, ".") {
				return r.att(name)
			}
			bad = fmt.Errorf("!Sub ${%s}: not known to the audit", name)
			return s
		})
		return out, bad
	case "!If":
		v, err := r.pick(n)
		if err != nil || v == nil {
			return "", err
		}
		return r.scalar(v)
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: a %s where a string belongs", n.Line, n.Tag)
	}
	return n.Value, nil
}

// pick evaluates !If; nil stands for AWS::NoValue.
func (r *templateResolver) pick(n *yaml.Node) (*yaml.Node, error) {
	if len(n.Content) != 3 {
		return nil, fmt.Errorf("line %d: !If takes three arguments", n.Line)
	}
	v, err := r.condition(n.Content[0].Value)
	if err != nil {
		return nil, err
	}
	out := n.Content[2]
	if v {
		out = n.Content[1]
	}
	if out.Tag == "!Ref" && out.Value == "AWS::NoValue" {
		return nil, nil
	}
	if out.Tag == "!If" {
		return r.pick(out)
	}
	return out, nil
}

// list resolves a string or a list of strings.
func (r *templateResolver) list(n *yaml.Node) ([]string, error) {
	if n.Tag == "!If" {
		v, err := r.pick(n)
		if err != nil || v == nil {
			return nil, err
		}
		n = v
	}
	if n.Kind == yaml.SequenceNode {
		var out []string
		for _, c := range n.Content {
			vs, err := r.list(c)
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		}
		return out, nil
	}
	v, err := r.scalar(n)
	if err != nil {
		return nil, err
	}
	return []string{v}, nil
}

// rolePolicies resolves a function's Policies into statements.
func (r *templateResolver) rolePolicies(fn *yaml.Node) ([]statement, error) {
	props := mapping(fn, "Properties")
	pols := mapping(props, "Policies")
	if pols == nil {
		return nil, nil
	}
	if pols.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("Policies is not a list")
	}
	var out []statement
	for _, p := range pols.Content {
		if p.Tag == "!If" {
			v, err := r.pick(p)
			if err != nil {
				return nil, err
			}
			if v == nil {
				continue
			}
			p = v
		}
		switch {
		case p.Kind == yaml.ScalarNode:
			// A managed policy by name (AWSXRayDaemonWriteAccess...): it
			// grants none of the calls audited here.
			continue
		case mapping(p, "Statement") != nil:
			sts := mapping(p, "Statement")
			if sts.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("line %d: Statement is not a list", sts.Line)
			}
			for _, s := range sts.Content {
				if s.Tag == "!If" {
					v, err := r.pick(s)
					if err != nil {
						return nil, err
					}
					if v == nil {
						continue
					}
					s = v
				}
				eff := mapping(s, "Effect")
				act, res := mapping(s, "Action"), mapping(s, "Resource")
				if eff == nil || act == nil || res == nil {
					return nil, fmt.Errorf("line %d: a statement needs Effect, Action and Resource (the audit reads no NotAction/NotResource)", s.Line)
				}
				acts, err := r.list(act)
				if err != nil {
					return nil, err
				}
				ress, err := r.list(res)
				if err != nil {
					return nil, err
				}
				lk, err := r.leadingKeys(mapping(s, "Condition"))
				if err != nil {
					return nil, err
				}
				out = append(out, statement{allow: eff.Value == "Allow", actions: acts, resources: ress, leadingKeys: lk})
			}
		case p.Kind == yaml.MappingNode && len(p.Content) == 2:
			name := p.Content[0].Value
			tmpl, ok := samPolicyTemplates[name]
			if !ok {
				return nil, fmt.Errorf("SAM policy template %s: not mapped to its statements (add it to samPolicyTemplates)", name)
			}
			params := map[string]string{}
			pm := p.Content[1]
			for i := 0; i+1 < len(pm.Content); i += 2 {
				v, err := r.scalar(pm.Content[i+1])
				if err != nil {
					return nil, err
				}
				params[pm.Content[i].Value] = v
			}
			st, err := tmpl(params)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		default:
			return nil, fmt.Errorf("line %d: a policy the audit does not read", p.Line)
		}
	}
	return out, nil
}

// iamGlob matches an IAM pattern (* and ?, case-insensitive for actions).
func iamGlob(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	ok, _ := regexp.MatchString(re, s)
	return ok
}

// allows applies IAM's evaluation: an explicit Deny wins, else an Allow is
// needed. leading are the partition keys of the items the call named (nil
// when it named none, or is not a single-item DynamoDB call).
func allows(sts []statement, action, resource string, leading []string) bool {
	allowed := false
	for _, s := range sts {
		match := false
		for _, a := range s.actions {
			for _, res := range s.resources {
				if iamGlob(a, action, true) && iamGlob(res, resource, false) {
					match = true
				}
			}
		}
		if match && s.leadingKeys != nil {
			match = leadingKeysMatch(s.leadingKeys, leading)
		}
		if match && !s.allow {
			return false
		}
		allowed = allowed || match
	}
	return allowed
}

// templateProfiles are the template parameter values a function may run
// under in these tests, beside the defaults (""): a function started with
// startProfile signs its calls as "<LogicalId>.<profile>", and the audit
// checks them against its role in the template evaluated with those values
// (a statement only some parameter values give is then held to them).
var templateProfiles = map[string]map[string]string{
	"":          {},
	"dpop":      {"Dpop": "optional"},
	"dpopnonce": {"Dpop": "optional", "DpopNonce": "true"},
}

// auditIAM returns every recorded call the calling function's policy does
// not allow; items are the key attributes of the single-item calls (for
// statements conditioned on dynamodb:LeadingKeys).
func auditIAM(root string, vars map[string]string, calls []apiCall, items map[apiCall][]map[string]string) ([]string, error) {
	top, r, err := newTemplateResolver(root, vars)
	if err != nil {
		return nil, err
	}
	resources := mapping(top, "Resources")
	hash := hashKeys(top, r)
	policies := map[string][]statement{}
	var denied []string
	for _, c := range calls {
		sts, ok := policies[c.Function]
		if !ok {
			id, profile, _ := strings.Cut(c.Function, ".")
			params, known := templateProfiles[profile]
			if !known {
				denied = append(denied, fmt.Sprintf("%s: no template profile %q (templateProfiles)", c, profile))
				continue
			}
			// The template evaluated with the parameters the function ran
			// under: a fresh resolver, since conditions are cached.
			_, pr, err := newTemplateResolver(root, vars)
			if err != nil {
				return nil, err
			}
			for k, v := range params {
				if _, ok := pr.params[k]; !ok {
					return nil, fmt.Errorf("template profile %q: template.yaml has no parameter %s", profile, k)
				}
				pr.params[k] = v
			}
			fn := mapping(resources, id)
			if fn == nil || mapping(fn, "Type") == nil || mapping(fn, "Type").Value != "AWS::Serverless::Function" {
				denied = append(denied, fmt.Sprintf("%s: the caller is not a function of template.yaml", c))
				continue
			}
			if sts, err = pr.rolePolicies(fn); err != nil {
				return nil, fmt.Errorf("%s's Policies: %w", c.Function, err)
			}
			policies[c.Function] = sts
		}
		if !allows(sts, c.Action, c.Resource, partitionKeys(hash[c.Resource], items[c])) {
			denied = append(denied, c.String())
		}
	}
	return denied, nil
}

// auditCalls checks every call the functions made during the run against
// template.yaml; TestMain runs it after all tests and fails the run with
// every call a function's role would be denied in AWS.
func (e *environment) auditCalls() int {
	calls, bad := e.audit.snapshot()
	denied, err := auditIAM(e.root, e.vars, calls, e.audit.itemsOf())
	if err != nil {
		fmt.Fprintln(os.Stderr, "--- FAIL: IAM audit:", err)
		return 1
	}
	fns, configs := map[string]bool{}, map[string]bool{}
	for _, c := range calls {
		id, _, _ := strings.Cut(c.Function, ".")
		fns[id], configs[c.Function] = true, true
		if testing.Verbose() {
			fmt.Println("IAM audit: call:", c)
		}
	}
	if len(denied)+len(bad) == 0 {
		fmt.Printf("IAM audit: %d distinct calls by %d functions (%d configurations: templateProfiles), each allowed by its role in template.yaml\n", len(calls), len(fns), len(configs))
		return 0
	}
	fmt.Fprintln(os.Stderr, "--- FAIL: IAM audit: calls the function's role in template.yaml does not allow (moto enforces no IAM; AWS would refuse them):")
	for _, d := range denied {
		fmt.Fprintln(os.Stderr, "    ", d)
	}
	for _, b := range bad {
		fmt.Fprintln(os.Stderr, "     unreadable request:", b)
	}
	return 1
}

// TestIAMAudit proves the audit sees the functions' calls and refuses what a
// role does not grant: the proxy is between the functions and moto (a
// function's secret read is recorded under its own name), and a write the
// authorizer's role lacks, a secret the JWKS function may not read, a
// transaction's item action missing from the role, and a read the role
// grants only with other parameter values (templateProfiles) are each
// reported.
func TestIAMAudit(t *testing.T) {
	e := requireEnv(t)
	r := call(t, "JwksFunction", request{method: "GET", path: "/.well-known/jwks.json"})
	expectStatus(t, "jwks", r, 200)
	calls, _ := e.audit.snapshot()
	want := apiCall{"JwksFunction", "secretsmanager:GetSecretValue", e.vars["ROTOR_SIGNING_SECRET_ID"]}
	found := false
	for _, c := range calls {
		found = found || c == want
	}
	if !found {
		t.Fatalf("the audit proxy did not record %s; recorded %v", want, calls)
	}

	// A transaction is authorised by its items' actions, table by table.
	body := mustJSON(map[string]any{"TransactItems": []any{
		map[string]any{"Update": map[string]any{"TableName": "rotor-sessions"}},
		map[string]any{"ConditionCheck": map[string]any{"TableName": "rotor-users"}},
	}})
	tx, err := callsOf("AWS4-HMAC-SHA256 Credential=RefreshFunction/20261207/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
		"DynamoDB_20120810.TransactWriteItems", "POST", "/", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(tx, func(i, j int) bool { return tx[i].String() < tx[j].String() })
	if len(tx) != 2 || tx[0] != (apiCall{"RefreshFunction", "dynamodb:ConditionCheckItem", tableARN("rotor-users")}) ||
		tx[1] != (apiCall{"RefreshFunction", "dynamodb:UpdateItem", tableARN("rotor-sessions")}) {
		t.Fatalf("TransactWriteItems read as %v, want ConditionCheckItem on users and UpdateItem on sessions", tx)
	}

	forbidden := []apiCall{
		{"AuthorizerFunction", "dynamodb:PutItem", tableARN(e.vars["ROTOR_USERS_TABLE"])},
		{"JwksFunction", "secretsmanager:GetSecretValue", e.vars["ROTOR_MAC_SECRET_ID"]},
		{"RefreshFunction", "dynamodb:ConditionCheckItem", tableARN(e.vars["ROTOR_USERS_TABLE"])},
		{"MailerFunction", "dynamodb:Query", tableARN(e.vars["ROTOR_OUTBOX_TABLE"])}, // the table, not its index
		{"NoSuchFunction", "dynamodb:GetItem", tableARN(e.vars["ROTOR_USERS_TABLE"])},
		// The authorizer reads the MAC key only with DpopNonce (its policy
		// says so by a condition): not under the defaults, nor under a
		// profile the audit does not know.
		{"AuthorizerFunction", "secretsmanager:GetSecretValue", e.vars["ROTOR_MAC_SECRET_ID"]},
		{"AuthorizerFunction.nosuchprofile", "secretsmanager:GetSecretValue", e.vars["ROTOR_SIGNING_SECRET_ID"]},
	}
	allowed := []apiCall{
		want,
		{"AuthorizerFunction.dpopnonce", "secretsmanager:GetSecretValue", e.vars["ROTOR_MAC_SECRET_ID"]},
		{"LoginFunction", "secretsmanager:GetSecretValue", e.vars["ROTOR_MAC_SECRET_ID"]},
		{"MailerFunction", "dynamodb:Query", tableARN(e.vars["ROTOR_OUTBOX_TABLE"]) + "/index/due"},
		{"MailerFunction", "ses:SendEmail", "arn:aws:ses:us-east-1:123456789012:identity/example.com"},
	}
	denied, err := auditIAM(e.root, e.vars, append(append([]apiCall(nil), forbidden...), allowed...), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(denied) != len(forbidden) {
		t.Fatalf("audit denied %q, want exactly %v", denied, forbidden)
	}
	for i, c := range forbidden {
		if !strings.HasPrefix(denied[i], c.String()) {
			t.Fatalf("audit denied %q, want %v", denied, forbidden)
		}
	}
}
