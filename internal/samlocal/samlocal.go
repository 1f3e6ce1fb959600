package samlocal

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotor-auth/rotor/pkg/store/dynamo"
)

// ContainerHost is how the functions' containers name the host:
// samconfig.toml adds it to every `sam local` command (--add-host
// host.docker.internal:host-gateway), and env.local.json's
// AWS_ENDPOINT_URL points there.
const ContainerHost = "host.docker.internal"

// ReadEnvFile reads a `sam local --env-vars` file of the shape
// {"Parameters": {"NAME": "value", ...}} (env.local.json).
func ReadEnvFile(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct{ Parameters map[string]string }
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("samlocal: %s: %w", path, err)
	}
	if len(file.Parameters) == 0 {
		return nil, fmt.Errorf("samlocal: %s has no Parameters", path)
	}
	if !strings.HasPrefix(file.Parameters["AWS_ENDPOINT_URL"], "http://"+ContainerHost+":") {
		return nil, fmt.Errorf("samlocal: %s: AWS_ENDPOINT_URL %q, want http://%s:<port> (where the functions reach moto_server)", path, file.Parameters["AWS_ENDPOINT_URL"], ContainerHost)
	}
	return file.Parameters, nil
}

// WriteEnvFile writes vars as a `sam local --env-vars` file.
func WriteEnvFile(path string, vars map[string]string) error {
	out, err := json.MarshalIndent(map[string]any{"Parameters": vars}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(out, '\n'), 0o644)
}

// Forward serves the endpoint at target (moto_server on loopback) on host,
// where the containers reach the host as host.docker.internal, on a free
// port, and returns that port and the server. Unlike moto's development
// server it keeps connections alive: that server closes each connection as
// it answers, and a Go client then sometimes loses an answer it already
// received and retries it (seen under emulation: a conditional DeleteItem
// applied, retried, refused, so a logout answered 401).
func Forward(host, target string) (port string, srv *http.Server, err error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", nil, fmt.Errorf("samlocal: listen on %s for the containers: %w", host, err)
	}
	srv = &http.Server{Handler: httputil.NewSingleHostReverseProxy(u), ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(l) }()
	_, port, err = net.SplitHostPort(l.Addr().String())
	return port, srv, err
}

// AWSConfig is a client configuration for the local endpoint at url (moto
// takes any credentials).
func AWSConfig(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	}
}

// Provision creates what vars (an env-vars file) names, as template.yaml
// declares it: the tables (dynamo.CreateTables) and the secrets (an ES256
// signing key, a MAC key). What exists already is kept, so it can run again
// against the same endpoint.
func Provision(ctx context.Context, cfg aws.Config, vars map[string]string) error {
	tables := dynamo.Tables{Users: vars["ROTOR_USERS_TABLE"], Sessions: vars["ROTOR_SESSIONS_TABLE"], Attempts: vars["ROTOR_ATTEMPTS_TABLE"], Outbox: vars["ROTOR_OUTBOX_TABLE"]}
	if tables.Users == "" || tables.Sessions == "" || tables.Attempts == "" || tables.Outbox == "" {
		return errors.New("samlocal: the env-vars file lacks a table name (ROTOR_USERS_TABLE, ROTOR_SESSIONS_TABLE, ROTOR_ATTEMPTS_TABLE, ROTOR_OUTBOX_TABLE)")
	}
	if err := dynamo.CreateTables(ctx, dynamodb.NewFromConfig(cfg), tables); err != nil {
		return fmt.Errorf("samlocal: create the tables: %w", err)
	}
	if vars["ROTOR_SIGNING_SECRET_ID"] == "" {
		return errors.New("samlocal: the env-vars file lacks ROTOR_SIGNING_SECRET_ID")
	}
	// Every secret the file names must be one this package knows how to
	// make: a new kind of secret fails here until it is added.
	var ids []string
	for k := range vars {
		if strings.HasSuffix(k, "_SECRET_ID") {
			ids = append(ids, k)
		}
	}
	sort.Strings(ids)
	sm := secretsmanager.NewFromConfig(cfg)
	for _, k := range ids {
		var value string
		switch k {
		case "ROTOR_SIGNING_SECRET_ID":
			v, _, err := SigningKey()
			if err != nil {
				return err
			}
			value = v
		case "ROTOR_MAC_SECRET_ID":
			// The template generates it as a random string; its bytes are the key.
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return err
			}
			value = hex.EncodeToString(b)
		default:
			return fmt.Errorf("samlocal: the env-vars file names %s=%s: teach internal/samlocal (and docs/DEPLOY.md §3) how to create it", k, vars[k])
		}
		_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(vars[k]), SecretString: aws.String(value)})
		var exists *smtypes.ResourceExistsException
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("samlocal: create secret %s: %w", vars[k], err)
		}
	}
	return nil
}

// SigningKey returns a new ES256 signing key as the functions read it from
// Secrets Manager, and its kid.
func SigningKey() (value, kid string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return "", "", err
	}
	kid = "local-" + hex.EncodeToString(id)
	b, err := json.Marshal(map[string]string{
		"kid":         kid,
		"alg":         "ES256",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	})
	return string(b), kid, err
}
