package testenv

import (
	"net"
	"os/exec"
	"syscall"
	"time"
)

// killGroup sends SIGKILL to cmd's process group (cmd started with Setpgid)
// and waits for cmd and until no member of the group is left.
func killGroup(cmd *exec.Cmd) {
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_, _ = cmd.Process.Wait()
	for i := 0; i < 200 && syscall.Kill(-pid, 0) == nil; i++ {
		time.Sleep(25 * time.Millisecond)
	}
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
