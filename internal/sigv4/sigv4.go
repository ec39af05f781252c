// Package sigv4 parses and verifies AWS Signature Version 4 on incoming
// requests: the Authorization header form and the presigned query-string
// form (AWS General Reference, "Signature Version 4 signing process").
//
// A Verifier with no credentials accepts any well-formed signature (and
// unsigned requests); with credentials it recomputes the signature with the
// caller's secret and enforces the 15-minute clock-skew window and presigned
// expiry. Verifier is safe for concurrent use.
package sigv4

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/wire/awserr"
)

const (
	algorithm = "AWS4-HMAC-SHA256"
	timeFmt   = "20060102T150405Z"
	// MaxSkew is how far a request's X-Amz-Date may be from the server's
	// clock.
	MaxSkew = 15 * time.Minute
)

// Auth is what a request says about its signature.
type Auth struct {
	// Signed is false for a request without any signature.
	Signed        bool
	Presigned     bool
	AccessKey     string
	Date          string // yyyymmdd of the scope
	Region        string
	Service       string
	SignedHeaders []string
	Signature     string
	AmzDate       string
	Expires       int // presigned only, seconds
}

// Parse extracts the signature parts of r. A request without signature
// returns Auth{Signed: false}; a malformed one returns IncompleteSignature.
func Parse(r *http.Request) (Auth, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		return parseHeader(h, r.Header)
	}
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != "" || q.Get("X-Amz-Signature") != "" {
		return parsePresigned(q)
	}
	return Auth{}, nil
}

func incomplete(msg string) error { return awserr.New(awserr.IncompleteSignature, msg) }

func parseHeader(h string, hdr http.Header) (Auth, error) {
	a := Auth{Signed: true}
	if !strings.HasPrefix(h, algorithm+" ") {
		return a, incomplete("Authorization header requires the " + algorithm + " algorithm.")
	}
	for _, part := range strings.Split(h[len(algorithm)+1:], ",") {
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return a, incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=" + h)
		}
		switch k {
		case "Credential":
			if err := a.setCredential(v); err != nil {
				return a, err
			}
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		}
	}
	if a.AccessKey == "" || len(a.SignedHeaders) == 0 || a.Signature == "" {
		return a, incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=" + h)
	}
	a.AmzDate = hdr.Get("X-Amz-Date")
	if a.AmzDate == "" {
		if d := hdr.Get("Date"); d != "" {
			if t, err := http.ParseTime(d); err == nil {
				a.AmzDate = t.UTC().Format(timeFmt)
			}
		}
	}
	if a.AmzDate == "" {
		return a, incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	return a, nil
}

func parsePresigned(q url.Values) (Auth, error) {
	a := Auth{Signed: true, Presigned: true}
	if q.Get("X-Amz-Algorithm") != algorithm {
		return a, incomplete("X-Amz-Algorithm must be " + algorithm + ".")
	}
	if err := a.setCredential(q.Get("X-Amz-Credential")); err != nil {
		return a, err
	}
	a.AmzDate = q.Get("X-Amz-Date")
	a.SignedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	a.Signature = q.Get("X-Amz-Signature")
	if e := q.Get("X-Amz-Expires"); e != "" {
		n, err := strconv.Atoi(e)
		if err != nil || n < 1 || n > 604800 {
			return a, incomplete("X-Amz-Expires must be an integer between 1 and 604800.")
		}
		a.Expires = n
	}
	if a.AmzDate == "" || a.Signature == "" || q.Get("X-Amz-SignedHeaders") == "" {
		return a, incomplete("Presigned requests require X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature.")
	}
	return a, nil
}

func (a *Auth) setCredential(v string) error {
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" {
		return incomplete("Credential should be scoped to a valid region, not '" + v + "'. Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.")
	}
	a.AccessKey, a.Date, a.Region, a.Service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

// Credential is one configured key: a long-term one, or temporary with its
// session token.
type Credential struct {
	AccessKey, Secret, Token string
}

// Verifier checks signatures against a set of credentials.
type Verifier struct {
	secrets map[string]string // long-term access key -> secret; read-only after construction
	// sessions are temporary credentials (configured, or those forkline
	// gives the code it runs): their requests must carry the session
	// token. Written only before serving.
	sessions  map[string]session
	enforcing bool
	region    string
	now       func() time.Time
}

type session struct{ secret, token string }

// NewVerifier returns a verifier for the configured credentials; with none
// it accepts any well-formed signature. Signatures must be scoped to
// region.
func NewVerifier(creds []Credential, region string, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{secrets: map[string]string{}, sessions: map[string]session{}, enforcing: len(creds) > 0, region: region, now: now}
	for _, c := range creds {
		if c.Token != "" {
			v.sessions[c.AccessKey] = session{c.Secret, c.Token}
		} else {
			v.secrets[c.AccessKey] = c.Secret
		}
	}
	return v
}

// AddSession accepts temporary credentials: a request signed with key must
// carry token as its X-Amz-Security-Token. Call it before serving.
func (v *Verifier) AddSession(key, secret, token string) {
	v.sessions[key] = session{secret, token}
}

// Enforcing reports whether credentials are configured.
func (v *Verifier) Enforcing() bool { return v.enforcing }

// Verify checks the signature of a request whose body has been read:
// the payload the signature covers is the hash of body itself, whatever
// X-Amz-Content-Sha256 claims. service is the service that serves the
// request; the signature's scope must name it ("" skips that check).
func (v *Verifier) Verify(r *http.Request, a Auth, service string, body []byte) error {
	payload := ""
	if v.Enforcing() && a.Signed {
		payload = hexSHA256(body) // only a signature that is checked needs it
	}
	_, err := v.verify(r, a, service, payload)
	return err
}

// VerifyStreamed checks the signature of an S3 request whose body is
// still to be read: the payload is what X-Amz-Content-Sha256 declares,
// which the reader of the body then checks (a hex hash against the body,
// chunk signatures through the returned ChunkSigner, nil unless the body
// is aws-chunked with signed chunks).
func (v *Verifier) VerifyStreamed(r *http.Request, a Auth) (*ChunkSigner, error) {
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		if a.Presigned {
			payload = "UNSIGNED-PAYLOAD"
		} else if v.Enforcing() && a.Signed {
			// "Missing required header for this request:
			// x-amz-content-sha256" (S3 API reference, common request
			// headers: required for signature version 4).
			return nil, &awserr.Error{Entry: awserr.Entry{Code: "InvalidRequest", Status: http.StatusBadRequest, Sender: true},
				Message: "Missing required header for this request: x-amz-content-sha256"}
		}
	}
	key, err := v.verify(r, a, "s3", payload)
	if err != nil || key == nil || !strings.HasPrefix(payload, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
		return nil, err
	}
	return &ChunkSigner{key: key, amzDate: a.AmzDate, scope: a.Date + "/" + a.Region + "/" + a.Service + "/aws4_request", prev: a.Signature}, nil
}

// verify checks a signature over payload and returns the signing key
// (nil when no credentials are configured).
func (v *Verifier) verify(r *http.Request, a Auth, service, payload string) ([]byte, error) {
	if !v.Enforcing() {
		// Any well-formed signature: its date, too.
		if a.Signed {
			if _, err := time.Parse(timeFmt, a.AmzDate); err != nil {
				return nil, incomplete("Date must be in ISO-8601 'basic format'. Got '" + a.AmzDate + "'.")
			}
		}
		return nil, nil
	}
	if !a.Signed {
		return nil, awserr.New(awserr.MissingAuthenticationToken, "Request is missing Authentication Token")
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if a.Presigned {
		token = r.URL.Query().Get("X-Amz-Security-Token")
	}
	secret, err := v.secret(a.AccessKey, token)
	if err != nil {
		return nil, err
	}
	t, err := time.Parse(timeFmt, a.AmzDate)
	if err != nil {
		return nil, incomplete("Date must be in ISO-8601 'basic format'. Got '" + a.AmzDate + "'.")
	}
	now := v.now().UTC()
	if a.Presigned {
		if now.After(t.Add(time.Duration(a.Expires) * time.Second)) {
			return nil, awserr.New(awserr.RequestExpired, "Request has expired.")
		}
		if t.After(now.Add(MaxSkew)) {
			return nil, awserr.New(awserr.RequestExpired, "Request is not yet valid.")
		}
	} else if d := now.Sub(t); d > MaxSkew || d < -MaxSkew {
		return nil, awserr.New(awserr.RequestExpired, fmt.Sprintf("Request timestamp: %s is more than %d minutes away from the server time: %s.", a.AmzDate, int(MaxSkew.Minutes()), now.Format(timeFmt)))
	}
	if a.Date != t.Format("20060102") {
		return nil, awserr.New(awserr.SignatureDoesNotMatch, "Credential should be scoped to a valid date: the scope date does not match X-Amz-Date.")
	}
	// What the signature is bound to: this region, the service that
	// answers, and the host (AWS's words, as SDK users have recorded them:
	// aws/aws-sdk-java#1097, cllunsford/aws-signing-proxy#25).
	if a.Region != v.region {
		return nil, awserr.New(awserr.SignatureDoesNotMatch, "Credential should be scoped to a valid region, not '"+a.Region+"'. ")
	}
	if service != "" && a.Service != service {
		return nil, awserr.New(awserr.SignatureDoesNotMatch, "Credential should be scoped to correct service: '"+service+"'. ")
	}
	if !signsHost(a.SignedHeaders) {
		return nil, awserr.New(awserr.SignatureDoesNotMatch, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	key := signingKey(secret, a.Date, a.Region, a.Service)
	scope := a.Date + "/" + a.Region + "/" + a.Service + "/aws4_request"
	for _, path := range canonicalPaths(r, a.Service) {
		creq := canonicalRequest(r, a, path, payload)
		sts := algorithm + "\n" + a.AmzDate + "\n" + scope + "\n" + hexSHA256([]byte(creq))
		sig := hex.EncodeToString(hmacSHA256(key, []byte(sts)))
		if hmac.Equal([]byte(sig), []byte(a.Signature)) {
			return key, nil
		}
	}
	return nil, awserr.New(awserr.SignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
}

// secret returns the secret of a key, checking the session token that
// comes with it: none for a long-term key, its own for a temporary one.
func (v *Verifier) secret(key, token string) (string, error) {
	if secret, ok := v.secrets[key]; ok && token == "" {
		return secret, nil
	}
	if s, ok := v.sessions[key]; ok && hmac.Equal([]byte(token), []byte(s.token)) {
		return s.secret, nil
	}
	return "", awserr.New(awserr.InvalidClientTokenID, "The security token included in the request is invalid.")
}

func signsHost(headers []string) bool {
	for _, h := range headers {
		if h == "host" || h == ":authority" {
			return true
		}
	}
	return false
}

// emptySHA256 is the hex SHA-256 of nothing.
var emptySHA256 = hexSHA256(nil)

// ChunkSigner checks the signatures of an aws-chunked body's chunks, each
// of which signs its data and the previous signature, from the request's
// own (S3 API reference, "Signature Calculations for the Authorization
// Header: Transferring Payload in Multiple Chunks").
type ChunkSigner struct {
	key            []byte
	amzDate, scope string
	prev           string
}

// Check reports whether sig signs the chunk whose data has SHA-256 sum,
// and moves on to the next chunk.
func (c *ChunkSigner) Check(sig string, sum []byte) bool {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.amzDate + "\n" + c.scope + "\n" + c.prev + "\n" + emptySHA256 + "\n" + hex.EncodeToString(sum)
	want := hex.EncodeToString(hmacSHA256(c.key, []byte(sts)))
	c.prev = want
	return hmac.Equal([]byte(want), []byte(sig))
}

// canonicalPaths returns the canonical URI candidates: SDKs for services
// other than S3 escape the already-escaped path a second time.
func canonicalPaths(r *http.Request, service string) []string {
	p := r.URL.EscapedPath()
	if p == "" {
		p = "/"
	}
	if service == "s3" {
		return []string{p}
	}
	double := uriEncode(p, false)
	if double == p {
		return []string{p}
	}
	return []string{double, p}
}

func canonicalRequest(r *http.Request, a Auth, path, payload string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery, a.Presigned))
	b.WriteByte('\n')
	for _, h := range a.SignedHeaders {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(a.SignedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String()
}

func headerValue(r *http.Request, name string) string {
	var vals []string
	if name == "host" {
		vals = []string{r.Host}
	} else if name == "content-length" && r.Header.Get("Content-Length") == "" {
		vals = []string{strconv.FormatInt(r.ContentLength, 10)}
	} else {
		vals = r.Header.Values(name)
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var kvs []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		uk, err1 := url.QueryUnescape(k)
		uv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			uk, uv = k, v
		}
		if presigned && uk == "X-Amz-Signature" {
			continue
		}
		kvs = append(kvs, kv{uriEncode(uk, true), uriEncode(uv, true)})
	}
	sort.Slice(kvs, func(i, j int) bool {
		if kvs[i].k != kvs[j].k {
			return kvs[i].k < kvs[j].k
		}
		return kvs[i].v < kvs[j].v
	})
	parts := make([]string, len(kvs))
	for i, x := range kvs {
		parts[i] = x.k + "=" + x.v
	}
	return strings.Join(parts, "&")
}

// uriEncode percent-encodes everything but RFC 3986 unreserved characters
// (and '/' unless encodeSlash).
func uriEncode(s string, encodeSlash bool) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && !encodeSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func hexSHA256(p []byte) string {
	s := sha256.Sum256(p)
	return hex.EncodeToString(s[:])
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

// LoadCredentials reads credentials from a file. It accepts the AWS
// shared-credentials format (aws_access_key_id, aws_secret_access_key and,
// for temporary credentials, aws_session_token under [profile] sections)
// and plain lines of "ACCESS_KEY_ID SECRET_ACCESS_KEY"; '#' and ';' start
// comments.
func LoadCredentials(path string) ([]Credential, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	defer f.Close()
	var out []Credential
	var pending Credential
	flush := func() {
		if pending.AccessKey != "" && pending.Secret != "" {
			out = append(out, pending)
		}
		pending = Credential{}
	}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' {
			flush()
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok {
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch strings.ToLower(k) {
			case "aws_access_key_id":
				pending.AccessKey = v
			case "aws_secret_access_key":
				pending.Secret = v
			case "aws_session_token":
				pending.Token = v
			}
			continue
		}
		fields := strings.Fields(l)
		if len(fields) != 2 {
			return nil, fmt.Errorf("credentials file %s:%d: want \"ACCESS_KEY_ID SECRET\"", path, line)
		}
		out = append(out, Credential{AccessKey: fields[0], Secret: fields[1]})
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("credentials file %s holds no credentials", path)
	}
	return out, nil
}

// VerifyS3V2Query checks an S3 URL presigned with signature version 2
// (AWSAccessKeyId, Expires and Signature in the query), as the AWS CLI v1
// still makes them (S3 developer guide, "Signing and authenticating REST
// requests", query string request authentication). resource is
// "/bucket/key".
func (v *Verifier) VerifyS3V2Query(r *http.Request, resource string) error {
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if err != nil {
		return awserr.New(awserr.SignatureDoesNotMatch, "Invalid Expires parameter.")
	}
	if v.now().Unix() > exp {
		return awserr.New(awserr.RequestExpired, "Request has expired.")
	}
	if !v.Enforcing() {
		return nil
	}
	// The x-amz-* headers a client signed travel in the query of a URL
	// (botocore moves them there: the session token, metadata), as may
	// Content-Type and Content-MD5; they are signed as headers.
	amzVals := map[string][]string{}
	for k, vals := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			amzVals[lk] = append(amzVals[lk], vals...)
		}
	}
	for k, vals := range q {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			amzVals[lk] = append(amzVals[lk], vals...)
		}
	}
	token := ""
	if t := amzVals["x-amz-security-token"]; len(t) > 0 {
		token = t[0]
	}
	secret, err := v.secret(q.Get("AWSAccessKeyId"), token)
	if err != nil {
		return err
	}
	var amz []string
	for k, vals := range amzVals {
		amz = append(amz, k+":"+strings.Join(vals, ","))
	}
	sort.Strings(amz)
	md5, ctype := r.Header.Get("Content-MD5"), r.Header.Get("Content-Type")
	for k, vals := range q { // botocore writes them lowercase
		switch strings.ToLower(k) {
		case "content-md5":
			if md5 == "" {
				md5 = vals[0]
			}
		case "content-type":
			if ctype == "" {
				ctype = vals[0]
			}
		}
	}
	var b strings.Builder
	b.WriteString(r.Method + "\n" + md5 + "\n" + ctype + "\n" + q.Get("Expires") + "\n")
	for _, h := range amz {
		b.WriteString(h + "\n")
	}
	b.WriteString(resource)
	b.WriteString(v2SubResources(q))
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(b.String()))
	if !hmac.Equal([]byte(base64.StdEncoding.EncodeToString(m.Sum(nil))), []byte(q.Get("Signature"))) {
		return awserr.New(awserr.SignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	return nil
}

// v2SubResources is the part of a signature version 2 CanonicalizedResource
// after the path: the sub-resources and response overrides the query
// names, sorted, with their values unencoded (S3 developer guide, "Signing
// and authenticating REST requests", constructing the
// CanonicalizedResource element).
func v2SubResources(q url.Values) string {
	var names []string
	for k := range q {
		if v2SubResource[k] {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if v := q.Get(k); v != "" {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

var v2SubResource = map[string]bool{
	"acl": true, "cors": true, "delete": true, "lifecycle": true, "location": true, "logging": true,
	"notification": true, "partNumber": true, "policy": true, "requestPayment": true, "restore": true,
	"tagging": true, "torrent": true, "uploadId": true, "uploads": true, "versionId": true,
	"versioning": true, "versions": true, "website": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
}

// HoistQuery gives a presigned request the headers its URL carries in the
// query: the x-amz-* values a client signed there (checksums, metadata,
// the session token) and, for signature version 2, Content-Type and
// Content-MD5, which S3 then applies as if sent as headers. A header the
// request does send wins.
func HoistQuery(r *http.Request) {
	for k, vals := range r.URL.Query() {
		lk := strings.ToLower(k)
		switch {
		case lk == "content-type" || lk == "content-md5":
		case strings.HasPrefix(lk, "x-amz-"):
			switch lk {
			case "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signedheaders", "x-amz-signature":
				continue
			}
		default:
			continue
		}
		if r.Header.Get(lk) == "" && len(vals) > 0 {
			r.Header.Set(lk, vals[0])
		}
	}
}
