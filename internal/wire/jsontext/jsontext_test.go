package jsontext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzAppendString holds AppendString to encoding/json with HTML escaping
// off.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"plain", `q"uote\`, "ctl\x00\x01\x08\x0c\n\r\t\x1f\x7f", "<html>&", "é\u2028\u2029€", "bad\xff\xfe utf8", "\xe2\x80",
		"sixteen plain by", `eight ok"then more text`, "0123456\\89abcdefgh", "long plain text é then more plain text"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		plain := true
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				plain = false
			}
		}
		if Plain(s) != plain {
			t.Fatalf("%q: Plain %v, want %v", s, !plain, plain)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		if want, got := strings.TrimSuffix(b.String(), "\n"), string(AppendString(nil, s)); got != want {
			t.Fatalf("%q: got %s, encoding/json %s", s, got, want)
		}
	})
}
