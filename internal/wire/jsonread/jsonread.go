// Package jsonread decodes JSON request bodies of hot operations without
// reflection. A Reader accepts only input that encoding/json accepts and
// yields the same values; whatever it is not sure of (escaped or non-ASCII
// object keys, invalid UTF-8, lone surrogates, duplicate fields, numbers
// that are not plain integers, deep nesting) makes it fail, and the caller
// decodes the body again with encoding/json, which decides and words any
// error. The fuzz tests of its users hold both decoders to the same values.
package jsonread

import (
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of skipped values; deeper input is left to
// encoding/json (whose own limit is 10,000).
const maxDepth = 512

// Reader reads one JSON text. Its methods do nothing once it has failed.
type Reader struct {
	b      []byte
	i      int
	failed bool
}

// New returns a Reader over b.
func New(b []byte) Reader { return Reader{b: b} }

// Fail marks the input as not decodable here.
func (r *Reader) Fail() { r.failed = true }

// OK reports whether everything read so far was decoded.
func (r *Reader) OK() bool { return !r.failed }

// End checks that only whitespace follows the value read, and reports
// whether the whole input was decoded.
func (r *Reader) End() bool {
	r.ws()
	if r.i != len(r.b) {
		r.failed = true
	}
	return !r.failed
}

func (r *Reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (r *Reader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// Null consumes a null and reports whether there was one.
func (r *Reader) Null() bool {
	if r.failed || r.peek() != 'n' {
		return false
	}
	if len(r.b)-r.i < 4 || string(r.b[r.i:r.i+4]) != "null" {
		r.failed = true
		return false
	}
	r.i += 4
	return true
}

// Object reads an object, calling field with each key; field must read
// exactly one value (or call Skip). Keys are handed over only when they
// are printable ASCII without escapes, which encoding/json matches to
// struct fields case-insensitively; any other key fails the reader.
func (r *Reader) Object(field func(key []byte)) {
	r.object(true, field)
}

// MapObject is Object for maps: keys may hold any valid UTF-8 (still no
// escapes), and are matched exactly by the caller.
func (r *Reader) MapObject(entry func(key []byte)) {
	r.object(false, entry)
}

// open consumes the opening bracket of a container, failing the reader
// when there is none, and reports whether the container has members.
func (r *Reader) open(opening, closing byte) bool {
	if r.failed || r.peek() != opening {
		r.failed = true
		return false
	}
	r.i++
	if r.peek() == closing {
		r.i++
		return false
	}
	return true
}

// more consumes what follows a member: a comma (true: another member
// follows) or the closing bracket (false). Anything else fails the reader.
func (r *Reader) more(closing byte) bool {
	if r.failed {
		return false
	}
	switch r.peek() {
	case ',':
		r.i++
		return true
	case closing:
		r.i++
		return false
	}
	r.failed = true
	return false
}

func (r *Reader) object(ascii bool, field func(key []byte)) {
	if !r.open('{', '}') {
		return
	}
	for {
		if r.peek() != '"' {
			r.failed = true
			return
		}
		r.i++
		start := r.i
		nonASCII := false
		for r.i < len(r.b) {
			c := r.b[r.i]
			if c == '"' {
				break
			}
			if c == '\\' || c < 0x20 || (ascii && c >= 0x7f) {
				r.failed = true
				return
			}
			if c >= utf8.RuneSelf {
				nonASCII = true
			}
			r.i++
		}
		if r.i >= len(r.b) || (nonASCII && !utf8.Valid(r.b[start:r.i])) {
			r.failed = true
			return
		}
		key := r.b[start:r.i]
		r.i++
		if r.peek() != ':' {
			r.failed = true
			return
		}
		r.i++
		field(key)
		if !r.more('}') {
			return
		}
	}
}

// Array reads an array, calling elem for each element; elem must read
// exactly one value.
func (r *Reader) Array(elem func()) {
	if !r.open('[', ']') {
		return
	}
	for {
		elem()
		if !r.more(']') {
			return
		}
	}
}

// Field reports whether key names the field name, as encoding/json
// matches an ASCII key: exactly or ignoring case. bit marks the field in
// seen; a field named twice fails the reader (encoding/json's merging of
// repeated fields is left to it).
func (r *Reader) Field(key []byte, name string, bit uint, seen *uint) bool {
	if len(key) != len(name) {
		return false
	}
	for i := 0; i < len(key); i++ {
		a, b := key[i], name[i]
		if a == b {
			continue
		}
		if 'a' <= a && a <= 'z' {
			a -= 'a' - 'A'
		}
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	if *seen&(1<<bit) != 0 {
		r.failed = true
		return true
	}
	*seen |= 1 << bit
	return true
}

// FieldExact is Field for protocols that name members exactly (AWS's JSON
// protocols): a key in another case is not the field.
func (r *Reader) FieldExact(key []byte, name string, bit uint, seen *uint) bool {
	if string(key) != name {
		return false
	}
	if *seen&(1<<bit) != 0 {
		r.failed = true
		return true
	}
	*seen |= 1 << bit
	return true
}

// String reads a string.
func (r *Reader) String() string {
	s, _ := r.str()
	return s
}

// str reads a string, reporting whether it was one.
func (r *Reader) str() (string, bool) {
	if r.failed || r.peek() != '"' {
		r.failed = true
		return "", false
	}
	r.i++
	start := r.i
	nonASCII := false
	for r.i < len(r.b) {
		// Eight bytes at a time while none of them ends the string,
		// starts an escape or is a control character.
		for r.i+8 <= len(r.b) {
			w := binary.LittleEndian.Uint64(r.b[r.i:])
			if special(w) {
				break
			}
			if w&hi != 0 {
				nonASCII = true
			}
			r.i += 8
		}
		if r.i >= len(r.b) {
			break
		}
		c := r.b[r.i]
		switch {
		case c == '"':
			if nonASCII && !utf8.Valid(r.b[start:r.i]) {
				r.failed = true
				return "", false
			}
			s := string(r.b[start:r.i])
			r.i++
			return s, true
		case c == '\\':
			return r.escaped(start)
		case c < 0x20:
			r.failed = true
			return "", false
		case c >= utf8.RuneSelf:
			nonASCII = true
		}
		r.i++
	}
	r.failed = true
	return "", false
}

const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// special reports whether one of the eight bytes in w is a quote, a
// backslash or below 0x20. A byte of w is zero exactly when the test
// below sets its high bit, with borrows only above a byte that is (the
// usual "has a zero byte" test), so the answer is exact for the word.
func special(w uint64) bool {
	q := w ^ (lo * '"')
	b := w ^ (lo * '\\')
	return ((q-lo)&^q|(b-lo)&^b|(w-lo*0x20)&^w)&hi != 0
}

// escaped finishes a string that holds escapes; start is its first byte
// and r.i its first backslash.
func (r *Reader) escaped(start int) (string, bool) {
	out := make([]byte, 0, r.i-start+64)
	plain := start // the plain bytes not yet copied start here
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			out = append(out, r.b[plain:r.i]...)
			r.i++
			// Escapes yield whole runes, so invalid UTF-8 here came
			// from the input, which encoding/json would replace.
			if !utf8.Valid(out) {
				r.failed = true
				return "", false
			}
			return string(out), true
		case c < 0x20:
			r.failed = true
			return "", false
		case c != '\\':
			r.i++
			continue
		}
		out = append(out, r.b[plain:r.i]...)
		if r.i+1 >= len(r.b) {
			r.failed = true
			return "", false
		}
		switch e := r.b[r.i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			c1, ok := r.hex4(r.i + 2)
			if !ok {
				r.failed = true
				return "", false
			}
			if utf16.IsSurrogate(c1) {
				// Only a proper pair is decoded here; encoding/json
				// decides what a lone half becomes.
				var c2 rune
				j := r.i + 6
				if j+1 < len(r.b) && r.b[j] == '\\' && r.b[j+1] == 'u' {
					c2, ok = r.hex4(j + 2)
				} else {
					ok = false
				}
				p := utf16.DecodeRune(c1, c2)
				if !ok || p == utf8.RuneError {
					r.failed = true
					return "", false
				}
				r.i += 6
				c1 = p
			}
			out = utf8.AppendRune(out, c1)
			r.i += 4 // with the 2 below, past \uXXXX
		default:
			r.failed = true
			return "", false
		}
		r.i += 2
		plain = r.i
	}
	r.failed = true
	return "", false
}

func (r *Reader) hex4(at int) (rune, bool) {
	if at+4 > len(r.b) {
		return 0, false
	}
	var v rune
	for _, c := range r.b[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

// StringInto reads a string into *p; null leaves *p as it is.
func (r *Reader) StringInto(p *string) {
	if r.Null() {
		return
	}
	if s, ok := r.str(); ok {
		*p = s
	}
}

// StringPtr reads a string or null into *p.
func (r *Reader) StringPtr(p **string) {
	if r.Null() {
		*p = nil
		return
	}
	if s, ok := r.str(); ok {
		*p = &s
	}
}

// Int reads an integer literal (no fraction or exponent) that fits an
// int64.
func (r *Reader) Int() int {
	if r.failed {
		return 0
	}
	r.ws()
	start := r.i
	if r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	digits := r.i
	for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		r.i++
	}
	n := r.i - digits
	if n == 0 || n > 18 || (n > 1 && r.b[digits] == '0') {
		r.failed = true
		return 0
	}
	if r.i < len(r.b) {
		switch r.b[r.i] {
		case '.', 'e', 'E':
			r.failed = true
			return 0
		}
	}
	v, err := strconv.ParseInt(string(r.b[start:r.i]), 10, 64)
	if err != nil {
		r.failed = true
	}
	return int(v)
}

// IntPtr reads an integer or null into *p.
func (r *Reader) IntPtr(p **int) {
	if r.Null() {
		*p = nil
		return
	}
	if v := r.Int(); !r.failed {
		*p = &v
	}
}

// Bytes reads a base64 string (standard alphabet, padded) as encoding/json
// decodes a []byte: null is nil, "" is empty but not nil.
func (r *Reader) Bytes() []byte {
	if r.Null() {
		return nil
	}
	s, ok := r.str()
	if !ok {
		return nil
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, []byte(s))
	if err != nil {
		r.failed = true
		return nil
	}
	return b[:n]
}

// Strings reads an array of strings or null into *p; a null element is
// the empty string.
func (r *Reader) Strings(p *[]string) {
	if r.Null() {
		*p = nil
		return
	}
	out := []string{}
	r.Array(func() {
		var s string
		r.StringInto(&s)
		out = append(out, s)
	})
	*p = out
}

// Skip reads and discards any value, checking it as encoding/json does.
func (r *Reader) Skip() { r.skip(0) }

func (r *Reader) skip(depth int) {
	if r.failed {
		return
	}
	if depth > maxDepth {
		r.failed = true
		return
	}
	switch c := r.peek(); c {
	case '{':
		r.MapObject(func([]byte) { r.skip(depth + 1) })
	case '[':
		r.Array(func() { r.skip(depth + 1) })
	case '"':
		r.skipString()
	case 't':
		r.literal("true")
	case 'f':
		r.literal("false")
	case 'n':
		r.literal("null")
	default:
		r.number()
	}
}

// skipString checks a string without decoding it: encoding/json accepts
// invalid UTF-8 and lone surrogates in values it ignores.
func (r *Reader) skipString() {
	r.i++
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return
		case c < 0x20:
			r.failed = true
			return
		case c == '\\':
			if r.i+1 >= len(r.b) {
				r.failed = true
				return
			}
			switch r.b[r.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.i += 2
			case 'u':
				if _, ok := r.hex4(r.i + 2); !ok {
					r.failed = true
					return
				}
				r.i += 6
			default:
				r.failed = true
				return
			}
		default:
			r.i++
		}
	}
	r.failed = true
}

func (r *Reader) literal(s string) {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		r.failed = true
		return
	}
	r.i += len(s)
}

// number checks a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *Reader) number() {
	b := r.b
	i := r.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		r.failed = true
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			r.failed = true
			return
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			r.failed = true
			return
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	r.i = i
}
