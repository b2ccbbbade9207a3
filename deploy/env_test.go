package deploy

import (
	"regexp"
	"sort"
	"testing"
)

var (
	// Ways an env var is named in these files: a word with an underscore
	// (DRAIN_TIMEOUT), an assignment (IFACE=eth0, commented or not), or a
	// backticked word (`WORKERS`).
	underscoreWord = regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b`)
	assignedWord   = regexp.MustCompile("(?m)(?:^|[\\s#\"'`(])([A-Z][A-Z0-9_]*)=")
	backtickedWord = regexp.MustCompile("`([A-Z][A-Z0-9_]{2,})`")

	// notEnvVar are UPPERCASE words of these files that are no env var:
	// socket options, capabilities, signals, errnos, Grafana's variable.
	notEnvVar = regexp.MustCompile(`^(SO_|IP_|IPV6_|IPPROTO_|AF_|CAP_|NET_ADMIN$|SIG|MSG_|UIO_|RLIMIT_|SOCK_|DS_PROMETHEUS$|ENOBUFS$|ENOMEM$|EPERM$|ENETUNREACH$)`)

	// goRuntimeEnv are read by the Go runtime or toolchain, not by a flag.
	goRuntimeEnv = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true, "GODEBUG": true, "CGO_ENABLED": true}

	// backtickedFlag is a code span that starts with a flag: `-rcvbuf`,
	// `-dedup-backend redis`.
	backtickedFlag = regexp.MustCompile("`-([a-z][a-z0-9-]*)[^`]*`")
)

// envCandidates returns the env var names text mentions.
func envCandidates(text string) []string {
	set := map[string]bool{}
	for _, m := range underscoreWord.FindAllString(text, -1) {
		set[m] = true
	}
	for _, re := range []*regexp.Regexp{assignedWord, backtickedWord} {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			set[m[1]] = true
		}
	}
	var out []string
	for n := range set {
		if !notEnvVar.MatchString(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// TestEnvVarsExist checks that every env var the deploy files set or
// mention is one the proxy reads: a renamed flag fails here, not on an
// operator's host as a setting that is silently ignored.
func TestEnvVarsExist(t *testing.T) {
	_, flags := builtProxy(t)
	envs := envNames(flags)
	check := func(where, name string) {
		if goRuntimeEnv[name] {
			return
		}
		if _, ok := envs[name]; !ok {
			t.Errorf("%s: %s is not the env var of any proxy flag (renamed? if it is no env var at all, add it to notEnvVar in env_test.go)", where, name)
		}
	}
	texts := []string{envFile, unitFile, readmeFile}
	texts = append(texts, k8sFiles(t)...)
	for _, name := range texts {
		for _, n := range envCandidates(readFile(t, name)) {
			check(name, n)
		}
	}
	if n := len(envAssignments(readFile(t, envFile))); n < 10 {
		t.Errorf("%s: only %d NAME=value lines read", envFile, n)
	}

	cm := configMap(t)
	if len(cm) < 10 {
		t.Errorf("ConfigMap: only %d keys", len(cm))
	}
	for k := range cm {
		check("ConfigMap key", k)
	}
	for _, e := range proxyContainer(t).Env {
		check("DaemonSet env", e.Name)
	}

	for _, m := range backtickedFlag.FindAllStringSubmatch(readFile(t, readmeFile), -1) {
		if _, ok := flags[m[1]]; !ok && m[1] != "h" {
			t.Errorf("%s: flag -%s does not exist (in %s)", readmeFile, m[1], m[0])
		}
	}
}
