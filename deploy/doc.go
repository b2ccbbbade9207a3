// Package deploy holds what operators install next to the mcdedup binaries:
// the systemd unit and env file, Kubernetes manifests, Prometheus rules, the
// Grafana dashboard and the sysctl file, described in README.md.
//
// It has no code, only tests that keep these files in step with the
// binaries: every metric, flag, env var, port and timeout they name is
// checked against what the proxy really registers and accepts, so renaming
// one in the code fails the tests until deploy/ follows.
package deploy
