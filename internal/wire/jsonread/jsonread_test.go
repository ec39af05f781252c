package jsonread

import (
	"encoding/json"
	"strings"
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
	for _, s := range []string{`"plain"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`, "\"\xff\"", `"é"`, `"\u0000"`, `"\x"`, "\"\x01\"",
		`"0123456789abcdef\"0123456789"`, "\"0123456\x1f89abcdef\"", "\"01234567é9abcdef\"", "\"0123456789ab\xffdef0123\"", `"01234567\\89abcdef"`} {
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

// TestStringWordAtATime puts each kind of byte that ends the plain run at
// every offset of a long string, so that the eight-byte scan meets it in
// every lane.
func TestStringWordAtATime(t *testing.T) {
	base := []byte("abcdefghijklmnopqrstuvwxyz0123456789")
	for i := range base {
		for _, ins := range []string{`\"`, `\\`, `\n`, `\u00e9`, "é", "\x00", "\x1f", "\x7f", "\xff"} {
			b := append([]byte{'"'}, base[:i]...)
			b = append(b, ins...)
			b = append(b, base[i:]...)
			b = append(b, '"')
			r := New(b)
			got := r.String()
			ok := r.End()
			var want string
			err := json.Unmarshal(b, &want)
			wantOK := err == nil && ins != "\xff" // invalid UTF-8 is left to encoding/json
			if ok != wantOK || (ok && got != want) {
				t.Fatalf("%q: got %q, %v; encoding/json %q, %v", b, got, ok, want, err)
			}
		}
	}
}

func BenchmarkString1KiB(b *testing.B) {
	body := []byte(`"` + strings.Repeat("The quick brown fox jumps over the lazy dog. ", 23) + `"`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r := New(body)
		if s := r.String(); !r.End() || s == "" {
			b.Fatal("failed")
		}
	}
}
