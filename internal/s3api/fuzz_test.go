package s3api

import (
	"bytes"
	"io"
	"testing"
)

// FuzzChunked: no aws-chunked body makes the decoder panic or loop; it
// ends with the data or an error.
func FuzzChunked(f *testing.F) {
	f.Add([]byte("5;chunk-signature=abc\r\nhello\r\n0;chunk-signature=def\r\n\r\n"))
	f.Add([]byte("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"))
	f.Add([]byte("ffffffffffffffff\r\n"))
	f.Add([]byte("2\r\nab"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := newChunkedReader(bytes.NewReader(body))
		n, _ := io.Copy(io.Discard, io.LimitReader(r, 1<<20))
		if n > int64(len(body)) {
			t.Fatalf("decoded %d bytes from %d", n, len(body))
		}
	})
}

// FuzzRangeAndCopySource: the Range and X-Amz-Copy-Source parsers accept
// anything without panicking, and ranges stay within the object.
func FuzzRangeAndCopySource(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=7-", "bytes=9-1", "bytes=0-1,2-3", "items=1-2", "bytes=-0"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, spec string, size int64) {
		if size < 0 {
			size = -size
		}
		if s, e, ok, err := byteRange(spec, size); ok && err == nil && (s < 0 || e >= size || s > e) {
			t.Fatalf("byteRange(%q, %d) = %d-%d", spec, size, s, e)
		}
		copySource(spec)
	})
}
