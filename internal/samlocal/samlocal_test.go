package samlocal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/internal/samlocal"
	"github.com/rotor-auth/rotor/internal/testenv"
)

// TestProvisionEnvLocal: what env.local.json names, Provision creates on
// moto as the functions read it (the tables, a signing key in the JSON the
// key loader takes, a MAC key of 32 bytes or more), and a second run keeps
// it as it is (make sam-local against a moto that already has them).
func TestProvisionEnvLocal(t *testing.T) {
	vars, err := samlocal.ReadEnvFile(filepath.Join(testenv.RepoRoot(), "env.local.json"))
	if err != nil {
		t.Fatal(err)
	}
	// This test's own names on the shared moto.
	for _, k := range []string{"ROTOR_USERS_TABLE", "ROTOR_SESSIONS_TABLE", "ROTOR_ATTEMPTS_TABLE", "ROTOR_OUTBOX_TABLE", "ROTOR_SIGNING_SECRET_ID", "ROTOR_MAC_SECRET_ID"} {
		vars[k] = testenv.Name(t, strings.ToLower(k))
	}
	cfg := samlocal.AWSConfig(testenv.MotoURL(t))
	ctx := context.Background()
	if err := samlocal.Provision(ctx, cfg, vars); err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	secret := func(k string) string {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(vars[k])})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return aws.ToString(out.SecretString)
	}
	signing, mac := secret("ROTOR_SIGNING_SECRET_ID"), secret("ROTOR_MAC_SECRET_ID")
	var key struct {
		Kid        string `json:"kid"`
		Alg        string `json:"alg"`
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal([]byte(signing), &key); err != nil || key.Alg != "ES256" || key.Kid == "" || !strings.Contains(key.PrivateKey, "BEGIN PRIVATE KEY") {
		t.Fatalf("signing key %q: want {kid, alg ES256, private_key PEM} (%v)", signing, err)
	}
	if len(mac) < 32 {
		t.Fatalf("MAC key of %d bytes", len(mac))
	}
	ddb := dynamodb.NewFromConfig(cfg)
	for _, k := range []string{"ROTOR_USERS_TABLE", "ROTOR_SESSIONS_TABLE", "ROTOR_ATTEMPTS_TABLE", "ROTOR_OUTBOX_TABLE"} {
		if _, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(vars[k])}); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}

	if err := samlocal.Provision(ctx, cfg, vars); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if secret("ROTOR_SIGNING_SECRET_ID") != signing || secret("ROTOR_MAC_SECRET_ID") != mac {
		t.Error("a second run replaced a key")
	}

	// A secret this package cannot make is an error, not a silent gap.
	vars["ROTOR_OTHER_SECRET_ID"] = testenv.Name(t, "other")
	if err := samlocal.Provision(ctx, cfg, vars); err == nil || !strings.Contains(err.Error(), "ROTOR_OTHER_SECRET_ID") {
		t.Fatalf("unknown secret: %v", err)
	}
}

// TestReadEnvFile: the endpoint must be where the containers reach the host.
func TestReadEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env.json")
	for _, tc := range []struct {
		name, endpoint string
		ok             bool
	}{
		{"container host", "http://host.docker.internal:5000", true},
		{"loopback, which is the container itself", "http://127.0.0.1:5000", false},
		{"none", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := samlocal.WriteEnvFile(path, map[string]string{"AWS_ENDPOINT_URL": tc.endpoint}); err != nil {
				t.Fatal(err)
			}
			vars, err := samlocal.ReadEnvFile(path)
			if (err == nil) != tc.ok || (tc.ok && vars["AWS_ENDPOINT_URL"] != tc.endpoint) {
				t.Fatalf("ReadEnvFile with %q: %v, %v", tc.endpoint, vars, err)
			}
		})
	}
}

// TestForward: the forwarder serves the target on another address and
// port, and keeps the client's connection alive across requests, which
// moto's development server never does (the reason it exists).
func TestForward(t *testing.T) {
	target := testenv.MotoURL(t)
	port, srv, err := samlocal.Forward("127.0.0.1", target)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	reused := 0
	for i := 0; i < 3; i++ {
		trace := &httptrace.ClientTrace{GotConn: func(c httptrace.GotConnInfo) {
			if c.Reused {
				reused++
			}
		}}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://127.0.0.1:"+port+"/moto-api/", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("through the forwarder: %d", resp.StatusCode)
		}
	}
	if reused != 2 {
		t.Errorf("%d of 2 later requests reused the connection", reused)
	}
}
