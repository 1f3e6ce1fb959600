package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// Template returns the top-level mapping of the repository's template.yaml,
// as YAML nodes (the short CloudFormation tags, !Ref and the like, kept).
func Template(t testing.TB) *yaml.Node {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(RepoRoot(), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatal("template.yaml is not one YAML mapping")
	}
	return doc.Content[0]
}
