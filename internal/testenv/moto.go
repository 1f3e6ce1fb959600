package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// moto is the server of this test binary, shared by its tests.
type moto struct {
	once sync.Once
	url  string
	err  error
	cmd  *exec.Cmd
}

var shared moto

// MotoURL returns the URL of a running moto_server, starting one if needed.
// A machine without moto fails the test with the command that installs it:
// a DynamoDB test never passes by skipping.
func MotoURL(t testing.TB) string {
	t.Helper()
	u, err := Moto()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return u
}

// Moto is MotoURL for callers without a testing.TB, such as a TestMain:
// ROTOR_MOTO_URL when set, else the binary's own server, started once.
func Moto() (string, error) {
	if u := os.Getenv("ROTOR_MOTO_URL"); u != "" {
		return u, nil
	}
	shared.once.Do(shared.start)
	return shared.url, shared.err
}

func (m *moto) start() { m.cmd, m.url, m.err = startMoto() }

// PrivateMoto starts a moto_server that only this test uses, so that it may
// freeze it (SIGSTOP) without stalling the other tests' shared one, and ends
// it (thawed first) at the end of the test. It fails, never skips, when moto
// cannot start.
func PrivateMoto(t testing.TB) (url string, proc *os.Process) {
	t.Helper()
	cmd, url, err := startMoto()
	if err != nil {
		t.Fatalf("testenv: private moto_server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	return url, cmd.Process
}

// startMoto starts a moto_server on a free loopback port and waits until it
// answers.
func startMoto() (cmd *exec.Cmd, url string, err error) {
	for try := 0; try < portTries; try++ {
		cmd, url, err = startMotoOnce()
		if !errors.Is(err, errExited) {
			break
		}
	}
	return cmd, url, err
}

// startMotoOnce starts a moto_server on one free port.
func startMotoOnce() (*exec.Cmd, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	// scripts/moto-serial.py serves one request at a time: moto's threaded
	// server does not apply conditional writes atomically, DynamoDB does.
	bin := "python3"
	if out, err := exec.Command(bin, "-c", "import moto.server, werkzeug").CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("python moto is not installed (%v: %s); install it with: %s, or set ROTOR_MOTO_URL to a running moto_server",
			err, strings.TrimSpace(lastLine(out)), PipInstallMoto)
	}
	cmd := exec.Command(bin, filepath.Join(RepoRoot(), "scripts", "moto-serial.py"), "-H", "127.0.0.1", "-p", port)
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start %s: %w", bin, err)
	}
	url := "http://127.0.0.1:" + port
	// Importing moto takes seconds of CPU: on a loaded machine, many more.
	err = await(cmd.Process.Pid, func() error {
		resp, err := http.Get(url + "/moto-api/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !listens(cmd.Process.Pid, port) {
			return fmt.Errorf("%s answered %s, but not from moto_server's own socket", url, resp.Status)
		}
		return nil
	})
	if err == nil {
		return cmd, url, nil
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	return nil, "", fmt.Errorf("moto_server (%s scripts/moto-serial.py) on %s: %w", bin, url, err)
}

// PipInstallMoto is the command that installs the moto_server the tests start.
const PipInstallMoto = `python3 -m pip install "moto[server]>=5"`

// lastLine is the last non-empty line of a command's output: the exception
// of a failed python import.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// Stop ends the servers this binary started (moto_server, PostgreSQL, Redis),
// if any: call it from TestMain.
func Stop() {
	stopPostgres()
	stopRedis()
	if shared.cmd != nil && shared.cmd.Process != nil {
		_ = shared.cmd.Process.Kill()
		_, _ = shared.cmd.Process.Wait()
	}
}

// Main runs a test binary's tests, then stops the servers they started, and
// exits with their result: the whole TestMain of a package whose tests use
// testenv.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// RepoRoot is the module root: the nearest parent directory with go.mod.
func RepoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}

// AWSConfig is an SDK configuration that talks only to url.
func AWSConfig(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	}
}

// DynamoDB returns a DynamoDB client on the test's moto_server.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(AWSConfig(MotoURL(t)))
}

// SecretsManager returns a Secrets Manager client on the test's moto_server.
func SecretsManager(t testing.TB) *secretsmanager.Client {
	t.Helper()
	return secretsmanager.NewFromConfig(AWSConfig(MotoURL(t)))
}

// Name returns a table or secret name unique to this test.
func Name(t testing.TB, kind string) string {
	n := strings.NewReplacer("/", "-", " ", "-", "#", "-").Replace(t.Name())
	if len(n) > 80 {
		n = n[len(n)-80:]
	}
	return fmt.Sprintf("rotor-%s-%s-%d", kind, strings.ToLower(n), time.Now().UnixNano())
}

// Context returns a context cancelled at the end of the test, or after
// HangGuard: a hang guard, not a measurement.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), HangGuard)
	t.Cleanup(cancel)
	return ctx
}
