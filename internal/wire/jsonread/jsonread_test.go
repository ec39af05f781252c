package jsonread

import (
	"encoding/json"
	"testing"
)

// FuzzSkip: a value Skip accepts is valid JSON.
func FuzzSkip(f *testing.F) {
	for _, s := range []string{`{"a":[1,-0.5e+3,true,false,null,"x\u00e9\n"]}`, `[]`, `{}`, `"\ud800"`, "\"\xff\"", `01`, `1.`, `-`, `[1,]`, `{"a" 1}`, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := New(b)
		r.Skip()
		if r.End() && !json.Valid(b) {
			t.Fatalf("Skip accepted %q, which is not JSON", b)
		}
	})
}

// FuzzString: a string that String decodes, encoding/json decodes to the
// same value.
func FuzzString(f *testing.F) {
	for _, s := range []string{`"plain"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`, "\"\xff\"", `"é"`, `"\u0000"`, `"\x"`, "\"\x01\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := New(b)
		got := r.String()
		if !r.End() {
			return
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("String took %q, which encoding/json refuses: %v", b, err)
		}
		if got != want {
			t.Fatalf("%q: got %q, encoding/json %q", b, got, want)
		}
	})
}

func TestStringTakesEscapes(t *testing.T) {
	r := New([]byte(`"a\"b\\c\/d\u00e9\ud83d\ude00e\n"`))
	if got := r.String(); !r.End() || got != "a\"b\\c/dé😀e\n" {
		t.Fatalf("got %q, ok %v", got, r.OK())
	}
}
