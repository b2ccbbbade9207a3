// Package systest decides what a test does when a system prerequisite (root,
// a command such as ip or redis-server, a kernel feature) is missing: skip
// with a clear message, or fail when REQUIRE_SYSTEM_TESTS=1 (CI sets it), so a
// CI machine that silently lacks a prerequisite cannot pass by skipping.
package systest

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether REQUIRE_SYSTEM_TESTS=1 is set.
func Required() bool { return os.Getenv("REQUIRE_SYSTEM_TESTS") == "1" }

// Missing skips the test with the reason, or fails it when system tests are
// required.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("REQUIRE_SYSTEM_TESTS=1 but prerequisite missing: "+format, args...)
	}
	t.Skipf("skipping: prerequisite missing: "+format+" (set REQUIRE_SYSTEM_TESTS=1 to make this a failure)", args...)
}

// Root requires the test to run as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "needs root")
	}
}

// Command requires each named command on PATH and returns the path of the
// first one.
func Command(t testing.TB, names ...string) string {
	t.Helper()
	var first string
	for i, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			Missing(t, "command %q not found on PATH", n)
			return ""
		}
		if i == 0 {
			first = p
		}
	}
	return first
}
