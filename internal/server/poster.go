package server

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// poster delivers SNS HTTP notifications with the standard library's
// client: keep-alive connections over HTTP/1.1, no redirects followed (a
// 3xx answer is the endpoint's answer), TLS verified as SNS verifies it.
//
// Credentials in the endpoint's URL (https://user:password@host/path) are
// sent only when the endpoint asks for them: the first request carries
// none, and a 401 answer's WWW-Authenticate challenge, Basic or Digest, is
// answered once ("Amazon SNS supports basic and digest access
// authentication", SNS developer guide, "Fanout to HTTP/S endpoints").
type poster struct{ c *http.Client }

func newPoster() *poster {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	// HTTP/1.1, as SNS posts: no HTTP/2 upgrade over TLS.
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	return &poster{c: &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second, // the caller's context sets SNS's 15 s
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Post implements topic.Poster.
func (p *poster) Post(ctx context.Context, endpoint string, header map[string]string, body []byte) (int, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		// Not the parser's error: it quotes the URL, credentials included.
		return 0, errors.New("the endpoint is not a valid URL")
	}
	user := u.User
	u.User = nil
	send := func(auth string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return p.c.Do(req)
	}
	resp, err := send("")
	if err != nil {
		return 0, err
	}
	// One answer, and one more when a Digest nonce went stale meanwhile.
	for tries := 0; resp.StatusCode == http.StatusUnauthorized && user != nil && tries < 2; tries++ {
		ch := resp.Header.Values("WWW-Authenticate")
		if tries == 1 && !staleDigest(ch) {
			break
		}
		auth := answerChallenge(ch, user, u.RequestURI())
		if auth == "" {
			break
		}
		drain(resp)
		if resp, err = send(auth); err != nil {
			return 0, err
		}
	}
	drain(resp)
	return resp.StatusCode, nil
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// challenge is one WWW-Authenticate challenge: a scheme and its
// parameters.
type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges reads every challenge of WWW-Authenticate header lines,
// several of which may share one line (RFC 7235: "Newauth realm=..., Basic
// realm=...").
func parseChallenges(lines []string) []challenge {
	var out []challenge
	for _, line := range lines {
		for _, item := range splitItems(line) {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			// A new challenge starts with a scheme: a token not followed
			// by "=".
			tok, rest, _ := strings.Cut(item, " ")
			if !strings.Contains(tok, "=") {
				out = append(out, challenge{scheme: strings.ToLower(tok), params: map[string]string{}})
				item = strings.TrimSpace(rest)
				if item == "" {
					continue
				}
			}
			if len(out) == 0 {
				continue
			}
			k, v, ok := strings.Cut(item, "=")
			if !ok {
				continue // token68 data: not used here
			}
			out[len(out)-1].params[strings.ToLower(strings.TrimSpace(k))] = unquote(strings.TrimSpace(v))
		}
	}
	return out
}

// splitItems splits a header line at the commas outside quoted strings.
func splitItems(s string) []string {
	var items []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == ',' && !quoted:
			items = append(items, s[start:i])
			start = i + 1
		}
	}
	return append(items, s[start:])
}

// unquote reads a quoted-string, or returns a token as it is.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v) && v[i] != '"'; i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// answerChallenge returns the Authorization header that answers the
// strongest challenge it can: Digest with SHA-256, then Digest with MD5,
// then Basic; or "".
func answerChallenge(lines []string, user *url.Userinfo, uri string) string {
	name := user.Username()
	pass, _ := user.Password()
	chs := parseChallenges(lines)
	for _, alg := range []string{"SHA-256", "MD5"} {
		for _, c := range chs {
			a := strings.ToUpper(c.params["algorithm"])
			if c.scheme == "digest" && (a == alg || a == "" && alg == "MD5") {
				if h := digestAnswer(c.params, name, pass, uri); h != "" {
					return h
				}
			}
		}
	}
	for _, c := range chs {
		if c.scheme == "basic" {
			r := http.Request{Header: http.Header{}}
			r.SetBasicAuth(name, pass)
			return r.Header.Get("Authorization")
		}
	}
	return ""
}

// staleDigest reports whether a 401 says the nonce of a Digest answer was
// stale (RFC 7616: the credentials were right; answer the new nonce).
func staleDigest(lines []string) bool {
	for _, c := range parseChallenges(lines) {
		if c.scheme == "digest" && strings.EqualFold(c.params["stale"], "true") {
			return true
		}
	}
	return false
}

// digestAnswer computes a Digest Authorization header (RFC 7616) for a
// POST of uri: algorithm MD5 or SHA-256, qop "auth" when offered, or none.
func digestAnswer(ch map[string]string, user, pass, uri string) string {
	var newHash func() hash.Hash
	switch alg := strings.ToUpper(ch["algorithm"]); alg {
	case "", "MD5":
		newHash = md5.New
	case "SHA-256":
		newHash = sha256.New
	default:
		return "" // -sess variants and others are not offered answers
	}
	realm, nonce := ch["realm"], ch["nonce"]
	if nonce == "" {
		return ""
	}
	quote := func(s string) string {
		return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
	}
	auth := "Digest username=" + quote(user) + ", realm=" + quote(realm) + ", nonce=" + quote(nonce) + ", uri=" + quote(uri)
	qopAuth := false
	for _, q := range strings.Split(ch["qop"], ",") {
		qopAuth = qopAuth || strings.TrimSpace(q) == "auth"
	}
	if _, ok := ch["qop"]; ok && !qopAuth {
		return "" // auth-int only: not answered
	}
	if strings.EqualFold(ch["userhash"], "true") {
		return "" // a hashed username is not offered
	}
	if qopAuth {
		cn := make([]byte, 16)
		rand.Read(cn)
		cnonce, nc := hex.EncodeToString(cn), "00000001"
		auth += fmt.Sprintf(", qop=auth, nc=%s, cnonce=%s, response=%s", nc, quote(cnonce),
			quote(digestResponse(newHash, user, realm, pass, http.MethodPost, uri, nonce, nc, cnonce, "auth")))
	} else {
		auth += ", response=" + quote(digestResponse(newHash, user, realm, pass, http.MethodPost, uri, nonce, "", "", ""))
	}
	if a := ch["algorithm"]; a != "" {
		auth += ", algorithm=" + a
	}
	if o, ok := ch["opaque"]; ok {
		auth += ", opaque=" + quote(o)
	}
	return auth
}

// digestResponse is RFC 7616's response value: KD(H(A1), nonce:nc:cnonce:
// qop:H(A2)) with qop, KD(H(A1), nonce:H(A2)) without.
func digestResponse(newHash func() hash.Hash, user, realm, pass, method, uri, nonce, nc, cnonce, qop string) string {
	h := func(parts ...string) string {
		d := newHash()
		io.WriteString(d, strings.Join(parts, ":"))
		return hex.EncodeToString(d.Sum(nil))
	}
	ha1, ha2 := h(user, realm, pass), h(method, uri)
	if qop == "" {
		return h(ha1, nonce, ha2)
	}
	return h(ha1, nonce, nc, cnonce, qop, ha2)
}
