package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemoDeliversExactlyOnce runs the README's demo small: every unique
// TxID submitted (with repeats and redundant submitters) must reach the
// fabric tap exactly once.
func TestDemoDeliversExactlyOnce(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"-frames", "4000", "-rate", "8000", "-dup-ratio", "0.5", "-dup-sources", "3"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"submitted:", "proxy:", "delivered:", "OK: every unique TxID delivered exactly once"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-frames", "0"}, {"-rate", "-1"}, {"-dup-ratio", "1"}, {"-dup-sources", "0"}, {"-bogus"}, {"extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
}
