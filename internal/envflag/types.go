package envflag

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// String defines a string flag backed by env; see Var.
func (s *Set) String(name, env, def, usage string) *string { return newVar(s, name, env, def, usage) }

// StringVar is String storing into p.
func (s *Set) StringVar(p *string, name, env, def, usage string) {
	bindVar(s, p, name, env, def, usage)
}

// Int defines an int flag backed by env (decimal, 0x hex, 0o octal, 0b
// binary).
func (s *Set) Int(name, env string, def int, usage string) *int {
	return newVar(s, name, env, def, usage)
}

// IntVar is Int storing into p.
func (s *Set) IntVar(p *int, name, env string, def int, usage string) {
	bindVar(s, p, name, env, def, usage)
}

// Int64 defines an int64 flag backed by env.
func (s *Set) Int64(name, env string, def int64, usage string) *int64 {
	return newVar(s, name, env, def, usage)
}

// Int64Var is Int64 storing into p.
func (s *Set) Int64Var(p *int64, name, env string, def int64, usage string) {
	bindVar(s, p, name, env, def, usage)
}

// Float64 defines a float64 flag backed by env.
func (s *Set) Float64(name, env string, def float64, usage string) *float64 {
	return newVar(s, name, env, def, usage)
}

// Float64Var is Float64 storing into p.
func (s *Set) Float64Var(p *float64, name, env string, def float64, usage string) {
	bindVar(s, p, name, env, def, usage)
}

// Bool defines a bool flag backed by env (strconv.ParseBool syntax: 1, t,
// true, 0, f, false…). On the command line "-name" alone means true.
func (s *Set) Bool(name, env string, def bool, usage string) *bool {
	return newVar(s, name, env, def, usage)
}

// BoolVar is Bool storing into p.
func (s *Set) BoolVar(p *bool, name, env string, def bool, usage string) {
	bindVar(s, p, name, env, def, usage)
}

// Duration defines a time.Duration flag backed by env (time.ParseDuration
// syntax: "50ms", "1m30s").
func (s *Set) Duration(name, env string, def time.Duration, usage string) *time.Duration {
	return newVar(s, name, env, def, usage)
}

// DurationVar is Duration storing into p.
func (s *Set) DurationVar(p *time.Duration, name, env string, def time.Duration, usage string) {
	bindVar(s, p, name, env, def, usage)
}

// Strings defines a comma-separated list flag backed by env. Items are
// trimmed and empty items dropped; setting the flag replaces the whole list.
func (s *Set) Strings(name, env string, def []string, usage string) *[]string {
	return newVar(s, name, env, slices.Clone(def), usage)
}

// StringsVar is Strings storing into p.
func (s *Set) StringsVar(p *[]string, name, env string, def []string, usage string) {
	bindVar(s, p, name, env, slices.Clone(def), usage)
}

// flagType lists the types of the typed helpers.
type flagType interface {
	string | int | int64 | float64 | bool | time.Duration | []string
}

func newVar[T flagType](s *Set, name, env string, def T, usage string) *T {
	p := new(T)
	bindVar(s, p, name, env, def, usage)
	return p
}

// bindVar registers a flag.FlagSet flag of the matching standard type (so -h
// shows its type and default as usual) and then applies env with value's
// parser, which gives short, specific error messages.
func bindVar[T flagType](s *Set, p *T, name, env string, def T, usage string) {
	usage = Usage(usage, env)
	switch p := any(p).(type) {
	case *string:
		s.fs.StringVar(p, name, any(def).(string), usage)
	case *int:
		s.fs.IntVar(p, name, any(def).(int), usage)
	case *int64:
		s.fs.Int64Var(p, name, any(def).(int64), usage)
	case *float64:
		s.fs.Float64Var(p, name, any(def).(float64), usage)
	case *bool:
		s.fs.BoolVar(p, name, any(def).(bool), usage)
	case *time.Duration:
		s.fs.DurationVar(p, name, any(def).(time.Duration), usage)
	case *[]string:
		*p = any(def).([]string)
		s.fs.Var(&value[[]string]{p: p}, name, usage)
	}
	s.applyEnv(&value[T]{p: p}, name, env)
}

// value parses env values for the typed helpers (and is the flag.Value of
// Strings). Its errors are short ("invalid duration") because Error adds the
// variable, the value and the flag.
type value[T flagType] struct{ p *T }

func (v *value[T]) Set(raw string) error {
	var (
		out any
		err error
	)
	switch any(*v.p).(type) {
	case string:
		out = raw
	case int:
		var n int64
		n, err = strconv.ParseInt(raw, 0, strconv.IntSize)
		out, err = int(n), numError(err, "integer")
	case int64:
		out, err = strconv.ParseInt(raw, 0, 64)
		err = numError(err, "integer")
	case float64:
		out, err = strconv.ParseFloat(raw, 64)
		err = numError(err, "number")
	case bool:
		out, err = strconv.ParseBool(raw)
		if err != nil {
			err = errors.New("invalid boolean")
		}
	case time.Duration:
		out, err = time.ParseDuration(raw)
		if err != nil {
			err = errors.New("invalid duration")
		}
	case []string:
		out = splitList(raw)
	}
	if err != nil {
		return err
	}
	*v.p = out.(T)
	return nil
}

func (v *value[T]) String() string {
	var x T
	if v != nil && v.p != nil {
		x = *v.p
	}
	switch x := any(x).(type) {
	case []string:
		return strings.Join(x, ",")
	case time.Duration:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// numError turns a strconv error into "invalid <what>" or "<what> out of
// range".
func numError(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return errors.New(what + " out of range")
	}
	return errors.New("invalid " + what)
}

// splitList splits a comma-separated list, trimming items and dropping empty
// ones.
func splitList(raw string) []string {
	var out []string
	for item := range strings.SplitSeq(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
