// Package uuid makes the random (version 4) UUIDs that AWS uses for
// request, message and revision IDs.
package uuid

import (
	"encoding/hex"
	"math/rand/v2"
)

// New returns a random UUID in its canonical form. IDs must be unique, not
// secret: the source is math/rand/v2's per-process ChaCha8 generator,
// seeded from the operating system, which costs no system call per ID.
func New() string {
	var b [16]byte
	x, y := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i], b[8+i] = byte(x>>(8*i)), byte(y>>(8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
