//go:build unix

package redis

import "syscall"

// probeFD is the liveness probe of an idle connection, run by
// syscall.RawConn.Read: a non-blocking read that must find nothing to read
// (EAGAIN). Data (replies nobody asked for) or EOF (the server closed the
// connection) make the connection unusable.
func (c *conn) probeFD(fd uintptr) bool {
	n, err := syscall.Read(int(fd), c.pbuf[:])
	c.alive = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
	return true // never wait for readability
}
