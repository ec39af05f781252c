package topic

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzJSONString holds jsonString to encoding/json with HTML escaping off,
// the encoding notifications have always used.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"plain", `q"uote\`, "ctl\x00\x01\x08\x0c\n\r\t\x1f\x7f", "<html>&", "é\u2028\u2029€", "bad\xff\xfe utf8", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		if want, got := strings.TrimSuffix(b.String(), "\n"), jsonString(s); got != want {
			t.Fatalf("%q: got %s, encoding/json %s", s, got, want)
		}
	})
}
