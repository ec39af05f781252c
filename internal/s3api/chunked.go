package s3api

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// aws-chunked payloads (S3 API reference, "Signature Calculations for the
// Authorization Header: Transferring Payload in Multiple Chunks" and
// trailing checksums): the body is a series of chunks, "<hex size>
// [;chunk-signature=...]\r\n<data>\r\n", ending with a zero-size chunk and
// optional trailing headers (x-amz-checksum-*).

// chunkedReader decodes an aws-chunked body; after EOF, Trailers holds the
// trailing headers.
type chunkedReader struct {
	r        *bufio.Reader
	left     int64 // bytes left in the current chunk
	done     bool
	Trailers http.Header
	// Signatures are the chunk signatures, in order.
	Signatures []string
	err        error
	// signer, when set, checks each chunk's signature against its data,
	// hashed into sum as it is read; badSig records a mismatch (or a chunk
	// without signature), which the body's check reports.
	signer ChunkChecker
	sum    hash.Hash
	sig    string
	badSig bool
}

var errMalformedChunk = errors.New("malformed aws-chunked payload")

func newChunkedReader(r io.Reader) *chunkedReader {
	return &chunkedReader{r: bufio.NewReaderSize(r, 64<<10), Trailers: http.Header{}}
}

// Read returns the decoded data. A malformed body ends it early, with
// io.EOF: the body's check then reports c.err (IncompleteBody), where an
// error here would fail the upload as the server's.
func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, io.EOF
	}
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.header(); err != nil {
			c.err = err
			return 0, io.EOF
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.signer != nil {
		c.sum.Write(p[:n])
		if c.left == 0 && !c.signer.Check(c.sig, c.sum.Sum(nil)) {
			c.badSig = true
		}
	}
	if c.left == 0 && err == nil {
		// The chunk's data ends with CRLF.
		if crlf, e := c.r.Peek(2); e != nil || !bytes.Equal(crlf, []byte("\r\n")) {
			c.err = errMalformedChunk
			return n, nil
		}
		c.r.Discard(2)
	}
	if err == io.EOF && c.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		c.err = err
	}
	return n, nil
}

func (c *chunkedReader) line() (string, error) {
	l, err := c.r.ReadString('\n')
	if err != nil {
		if err == io.EOF {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	if len(l) > 4096 {
		return "", errMalformedChunk
	}
	return strings.TrimRight(l, "\r\n"), nil
}

// header reads a chunk header, and after the last chunk the trailers.
func (c *chunkedReader) header() error {
	l, err := c.line()
	if err != nil {
		return err
	}
	sizeText, ext, _ := strings.Cut(l, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
	if err != nil || size < 0 {
		return fmt.Errorf("%w: chunk size %q", errMalformedChunk, sizeText)
	}
	sig, signed := strings.CutPrefix(strings.TrimSpace(ext), "chunk-signature=")
	if signed {
		c.Signatures = append(c.Signatures, sig)
	}
	if c.signer != nil {
		if !signed {
			c.badSig = true
		}
		if c.sum == nil {
			c.sum = sha256.New()
		}
		c.sum.Reset()
		c.sig = sig
		// The last chunk signs no data.
		if size == 0 && !c.signer.Check(sig, c.sum.Sum(nil)) {
			c.badSig = true
		}
	}
	if size > 0 {
		c.left = size
		return nil
	}
	// The last chunk: trailers until an empty line (or the end).
	c.done = true
	for {
		l, err := c.line()
		if err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
		if l == "" {
			// Nothing may follow the trailers.
			if _, err := c.r.Peek(1); err == nil {
				return fmt.Errorf("%w: data after the last chunk", errMalformedChunk)
			}
			return nil
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return fmt.Errorf("%w: trailer %q", errMalformedChunk, l)
		}
		c.Trailers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
}
