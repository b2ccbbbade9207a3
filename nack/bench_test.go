package nack

import (
	"testing"

	"github.com/mcdedup/mcdedup/frame"
)

func BenchmarkNACKAppend(b *testing.B) {
	buf := make([]byte, 0, NACKLen)
	n := wantNACK
	b.ReportAllocs()
	for b.Loop() {
		n.StartSeq++
		n.EndSeq = n.StartSeq
		sinkBytes = n.Append(buf[:0])
	}
}

func BenchmarkParseNACK(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkNACK, sinkErr = ParseNACK(goldenNACK)
	}
}

func BenchmarkReplyAppend(b *testing.B) {
	buf := make([]byte, 0, ReplyLen)
	r := Reply{Type: frame.TypeACK, Flags: AckMulticastSent}
	b.ReportAllocs()
	for b.Loop() {
		r.SeqNum++
		sinkBytes = r.Append(buf[:0])
	}
}

func BenchmarkParseReply(b *testing.B) {
	wire := goldenReplies[1].wire
	b.ReportAllocs()
	for b.Loop() {
		sinkReply, sinkErr = ParseReply(wire)
	}
}

func BenchmarkAdvertAppend(b *testing.B) {
	buf := make([]byte, 0, AdvertLen)
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes = wantAdvert.Append(buf[:0])
	}
}

func BenchmarkParseAdvert(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkAdvert, sinkErr = ParseAdvert(goldenAdvert)
	}
}
