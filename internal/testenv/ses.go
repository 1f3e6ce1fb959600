package testenv

import (
	"encoding/json"
	"net/http"
	"testing"
)

// SESMessages returns the mails the moto server at url accepted through SES
// for the one address to, in order, as moto records them (source, subject,
// body...). Each test mails addresses of its own on a shared server.
func SESMessages(t testing.TB, url, to string) []map[string]any {
	t.Helper()
	resp, err := http.Get(url + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data map[string]map[string][]map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, m := range data["ses"]["Message"] {
		d, _ := m["destinations"].(map[string]any)
		if tos, _ := d["ToAddresses"].([]any); len(tos) == 1 && tos[0] == to {
			out = append(out, m)
		}
	}
	return out
}
