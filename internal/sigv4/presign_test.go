package sigv4

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPresignS3RoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	u, err := PresignS3(http.MethodPut, "http://127.0.0.1:4566/cfn-responses/stack%2Fa/b c", "us-east-1", "AKIDX", "secret", "", at, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodPut, u, strings.NewReader(`{"Status":"SUCCESS"}`))
	a, err := Parse(r)
	if err != nil || !a.Presigned {
		t.Fatalf("parse: %+v %v", a, err)
	}
	v := NewVerifier(creds("AKIDX", "secret"), "us-east-1", func() time.Time { return at.Add(time.Minute) })
	if _, err := v.VerifyStreamed(r, a); err != nil {
		t.Fatalf("verify: %v", err)
	}
	late := NewVerifier(creds("AKIDX", "secret"), "us-east-1", func() time.Time { return at.Add(2 * time.Hour) })
	if _, err := late.VerifyStreamed(r, a); err == nil {
		t.Fatal("an expired URL verified")
	}
	wrong := NewVerifier(creds("AKIDX", "other"), "us-east-1", func() time.Time { return at })
	if _, err := wrong.VerifyStreamed(r, a); err == nil {
		t.Fatal("a URL signed with another secret verified")
	}
}
