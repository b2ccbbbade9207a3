package ratio

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// goCommand returns the go command to build with: given, on PATH, or the
// one of the toolchain that built this program.
func goCommand(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", errNoGo
}

// buildAll builds loadgen, sink and the packages of the preset pipelines
// into dir, from the module that contains the working directory.
func buildAll(ctx context.Context, goCmd, dir string, pipes []*pipeline) error {
	root, err := moduleRoot(ctx, goCmd)
	if err != nil {
		return err
	}
	targets := map[string]string{"loadgen": "./bench/loadgen", "sink": "./bench/sink"}
	for _, p := range pipes {
		if p != nil && p.raw == "" {
			targets[p.name] = p.pre.Pkg
		}
	}
	for name, pkg := range targets {
		cmd := exec.CommandContext(ctx, goCmd, "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	}
	return nil
}

// moduleRoot returns the directory of the main module (go env GOMOD).
func moduleRoot(ctx context.Context, goCmd string) (string, error) {
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the mcdedup module: run ratio from the repository or give -bin-dir")
	}
	return filepath.Dir(mod), nil
}
