package canary

import "testing"

func TestClamp(t *testing.T) {
	if Clamp(3) != 3 || Clamp(20) != 10 {
		t.Fatal("clamp")
	}
}
