package cache_test

import (
	"errors"
	"path"
	"strings"
	"testing"

	"github.com/mcdedup/mcdedup/cache"
)

func TestNewMatcher(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		glob    bool
		prefix  string
		match   []string
		noMatch []string
	}{
		{"", false, "", []string{"", "anything", "\x00\xff"}, nil},
		{"bsp:tx:", false, "bsp:tx:", []string{"bsp:tx:", "bsp:tx:ab"}, []string{"bsp:t", "bsl:tx:ab", "xbsp:tx:"}},
		{"a/b", false, "a/b", []string{"a/b", "a/bc", "a/b/c"}, []string{"a/"}},
		{`x\`, false, `x\`, []string{`x\y`}, []string{"x"}}, // no metacharacter: a plain prefix
		{"bsp:tx:*", true, "bsp:tx:", []string{"bsp:tx:", "bsp:tx:ab"}, []string{"bsp:tx:a/b", "bsl:tx:a"}},
		{"*:1", true, "", []string{"user:1", ":1"}, []string{"user:10", "a/b:1"}},
		{"user:?", true, "user:", []string{"user:1"}, []string{"user:", "user:10"}},
		{"[uo]*:2", true, "", []string{"user:2", "order:2"}, []string{"admin:2"}},
		{"order:[^1]", true, "order:", []string{"order:2"}, []string{"order:1", "order:22"}},
		{"order:[a-c]", true, "order:", []string{"order:b"}, []string{"order:d"}},
		{`x\?y`, true, "x?y", []string{"x?y"}, []string{"xzy"}},
		{`a\*b*`, true, "a*b", []string{"a*b", "a*bc"}, []string{"ab", "axb"}},
		{`\\*`, true, `\`, []string{`\x`}, []string{"x"}},
		{"key\x00*", true, "key\x00", []string{"key\x00\xff"}, []string{"key"}},
	} {
		m, err := cache.NewMatcher(tc.pattern)
		if err != nil {
			t.Errorf("NewMatcher(%q): %v", tc.pattern, err)
			continue
		}
		if m.IsGlob() != tc.glob || m.Prefix() != tc.prefix || m.Pattern() != tc.pattern {
			t.Errorf("NewMatcher(%q): glob %v prefix %q, want %v %q", tc.pattern, m.IsGlob(), m.Prefix(), tc.glob, tc.prefix)
		}
		for _, k := range tc.match {
			if !m.Match([]byte(k)) || !m.MatchString(k) {
				t.Errorf("%q does not match %q", tc.pattern, k)
			}
			if !strings.HasPrefix(k, m.Prefix()) {
				t.Errorf("%q matches %q without its Prefix %q", tc.pattern, k, m.Prefix())
			}
		}
		for _, k := range tc.noMatch {
			if m.Match([]byte(k)) || m.MatchString(k) {
				t.Errorf("%q matches %q", tc.pattern, k)
			}
		}
	}
}

func TestNewMatcherRejectsBadGlobs(t *testing.T) {
	for _, p := range []string{"[", "a[b-", `*\`, "[]", "abc[", "x*[^"} {
		_, err := cache.NewMatcher(p)
		if !errors.Is(err, cache.ErrBadPattern) || !errors.Is(err, path.ErrBadPattern) {
			t.Errorf("NewMatcher(%q) = %v, want an error wrapping ErrBadPattern", p, err)
		}
		if _, err := cache.NormalizeList(cache.ListOptions{Pattern: p}); !errors.Is(err, cache.ErrBadPattern) {
			t.Errorf("NormalizeList(%q) = %v, want ErrBadPattern", p, err)
		}
	}
}

func TestMatchPrefixDoesNotAllocate(t *testing.T) {
	m, _ := cache.NewMatcher("bsp:tx:")
	k := []byte("bsp:tx:0123456789abcdef0123456789abcdef0123456789abcdef")
	if n := testing.AllocsPerRun(100, func() { m.Match(k) }); n != 0 {
		t.Fatalf("Match allocates %.0f times per call", n)
	}
}

func TestNormalizeList(t *testing.T) {
	for _, tc := range []struct {
		limit, max         int
		wantLimit, wantMax int
	}{
		{0, 0, cache.DefaultListLimit, cache.DefaultListMax},
		{-1, -1, cache.DefaultListLimit, cache.DefaultListMax},
		{5, 50, 5, 50},
		{1 << 30, 1 << 30, cache.MaxListLimit, cache.MaxListMax},
		{500, 20, 20, 20}, // a page never exceeds the cap
		{0, 10, 10, 10},
	} {
		got, err := cache.NormalizeList(cache.ListOptions{Pattern: "p*", Limit: tc.limit, Max: tc.max, Cursor: "c", WithValues: true})
		if err != nil {
			t.Fatal(err)
		}
		if got.Limit != tc.wantLimit || got.Max != tc.wantMax || got.Pattern != "p*" || got.Cursor != "c" || !got.WithValues {
			t.Errorf("NormalizeList(Limit %d, Max %d) = %+v, want Limit %d Max %d", tc.limit, tc.max, got, tc.wantLimit, tc.wantMax)
		}
	}
}

func TestListCursorRoundTrip(t *testing.T) {
	for _, c := range []cache.ListCursor{
		{Returned: 0, Pos: nil},
		{Returned: 1, Pos: []byte("")},
		{Returned: 99999, Pos: []byte("key\x00\xff/+=")},
	} {
		s := c.String()
		if s == "" || strings.ContainsAny(s, "+/=?&") {
			t.Errorf("cursor %q is empty or not URL-safe", s)
		}
		got, err := cache.ParseListCursor(s)
		if err != nil || got.Returned != c.Returned || string(got.Pos) != string(c.Pos) {
			t.Errorf("ParseListCursor(%q) = %+v, %v; want %+v", s, got, err, c)
		}
	}
	if got, err := cache.ParseListCursor(""); err != nil || got.Returned != 0 || got.Pos != nil {
		t.Errorf(`ParseListCursor("") = %+v, %v`, got, err)
	}
	for _, bad := range []string{"!!", "a", "_____________w", cache.ListCursor{Returned: cache.MaxListMax + 1}.String()} {
		if _, err := cache.ParseListCursor(bad); !errors.Is(err, cache.ErrBadCursor) {
			t.Errorf("ParseListCursor(%q) = %v, want ErrBadCursor", bad, err)
		}
	}
}
