// Package awsquery implements the AWS query protocol: requests are
// form-encoded parameters (in a POST body or the URL) with Action and
// Version, lists and maps flattened as Name.N.Member; responses are XML
// documents <ActionResponse><ActionResult>…</ActionResult>
// <ResponseMetadata><RequestId/></ResponseMetadata></ActionResponse>, and
// errors are <ErrorResponse><Error><Type/><Code/><Message/></Error>
// <RequestId/></ErrorResponse>.
package awsquery

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/forkline/forkline/internal/wire/awserr"
)

// ParseForm decodes a query-protocol request's parameters: the URL query
// merged with a form-encoded body. Malformed encoding is an error.
func ParseForm(rawQuery string, body []byte) (url.Values, error) {
	v := make(url.Values, strings.Count(rawQuery, "&")+bytes.Count(body, []byte{'&'})+2)
	if err := parseQuery(v, rawQuery); err != nil {
		return nil, awserr.New(awserr.MalformedQueryString, "The query string is malformed: "+err.Error())
	}
	if len(body) > 0 {
		if err := parseQuery(v, string(body)); err != nil {
			return nil, awserr.New(awserr.MalformedQueryString, "The request body is not a valid form: "+err.Error())
		}
	}
	return v, nil
}

// parseQuery adds the parameters of a query string to v as url.ParseQuery
// reads them (a segment with a semicolon is an error, as are malformed
// escapes), but unescapes only the parts that hold an escape: a form's
// long values, such as a message, are mostly plain, and url.QueryUnescape
// looks at them a byte at a time.
func parseQuery(v url.Values, q string) error {
	if strings.Count(q, "&")+1 > maxParams {
		return errTooMany
	}
	var first error
	for q != "" {
		var seg string
		seg, q, _ = strings.Cut(q, "&")
		if strings.IndexByte(seg, ';') >= 0 {
			first = errSemicolon // as url.ParseQuery: this error wins
			continue
		}
		if seg == "" {
			continue
		}
		k, val, _ := strings.Cut(seg, "=")
		k, err := queryUnescape(k)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if val, err = queryUnescape(val); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		v[k] = append(v[k], val)
	}
	return first
}

// maxParams bounds the parameters of one query string, as url.ParseQuery
// does by default.
const maxParams = 10000

var (
	errSemicolon = errors.New("invalid semicolon separator in query")
	errTooMany   = errors.New("number of URL query parameters exceeded limit")
)

func queryUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// Params is a decoded parameter set (the whole request, or one member of a
// flattened list).
type Params map[string]string

// FromValues takes the first value of each parameter.
func FromValues(v url.Values) Params {
	p := make(Params, len(v))
	for k, vs := range v {
		if len(vs) > 0 {
			p[k] = vs[0]
		}
	}
	return p
}

// Get returns a parameter and whether it was present.
func (p Params) Get(name string) (string, bool) {
	v, ok := p[name]
	return v, ok
}

// Int parses an optional integer parameter.
func (p Params) Int(name string) (*int, error) {
	v, ok := p[name]
	if !ok {
		return nil, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return nil, awserr.New(awserr.InvalidParameterValue, "Value "+v+" for parameter "+name+" is invalid. Reason: must be an integer.")
	}
	return &n, nil
}

// Members returns the members of the flattened list prefix (prefix.1.X,
// prefix.2.X, …) in index order, each with the prefix and index removed.
// A field without an index (prefix.X), as AWS's own query samples write a
// single member ("Attribute.Name=VisibilityTimeout&Attribute.Value=35",
// SQS SetQueueAttributes), belongs to member 1 unless prefix.1.X is
// given too.
func (p Params) Members(prefix string) []Params {
	byIdx := map[int]Params{}
	var bare Params
	pre := prefix + "."
	for k, v := range p {
		if !strings.HasPrefix(k, pre) {
			continue
		}
		rest := k[len(pre):]
		dot := strings.IndexByte(rest, '.')
		n, err := 0, error(nil)
		if dot >= 0 {
			n, err = strconv.Atoi(rest[:dot])
		}
		if dot < 0 || err != nil {
			if rest != "" && (rest[0] < '0' || rest[0] > '9') {
				if bare == nil {
					bare = Params{}
				}
				bare[rest] = v
			}
			continue
		}
		if n < 1 {
			continue
		}
		m := byIdx[n]
		if m == nil {
			m = Params{}
			byIdx[n] = m
		}
		m[rest[dot+1:]] = v
	}
	if bare != nil {
		m := byIdx[1]
		if m == nil {
			m = Params{}
			byIdx[1] = m
		}
		for k, v := range bare {
			if _, ok := m[k]; !ok {
				m[k] = v
			}
		}
	}
	return ordered(byIdx)
}

// List returns the values of the flattened scalar list prefix (prefix.1,
// prefix.2, …) in index order. The bare prefix, as AWS's own query samples
// write a single value ("AttributeName=All", SQS ReceiveMessage), is
// element 1 unless prefix.1 is given too.
func (p Params) List(prefix string) []string {
	type iv struct {
		i int
		v string
	}
	var out []iv
	pre := prefix + "."
	_, one := p[pre+"1"]
	for k, v := range p {
		if k == prefix && !one {
			out = append(out, iv{1, v})
			continue
		}
		if !strings.HasPrefix(k, pre) {
			continue
		}
		n, err := strconv.Atoi(k[len(pre):])
		if err != nil || n < 1 {
			continue
		}
		out = append(out, iv{n, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].i < out[j].i })
	vs := make([]string, len(out))
	for i, x := range out {
		vs[i] = x.v
	}
	return vs
}

// Map returns a flattened map prefix.N.<keyName>/<valueName>.
func (p Params) Map(prefix, keyName, valueName string) map[string]string {
	ms := p.Members(prefix)
	if len(ms) == 0 {
		return nil
	}
	out := make(map[string]string, len(ms))
	for _, m := range ms {
		if k, ok := m[keyName]; ok {
			out[k] = m[valueName]
		}
	}
	return out
}

func ordered(byIdx map[int]Params) []Params {
	idx := make([]int, 0, len(byIdx))
	for i := range byIdx {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]Params, len(idx))
	for i, n := range idx {
		out[i] = byIdx[n]
	}
	return out
}

// XML builds an XML document; element text is escaped.
type XML struct{ bytes.Buffer }

// Open writes <name>.
func (x *XML) Open(name string) { x.WriteByte('<'); x.WriteString(name); x.WriteByte('>') }

// Close writes </name>.
func (x *XML) Close(name string) { x.WriteString("</"); x.WriteString(name); x.WriteByte('>') }

// Elem writes <name>text</name>.
func (x *XML) Elem(name, text string) {
	x.Open(name)
	if plainText(text) {
		x.WriteString(text)
	} else {
		xml.EscapeText(x, []byte(text))
	}
	x.Close(name)
}

// plainText reports whether xml.EscapeText would write text unchanged:
// printable ASCII without the quotes, the ampersand and the angle
// brackets.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '<', c == '>', c == '&', c == '"', c == '\'':
			return false
		}
	}
	return true
}

// Write sends a query-protocol response: result (which may be nil) writes
// the inside of <ActionResult>.
func Write(w http.ResponseWriter, action, xmlns, requestID string, result func(*XML)) {
	var x XML
	x.WriteString(`<?xml version="1.0"?>`)
	x.WriteString("<" + action + `Response xmlns="` + xmlns + `">`)
	if result != nil {
		x.Open(action + "Result")
		result(&x)
		x.Close(action + "Result")
	}
	x.Open("ResponseMetadata")
	x.Elem("RequestId", requestID)
	x.Close("ResponseMetadata")
	x.Close(action + "Response")
	x.send(w, requestID, http.StatusOK)
}

// send writes the document with its headers and status.
func (x *XML) send(w http.ResponseWriter, requestID string, status int) {
	h := w.Header()
	// Canonical keys assigned directly, without Set's canonicalizing.
	h["Content-Type"] = []string{"text/xml"}
	h["X-Amzn-Requestid"] = []string{requestID}
	h["Content-Length"] = []string{strconv.Itoa(x.Len())}
	w.WriteHeader(status)
	w.Write(x.Bytes())
}

// WriteError sends e as an ErrorResponse document.
func WriteError(w http.ResponseWriter, xmlns, requestID string, e *awserr.Error) {
	var x XML
	x.WriteString(`<?xml version="1.0"?>`)
	x.WriteString(`<ErrorResponse xmlns="` + xmlns + `">`)
	x.Open("Error")
	x.Elem("Type", e.Fault())
	x.Elem("Code", e.Query())
	x.Elem("Message", e.Message)
	for _, m := range e.Extra {
		x.Elem(m[0], m[1])
	}
	x.WriteString("<Detail/>")
	x.Close("Error")
	x.Elem("RequestId", requestID)
	x.Close("ErrorResponse")
	x.send(w, requestID, e.Status)
}
