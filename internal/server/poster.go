package server

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
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
		return 0, err
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
	if resp.StatusCode == http.StatusUnauthorized && user != nil {
		if auth := answerChallenge(resp.Header.Values("WWW-Authenticate"), user, u.RequestURI()); auth != "" {
			drain(resp)
			if resp, err = send(auth); err != nil {
				return 0, err
			}
		}
	}
	drain(resp)
	return resp.StatusCode, nil
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// answerChallenge returns the Authorization header that answers the first
// challenge of a scheme it knows, or "".
func answerChallenge(challenges []string, user *url.Userinfo, uri string) string {
	name := user.Username()
	pass, _ := user.Password()
	for _, c := range challenges {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(c), " ")
		switch strings.ToLower(scheme) {
		case "basic":
			r := http.Request{Header: http.Header{}}
			r.SetBasicAuth(name, pass)
			return r.Header.Get("Authorization")
		case "digest":
			if h := digestAnswer(parseChallenge(rest), name, pass, uri); h != "" {
				return h
			}
		}
	}
	return ""
}

// parseChallenge reads a challenge's comma-separated name=value (or
// name="value") parameters.
func parseChallenge(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		s = strings.TrimLeft(s, " ,\t")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		var v string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			v, s = b.String(), rest[min(i+1, len(rest)):]
		} else {
			v, s, _ = strings.Cut(rest, ",")
			v = strings.TrimSpace(v)
		}
		out[k] = v
	}
	return out
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
