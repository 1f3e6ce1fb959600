package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a private PostgreSQL server in a temporary directory, on a free
// loopback port, run as an unprivileged user when the tests run as root
// (postgres refuses root). Never the system service.
type Postgres struct {
	Dir      string // data directory
	Port     string
	Password string // of the superuser "rotor"
	bin      string
	cred     *syscall.Credential
	cmd      *exec.Cmd
	log      *os.File
}

var sharedPG struct {
	once sync.Once
	pg   *Postgres
	url  string
	err  error
}

var schemas atomic.Int64

// PostgresURL returns the URL of a database on this binary's shared private
// server (started once), or ROTOR_POSTGRES_URL when set. It fails the test
// when no server can be had: it never skips.
func PostgresURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("ROTOR_POSTGRES_URL"); u != "" {
		return u
	}
	sharedPG.once.Do(func() {
		sharedPG.pg, sharedPG.err = StartPostgres()
		if sharedPG.err == nil {
			sharedPG.url = sharedPG.pg.URL()
		}
	})
	if sharedPG.err != nil {
		t.Fatalf("PostgreSQL is required: %v (install with: apt-get install -y postgresql)", sharedPG.err)
	}
	return sharedPG.url
}

// PostgresSchema creates a schema of its own for this test and returns a URL
// whose search_path is that schema, so tests share a server but no tables.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	return NewSchema(t, PostgresURL(t))
}

// NewSchema creates a fresh schema on the server of base and returns base
// with search_path set to it.
func NewSchema(t testing.TB, base string) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), schemas.Add(1))
	ctx := Context(t)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("postgres: create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// postgresBin finds the directory of postgres and initdb: the newest
// /usr/lib/postgresql/*/bin (Debian's layout), else $PATH.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no initdb in /usr/lib/postgresql/*/bin or $PATH")
}

func version(binDir string) int {
	var v int
	fmt.Sscanf(filepath.Base(filepath.Dir(binDir)), "%d", &v)
	return v
}

// StartPostgres creates a cluster in a new temporary directory (initdb) and
// starts it with durable commits (fsync, synchronous_commit: the defaults,
// set explicitly): an answered write survives kill -9.
func StartPostgres() (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "rotor-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Dir: filepath.Join(root, "data"), bin: bin, Password: randomHex(16)}
	if os.Geteuid() == 0 {
		// postgres will not run as root: run it as nobody, owning the directory.
		p.cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		if err := os.Chown(root, 65534, 65534); err != nil {
			return nil, err
		}
	}
	pwfile := filepath.Join(root, "pw")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if p.cred != nil {
		_ = os.Chown(pwfile, 65534, 65534)
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", p.Dir, "-U", "rotor", "--pwfile", pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if p.Port, err = freePort(); err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), HangGuard)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.url("postgres"))
	if err != nil {
		p.Stop()
		return nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE rotor"); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// URL is the rotor database's URL, with the superuser's password.
func (p *Postgres) URL() string { return p.url("rotor") }

func (p *Postgres) url(db string) string {
	return fmt.Sprintf("postgres://rotor:%s@127.0.0.1:%s/%s?sslmode=disable", p.Password, p.Port, db)
}

// Start starts (or restarts, after Kill) the server on its directory and
// waits until it accepts connections, which after a crash means it has
// replayed its write-ahead log.
func (p *Postgres) Start() error {
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(p.Dir), "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	p.log = logf
	p.cmd = exec.Command(filepath.Join(p.bin, "postgres"), "-D", p.Dir, "-p", p.Port,
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+filepath.Dir(p.Dir),
		"-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "max_connections=300",
		"-c", "shared_buffers=32MB")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	// A process group of its own, so Kill ends the postmaster and every backend at once.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	// After a crash it first replays its write-ahead log: seconds, or on a
	// loaded machine many more.
	err = await(p.cmd.Process.Pid, func() error {
		// Each try gets two seconds; a loaded machine just tries more often.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, p.url("postgres"))
		if err == nil {
			conn.Close(context.Background())
		}
		return err
	})
	if err == nil {
		return nil
	}
	log, _ := os.ReadFile(logf.Name())
	p.Stop()
	return fmt.Errorf("postgres on port %s: %w:\n%s", p.Port, err, log)
}

// Kill ends the server and all its backends with SIGKILL, as a crash would:
// no shutdown checkpoint, nothing flushed that was not flushed already.
func (p *Postgres) Kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		killGroup(p.cmd)
	}
	if p.log != nil {
		p.log.Close()
	}
}

// Stop kills the server and removes its directory.
func (p *Postgres) Stop() {
	p.Kill()
	_ = os.RemoveAll(filepath.Dir(p.Dir))
}

func stopPostgres() {
	if sharedPG.pg != nil {
		sharedPG.pg.Stop()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
