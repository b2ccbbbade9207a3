package deploy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// selector is one vector selector of a PromQL expression: a metric name
// (empty for a bare {…}) and its label matchers.
type selector struct {
	Name     string
	Matchers []matcher
}

// matcher is one label matcher: Op is =, !=, =~ or !~.
type matcher struct {
	Label, Op, Value string
}

// promqlWords are the PromQL words that are not metric names: keywords,
// aggregation operators and functions written without their parenthesis
// right after them (sum by (x) (…)).
var promqlWords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true, "by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// groupingWords take a parenthesised list of label names, not an expression.
var groupingWords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// scanPromQL returns the vector selectors of expr. It is a scanner, not a
// parser (the module has no PromQL parser, and promtool checks the syntax
// where it is installed): it skips strings, comments, range and subquery
// brackets, Grafana variables ($x, ${x}), numbers and durations, label lists
// of by/without/on/ignoring/group_left/group_right, and identifiers followed
// by "(" (functions) or in promqlWords; every other identifier is a metric
// name, and a {…} right after it holds its matchers.
func scanPromQL(expr string) ([]selector, error) {
	var sels []selector
	pending := -1 // index in sels of a name that a following {…} belongs to
	s := expr
	i := 0
	skipSpace := func(j int) int {
		for j < len(s) && strings.ContainsRune(" \t\r\n", rune(s[j])) {
			j++
		}
		return j
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
			continue
		case c == '"' || c == '\'' || c == '`':
			_, n, err := readString(s[i:])
			if err != nil {
				return nil, fmt.Errorf("%w in %q", err, expr)
			}
			i += n
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unclosed [ in %q", expr)
			}
			i += j + 1
		case c == '$':
			i++
			if i < len(s) && s[i] == '{' {
				j := strings.IndexByte(s[i:], '}')
				if j < 0 {
					return nil, fmt.Errorf("unclosed ${ in %q", expr)
				}
				i += j + 1
			} else {
				for i < len(s) && isIdent(s[i]) {
					i++
				}
			}
		case c == '{':
			ms, n, err := readMatchers(s[i:])
			if err != nil {
				return nil, fmt.Errorf("%w in %q", err, expr)
			}
			i += n
			if pending >= 0 {
				sels[pending].Matchers = ms
			} else {
				sels = append(sels, selector{Matchers: ms})
			}
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			next := skipSpace(j)
			i = j
			lower := strings.ToLower(word)
			switch {
			case groupingWords[lower] && next < len(s) && s[next] == '(':
				k := strings.IndexByte(s[next:], ')')
				if k < 0 {
					return nil, fmt.Errorf("unclosed %s( in %q", word, expr)
				}
				i = next + k + 1
			case next < len(s) && s[next] == '(', promqlWords[lower]:
			default:
				sels = append(sels, selector{Name: word})
				pending = len(sels) - 1
				continue
			}
		default:
			i++
		}
		pending = -1
	}
	return sels, nil
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':'
}

func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// readString reads a quoted string at the start of s and returns its value
// and length; backquoted strings have no escapes.
func readString(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == q:
			return b.String(), i + 1, nil
		case s[i] == '\\' && q != '`' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, fmt.Errorf("unclosed string")
}

// readMatchers reads {label op "value", …} at the start of s.
func readMatchers(s string) ([]matcher, int, error) {
	var ms []matcher
	i := 1
	for {
		for i < len(s) && strings.ContainsRune(" \t\r\n,", rune(s[i])) {
			i++
		}
		if i >= len(s) {
			return nil, 0, fmt.Errorf("unclosed {")
		}
		if s[i] == '}' {
			return ms, i + 1, nil
		}
		j := i
		for j < len(s) && isIdent(s[j]) {
			j++
		}
		if j == i {
			return nil, 0, fmt.Errorf("no label name at %q", s[i:])
		}
		m := matcher{Label: s[i:j]}
		for j < len(s) && s[j] == ' ' {
			j++
		}
		for _, op := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(s[j:], op) {
				m.Op = op
				j += len(op)
				break
			}
		}
		if m.Op == "" {
			return nil, 0, fmt.Errorf("no operator after label %s", m.Label)
		}
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j >= len(s) || !strings.ContainsRune("\"'`", rune(s[j])) {
			return nil, 0, fmt.Errorf("no quoted value for label %s", m.Label)
		}
		v, n, err := readString(s[j:])
		if err != nil {
			return nil, 0, err
		}
		m.Value = v
		ms = append(ms, m)
		i = j + n
	}
}

func TestScanPromQL(t *testing.T) {
	cases := []struct {
		expr string
		want []selector
	}{
		{`up{job="mcdedup-proxy"} == 0`, []selector{{"up", []matcher{{"job", "=", "mcdedup-proxy"}}}}},
		{`sum by (job, instance) (rate(a_total[5m])) / on (job) group_left(x) b:c:rate5m offset 1h`,
			[]selector{{Name: "a_total"}, {Name: "b:c:rate5m"}}},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket{job=~"$job", instance=~"${instance}"}[$__rate_interval])))`,
			[]selector{{"h_bucket", []matcher{{"job", "=~", "$job"}, {"instance", "=~", "${instance}"}}}}},
		{"count by (alertname) (ALERTS{alertstate=\"firing\"}) > bool 1e3 # a comment with words\n and x",
			[]selector{{"ALERTS", []matcher{{"alertstate", "=", "firing"}}}, {Name: "x"}}},
		{`max_over_time(g[1d]) == 1 or rate(c_total{reason!~"a|b", l!='q\'s'}[5m]) > 0`,
			[]selector{{Name: "g"}, {"c_total", []matcher{{"reason", "!~", "a|b"}, {"l", "!=", "q's"}}}}},
		{`{__name__="x"}`, []selector{{"", []matcher{{"__name__", "=", "x"}}}}},
	}
	for _, c := range cases {
		got, err := scanPromQL(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.expr, got, c.want)
		}
	}
	for _, bad := range []string{`a{b="c"`, `rate(a[5m)`, `a{b=c}`, `"open`} {
		if _, err := scanPromQL(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
