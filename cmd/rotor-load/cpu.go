package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat on Linux
// (USER_HZ, 100 on every architecture Go runs on there).
const clockTick = 10 * time.Millisecond

// treeCPU returns the CPU time (user + system) so far of each of roots, with
// all its descendants (a database's postmaster and its backends), read
// from /proc, with the time of descendants that exited and were reaped
// (autovacuum workers): a process's cutime and cstime count them.
func treeCPU(roots []int) ([]time.Duration, error) {
	type proc struct {
		ppid int
		cpu  time.Duration
	}
	procs := map[int]proc{}
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		s := string(b)
		// The command name (field 2) is in parentheses and may hold
		// spaces; the fields after its closing one are plain.
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 15 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ppid, _ := strconv.Atoi(f[1])
		// utime, stime, and cutime, cstime: the time of children it
		// reaped (a database's short-lived workers, autovacuum's).
		var ticks int64
		for _, k := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(f[k], 10, 64)
			ticks += v
		}
		procs[pid] = proc{ppid: ppid, cpu: time.Duration(ticks) * clockTick}
	}
	in := map[int]int{} // root → its index + 1
	for i, r := range roots {
		if _, ok := procs[r]; !ok {
			return nil, fmt.Errorf("no process %d", r)
		}
		in[r] = i + 1
	}
	total := make([]time.Duration, len(roots))
	for pid, p := range procs {
		// Walk up to a root or to init.
		for q, seen := pid, 0; q > 1 && seen < 64; q, seen = procs[q].ppid, seen+1 {
			if i := in[q]; i > 0 {
				total[i-1] += p.cpu
				break
			}
		}
	}
	return total, nil
}

// parsePids reads a comma-separated list of process ids.
func parsePids(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil || p <= 1 {
			return nil, fmt.Errorf("bad process id %q", f)
		}
		out = append(out, p)
	}
	return out, nil
}
