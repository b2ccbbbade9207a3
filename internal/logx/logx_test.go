package logx

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewFormatsAndLevels(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "k", 1)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line at warn level, got %q", buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("json format: %v", err)
	}
	if m["msg"] != "shown" || m["k"] != float64(1) {
		t.Fatalf("unexpected record %v", m)
	}

	buf.Reset()
	l, err = New(&buf, "text", "debug")
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("dbg")
	if !strings.Contains(buf.String(), "msg=dbg") {
		t.Fatalf("text format at debug: %q", buf.String())
	}
}

func TestNewRejectsBadValues(t *testing.T) {
	for _, c := range []struct{ format, level, want string }{
		{"xml", "info", `log format "xml"`},
		{"text", "loud", `log level "loud"`},
	} {
		if _, err := New(&bytes.Buffer{}, c.format, c.level); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q,%q) err = %v, want mention of %s", c.format, c.level, err, c.want)
		}
	}
}
