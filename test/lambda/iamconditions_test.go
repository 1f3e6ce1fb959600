package lambda_test

// The IAM audit's reading of dynamodb:LeadingKeys, the one condition a role
// in template.yaml uses (the authorizer may PutItem only "dpj#..." items in
// the sessions table: spent DPoP proofs, never a session).

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// itemKeys returns the string attributes of the Key (GetItem, UpdateItem,
// DeleteItem) or Item (PutItem) of a single-item DynamoDB request; nil for
// any other request.
func itemKeys(target string, body []byte) map[string]string {
	op, ok := strings.CutPrefix(target, "DynamoDB_20120810.")
	if !ok {
		return nil
	}
	var in struct {
		Key  map[string]struct{ S *string }
		Item map[string]struct{ S *string }
	}
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	attrs := in.Key
	if op == "PutItem" {
		attrs = in.Item
	}
	if attrs == nil {
		return nil
	}
	out := map[string]string{}
	for name, v := range attrs {
		if v.S != nil {
			out[name] = *v.S
		}
	}
	return out
}

// leadingKeys reads a statement's Condition: none (nil), or exactly
// ForAllValues:StringLike on dynamodb:LeadingKeys (its patterns). Any other
// condition fails the audit: it would otherwise be read as no condition.
func (r *templateResolver) leadingKeys(cond *yaml.Node) ([]string, error) {
	if cond == nil {
		return nil, nil
	}
	like := mapping(cond, "ForAllValues:StringLike")
	if len(cond.Content) != 2 || like == nil || len(like.Content) != 2 || mapping(like, "dynamodb:LeadingKeys") == nil {
		return nil, fmt.Errorf("line %d: a Condition the audit does not read (only ForAllValues:StringLike dynamodb:LeadingKeys)", cond.Line)
	}
	pats, err := r.list(mapping(like, "dynamodb:LeadingKeys"))
	if err != nil {
		return nil, err
	}
	if len(pats) == 0 {
		return nil, fmt.Errorf("line %d: dynamodb:LeadingKeys without values", cond.Line)
	}
	return pats, nil
}

// hashKeys maps each table's ARN (as the tests name the tables) to its
// partition key attribute, from the tables' KeySchema in template.yaml.
func hashKeys(top *yaml.Node, r *templateResolver) map[string]string {
	out := map[string]string{}
	resources := mapping(top, "Resources")
	for id, name := range r.refs {
		res := mapping(resources, id)
		if res == nil || mapping(res, "Type") == nil || mapping(res, "Type").Value != "AWS::DynamoDB::Table" {
			continue
		}
		schema := mapping(mapping(res, "Properties"), "KeySchema")
		if schema == nil {
			continue
		}
		for _, k := range schema.Content {
			if t := mapping(k, "KeyType"); t != nil && t.Value == "HASH" {
				out[tableARN(name)] = mapping(k, "AttributeName").Value
			}
		}
	}
	return out
}

// partitionKeys returns the partition key values of the items a call named.
func partitionKeys(attr string, items []map[string]string) []string {
	if attr == "" {
		return nil
	}
	var out []string
	for _, it := range items {
		out = append(out, it[attr]) // "" when the item lacks it: matches no pattern
	}
	return out
}

// leadingKeysMatch is ForAllValues:StringLike: every value matches a
// pattern, and (fail closed here) there is at least one value.
func leadingKeysMatch(patterns, values []string) bool {
	if len(values) == 0 {
		return false
	}
	for _, v := range values {
		ok := false
		for _, p := range patterns {
			ok = ok || iamGlob(p, v, false)
		}
		if !ok {
			return false
		}
	}
	return true
}

// TestIAMAuditLeadingKeys: the audit holds the authorizer's PutItem to its
// condition: a spent proof's item ("dpj#...") is allowed, a session item
// (what a compromised authorizer would forge) is reported, and so is a
// PutItem the proxy saw no item of.
func TestIAMAuditLeadingKeys(t *testing.T) {
	e := requireEnv(t)
	sessions := tableARN(e.vars["ROTOR_SESSIONS_TABLE"])
	put := apiCall{"AuthorizerFunction", "dynamodb:PutItem", sessions}
	body := func(id string) []byte {
		return []byte(fmt.Sprintf(`{"TableName":%q,"Item":{"session_id":{"S":%q},"expires_at":{"N":"1"}}}`, e.vars["ROTOR_SESSIONS_TABLE"], id))
	}
	if k := itemKeys("DynamoDB_20120810.PutItem", body("dpj#abc")); k["session_id"] != "dpj#abc" {
		t.Fatalf("itemKeys read %v", k)
	}
	for _, tc := range []struct {
		name  string
		items []map[string]string
		ok    bool
	}{
		{"a spent proof", []map[string]string{itemKeys("DynamoDB_20120810.PutItem", body("dpj#abc"))}, true},
		{"a session", []map[string]string{itemKeys("DynamoDB_20120810.PutItem", body("sess-1"))}, false},
		{"a proof and a session", []map[string]string{itemKeys("DynamoDB_20120810.PutItem", body("dpj#abc")), itemKeys("DynamoDB_20120810.PutItem", body("x"))}, false},
		{"no item seen", nil, false},
	} {
		denied, err := auditIAM(e.root, e.vars, []apiCall{put}, map[apiCall][]map[string]string{put: tc.items})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(denied) == 0; got != tc.ok {
			t.Errorf("%s: allowed %v, want %v (denied %q)", tc.name, got, tc.ok, denied)
		}
	}
}
