package sam

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// The SAM transform names versions and layers by a hash of their content
// serialized as Python's json.dumps does (sorted keys, ASCII only), and
// writes inline state machine definitions as json.dumps(indent=4) does;
// these encoders produce the same bytes, so that logical IDs and
// definitions match the ones AWS generates for the same template.

// hash10 is the first 10 hex digits of the SHA-1 of v's compact encoding.
func hash10(v any) string {
	var s string
	if str, ok := v.(string); ok {
		s = str
	} else {
		var b strings.Builder
		encode(&b, v, "", "", 0)
		s = b.String()
	}
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])[:10]
}

// pretty is json.dumps(v, sort_keys=True, indent=4, separators=(",", ": ")).
func pretty(v any) string {
	var b strings.Builder
	encode(&b, v, "    ", "", 0)
	return b.String()
}

func encode(b *strings.Builder, v any, indent, prefix string, depth int) {
	nl := func(d int) {
		if indent != "" {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(indent, d))
		}
	}
	colon, comma := ":", ","
	if indent != "" {
		colon = ": "
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(x.String())
	case float64:
		if x == float64(int64(x)) {
			b.WriteString(strconv.FormatInt(int64(x), 10))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case int:
		b.WriteString(strconv.Itoa(x))
	case string:
		quote(b, x)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(comma)
			}
			nl(depth + 1)
			encode(b, e, indent, prefix, depth+1)
		}
		nl(depth)
		b.WriteByte(']')
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(comma)
			}
			nl(depth + 1)
			quote(b, k)
			b.WriteString(colon)
			encode(b, x[k], indent, prefix, depth+1)
		}
		nl(depth)
		b.WriteByte('}')
	default:
		quote(b, fmt.Sprint(x))
	}
}

// quote writes s as Python's json module does with ensure_ascii: short
// escapes for the usual controls, \u00XX for the others, and every
// non-ASCII character as \uXXXX (surrogate pairs beyond the BMP).
func quote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			fmt.Fprintf(b, `\u%04x`, r)
		case r >= 0x10000:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// clone deep-copies a JSON value.
func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = clone(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = clone(e)
		}
		return a
	}
	return v
}

// isIntrinsic reports whether v is an intrinsic function or condition: a
// one-key object whose key is Ref, Condition or Fn::*.
func isIntrinsic(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func ref(name string) map[string]any { return map[string]any{"Ref": name} }

func getAtt(name, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{name, attr}}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
