package redis

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// logInterval is the least time between two go-redis log lines.
const logInterval = 10 * time.Second

// throttledLogger is the go-redis logger of the process: go-redis logs
// every failed dial, which while a server is down means a line per call, at
// packet rate on the hot paths. It forwards to log/slog at Warn level at most
// one line per logInterval, telling how many lines it dropped meanwhile. The
// Backend's callers see every failure as an error and count it themselves.
type throttledLogger struct {
	now func() time.Time

	mu      sync.Mutex // guards last and dropped
	last    time.Time  // when the last line was forwarded
	dropped int        // lines dropped since then
}

// Printf implements the go-redis logging interface.
func (l *throttledLogger) Printf(ctx context.Context, format string, v ...any) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		l.dropped++
		l.mu.Unlock()
		return
	}
	dropped := l.dropped
	l.last, l.dropped = now, 0
	l.mu.Unlock()

	attrs := []any{"component", "go-redis"}
	if dropped > 0 {
		attrs = append(attrs, "suppressed", dropped)
	}
	slog.Default().WarnContext(ctx, fmt.Sprintf(format, v...), attrs...)
}
