package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HangGuard bounds every wait of this package (a server starting, a killed
// server going away) and Context. It is no measurement: each wait ends as soon
// as what it waits for happens (or, for a server starting, at once when its
// process exits), and a loaded machine may use all of the guard. It only turns
// a server that never answers into a failure instead of a hung test binary.
const HangGuard = 5 * time.Minute

// errExited is await's error when the server's process ended first: on a
// busy machine, most often because another process took the port freePort
// chose before the server could bind it.
var errExited = errors.New("the process exited before it answered")

// portTries is how many free ports a server is started on before its start
// fails (see errExited).
const portTries = 3

// await calls ready until it succeeds. It gives up at once when the process
// pid has exited (errExited; the caller's error names its log), and after
// HangGuard.
func await(pid int, ready func() error) error {
	start := time.Now()
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if !running(pid) {
			return fmt.Errorf("%w (last try: %v)", errExited, err)
		}
		if time.Since(start) > HangGuard {
			return fmt.Errorf("no answer after %v (last try: %v)", HangGuard, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killGroup ends cmd (started with Setpgid) as a crash would: SIGKILL to its
// process group and to its direct children at once (PostgreSQL's backends
// leave the group with setsid), then waits until none of them is running.
func killGroup(cmd *exec.Cmd) {
	pid := cmd.Process.Pid
	kids := children(pid)
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	for _, k := range kids {
		_ = syscall.Kill(k, syscall.SIGKILL)
	}
	_, _ = cmd.Process.Wait()
	for start := time.Now(); time.Since(start) < HangGuard; {
		alive := running(-pid)
		for _, k := range kids {
			alive = alive || running(k)
		}
		if !alive {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range stats {
		if ppid, _, ok := stat(p); ok && ppid == pid {
			n, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			out = append(out, n)
		}
	}
	return out
}

// running reports whether pid (or, negative, some member of the group -pid)
// exists and is not a zombie waiting to be reaped.
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	if pid < 0 {
		return true
	}
	_, state, ok := stat("/proc/" + strconv.Itoa(pid) + "/stat")
	return ok && state != "Z"
}

// stat reads the parent pid and state of /proc/<pid>/stat.
func stat(path string) (ppid int, state string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, "", false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0], err == nil
}

// portOpen reports whether something listens on 127.0.0.1:port.
func portOpen(port string) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// listens reports whether process pid itself holds the listening TCP socket
// of 127.0.0.1:port (/proc/net/tcp names the socket's inode, /proc/<pid>/fd
// the process's sockets). An answer on the port proves nothing alone: on a
// busy machine another test's server may have taken the port freePort chose.
func listens(pid int, port string) bool {
	n, err := strconv.Atoi(port)
	if err != nil {
		return false
	}
	tcp, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	local := fmt.Sprintf("0100007F:%04X", n)
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(tcp), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == local && f[3] == "0A" { // 0A: LISTEN
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	fds, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/fd/*")
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && inodes[target] {
			return true
		}
	}
	return false
}
