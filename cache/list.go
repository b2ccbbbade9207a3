package cache

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrBadPattern is wrapped by the error of NewMatcher, NormalizeList and
// Lister.List for a malformed glob. The key browser maps it to 400 Bad
// Request.
var ErrBadPattern = errors.New("cache: bad list pattern")

// ErrBadCursor is wrapped by the error of Lister.List for a cursor the backend
// did not produce (corrupt, truncated or from another backend). The key
// browser maps it to 400 Bad Request.
var ErrBadCursor = errors.New("cache: bad list cursor")

// globMeta are the characters that make a list pattern a path.Match glob.
const globMeta = "*?["

// Matcher decides which keys a listing returns. It is built once per listing
// by NewMatcher, so that every backend classifies and validates patterns the
// same way, and is safe for concurrent use.
type Matcher struct {
	pattern string
	prefix  string // literal prefix: the whole pattern in prefix mode
	glob    bool
}

// NewMatcher classifies pattern: without a glob metacharacter ('*', '?' or
// '[') it matches keys that start with pattern (prefix mode; the empty pattern
// matches every key); otherwise it matches keys with path.Match semantics
// (glob mode: '*' and '?' do not match '/', '\\' escapes, "[^…]" negates). A
// malformed glob is rejected here, before any key is read, with an error
// wrapping ErrBadPattern.
func NewMatcher(pattern string) (Matcher, error) {
	if !strings.ContainsAny(pattern, globMeta) {
		return Matcher{pattern: pattern, prefix: pattern}, nil
	}
	// path.Match checks the whole pattern even when the name does not match.
	if _, err := path.Match(pattern, ""); err != nil {
		return Matcher{}, fmt.Errorf("%w %q: %w", ErrBadPattern, pattern, err)
	}
	return Matcher{pattern: pattern, prefix: literalPrefix(pattern), glob: true}, nil
}

// literalPrefix returns the bytes every match of glob p starts with: the text
// before the first unescaped metacharacter, with escapes resolved.
func literalPrefix(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*', '?', '[':
			return b.String()
		case '\\':
			if i++; i == len(p) {
				return b.String()
			}
			b.WriteByte(p[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Pattern returns the pattern the Matcher was built from.
func (m Matcher) Pattern() string { return m.pattern }

// IsGlob reports whether the pattern is a path.Match glob (rather than a
// prefix).
func (m Matcher) IsGlob() bool { return m.glob }

// Prefix returns the literal bytes every matching key starts with: the whole
// pattern in prefix mode, the unescaped text before the first metacharacter in
// glob mode. Backends with server-side filtering (SCAN MATCH, secondary
// indexes) use it to narrow a scan and then apply Match to every candidate,
// because server glob dialects differ from path.Match.
func (m Matcher) Prefix() string { return m.prefix }

// Match reports whether key matches the pattern.
func (m Matcher) Match(key []byte) bool {
	if !m.glob {
		// The conversion in a comparison does not allocate.
		return len(key) >= len(m.prefix) && string(key[:len(m.prefix)]) == m.prefix
	}
	// The pattern was validated by NewMatcher, so the only possible error
	// cannot occur.
	ok, _ := path.Match(m.pattern, string(key))
	return ok
}

// MatchString is Match for a key held as a string.
func (m Matcher) MatchString(key string) bool {
	if !m.glob {
		return strings.HasPrefix(key, m.prefix)
	}
	ok, _ := path.Match(m.pattern, key)
	return ok
}

// NormalizeList validates opts.Pattern (an error wraps ErrBadPattern) and
// returns opts with the page size and the result cap resolved: Limit <= 0
// becomes DefaultListLimit and is capped at MaxListLimit; Max <= 0 becomes
// DefaultListMax and is capped at MaxListMax; Limit never exceeds Max. Every
// Lister calls it first so that all backends apply the same bounds.
func NormalizeList(opts ListOptions) (ListOptions, error) {
	if _, err := NewMatcher(opts.Pattern); err != nil {
		return opts, err
	}
	if opts.Limit <= 0 {
		opts.Limit = DefaultListLimit
	}
	opts.Limit = min(opts.Limit, MaxListLimit)
	if opts.Max <= 0 {
		opts.Max = DefaultListMax
	}
	opts.Max = min(opts.Max, MaxListMax)
	opts.Limit = min(opts.Limit, opts.Max)
	return opts, nil
}

// ListCursor is the decoded form of a listing cursor in the encoding shared by
// the backends of this module. It carries the number of keys already returned
// (so the Max cap holds across pages) and a backend-specific position.
type ListCursor struct {
	// Returned is the number of keys the listing returned on earlier pages.
	Returned int
	// Pos is the backend's resume position (the memory backend: the last key
	// returned; scanning backends: their scan state).
	Pos []byte
}

// String encodes c as an opaque, URL-safe cursor string.
func (c ListCursor) String() string {
	b := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(c.Pos)), uint64(c.Returned))
	b = append(b, c.Pos...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseListCursor decodes a cursor produced by ListCursor.String. The empty
// string is the zero ListCursor (start of a listing). Anything else that does
// not decode is an error wrapping ErrBadCursor.
func ParseListCursor(s string) (ListCursor, error) {
	if s == "" {
		return ListCursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ListCursor{}, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	n, w := binary.Uvarint(b)
	if w <= 0 || n > MaxListMax {
		return ListCursor{}, fmt.Errorf("%w: malformed count", ErrBadCursor)
	}
	return ListCursor{Returned: int(n), Pos: b[w:]}, nil
}
