//go:build !unix

package redis

// probeFD accepts every idle connection where no non-blocking socket read
// is available: a connection the server closed then fails its next batch.
func (c *conn) probeFD(uintptr) bool {
	c.alive = true
	return true
}
