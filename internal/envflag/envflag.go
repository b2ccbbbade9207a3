// Package envflag registers command-line flags whose defaults come from
// environment variables, the project convention: every flag has an UPPERCASE
// env equivalent; the flag wins over the env var, the env var over the
// built-in default.
//
// An env value that does not parse is never silently replaced by the default:
// it is recorded and reported by Set.Err after parsing, naming the variable,
// its value and the flag, unless the flag itself was given on the command line
// (then the env var is not used). Typical use in a binary:
//
//	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
//	ef := envflag.New(fs)
//	workers := ef.Int("workers", "PROXY_WORKERS", 4, "receive workers")
//	if err := ef.Parse(os.Args[1:]); err != nil {
//		// "env PROXY_WORKERS="four" (flag -workers): invalid integer"
//	}
//
// The help text of each flag ends with " (env NAME)". Defaults shown by -h are
// the built-in ones, so a secret passed through the environment is not
// printed.
package envflag

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// Error is an environment value that does not parse.
type Error struct {
	Env   string // variable name, e.g. "CACHE_OP_TIMEOUT"
	Value string // its value
	Flag  string // the flag it stands for, without "-"
	Err   error  // what is wrong, e.g. "invalid duration"
}

// Error formats e as `env NAME="value" (flag -name): problem`.
func (e *Error) Error() string {
	return fmt.Sprintf("env %s=%q (flag -%s): %v", e.Env, e.Value, e.Flag, e.Err)
}

// Unwrap returns the parse problem.
func (e *Error) Unwrap() error { return e.Err }

// Set registers env-backed flags on a flag.FlagSet and collects the errors of
// their env values. It is not safe for concurrent use (nor is flag.FlagSet).
type Set struct {
	fs     *flag.FlagSet
	lookup func(string) (string, bool)
	errs   []*Error
}

// New returns a Set registering on fs and reading the process environment.
func New(fs *flag.FlagSet) *Set { return NewLookup(fs, os.LookupEnv) }

// NewLookup is New with lookup in place of os.LookupEnv (tests).
func NewLookup(fs *flag.FlagSet, lookup func(string) (string, bool)) *Set {
	return &Set{fs: fs, lookup: lookup}
}

// FlagSet returns the flag set the Set registers on.
func (s *Set) FlagSet() *flag.FlagSet { return s.fs }

// EnvName derives the env var of a flag: prefix followed by name in upper
// case with '-' and '.' turned into '_' (EnvName("CACHE_", "op-timeout") is
// "CACHE_OP_TIMEOUT").
func EnvName(prefix, name string) string {
	return prefix + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))
}

// Var registers value under name like flag.FlagSet.Var and then, when env is
// set to a non-empty value, applies it with value.Set. The default shown by
// -h is value's state before the env var is applied. An empty env name
// registers a plain flag.
func (s *Set) Var(value flag.Value, name, env, usage string) {
	s.fs.Var(value, name, Usage(usage, env))
	s.applyEnv(value, name, env)
}

// applyEnv sets value from env when env is set and non-empty, recording a
// parse failure as an *Error for Err.
func (s *Set) applyEnv(value flag.Value, name, env string) {
	raw, ok := s.env(env)
	if !ok {
		return
	}
	if err := value.Set(raw); err != nil {
		s.errs = append(s.errs, &Error{Env: env, Value: raw, Flag: name, Err: err})
	}
}

// Usage returns usage with " (env NAME)" appended, or usage itself when env
// is empty. It is for flags registered without a Set.
func Usage(usage, env string) string {
	if env == "" {
		return usage
	}
	return usage + " (env " + env + ")"
}

// env returns the value of the variable env when it is set and non-empty; an
// empty value counts as unset.
func (s *Set) env(env string) (string, bool) {
	if env == "" {
		return "", false
	}
	v, ok := s.lookup(env)
	if !ok || v == "" {
		return "", false
	}
	return v, true
}

// Err reports the env values that did not parse, as a join of *Error, or
// nil. Call it after parsing: an env error is dropped when its flag was set
// on the command line, since the env value is then unused.
func (s *Set) Err() error {
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	for _, e := range s.errs {
		if !given[e.Flag] {
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

// Parse parses args with the flag set and then returns the first of the
// parse error and Err.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	return s.Err()
}
