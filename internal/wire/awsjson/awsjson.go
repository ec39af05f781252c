// Package awsjson implements the framing of the AWS JSON 1.0 and 1.1
// protocols: requests are POSTs whose X-Amz-Target header names
// "Service.Operation" and whose body is a JSON object; responses are JSON
// objects, and errors carry "__type" and "message" (and, for services with
// the awsQueryCompatible trait such as SQS, the x-amzn-query-error header).
package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/forkline/forkline/internal/wire/awserr"
	"github.com/forkline/forkline/internal/wire/jsonread"
)

// ContentType10 is the content type of JSON 1.0 requests and responses.
const ContentType10 = "application/x-amz-json-1.0"

// Target splits an X-Amz-Target header into service prefix and operation.
func Target(h string) (prefix, op string, ok bool) {
	i := strings.LastIndexByte(h, '.')
	if i <= 0 || i == len(h)-1 {
		return "", "", false
	}
	return h[:i], h[i+1:], true
}

// Decode parses a JSON request body into v. An empty body is an empty
// object. Unknown fields are ignored, as AWS services do; malformed JSON or
// a value of the wrong type is a SerializationException.
//
// A v that implements FastDecoder decodes itself first; when it gives up,
// v is zeroed and encoding/json decodes the body.
func Decode(body []byte, v any) error { return decode(body, v, false) }

// DecodeExact is Decode for shapes whose fields carry their members' exact
// names (as tags or Go names): a member named in another case is unknown,
// as in AWS's JSON protocols, where encoding/json would fold it into the
// field. (Decode still folds, for shapes that rely on it.) A body that is
// not valid UTF-8 is a SerializationException.
func DecodeExact(body []byte, v any) error { return decode(body, v, true) }

func decode(body []byte, v any, exact bool) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if fd, ok := v.(FastDecoder); ok {
		r := jsonread.New(body)
		fd.DecodeJSON(&r)
		if r.End() {
			return nil
		}
		reflect.ValueOf(v).Elem().SetZero()
	}
	// JSON text is UTF-8 (RFC 8259, section 8.1); encoding/json would
	// replace invalid bytes with U+FFFD, so an SQS message body would be
	// stored other than sent, and answered with the MD5 of the change.
	// DecodeExact's shapes (SQS's) refuse it; Decode's keep the
	// replacement, as CloudWatch Logs does with what old SDKs send
	// (aws-sdk-go v1 writes bytes above 0x7F as they are; moby#37986).
	if exact && !utf8.Valid(body) {
		return awserr.New(awserr.SerializationException, "Malformed JSON request body: it is not valid UTF-8.")
	}
	var err error
	if exact {
		err = UnmarshalExact(body, v)
	} else {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		var te *json.UnmarshalTypeError
		msg := "Malformed JSON request body."
		if errors.As(err, &te) {
			msg = fmt.Sprintf("Unexpected value type for field %s: expected %s.", te.Field, te.Type)
		}
		return awserr.New(awserr.SerializationException, msg)
	}
	return nil
}

// UnmarshalExact is json.Unmarshal with members named exactly: a member
// whose name matches a field only when case is ignored is unknown.
func UnmarshalExact(body []byte, v any) error {
	return json.Unmarshal(exactNames(body, reflect.TypeOf(v)), v)
}

// exactNames returns body without the members whose names match a field
// of t only when case is ignored: AWS's JSON protocols name members
// exactly, so {"queueurl": ...} leaves QueueUrl unset there, where
// encoding/json would fold the name into it. body is returned as it is
// when it has no such member, or is not valid JSON (which Unmarshal then
// reports).
func exactNames(body []byte, t reflect.Type) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return body
	}
	if !dropFolded(doc, t) {
		return body
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

// dropFolded deletes from the decoded value doc the object members that
// match a struct field of t only case-insensitively, recursively, and
// reports whether it deleted any.
func dropFolded(doc any, t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return false // it reads its members itself
	}
	dropped := false
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return false
		}
		fields := map[string]reflect.Type{}
		jsonFields(t, fields)
		for k, v := range obj {
			if ft, ok := fields[k]; ok {
				dropped = dropFolded(v, ft) || dropped
				continue
			}
			for name := range fields {
				if strings.EqualFold(name, k) {
					delete(obj, k)
					dropped = true
					break
				}
			}
		}
	case reflect.Map:
		if obj, ok := doc.(map[string]any); ok {
			for _, v := range obj {
				dropped = dropFolded(v, t.Elem()) || dropped
			}
		}
	case reflect.Slice, reflect.Array:
		if arr, ok := doc.([]any); ok && t.Elem().Kind() != reflect.Uint8 {
			for _, v := range arr {
				dropped = dropFolded(v, t.Elem()) || dropped
			}
		}
	}
	return dropped
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// jsonFields collects the JSON member names of a struct's fields, those of
// embedded structs included, with their types.
func jsonFields(t reflect.Type, into map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				jsonFields(ft, into)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		into[name] = f.Type
	}
}

// FastDecoder is a request shape that decodes common input itself. It
// must accept only what encoding/json accepts, into the same values, and
// fail the reader on anything else.
type FastDecoder interface {
	DecodeJSON(r *jsonread.Reader)
}

// Appender is a response shape that writes itself as encoding/json would
// (with HTML escaping off).
type Appender interface {
	AppendJSON(b []byte) []byte
}

// bufs holds response buffers; those grown past 64 KiB are dropped.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Write sends a 200 response with v as its JSON body.
func Write(w http.ResponseWriter, contentType, requestID string, v any) {
	if a, ok := v.(Appender); ok {
		bp := bufs.Get().(*[]byte)
		b := a.AppendJSON((*bp)[:0])
		writeOK(w, contentType, requestID, b)
		if cap(b) <= 64<<10 {
			*bp = b
			bufs.Put(bp)
		}
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, contentType, requestID, "", false, awserr.New(awserr.InternalFailure, "The request processing has failed because of an unknown error."))
		return
	}
	writeOK(w, contentType, requestID, b)
}

func writeOK(w http.ResponseWriter, contentType, requestID string, b []byte) {
	h := w.Header()
	// Canonical keys assigned directly: Header.Set would canonicalize
	// them on every response.
	h["Content-Type"] = []string{contentType}
	h["X-Amzn-Requestid"] = []string{requestID}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// WriteError writes e in the JSON protocol's shape. namespace prefixes the
// __type (e.g. "com.amazonaws.sqs#"); queryCompatible adds the
// x-amzn-query-error header with the query code and fault.
func WriteError(w http.ResponseWriter, contentType, requestID, namespace string, queryCompatible bool, e *awserr.Error) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{namespace + e.Code, e.Message})
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("x-amzn-RequestId", requestID)
	if queryCompatible {
		h.Set("x-amzn-query-error", e.Query()+";"+e.Fault())
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}

// ClientError is a service's client error: its AWS error code and message.
type ClientError interface {
	error
	Code() string
	Text() string
}

// Respond writes an operation's answer: out, or err as the error shape.
// An *awserr.Error is written as it is, a ClientError as a 400 with its
// code, anything else is logged and answered as a 500 with internalCode.
func Respond(w http.ResponseWriter, contentType, requestID string, out any, err error, internalCode string, logf func(msg string, args ...any)) {
	if err == nil {
		Write(w, contentType, requestID, out)
		return
	}
	var ae *awserr.Error
	var ce ClientError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ce):
		ae = &awserr.Error{Entry: awserr.Entry{Code: ce.Code(), Status: 400, Sender: true}, Message: ce.Text()}
	default:
		logf("internal error", "requestId", requestID, "err", err)
		ae = &awserr.Error{Entry: awserr.Entry{Code: internalCode, Status: 500}, Message: "An internal error occurred."}
	}
	WriteError(w, contentType, requestID, "", false, ae)
}
