// Command rotor-load sends a bounded number of requests to a Rotor API on this
// machine and prints throughput and latency percentiles: the load runs behind
// BENCHMARKS.md. It refuses any host but loopback.
//
//	rotor-load -url http://127.0.0.1:3000 -scenario me -n 5000 -c 16
//
// Scenarios: login (argon2id bound), refresh (one rotation each), me (the
// authorizer plus a protected route).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		log.Fatal(err)
	}
}

type options struct {
	url      string
	scenario string
	n, c     int
	cpuOf    []int
}

func run(ctx context.Context, args []string) error {
	var o options
	fs := flag.NewFlagSet("rotor-load", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:3000", "API base URL (loopback only)")
	fs.StringVar(&o.scenario, "scenario", "me", "login, refresh or me")
	fs.IntVar(&o.n, "n", 2000, "requests in all (bounded: at most 100000)")
	fs.IntVar(&o.c, "c", 8, "concurrent clients")
	cpuOf := fs.String("cpu-of", "", "comma-separated process ids whose CPU (with their descendants') the timed requests cost, printed per request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if o.cpuOf, err = parsePids(*cpuOf); err != nil {
		return err
	}
	u, err := url.Parse(o.url)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		return fmt.Errorf("rotor-load only targets loopback, not %q", u.Hostname())
	}
	if o.n < 1 || o.n > 100000 || o.c < 1 || o.c > 256 {
		return errors.New("want 1 <= n <= 100000 and 1 <= c <= 256")
	}
	l := &loader{base: o.url, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.c}}}
	return l.run(ctx, o)
}

type loader struct {
	base   string
	client *http.Client
}

func (l *loader) post(ctx context.Context, path string, body any, out any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return l.send(req, out)
}

func (l *loader) send(req *http.Request, out any) (int, error) {
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode, nil
}

type tokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

func (l *loader) run(ctx context.Context, o options) error {
	user := fmt.Sprintf("load-%d", time.Now().UnixNano())
	const pw = "load test password"
	if st, err := l.post(ctx, "/auth/signup", map[string]string{"username": user, "password": pw}, nil); err != nil || st != http.StatusCreated {
		return fmt.Errorf("signup: %d %v", st, err)
	}
	// One session per client, so each client's refreshes form one chain.
	sessions := make([]tokens, o.c)
	for i := range sessions {
		if st, err := l.post(ctx, "/auth/login", map[string]string{"username": user, "password": pw}, &sessions[i]); err != nil || st != http.StatusOK {
			return fmt.Errorf("login: %d %v", st, err)
		}
	}
	var next atomic.Int64
	var failures atomic.Int64
	lat := make([][]time.Duration, o.c)
	var wg sync.WaitGroup
	var cpu0 []time.Duration
	if len(o.cpuOf) > 0 {
		var err error
		if cpu0, err = treeCPU(o.cpuOf); err != nil {
			return err
		}
	}
	start := time.Now()
	for w := range o.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := &sessions[w]
			for next.Add(1) <= int64(o.n) {
				t := time.Now()
				st, err := l.one(ctx, o.scenario, user, pw, tok)
				lat[w] = append(lat[w], time.Since(t))
				if err != nil || st != http.StatusOK {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := ""
	if len(o.cpuOf) > 0 {
		cpu1, err := treeCPU(o.cpuOf)
		if err != nil {
			return err
		}
		// The total, then each process tree's share (the server's, the
		// database's), in the order given.
		per := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(o.n) }
		var sum time.Duration
		var each []string
		for i := range cpu1 {
			sum += cpu1[i] - cpu0[i]
			each = append(each, fmt.Sprintf("%.3f", per(cpu1[i]-cpu0[i])))
		}
		cpu = fmt.Sprintf(" cpu_per_req=%.3fms", per(sum))
		if len(cpu1) > 1 {
			cpu += " of_each=" + strings.Join(each, ",")
		}
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	fmt.Printf("scenario=%s n=%d c=%d failures=%d elapsed=%s rps=%.0f p50=%s p90=%s p99=%s max=%s%s\n",
		o.scenario, len(all), o.c, failures.Load(), elapsed.Round(time.Millisecond), float64(len(all))/elapsed.Seconds(),
		pct(0.50).Round(10*time.Microsecond), pct(0.90).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), all[len(all)-1].Round(10*time.Microsecond), cpu)
	if failures.Load() > 0 {
		return fmt.Errorf("%d requests failed", failures.Load())
	}
	return nil
}

func (l *loader) one(ctx context.Context, scenario, user, pw string, tok *tokens) (int, error) {
	switch scenario {
	case "login":
		return l.post(ctx, "/auth/login", map[string]string{"username": user, "password": pw}, nil)
	case "refresh":
		var out tokens
		st, err := l.post(ctx, "/auth/refresh", map[string]string{"refresh_token": tok.Refresh}, &out)
		if st == http.StatusOK {
			*tok = out
		}
		return st, err
	case "me":
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.base+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Access)
		return l.send(req, nil)
	}
	return 0, fmt.Errorf("unknown scenario %q", scenario)
}
