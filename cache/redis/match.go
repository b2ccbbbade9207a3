package redis

import (
	"strings"

	"github.com/mcdedup/mcdedup/cache"
)

// redisGlobMeta are the characters special in a Redis MATCH pattern.
const redisGlobMeta = `*?[]\`

// scanMatch returns the SCAN MATCH pattern for m: a pattern every key that m
// matches also matches on the server, so the server drops most other keys
// before they cross the network. The keys SCAN returns are then checked with
// m.Match, because Redis globs differ from path.Match: Redis '*' and '?' also
// match '/', '?' matches one byte rather than one UTF-8 character, and the
// class syntax differs in corner cases.
//
// A prefix pattern becomes the escaped prefix followed by '*'. In a glob,
// literal text is kept (escaped) and every '*', '?' and [class] becomes '*'
// (each matches a superset of the original on the server).
func scanMatch(m cache.Matcher) string {
	if !m.IsGlob() {
		return escapeGlob(m.Prefix()) + "*"
	}
	p := m.Pattern()
	var b strings.Builder
	lastStar := false // the last thing written is an unescaped '*'
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '*', '?', '[':
			if c == '[' {
				i = classEnd(p, i)
			}
			if !lastStar {
				b.WriteByte('*')
			}
			lastStar = true
			continue
		case '\\':
			i++ // path.Match escape: the next byte is literal
			if i == len(p) {
				continue
			}
			c = p[i]
		}
		if strings.IndexByte(redisGlobMeta, c) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
		lastStar = false
	}
	return b.String()
}

// classEnd returns the index of the ']' closing the path.Match character
// class that opens at p[open]. The pattern was validated by cache.NewMatcher,
// so the class is well formed: an optional '^', at least one range, escapes
// with '\'.
func classEnd(p string, open int) int {
	i := open + 1
	if i < len(p) && p[i] == '^' {
		i++
	}
	for first := true; i < len(p); i++ {
		switch {
		case p[i] == '\\':
			i++
		case p[i] == ']' && !first:
			return i
		}
		first = false
	}
	return len(p) - 1
}

// escapeGlob escapes the Redis glob metacharacters of a literal.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, redisGlobMeta) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(redisGlobMeta, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
