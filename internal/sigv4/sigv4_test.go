package sigv4

import (
	"net/http"
	"net/url"
	"testing"
)

func TestParseHeader(t *testing.T) {
	r, _ := http.NewRequest("POST", "http://x/", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
	r.Header.Set("X-Amz-Date", "20260101T000000Z")
	a, err := Parse(r)
	if err != nil || a.AccessKey != "AKID" || a.Service != "sqs" || a.Region != "us-east-1" || len(a.SignedHeaders) != 2 {
		t.Fatalf("Parse = %+v, %v", a, err)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=abc")
	if _, err := Parse(r); err == nil {
		t.Fatal("short credential scope accepted")
	}
}

func TestUnsignedAcceptedOnlyWithoutCredentials(t *testing.T) {
	r, _ := http.NewRequest("POST", "http://x/", nil)
	if err := NewVerifier(nil, "us-east-1", nil).Verify(r, Auth{}, "", nil); err != nil {
		t.Fatalf("no credentials: %v", err)
	}
	if err := NewVerifier(creds("k", "s"), "us-east-1", nil).Verify(r, Auth{}, "", nil); err == nil {
		t.Fatal("unsigned request accepted with credentials configured")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", "20260101T000000Z", "")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb%2Fc%2Fd%2Faws4_request&X-Amz-Date=x&X-Amz-SignedHeaders=host&X-Amz-Signature=s&X-Amz-Expires=9")
	f.Add("AWS4-HMAC-SHA256 ,,,=", "", "")
	f.Fuzz(func(t *testing.T, authz, date, query string) {
		u := &url.URL{Scheme: "http", Host: "x", Path: "/", RawQuery: query}
		r := &http.Request{Method: "POST", URL: u, Host: "x", Header: http.Header{}}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		a, err := Parse(r)
		if err != nil {
			return
		}
		v := NewVerifier(creds("AKID", "secret", "a", "b"), "us-east-1", nil)
		v.Verify(r, a, "sqs", []byte("body"))
		v.VerifyStreamed(r, a)
	})
}

// creds makes credentials of key, secret pairs.
func creds(pairs ...string) []Credential {
	var out []Credential
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Credential{AccessKey: pairs[i], Secret: pairs[i+1]})
	}
	return out
}
