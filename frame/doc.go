// Package frame is the wire codec of the multicast data plane: BRC-12 legacy
// frames, BRC-124/128 transaction frames, BRC-130 fragments, the 92-byte
// control layouts (block, subtree data, anchor, block header, BEEF object) and
// the BRC-142 bundle header, together with the flow HashKey, shard and
// multicast-group addressing, and fragmentation/reassembly.
//
// # Dispatch
//
// Every datagram starts with Magic, ProtoVer and a type byte at offset 6. Data
// frames (0x01–0x09) and control messages (0x10 and up) share the prefix, so a
// receiver calls [Peek] first and hands frames to [Parse] and control messages
// to their own parsers (package nack for BRC-126).
//
// # Views, not copies
//
// [Parse] returns a [Frame] whose fixed-size fields (IDs, HashKey, SeqNum) are
// copied out of the datagram and whose Payload and Raw fields are views into
// it: parsing never allocates, and the views are valid only while the caller
// keeps the receive buffer. [Stamp] rewrites HashKey and SeqNum in place, so a
// proxy forwards Raw without re-encoding.
//
// # Lenient where the spec allows
//
// Parse is strict about what makes a datagram unusable (magic, version,
// lengths, fragment arithmetic, block and subtree message types) and returns a
// sentinel error for each, labelled for metrics by [Reason]. It is lenient
// about what a peer may set without harm (ProtoVer, byte 7 of tx frames,
// bundle flags and reserved byte, fragment Reserved2, bundle ShardBits): they
// are kept in the Frame so that [Append] reproduces the datagram exactly. Bytes after PayloadLen are
// accepted and ignored; Raw excludes them.
//
// # Imports
//
// The package depends on the standard library and xxhash only, so every
// component (proxy, listener, retry endpoint, load generator) can use it.
package frame
