package redis

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestAppendCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"setnx px", appendSet(nil, []byte("k"), []byte("v"), 10*time.Minute, true),
			"*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n$2\r\nPX\r\n$6\r\n600000\r\n"},
		{"setnx no ttl", appendSet(nil, []byte("k"), []byte("v"), 0, true),
			"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n"},
		{"set px rounds up", appendSet(nil, []byte("k"), nil, time.Millisecond+1, false),
			"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n$2\r\nPX\r\n$1\r\n2\r\n"},
		{"set negative ttl", appendSet(nil, []byte("k"), []byte("v"), -time.Second, false),
			"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"},
		{"set max ttl", appendSet(nil, []byte{}, []byte("v"), math.MaxInt64, false),
			"*5\r\n$3\r\nSET\r\n$0\r\n\r\n$1\r\nv\r\n$2\r\nPX\r\n$13\r\n9223372036855\r\n"},
		{"get binary", appendGet(nil, []byte("a\r\n\x00b")), "*2\r\n$3\r\nGET\r\n$5\r\na\r\n\x00b\r\n"},
		{"auth", appendCommand(nil, "AUTH", "pw"), "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestAppendSetNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	key, val := []byte("bsp:tx:0123456789abcdef"), []byte("1")
	if n := testing.AllocsPerRun(100, func() {
		buf = appendSet(buf[:0], key, val, 10*time.Minute, true)
		buf = appendGet(buf, key)
	}); n != 0 {
		t.Fatalf("encoding allocates %v per call", n)
	}
}

// newTestReader reads replies from s with values up to maxValue bytes.
func newTestReader(s string, maxValue int64) *respReader {
	return &respReader{br: bufio.NewReaderSize(strings.NewReader(s), 16), maxValue: maxValue}
}

func TestReplyReader(t *testing.T) {
	type want struct {
		kind replyKind
		text string // line, or the bulk value
		n    int64
	}
	r := newTestReader("+OK\r\n-ERR bad thing\r\n:42\r\n:-7\r\n$-1\r\n$0\r\n\r\n$5\r\nhe\r\nl\r\n"+
		"$20\r\n01234567890123456789\r\n+QUEUED\r\n", 10)
	for i, w := range []want{
		{replyStatus, "OK", 0},
		{replyError, "ERR bad thing", 0},
		{replyInt, "", 42},
		{replyInt, "", -7},
		{replyNil, "", 0},
		{replyBulk, "", 0},
		{replyBulk, "he\r\nl", 5},
		{replyBulk, "(too large)", 20},
		{replyStatus, "QUEUED", 0},
	} {
		got, err := r.next()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		text := string(got.line)
		if got.kind == replyBulk {
			v, err := r.value(got.n)
			switch {
			case errors.Is(err, ErrValueTooLarge):
				text = "(too large)"
			case err != nil:
				t.Fatalf("reply %d: value: %v", i, err)
			case v == nil:
				t.Fatalf("reply %d: nil value for a bulk", i)
			default:
				text = string(v)
			}
		}
		if got.kind != w.kind || text != w.text || got.n != w.n {
			t.Errorf("reply %d = %v %q %d, want %v %q %d", i, got.kind, text, got.n, w.kind, w.text, w.n)
		}
	}
	if _, err := r.next(); err != io.EOF {
		t.Fatalf("after the last reply: %v, want EOF", err)
	}
}

func TestReplyReaderErrors(t *testing.T) {
	for _, in := range []string{
		"*1\r\n$1\r\na\r\n", // arrays are not expected
		"%1\r\n",            // RESP3
		"+OK\n",             // no CR
		"\r\n",              // empty
		":12a\r\n",
		":\r\n",
		"$-2\r\n",
		"$abc\r\n",
		"$1234567890123456789\r\n",             // beyond 18 digits
		"+" + strings.Repeat("x", 64) + "\r\n", // longer than the reader's buffer
	} {
		r := newTestReader(in, 10)
		if _, err := r.next(); !errors.Is(err, errProtocol) {
			t.Errorf("%q: err %v, want a protocol error", in, err)
		}
	}
	r := newTestReader("$3\r\nabcX\r\n", 10)
	if h, err := r.next(); err != nil || h.kind != replyBulk {
		t.Fatalf("head: %v %v", h, err)
	}
	if _, err := r.value(3); !errors.Is(err, errProtocol) {
		t.Errorf("bulk without its CRLF: %v", err)
	}
	r = newTestReader("$5\r\nab", 10)
	_, _ = r.next()
	if _, err := r.value(5); err == nil {
		t.Error("truncated bulk read")
	}
}

// TestHugeBulkNotAllocated: a reply declaring a huge value is skipped, never
// allocated: a hostile or broken server cannot make a batch allocate what
// it declares.
func TestHugeBulkNotAllocated(t *testing.T) {
	in := "$99999999999\r\nshort"
	allocs := testing.AllocsPerRun(10, func() {
		r := newTestReader(in, DefaultMaxValueSize)
		h, err := r.next()
		if err != nil || h.n != 99999999999 {
			t.Fatalf("head %+v %v", h, err)
		}
		if _, err := r.value(h.n); err == nil {
			t.Fatal("a truncated huge bulk was read")
		}
	})
	if allocs > 8 { // the reader and its buffer, not the value
		t.Fatalf("%v allocations", allocs)
	}
}

func TestParseRedirect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		ask  bool
		addr string
	}{
		{"MOVED 3999 127.0.0.1:6381", true, false, "127.0.0.1:6381"},
		{"ASK 16383 [::1]:7000", true, true, "[::1]:7000"},
		{"MOVED 15495 ::1:17102", true, false, "[::1]:17102"}, // as Redis writes IPv6 nodes
		{"ASK 1 fd00::5:6379", true, true, "[fd00::5]:6379"},
		{"MOVED 16384 h:1", false, false, ""},
		{"MOVED -1 h:1", false, false, ""},
		{"MOVED 12", false, false, ""},
		{"MOVED 12 ", false, false, ""},
		{"ERR MOVED 1 h:1", false, false, ""},
		{"ASKING", false, false, ""},
	} {
		rd, ok := parseRedirect([]byte(tc.in))
		if ok != tc.ok || (ok && (rd.ask != tc.ask || string(rd.addr) != tc.addr)) {
			t.Errorf("parseRedirect(%q) = %+v %v", tc.in, rd, ok)
		}
	}
}

// FuzzRESPReply: arbitrary bytes never panic the reply reader, values are
// never longer than the bound, and every read consumes input (no loop).
func FuzzRESPReply(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", "-MOVED 1 127.0.0.1:1\r\n", ":1\r\n", "$-1\r\n", "$0\r\n\r\n", "$3\r\nabc\r\n",
		"$999999999999\r\n", "$64\r\n" + strings.Repeat("x", 64) + "\r\n", "*1\r\n", "+OK\r\n$2\r\nab\r\n:5\r\n",
	} {
		f.Add([]byte(s))
	}
	const maxValue = 32
	f.Fuzz(func(t *testing.T, in []byte) {
		r := &respReader{br: bufio.NewReaderSize(bytes.NewReader(in), 16), maxValue: maxValue}
		for range len(in) + 1 {
			h, err := r.next()
			if err != nil {
				return
			}
			if h.kind == replyStatus || h.kind == replyError {
				if bytes.ContainsAny(h.line, "\n") {
					t.Fatalf("line %q holds a newline", h.line)
				}
			}
			if h.kind != replyBulk {
				continue
			}
			if h.n < 0 {
				t.Fatalf("bulk of length %d", h.n)
			}
			v, err := r.value(h.n)
			if errors.Is(err, ErrValueTooLarge) {
				if h.n <= maxValue {
					t.Fatalf("value of %d bytes refused", h.n)
				}
				continue
			}
			if err != nil {
				return
			}
			if int64(len(v)) != h.n || len(v) > maxValue {
				t.Fatalf("value of %d bytes for a bulk of %d", len(v), h.n)
			}
		}
		t.Fatalf("%d replies from %d bytes", len(in)+1, len(in))
	})
}

// A bulk length is not trusted with memory: a server announcing 400 MiB
// and sending 10 bytes costs about eagerValue, not 400 MiB, and a large
// value that does arrive is read intact.
func TestValueGrowsAsBytesArrive(t *testing.T) {
	const announced = 400 << 20
	r := newTestReader("0123456789", 1<<30)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := r.value(announced); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body: %v, want io.ErrUnexpectedEOF", err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Fatalf("reading 10 bytes of a %d-byte announcement allocated %d bytes", announced, got)
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB: the growing path
	r = newTestReader(string(big)+"\r\n", 1<<30)
	v, err := r.value(int64(len(big)))
	if err != nil || !bytes.Equal(v, big) {
		t.Fatalf("large value: err %v, intact %v", err, bytes.Equal(v, big))
	}
}
