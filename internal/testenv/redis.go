package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Redis is a private redis-server in a temporary directory, on a free
// loopback port, with a password and an append-only file fsynced on every
// write (appendfsync always): an answered write survives kill -9. Never the
// system service.
type Redis struct {
	Dir      string
	Port     string
	Password string
	// Cluster runs the server as a one-node Redis Cluster owning every slot:
	// it refuses, as ElastiCache Serverless does, a command or script whose
	// keys span slots.
	Cluster bool
	cmd     *exec.Cmd
}

var sharedRedis struct {
	once sync.Once
	r    *Redis
	err  error
}

var namespaces atomic.Int64

// RedisURL returns the URL (with password) of this binary's shared private
// redis-server, started once, or ROTOR_REDIS_URL when set. It fails the test
// when no server can be had: it never skips.
func RedisURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("ROTOR_REDIS_URL"); u != "" {
		return u
	}
	sharedRedis.once.Do(func() { sharedRedis.r, sharedRedis.err = StartRedis() })
	if sharedRedis.err != nil {
		t.Fatalf("redis-server is required: %v (install with: apt-get install -y redis-server)", sharedRedis.err)
	}
	return sharedRedis.r.URL()
}

// RedisNamespace returns a key namespace unique to this test, so tests share
// a server but no keys.
func RedisNamespace(t testing.TB) string {
	return fmt.Sprintf("t%d-%d", os.Getpid(), namespaces.Add(1))
}

// StartRedis starts a redis-server in a new temporary directory.
func StartRedis() (*Redis, error) { return startRedis(false) }

// StartRedisCluster starts a one-node Redis Cluster in a new temporary
// directory (see Redis.Cluster).
func StartRedisCluster() (*Redis, error) { return startRedis(true) }

func startRedis(cluster bool) (*Redis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rotor-redis-")
	if err != nil {
		return nil, err
	}
	r := &Redis{Dir: dir, Password: randomHex(16), Cluster: cluster}
	for try := 0; ; try++ {
		if r.Port, err = freePort(); err != nil {
			return nil, err
		}
		err = r.Start()
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, errExited) || try+1 == portTries {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

// URL is the server's redis:// URL with its password.
func (r *Redis) URL() string {
	return fmt.Sprintf("redis://:%s@127.0.0.1:%s/0", r.Password, r.Port)
}

// Start starts (or restarts, after Kill) the server on its directory and
// waits until it answers, which after a crash means it has replayed its
// append-only file.
func (r *Redis) Start() error {
	// The password goes in a config file, not on the command line (ps).
	conf := filepath.Join(r.Dir, "redis.conf")
	body := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nrequirepass %s\nappendonly yes\nappendfsync always\nsave \"\"\nlogfile %s\n",
		r.Port, r.Dir, r.Password, filepath.Join(r.Dir, "server.log"))
	if r.Cluster {
		body += "cluster-enabled yes\ncluster-config-file nodes.conf\nmasterauth " + r.Password + "\n"
	}
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return err
	}
	r.cmd = exec.Command("redis-server", conf)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	opt, err := goredis.ParseURL(r.URL())
	if err != nil {
		return err
	}
	c := goredis.NewClient(opt)
	defer c.Close()
	err = await(r.cmd.Process.Pid, func() error {
		// Each try gets a second; a loaded machine just tries more often.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := c.Ping(ctx).Err()
		if err == nil && !listens(r.cmd.Process.Pid, r.Port) {
			err = fmt.Errorf("port %s answered, but not from redis-server's own socket", r.Port)
		}
		if err == nil && r.Cluster {
			err = r.ownAllSlots(ctx, c)
		}
		return err
	})
	if err == nil {
		return nil
	}
	log, _ := os.ReadFile(filepath.Join(r.Dir, "server.log"))
	r.Kill()
	return fmt.Errorf("redis-server on port %s: %w:\n%s", r.Port, err, log)
}

// ownAllSlots gives a one-node cluster every slot and reports whether the
// cluster is up.
func (r *Redis) ownAllSlots(ctx context.Context, c *goredis.Client) error {
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return err
	}
	if strings.Contains(info, "cluster_state:ok") {
		return nil
	}
	if strings.Contains(info, "cluster_slots_assigned:0") {
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
			return err
		}
	}
	return fmt.Errorf("cluster not ready yet")
}

// Kill ends the server with SIGKILL, as a crash would.
func (r *Redis) Kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		killGroup(r.cmd)
		for start := time.Now(); portOpen(r.Port) && time.Since(start) < HangGuard; {
			time.Sleep(25 * time.Millisecond)
		}
	}
}

// Stop kills the server and removes its directory.
func (r *Redis) Stop() {
	r.Kill()
	_ = os.RemoveAll(r.Dir)
}

func stopRedis() {
	if sharedRedis.r != nil {
		sharedRedis.r.Stop()
	}
}
