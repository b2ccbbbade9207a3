package ratio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tailLines is how many stderr lines of a child are kept for error reports.
const tailLines = 12

// child is a subprocess in its own process group, killed with the group
// when the runner's context ends or the runner dies (Pdeathsig).
type child struct {
	name   string
	cmd    *exec.Cmd
	stdout bytes.Buffer // read only after done
	stderr lineWriter
	done   chan struct{} // closed when the process has exited
	err    error         // exit status; valid after done
}

// startChild starts argv; stderr lines go to log (nil: dropped) and are
// watched for ready (a substring; "" marks nothing).
func startChild(ctx context.Context, name string, argv []string, ready string, log io.Writer) (*child, error) {
	c := &child{name: name, done: make(chan struct{})}
	c.stderr = lineWriter{prefix: name + "| ", log: log, ready: ready, readyCh: make(chan struct{})}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &c.stdout, &c.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.cmd = cmd
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// waitReady waits for the ready line, failing if the child exits first or
// timeout passes.
func (c *child) waitReady(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.stderr.readyCh:
		return nil
	case <-c.done:
		return fmt.Errorf("%s exited before it was ready (%v)%s", c.name, c.err, c.stderr.tail())
	case <-t.C:
		return fmt.Errorf("%s not ready after %v%s", c.name, timeout, c.stderr.tail())
	}
}

// wait waits for the child to exit by itself within timeout (else kills it)
// and returns an error unless it exited 0.
func (c *child) wait(timeout time.Duration) error {
	if !c.exited(timeout) {
		c.kill(syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("%s did not finish within %v; killed%s", c.name, timeout, c.stderr.tail())
	}
	if c.err != nil {
		return fmt.Errorf("%s: %w%s", c.name, c.err, c.stderr.tail())
	}
	return nil
}

// stop asks the child to exit (SIGTERM to its group), kills it after grace
// and waits for it.
func (c *child) stop(grace time.Duration) {
	c.kill(syscall.SIGTERM)
	if !c.exited(grace) {
		c.kill(syscall.SIGKILL)
		<-c.done
	}
}

// exited waits up to timeout for the child to exit and reports whether it
// did.
func (c *child) exited(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
		return true
	case <-t.C:
		return false
	}
}

func (c *child) kill(sig syscall.Signal) {
	select {
	case <-c.done:
	default:
		syscall.Kill(-c.cmd.Process.Pid, sig)
	}
}

// lineWriter splits a child's stderr into lines: it forwards them to log,
// keeps the last few for error reports and closes readyCh at the first line
// containing ready.
type lineWriter struct {
	prefix  string
	log     io.Writer
	ready   string
	readyCh chan struct{}

	mu      sync.Mutex // guards the fields below
	partial []byte
	lines   []string
	isReady bool
}

// Write implements io.Writer.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		if w.log != nil {
			fmt.Fprintf(w.log, "%s%s\n", w.prefix, line)
		}
		if w.lines = append(w.lines, line); len(w.lines) > tailLines {
			w.lines = w.lines[1:]
		}
		if w.ready != "" && !w.isReady && strings.Contains(line, w.ready) {
			w.isReady = true
			close(w.readyCh)
		}
	}
	return len(p), nil
}

// tail returns the last stderr lines, indented, for an error message.
func (w *lineWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lines) == 0 {
		return ""
	}
	return "; last stderr lines:\n    " + strings.Join(w.lines, "\n    ")
}

// errNoGo is returned when no go command can be found to build binaries.
var errNoGo = errors.New("no go command found: give -go or -bin-dir")
