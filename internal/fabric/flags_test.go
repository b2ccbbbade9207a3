package fabric

import (
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/envflag"
)

// parse registers the fabric flags with envPrefix on a fresh flag set backed
// by env, parses args and returns the options and the parse error.
func parse(t *testing.T, envPrefix string, env map[string]string, args ...string) (*Options, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ef := envflag.NewLookup(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	o := RegisterFlags(ef, envPrefix)
	return o, ef.Parse(args)
}

func TestRegisterFlagsDefaults(t *testing.T) {
	o, err := parse(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	if o.Port != want.Port || o.ShardBits != want.ShardBits || o.Scope != want.Scope || o.Mode != want.Mode ||
		o.GroupID != want.GroupID || o.Hops != want.Hops || o.Loop != want.Loop || o.IPv4Base.IsValid() || len(o.Ifaces) != 0 {
		t.Errorf("defaults = %+v, want %+v", *o, want)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("default options invalid: %v", err)
	}
}

func TestRegisterFlagsValues(t *testing.T) {
	env := map[string]string{"RELAY_SHARD_BITS": "6", "RELAY_IFACE": "lo,eth0", "RELAY_MC_GROUP_ID": "0x00AB"}
	o, err := parse(t, "RELAY_", env, "-scope", "org", "-source-mode", "ssm", "-egress-port", "9100",
		"-ipv4-group-base", "239.192.0.0", "-mc-hops", "8", "-mc-loop=false", "-sndbuf", "1024",
		"-rcvbuf", "2048", "-bind-source", "10.0.0.1", "-ssm-sources", "10.0.0.1, 10.0.0.2", "-shard-bits", "5")
	if err != nil {
		t.Fatal(err)
	}
	if o.ShardBits != 5 { // the flag wins over RELAY_SHARD_BITS
		t.Errorf("ShardBits = %d, want 5", o.ShardBits)
	}
	if strings.Join(o.Ifaces, ",") != "lo,eth0" || o.GroupID != 0xAB || o.Scope != frame.ScopeOrg ||
		o.Mode != frame.ModeSSM || o.Port != 9100 || o.IPv4Base != netip.MustParseAddr("239.192.0.0") ||
		o.Hops != 8 || o.Loop || o.SendBuffer != 1024 || o.RecvBuffer != 2048 ||
		o.Source != netip.MustParseAddr("10.0.0.1") || len(o.Sources) != 2 {
		t.Errorf("parsed %+v", *o)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if o, err = parse(t, "", nil, "-mc-group-id", "11"); err != nil || o.GroupID != 11 {
		t.Errorf("decimal group id: %d, %v", o.GroupID, err)
	}
}

func TestRegisterFlagsErrors(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"shard bits zero", nil, []string{"-shard-bits", "0"}, []string{"shard-bits", "must be 1–12"}},
		{"shard bits env", map[string]string{"SHARD_BITS": "13"}, nil, []string{"SHARD_BITS", "-shard-bits", "must be 1–12"}},
		{"prefixed env", map[string]string{"X_SCOPE": "planet"}, nil, []string{"X_SCOPE", "-scope", "link, site, org or global"}},
		{"mode", nil, []string{"-source-mode", "any"}, []string{"source-mode", "asm or ssm"}},
		{"port", nil, []string{"-egress-port", "70000"}, []string{"egress-port", "1–65535"}},
		{"group id", nil, []string{"-mc-group-id", "zz"}, []string{"mc-group-id", "0x hex"}},
		{"base", map[string]string{"X_IPV4_GROUP_BASE": "nope"}, nil, []string{"X_IPV4_GROUP_BASE", "not an IP address"}},
		{"sources", nil, []string{"-ssm-sources", "10.0.0.1,x"}, []string{"ssm-sources", "not an IP address"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(t, "X_", c.env, c.args...)
			if c.env != nil && c.env["SHARD_BITS"] != "" {
				_, err = parse(t, "", c.env, c.args...)
			}
			if err == nil {
				t.Fatal("parse succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
