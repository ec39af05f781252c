package server

import (
	"crypto/md5"
	"crypto/sha256"
	"net/url"
	"strings"
	"testing"
)

// TestDigestResponse: the response values of RFC 7616's own example
// (section 3.9.1: Mufasa, "Circle of Life", GET /dir/index.html) for MD5
// and SHA-256.
func TestDigestResponse(t *testing.T) {
	const realm, nonce, cnonce = "http-auth@example.org", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	if got := digestResponse(md5.New, "Mufasa", realm, "Circle of Life", "GET", "/dir/index.html", nonce, "00000001", cnonce, "auth"); got != "8ca523f5e9506fed4657c9700eebdbec" {
		t.Errorf("MD5 response = %s", got)
	}
	if got := digestResponse(sha256.New, "Mufasa", realm, "Circle of Life", "GET", "/dir/index.html", nonce, "00000001", cnonce, "auth"); got != "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1" {
		t.Errorf("SHA-256 response = %s", got)
	}
}

// TestAnswerChallenge: Basic and Digest challenges get their answers;
// unknown schemes and -sess algorithms get none.
func TestAnswerChallenge(t *testing.T) {
	user := url.UserPassword("Mufasa", "Circle of Life")
	if got := answerChallenge([]string{`Basic realm="x"`}, user, "/hook"); got != "Basic TXVmYXNhOkNpcmNsZSBvZiBMaWZl" {
		t.Errorf("Basic: %q", got)
	}
	got := answerChallenge([]string{`Bearer realm="x"`, `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="abc", opaque="FQhe"`}, user, "/hook?x=1")
	for _, want := range []string{`Digest username="Mufasa"`, `realm="http-auth@example.org"`, `nonce="abc"`, `uri="/hook?x=1"`, "qop=auth,", "nc=00000001", "algorithm=SHA-256", `opaque="FQhe"`} {
		if !strings.Contains(got, want) {
			t.Errorf("Digest answer %q lacks %q", got, want)
		}
	}
	// Several challenges on one line (RFC 7235), the strongest answered:
	// Digest over Basic, SHA-256 over MD5.
	for line, want := range map[string]string{
		`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`:              "Basic ",
		`Basic realm="b", Digest realm="d", nonce="n", qop="auth"`:                                   `Digest username="Mufasa", realm="d"`,
		`Digest realm="d", nonce="n", algorithm=MD5, Digest realm="d", nonce="m", algorithm=SHA-256`: `nonce="m"`,
	} {
		if got := answerChallenge([]string{line}, user, "/"); !strings.Contains(got, want) {
			t.Errorf("%s: answered %q, want %q in it", line, got, want)
		}
	}
	if !staleDigest([]string{`Digest realm="d", nonce="new", stale=true`}) || staleDigest([]string{`Digest realm="d", nonce="new"`}) {
		t.Error("stale=true not told apart")
	}
	for _, ch := range []string{`Bearer realm="x"`, `Digest realm="r", nonce="n", algorithm=MD5-sess`, `Digest realm="r"`,
		`Digest realm="r", nonce="n", qop="auth-int"`, `Digest realm="r", nonce="n", userhash=true`} {
		if got := answerChallenge([]string{ch}, user, "/"); got != "" {
			t.Errorf("%s: answered %q", ch, got)
		}
	}
}

// FuzzParseChallenge: no challenge header makes the parser fail or loop.
func FuzzParseChallenge(f *testing.F) {
	f.Add(`realm="a\"b", nonce=xyz, qop="auth,auth-int"`)
	f.Add(`a=`)
	f.Add(`="`)
	f.Fuzz(func(t *testing.T, s string) {
		parseChallenges([]string{s})
		answerChallenge([]string{"Digest " + s}, url.UserPassword("u", "p"), "/")
		staleDigest([]string{s})
	})
}
