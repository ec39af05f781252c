package queue

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/forkline/forkline/internal/store"
)

// referenceMD5 encodes attributes the way the SQS developer guide spells
// out ("Calculating the MD5 message digest for message attributes"),
// written independently of MD5OfAttributes.
func referenceMD5(attrs []store.MessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	s := append([]store.MessageAttribute(nil), attrs...)
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	var buf bytes.Buffer
	field := func(p []byte) {
		binary.Write(&buf, binary.BigEndian, uint32(len(p)))
		buf.Write(p)
	}
	for _, a := range s {
		field([]byte(a.Name))
		field([]byte(a.DataType))
		if strings.SplitN(a.DataType, ".", 2)[0] == "Binary" {
			buf.WriteByte(2)
			field(a.BinaryValue)
		} else {
			buf.WriteByte(1)
			field([]byte(a.StringValue))
		}
	}
	sum := md5.Sum(buf.Bytes())
	return hex.EncodeToString(sum[:])
}

var md5Cases = [][]store.MessageAttribute{
	{{Name: "a", DataType: "String", StringValue: "x"}},
	{{Name: "z", DataType: "Number", StringValue: "1.5"}, {Name: "a", DataType: "Binary", BinaryValue: []byte{0, 255}}},
	{{Name: "u-n_i", DataType: "String.custom", StringValue: "😀"}, {Name: "b.c", DataType: "Binary.gif", BinaryValue: []byte("GIF89a")}},
}

// TestMD5MatchesMoto compares MD5OfAttributes with moto's independent
// implementation (moto/sqs/models.py Message.attribute_md5).
func TestMD5MatchesMoto(t *testing.T) {
	py := "python3"
	if err := exec.Command(py, "-c", "import moto.sqs.models").Run(); err != nil {
		if os.Getenv("FORKLINE_REQUIRE_CLIENTS") != "" {
			t.Fatalf("moto not importable: %v", err)
		}
		t.Skip("moto not available")
	}
	type jattr struct {
		DataType    string `json:"DataType"`
		StringValue string `json:"StringValue,omitempty"`
		BinaryValue string `json:"BinaryValue,omitempty"`
	}
	var sets []map[string]jattr
	for _, c := range md5Cases {
		m := map[string]jattr{}
		for _, a := range c {
			j := jattr{DataType: a.DataType, StringValue: a.StringValue}
			if a.BinaryValue != nil {
				j.BinaryValue = base64.StdEncoding.EncodeToString(a.BinaryValue)
			}
			m[a.Name] = j
		}
		sets = append(sets, m)
	}
	in, _ := json.Marshal(sets)
	script := `
import base64, json, sys
from moto.sqs.models import Message
for attrs in json.load(sys.stdin):
    for v in attrs.values():
        if "BinaryValue" in v:
            v["BinaryValue"] = base64.b64decode(v["BinaryValue"])
    m = Message("id", "body")
    m.message_attributes = attrs
    print(m.attribute_md5)
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("moto: %v\n%s", err, out)
	}
	want := strings.Fields(string(out))
	for i, c := range md5Cases {
		if got := MD5OfAttributes(c); got != want[i] {
			t.Errorf("case %d: MD5OfAttributes = %s, moto says %s", i, got, want[i])
		}
	}
}

func FuzzMD5OfAttributes(f *testing.F) {
	f.Add("a", "String", "x", []byte(nil), "b", "Binary", "", []byte{1, 2})
	f.Add("z", "Number.int", "12", []byte(nil), "y", "Binary.x", "", []byte{})
	f.Fuzz(func(t *testing.T, n1, t1, s1 string, b1 []byte, n2, t2, s2 string, b2 []byte) {
		if n1 == n2 {
			return
		}
		attrs := []store.MessageAttribute{{Name: n1, DataType: t1, StringValue: s1, BinaryValue: b1}, {Name: n2, DataType: t2, StringValue: s2, BinaryValue: b2}}
		got := MD5OfAttributes(attrs)
		if got != referenceMD5(attrs) {
			t.Fatalf("MD5OfAttributes disagrees with the reference encoding for %+v", attrs)
		}
		rev := []store.MessageAttribute{attrs[1], attrs[0]}
		if MD5OfAttributes(rev) != got {
			t.Fatal("MD5OfAttributes depends on attribute order")
		}
		// Validation never panics, whatever the input.
		validateAttributes(attrs, "MessageAttributes")
	})
}

// FuzzValidNumber: the plain-decimal shortcut agrees with the full check.
func FuzzValidNumber(f *testing.F) {
	for _, s := range []string{"0", "-12.5", "1e126", ".5", "+3.", ".", "+", "1.2.3", "250", "-0.0000000000000000000000000000000000001",
		"1234567890123456789012345678901234567890", "123456789012345678901234567890123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validNumber(s), validNumberFull(s); got != want {
			t.Fatalf("validNumber(%q) = %v, the full check says %v", s, got, want)
		}
	})
}

func TestValidNumber(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"0", true}, {"-12.5", true}, {"1e126", true}, {"1e127", false}, {"1e-128", true}, {"1e-129", false},
		// "up to 38 digits of precision" (SQS developer guide, message
		// attributes): leading zeros are not precision.
		{"12345678901234567890123456789012345678", true}, {"123456789012345678901234567890123456789", false},
		{"123456789012345678901234567890123456789012", false}, {"0.12345678901234567890123456789012345678", true},
		{"-0.000012345678901234567890123456789012345678", true}, {"1.2345678901234567890123456789012345678e100", true},
		{"1.23456789012345678901234567890123456789e100", false},
		{"abc", false}, {"", false}, {"1.2.3", false}, {"1_000", false}, {"0x10", false}, {" 1", false}, {".5", true}, {"+3.", true},
	} {
		if got := validNumber(tc.in); got != tc.ok {
			t.Errorf("validNumber(%q) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}

func TestReceiptHandleRoundTrip(t *testing.T) {
	h := encodeHandle(3, 99, 12345)
	q, s, n, ok := DecodeHandle(h)
	if !ok || q != 3 || s != 99 || n != 12345 {
		t.Fatalf("DecodeHandle(%s) = %d %d %d %v", h, q, s, n, ok)
	}
	for _, bad := range []string{"", "x", h[:len(h)-2], "!!!!"} {
		if _, _, _, ok := DecodeHandle(bad); ok {
			t.Errorf("DecodeHandle(%q) accepted", bad)
		}
	}
}

// FuzzCheckChars holds the ASCII fast path to the rune-by-rune check
// (SQS SendMessage: "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD |
// #x10000 to #x10FFFF").
func FuzzCheckChars(f *testing.F) {
	for _, s := range []string{"plain text\r\n\t", "a\x00b", "\x1f", "é\x01", "ok é", "\xff", "\xef\xbf\xbe", "x\U0010FFFF", "\x7f",
		"0123456789abcdef\x01xyz", "abcdefg\x1fhijklmnop", "abcdefgh\x80", "abcdefgh\r\nijklmnop\x19", "sixteen ASCII by\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, slow := checkChars(s), checkRunes(s)
		if (fast == nil) != (slow == nil) || fast != nil && fast.Error() != slow.Error() {
			t.Fatalf("%q: fast path %v, rune by rune %v", s, fast, slow)
		}
	})
}

// TestExpiryHeapShrinks: deadlines of messages deleted while in flight do
// not pile up in the expiry heap until they pass.
func TestExpiryHeapShrinks(t *testing.T) {
	x := newIndex(false)
	const n = 10000
	for seq := uint64(1); seq <= n; seq++ {
		x.addFlight(seq, &flight{st: store.State{VisibleAt: int64(seq) + 1e12}})
	}
	for seq := uint64(1); seq <= n-10; seq++ {
		x.removeFlight(seq, x.inflight[seq])
	}
	if x.expiry.Len() > 1024 || len(x.inflight) != 10 {
		t.Fatalf("expiry heap of %d entries for %d in flight", x.expiry.Len(), len(x.inflight))
	}
	// The ten left still return when due.
	x.advance(n+1e12+1, 1<<62)
	if len(x.inflight) != 0 || x.nVisible != 10 {
		t.Fatalf("%d still in flight, %d visible", len(x.inflight), x.nVisible)
	}
}
