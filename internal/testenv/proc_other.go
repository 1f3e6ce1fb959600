//go:build !linux

package testenv

import "os/exec"

// dieWithParent is a no-op where the kernel offers no parent-death signal;
// Stop still ends the server when the test binary exits normally.
func dieWithParent(*exec.Cmd) {}
