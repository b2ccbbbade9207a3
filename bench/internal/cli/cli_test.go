package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		args []string
		code int
		ok   bool
		msg  string
	}{
		{nil, 0, true, ""},
		{[]string{"-n", "3"}, 0, true, ""},
		{[]string{"-h"}, 0, false, "Usage of tool"},
		{[]string{"-nope"}, 2, false, "flag provided but not defined: -nope"},
		{[]string{"-n", "x"}, 2, false, "invalid value"},
		{[]string{"stray"}, 2, false, `unexpected argument "stray"`},
		{[]string{"-size", "9-3"}, 2, false, "minimum above maximum"},
	}
	for _, c := range cases {
		var stderr bytes.Buffer
		tool := New("tool", "does things", &stderr)
		tool.EF.Int("n", "", 1, "a number")
		var r Range
		tool.EF.Var(&r, "size", "", "a size")
		code, ok := tool.Parse(c.args)
		if code != c.code || ok != c.ok || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("%v: code %d ok %v stderr %q; want %d %v containing %q", c.args, code, ok, stderr.String(), c.code, c.ok, c.msg)
		}
		if code == ExitUsage && strings.Contains(stderr.String(), "Usage of") {
			t.Errorf("%v: an error must not print the whole help: %q", c.args, stderr.String())
		}
	}
}

func TestRange(t *testing.T) {
	for in, want := range map[string]Range{"256": {256, 256}, "64-1400": {64, 1400}, " 1 - 2 ": {1, 2}} {
		var r Range
		if err := r.Set(in); err != nil || r != want {
			t.Errorf("Set(%q) = %+v, %v", in, r, err)
		}
	}
	for _, bad := range []string{"", "x", "1-", "-5"} {
		var r Range
		if err := r.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	r := Range{3, 9}
	if r.String() != "3-9" {
		t.Error(r.String())
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, map[string]int{"a": 1}); err != nil || b.String() != "{\"a\":1}\n" {
		t.Errorf("%q %v", b.String(), err)
	}
}
