package envflag_test

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/envflag"
)

// env is a fake environment.
type env map[string]string

func (e env) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

// all registers one flag of every type.
type all struct {
	s   *string
	i   *int
	i64 *int64
	f   *float64
	b   *bool
	d   *time.Duration
	l   *[]string
}

func register(e env) (*flag.FlagSet, *envflag.Set, all) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	ef := envflag.NewLookup(fs, e.lookup)
	return fs, ef, all{
		s:   ef.String("str", "T_STR", "def", "a string"),
		i:   ef.Int("int", "T_INT", 1, "an int"),
		i64: ef.Int64("int64", "T_INT64", 2, "an int64"),
		f:   ef.Float64("float", "T_FLOAT", 0.5, "a float"),
		b:   ef.Bool("bool", "T_BOOL", false, "a bool"),
		d:   ef.Duration("dur", "T_DUR", time.Second, "a duration"),
		l:   ef.Strings("list", "T_LIST", []string{"a", "b"}, "a list"),
	}
}

func TestDefaults(t *testing.T) {
	_, ef, v := register(env{})
	if err := ef.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if *v.s != "def" || *v.i != 1 || *v.i64 != 2 || *v.f != 0.5 || *v.b || *v.d != time.Second || !slices.Equal(*v.l, []string{"a", "b"}) {
		t.Fatalf("defaults: %q %d %d %v %v %v %q", *v.s, *v.i, *v.i64, *v.f, *v.b, *v.d, *v.l)
	}
}

func TestEnvBeatsDefault(t *testing.T) {
	_, ef, v := register(env{
		"T_STR": "from-env", "T_INT": "0x10", "T_INT64": "-5", "T_FLOAT": "2.5",
		"T_BOOL": "true", "T_DUR": "75ms", "T_LIST": " x, ,y ,",
	})
	if err := ef.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if *v.s != "from-env" || *v.i != 16 || *v.i64 != -5 || *v.f != 2.5 || !*v.b || *v.d != 75*time.Millisecond || !slices.Equal(*v.l, []string{"x", "y"}) {
		t.Fatalf("env values: %q %d %d %v %v %v %q", *v.s, *v.i, *v.i64, *v.f, *v.b, *v.d, *v.l)
	}
}

func TestFlagBeatsEnv(t *testing.T) {
	_, ef, v := register(env{"T_STR": "env", "T_INT": "5", "T_BOOL": "false", "T_DUR": "1m", "T_LIST": "e"})
	err := ef.Parse([]string{"-str=flag", "-int=7", "-bool", "-dur=3s", "-list=f,g"})
	if err != nil {
		t.Fatal(err)
	}
	if *v.s != "flag" || *v.i != 7 || !*v.b || *v.d != 3*time.Second || !slices.Equal(*v.l, []string{"f", "g"}) {
		t.Fatalf("flag values: %q %d %v %v %q", *v.s, *v.i, *v.b, *v.d, *v.l)
	}
}

func TestEmptyEnvIsUnset(t *testing.T) {
	_, ef, v := register(env{"T_INT": "", "T_STR": ""})
	if err := ef.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if *v.i != 1 || *v.s != "def" {
		t.Fatalf("empty env changed values: %d %q", *v.i, *v.s)
	}
}

func TestBadEnvIsAnErrorNamingTheVariable(t *testing.T) {
	for _, tc := range []struct{ env, val, flag, msg string }{
		{"T_INT", "four", "int", "invalid integer"},
		{"T_INT", "99999999999999999999", "int", "integer out of range"},
		{"T_INT64", "1.5", "int64", "invalid integer"},
		{"T_FLOAT", "fast", "float", "invalid number"},
		{"T_BOOL", "yes please", "bool", "invalid boolean"},
		{"T_DUR", "fast", "dur", "invalid duration"},
		{"T_DUR", "50", "dur", "invalid duration"}, // no unit
	} {
		t.Run(tc.env+"="+tc.val, func(t *testing.T) {
			_, ef, v := register(env{tc.env: tc.val})
			err := ef.Parse(nil)
			if err == nil {
				t.Fatalf("no error; values %d %d %v %v %v", *v.i, *v.i64, *v.f, *v.b, *v.d)
			}
			want := tc.env + `="` + tc.val + `" (flag -` + tc.flag + "): " + tc.msg
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not contain %q", err, want)
			}
			var e *envflag.Error
			if !errors.As(err, &e) || e.Env != tc.env || e.Flag != tc.flag || e.Value != tc.val {
				t.Fatalf("error %#v is not an *envflag.Error for %s", err, tc.env)
			}
		})
	}
}

func TestBadEnvAllReported(t *testing.T) {
	_, ef, _ := register(env{"T_INT": "x", "T_DUR": "y", "T_BOOL": "z"})
	err := ef.Parse(nil)
	for _, name := range []string{"T_INT", "T_DUR", "T_BOOL"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func TestBadEnvIgnoredWhenFlagGiven(t *testing.T) {
	_, ef, v := register(env{"T_DUR": "fast", "T_INT": "x"})
	err := ef.Parse([]string{"-dur=2s"})
	if err == nil || strings.Contains(err.Error(), "T_DUR") || !strings.Contains(err.Error(), "T_INT") {
		t.Fatalf("error %v: want T_INT reported and T_DUR (overridden by its flag) not", err)
	}
	if *v.d != 2*time.Second {
		t.Fatalf("dur = %v", *v.d)
	}
}

func TestUsageNamesEnvAndHidesEnvValues(t *testing.T) {
	fs, _, _ := register(env{"T_STR": "secret-from-env"})
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.PrintDefaults()
	help := out.String()
	for _, name := range []string{"T_STR", "T_INT", "T_INT64", "T_FLOAT", "T_BOOL", "T_DUR", "T_LIST"} {
		if !strings.Contains(help, "(env "+name+")") {
			t.Errorf("help does not name %s:\n%s", name, help)
		}
	}
	if strings.Contains(help, "secret-from-env") {
		t.Errorf("help shows an env value:\n%s", help)
	}
	if !strings.Contains(help, `(default "def")`) || !strings.Contains(help, "(default 1s)") || !strings.Contains(help, "(default a,b)") {
		t.Errorf("help does not show the built-in defaults:\n%s", help)
	}
}

func TestVarAndPlainFlags(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	ef := envflag.NewLookup(fs, env{"T_CUSTOM": "bad"}.lookup)
	ef.Var(rejecting{}, "custom", "T_CUSTOM", "custom value")
	ef.String("plain", "", "p", "no env")
	if got := fs.Lookup("plain").Usage; got != "no env" {
		t.Errorf("usage of a flag without env = %q", got)
	}
	if err := ef.Parse(nil); err == nil || !strings.Contains(err.Error(), `T_CUSTOM="bad" (flag -custom): rejected`) {
		t.Errorf("custom Var error = %v", err)
	}
}

type rejecting struct{}

func (rejecting) String() string   { return "" }
func (rejecting) Set(string) error { return errors.New("rejected") }

func TestEnvName(t *testing.T) {
	for _, tc := range []struct{ prefix, name, want string }{
		{"CACHE_", "op-timeout", "CACHE_OP_TIMEOUT"},
		{"EGRESS_DEDUP_", "redis-addr", "EGRESS_DEDUP_REDIS_ADDR"},
		{"", "metrics.addr", "METRICS_ADDR"},
	} {
		if got := envflag.EnvName(tc.prefix, tc.name); got != tc.want {
			t.Errorf("EnvName(%q, %q) = %q, want %q", tc.prefix, tc.name, got, tc.want)
		}
	}
}

func TestParseReportsFlagErrors(t *testing.T) {
	_, ef, _ := register(env{})
	if err := ef.Parse([]string{"-dur=soon"}); err == nil || !strings.Contains(err.Error(), "-dur") {
		t.Fatalf("bad flag value: %v", err)
	}
}
