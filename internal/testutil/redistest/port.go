package redistest

import (
	"fmt"
	"net"
)

// reservedPort is the well-known Redis port, possibly used by a system
// server; tests never take it.
const reservedPort = 6379

// maxPort is the highest port handed out, leaving room below 65536 for
// conventions that derive one port from another.
const maxPort = 65535

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago: the kernel picks each by binding 127.0.0.1:0, and all listeners stay
// open until every port is chosen, so the n ports are distinct. Another
// process may still take a port before the server binds it; Start detects
// that (the server exits, or answers with another process id) and retries
// with fresh ports.
func freePorts(n int) ([]int, error) {
	var (
		ports     []int
		listeners []net.Listener
	)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		p := l.Addr().(*net.TCPAddr).Port
		if p == reservedPort || p > maxPort {
			continue // keep it open so the kernel moves on
		}
		ports = append(ports, p)
	}
	return ports, nil
}
