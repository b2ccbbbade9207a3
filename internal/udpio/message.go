package udpio

import "net/netip"

// DefaultBatch is the number of datagrams one ReadBatch or WriteBatch call
// moves at most unless Options.BatchSize says otherwise. Memory cost: every
// reader preallocates DefaultBatch MTU-sized buffers, so readers × 64 × 2 KiB
// (128 KiB per reader for 1500-byte MTUs), and every Conn keeps about
// 64 × 170 bytes (11 KiB) of kernel message headers per direction. Larger
// batches amortise the system call further, but grow every reader's footprint
// and delay the processing of a batch's first datagram until its last is read.
const DefaultBatch = 64

// maxBatch caps Options.BatchSize at the kernel's UIO_MAXIOV, the most
// messages one recvmmsg or sendmmsg call accepts.
const maxBatch = 1024

// Message is one datagram of a batch. The caller owns the slice of messages
// and their buffers and reuses them across calls.
type Message struct {
	// Buf is, for a read, the buffer to fill (its length is the capacity),
	// and, for a write, the datagram to send.
	Buf []byte
	// N is, after a read, the number of bytes received into Buf.
	N int
	// Addr is, after a read, the source (IPv4-mapped IPv6 addresses are
	// unmapped; link-local IPv6 sources carry their interface index as a
	// numeric zone). For a write it is the destination; the zero value
	// sends to the connected peer (Options.Peer).
	Addr netip.AddrPort
	// Trunc reports, after a read, that the datagram was larger than Buf and
	// was cut to len(Buf) bytes. The caller drops and counts it.
	Trunc bool
}

// Payload returns the bytes received by the last read into m.
func (m *Message) Payload() []byte { return m.Buf[:m.N] }

// BatchConn is what the hot loops depend on: *Conn and *Fake implement it.
type BatchConn interface {
	// ReadBatch blocks until at least one datagram is available and fills
	// msgs[:n]. After Close it returns an error satisfying
	// errors.Is(err, net.ErrClosed). One goroutine at a time.
	ReadBatch(msgs []Message) (n int, err error)
	// WriteBatch sends every message, retrying the unsent tail of a partial
	// write; it returns the number sent and nil, or a *WriteError counting the
	// messages that were really lost. One goroutine at a time, but it may run
	// concurrently with ReadBatch.
	WriteBatch(msgs []Message) (sent int, err error)
	// LocalAddr returns the bound address.
	LocalAddr() netip.AddrPort
	// Close releases the socket and unblocks ReadBatch.
	Close() error
}

// DropCounter is implemented by connections that can report the datagrams
// the kernel dropped before the application read them (*Conn, *Fake).
type DropCounter interface {
	KernelDrops() uint64
}

// NewMessages returns n messages whose buffers of bufSize bytes are carved
// from one allocation, ready for ReadBatch.
func NewMessages(n, bufSize int) []Message {
	msgs := make([]Message, n)
	slab := make([]byte, n*bufSize)
	for i := range msgs {
		msgs[i].Buf = slab[i*bufSize : (i+1)*bufSize : (i+1)*bufSize]
	}
	return msgs
}
