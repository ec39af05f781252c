// Package s3api is the S3 REST-XML adapter: it maps HTTP requests, path
// style (/bucket/key) and virtual-hosted style (bucket.localhost/key), to
// the object service, streaming bodies to and from disk, and writes S3's
// XML results and errors.
package s3api

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/object"
)

// Handler serves S3.
type Handler struct {
	svc     *object.Service
	log     *slog.Logger
	account string
}

// New returns the S3 handler.
func New(svc *object.Service, account string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{svc: svc, log: log, account: account}
}

// Request is one S3 request.
type Request struct {
	HTTP        *http.Request
	RequestID   string
	Bucket, Key string
	// PayloadHash is the X-Amz-Content-Sha256 the signature covered: a
	// hex SHA-256 of the body to check, or one of the UNSIGNED and
	// STREAMING forms.
	PayloadHash string
	// Chunks checks the chunk signatures of a signed aws-chunked body
	// (nil when they are not checked: no credentials configured).
	Chunks ChunkChecker
}

// ChunkChecker checks the signature of each chunk of an aws-chunked body,
// in order.
type ChunkChecker interface {
	Check(sig string, sum []byte) bool
}

// Error is an S3 error response.
type Error struct {
	Status        int
	Code, Message string
	// Region names the bucket's region in an AuthorizationHeaderMalformed
	// for a request signed for another (clients re-sign with it).
	Region string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

var statuses = map[string]int{
	"NoSuchBucket": 404, "NoSuchKey": 404, "NoSuchUpload": 404, "BucketAlreadyOwnedByYou": 409, "BucketNotEmpty": 409,
	"InvalidBucketName": 400, "InvalidPart": 400, "InvalidPartOrder": 400, "EntityTooSmall": 400, "BadDigest": 400,
	"InvalidArgument": 400, "PreconditionFailed": 412, "KeyTooLongError": 400, "InvalidRange": 416,
	"XAmzContentSHA256Mismatch": 400, "MalformedXML": 400, "InvalidDigest": 400, "InvalidRequest": 400,
	"NotImplemented": 501, "MethodNotAllowed": 405, "IncompleteBody": 400, "EntityTooLarge": 400,
	"InvalidContentEncoding": 400, "SignatureDoesNotMatch": 403,
}

func s3err(code, format string, args ...any) *Error {
	st := statuses[code]
	if st == 0 {
		st = 400
	}
	return &Error{Status: st, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Owns reports whether a request is for S3 by its Host: virtual-hosted
// style names the bucket in front of a known S3 or local host name, and
// returns it.
func VirtualBucket(host string) (string, bool) {
	h := host
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	for _, suffix := range []string{".localhost", ".s3.amazonaws.com", ".localhost.localstack.cloud"} {
		if b, ok := strings.CutSuffix(h, suffix); ok && b != "" && !strings.HasPrefix(b, "s3.") && b != "s3" {
			return b, true
		}
	}
	// bucket.s3.REGION.amazonaws.com and bucket.s3-REGION.amazonaws.com
	if strings.HasSuffix(h, ".amazonaws.com") {
		if i := strings.Index(h, ".s3."); i > 0 {
			return h[:i], true
		}
		if i := strings.Index(h, ".s3-"); i > 0 {
			return h[:i], true
		}
	}
	return "", false
}

// Serve handles one request.
func (h *Handler) Serve(w http.ResponseWriter, r *Request) string {
	action, err := h.serve(w, r)
	if err != nil {
		h.writeError(w, r, err)
	}
	return action
}

func (h *Handler) writeError(w http.ResponseWriter, r *Request, err error) {
	var e *Error
	var oe *object.Error
	switch {
	case errors.As(err, &e):
	case errors.As(err, &oe):
		e = s3err(oe.Kind.Error(), "%s", oe.Message)
	default:
		h.log.Error("internal error", "requestId", r.RequestID, "err", err)
		e = &Error{Status: 500, Code: "InternalError", Message: "We encountered an internal error. Please try again."}
	}
	hd := w.Header()
	hd.Set("x-amz-request-id", r.RequestID)
	if r.HTTP.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	resource := "/"
	if r.Bucket != "" {
		resource += r.Bucket
		if r.Key != "" {
			resource += "/" + r.Key
		}
	}
	body, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		Message   string
		Region    string `xml:",omitempty"`
		Resource  string `xml:",omitempty"`
		RequestID string `xml:"RequestId"`
	}{Code: e.Code, Message: e.Message, Region: e.Region, Resource: resource, RequestID: r.RequestID})
	hd.Set("Content-Type", "application/xml")
	hd.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(e.Status)
	io.WriteString(w, xml.Header)
	w.Write(body)
}

func writeXML(w http.ResponseWriter, r *Request, status int, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("x-amz-request-id", r.RequestID)
	hd.Set("Content-Type", "application/xml")
	hd.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	w.Write(body)
	return nil
}

func (h *Handler) serve(w http.ResponseWriter, r *Request) (string, error) {
	hr := r.HTTP
	q := hr.URL.Query()
	q.Del("x-id") // the SDKs name the operation
	for k := range q {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			q.Del(k) // presigned URLs' signature parameters
		}
	}
	if q.Has("AWSAccessKeyId") && q.Has("Signature") {
		// A URL presigned with signature version 2, and the headers it
		// carries in its query (applied as headers before this).
		q.Del("AWSAccessKeyId")
		q.Del("Signature")
		q.Del("Expires")
		for k := range q {
			if lk := strings.ToLower(k); lk == "content-type" || lk == "content-md5" {
				q.Del(k)
			}
		}
	}
	ctx := hr.Context()
	if r.Bucket == "" {
		if hr.Method == http.MethodGet {
			return "ListBuckets", h.listBuckets(w, r)
		}
		return "", s3err("MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
	if r.Key == "" {
		switch hr.Method {
		case http.MethodPut:
			if len(q) > 0 {
				return "", notImplemented(q)
			}
			return "CreateBucket", h.createBucket(w, r)
		case http.MethodDelete:
			if len(q) > 0 {
				return "", notImplemented(q)
			}
			if err := h.svc.DeleteBucket(ctx, r.Bucket); err != nil {
				return "DeleteBucket", err
			}
			w.Header().Set("x-amz-request-id", r.RequestID)
			w.WriteHeader(http.StatusNoContent)
			return "DeleteBucket", nil
		case http.MethodHead:
			b, err := h.svc.HeadBucket(ctx, r.Bucket)
			if err != nil {
				return "HeadBucket", err
			}
			w.Header().Set("x-amz-bucket-region", b.Region)
			w.Header().Set("x-amz-request-id", r.RequestID)
			w.WriteHeader(http.StatusOK)
			return "HeadBucket", nil
		case http.MethodPost:
			if q.Has("delete") {
				return "DeleteObjects", h.deleteObjects(w, r)
			}
		case http.MethodGet:
			switch {
			case q.Has("location"):
				b, err := h.svc.HeadBucket(ctx, r.Bucket)
				if err != nil {
					return "GetBucketLocation", err
				}
				loc := b.Region
				if loc == "us-east-1" {
					loc = ""
				}
				return "GetBucketLocation", writeXML(w, r, 200, struct {
					XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
					Value   string   `xml:",chardata"`
				}{Value: loc})
			case q.Has("uploads"):
				return "ListMultipartUploads", h.listUploads(w, r)
			case q.Has("versioning"):
				if _, err := h.svc.HeadBucket(ctx, r.Bucket); err != nil {
					return "GetBucketVersioning", err
				}
				return "GetBucketVersioning", writeXML(w, r, 200, struct {
					XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ VersioningConfiguration"`
				}{})
			case q.Get("list-type") == "2":
				return "ListObjectsV2", h.listObjects(w, r, true)
			case len(q) == 0 || onlyListParams(q):
				return "ListObjects", h.listObjects(w, r, false)
			}
			return "", notImplemented(q)
		}
		return "", s3err("MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
	switch hr.Method {
	case http.MethodPut:
		if q.Has("uploadId") {
			return "UploadPart", h.uploadPart(w, r)
		}
		if hr.Header.Get("X-Amz-Copy-Source") != "" {
			return "CopyObject", h.copyObject(w, r)
		}
		if len(q) > 0 && !onlyIgnorable(q) {
			return "", notImplemented(q)
		}
		return "PutObject", h.putObject(w, r)
	case http.MethodGet, http.MethodHead:
		if q.Has("uploadId") && hr.Method == http.MethodGet {
			return "ListParts", h.listParts(w, r)
		}
		if hr.Method == http.MethodHead {
			return "HeadObject", h.getObject(w, r, true)
		}
		return "GetObject", h.getObject(w, r, false)
	case http.MethodDelete:
		if id := q.Get("uploadId"); id != "" {
			if err := h.svc.AbortUpload(ctx, r.Bucket, r.Key, id); err != nil {
				return "AbortMultipartUpload", err
			}
			w.Header().Set("x-amz-request-id", r.RequestID)
			w.WriteHeader(http.StatusNoContent)
			return "AbortMultipartUpload", nil
		}
		if err := h.svc.DeleteObject(ctx, r.Bucket, r.Key); err != nil {
			return "DeleteObject", err
		}
		w.Header().Set("x-amz-request-id", r.RequestID)
		w.WriteHeader(http.StatusNoContent)
		return "DeleteObject", nil
	case http.MethodPost:
		if q.Has("uploads") {
			return "CreateMultipartUpload", h.createUpload(w, r)
		}
		if q.Get("uploadId") != "" {
			return "CompleteMultipartUpload", h.completeUpload(w, r)
		}
	}
	return "", s3err("MethodNotAllowed", "The specified method is not allowed against this resource.")
}

func onlyListParams(q url.Values) bool {
	for k := range q {
		switch k {
		case "prefix", "delimiter", "marker", "max-keys", "encoding-type":
		default:
			return false
		}
	}
	return true
}

func onlyIgnorable(q url.Values) bool {
	for k := range q {
		if lk := strings.ToLower(k); k != "x-id" && k != "AWSAccessKeyId" && k != "Signature" && k != "Expires" &&
			lk != "content-type" && lk != "content-md5" && !strings.HasPrefix(lk, "x-amz-") {
			return false
		}
	}
	return true
}

func notImplemented(q url.Values) error {
	var names []string
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	return s3err("NotImplemented", "A header or query you provided implies functionality that is not implemented: %s", strings.Join(names, ", "))
}

const ns = "http://s3.amazonaws.com/doc/2006-03-01/"

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (h *Handler) listBuckets(w http.ResponseWriter, r *Request) error {
	type bucket struct {
		Name         string
		CreationDate string
		BucketRegion string `xml:",omitempty"`
	}
	var bs []bucket
	for _, b := range h.svc.ListBuckets(r.HTTP.Context()) {
		bs = append(bs, bucket{b.Name, isoTime(b.Created), b.Region})
	}
	return writeXML(w, r, 200, struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
		Owner   owner
		Buckets []bucket `xml:"Buckets>Bucket"`
	}{Owner: h.owner(), Buckets: bs})
}

type owner struct {
	ID          string
	DisplayName string
}

func (h *Handler) owner() owner {
	return owner{ID: hex.EncodeToString([]byte(h.account)), DisplayName: "forkline"}
}

func (h *Handler) createBucket(w http.ResponseWriter, r *Request) error {
	var cfg struct {
		LocationConstraint string
	}
	body, err := io.ReadAll(io.LimitReader(r.HTTP.Body, 1<<20))
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return s3err("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
		}
	}
	if err := h.svc.CreateBucket(r.HTTP.Context(), r.Bucket, cfg.LocationConstraint); err != nil {
		return err
	}
	w.Header().Set("Location", "/"+r.Bucket)
	w.Header().Set("x-amz-request-id", r.RequestID)
	w.WriteHeader(http.StatusOK)
	return nil
}

// storedHeaders are the request headers an object keeps and returns.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires", "X-Amz-Website-Redirect-Location", "X-Amz-Storage-Class", "X-Amz-Tagging"}

func putInput(hr *http.Request) object.PutInput {
	in := object.PutInput{ContentType: hr.Header.Get("Content-Type"), Headers: map[string]string{}, Metadata: map[string]string{}}
	for _, k := range storedHeaders {
		if v := hr.Header.Get(k); v != "" {
			if k == "Content-Encoding" {
				// aws-chunked is the transfer framing, not the object's.
				parts := []string{}
				for _, e := range strings.Split(v, ",") {
					if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
						parts = append(parts, e)
					}
				}
				if v = strings.Join(parts, ","); v == "" {
					continue
				}
			}
			in.Headers[k] = v
		}
	}
	for k, v := range hr.Header {
		if m, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-"); ok && len(v) > 0 {
			in.Metadata[m] = v[0]
		}
	}
	if in.ContentType == "" {
		in.ContentType = "binary/octet-stream"
	}
	return in
}

// checksum algorithms S3 accepts (x-amz-checksum-*).
var checksumAlgorithms = map[string]func() hash.Hash{
	"crc32":     func() hash.Hash { return crc32.NewIEEE() },
	"crc32c":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"crc64nvme": func() hash.Hash { return crc64.New(crc64.MakeTable(0x9A6C9329AC4BC9B5)) },
	"sha1":      sha1.New,
	"sha256":    sha256.New,
}

// body prepares a request body for storing: it decodes aws-chunked
// framing, checks Content-MD5, the payload hash and the checksums (from
// headers or trailers), and names the checksums to keep.
func (h *Handler) body(r *Request, in *object.PutInput) (io.Reader, error) {
	hr := r.HTTP
	var rd io.Reader = hr.Body
	var chunked *chunkedReader
	if strings.HasPrefix(r.PayloadHash, "STREAMING-") || strings.Contains(hr.Header.Get("Content-Encoding"), "aws-chunked") {
		chunked = newChunkedReader(hr.Body)
		if strings.HasPrefix(r.PayloadHash, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") && r.Chunks != nil {
			chunked.signer = r.Chunks
		}
		rd = chunked
	}
	if v := hr.Header.Get("Content-MD5"); v != "" {
		sum, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(sum) != md5.Size {
			return nil, s3err("InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		in.ContentMD5 = sum
	}
	var payload hash.Hash
	if len(r.PayloadHash) == 64 {
		payload = sha256.New()
		in.Hashes = append(in.Hashes, payload)
	}
	sums := map[string]hash.Hash{}
	want := map[string]string{}
	for alg, mk := range checksumAlgorithms {
		hv := hr.Header.Get("X-Amz-Checksum-" + alg)
		declared := strings.Contains(strings.ToLower(hr.Header.Get("X-Amz-Trailer")), "x-amz-checksum-"+alg) ||
			strings.EqualFold(hr.Header.Get("X-Amz-Sdk-Checksum-Algorithm"), alg)
		if hv != "" || declared {
			sums[alg] = mk()
			in.Hashes = append(in.Hashes, sums[alg])
			want[alg] = hv
		}
	}
	decoded := int64(-1)
	if v := hr.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
		decoded, _ = strconv.ParseInt(v, 10, 64)
	}
	in.Check = func(size int64) (map[string]string, error) {
		if chunked != nil && chunked.badSig {
			return nil, s3err("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		}
		if chunked != nil && chunked.err != nil && chunked.err != io.EOF {
			return nil, s3err("IncompleteBody", "The request body was not a valid aws-chunked payload: %v", chunked.err)
		}
		if decoded >= 0 && size != decoded {
			return nil, s3err("IncompleteBody", "You did not provide the number of bytes specified by the X-Amz-Decoded-Content-Length HTTP header")
		}
		if payload != nil && hex.EncodeToString(payload.Sum(nil)) != r.PayloadHash {
			return nil, s3err("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		kept := map[string]string{}
		for alg, hsh := range sums {
			got := base64.StdEncoding.EncodeToString(hsh.Sum(nil))
			expect := want[alg]
			if expect == "" && chunked != nil {
				expect = chunked.Trailers.Get("x-amz-checksum-" + alg)
			}
			if expect != "" && expect != got {
				return nil, s3err("BadDigest", "The %s you specified did not match the calculated checksum.", strings.ToUpper(alg))
			}
			kept[alg] = got
		}
		in.Checksums = kept
		return kept, nil
	}
	return rd, nil
}

func checksumHeaders(w http.ResponseWriter, sums map[string]string) {
	for alg, v := range sums {
		w.Header().Set("x-amz-checksum-"+alg, v)
	}
}

func (h *Handler) putObject(w http.ResponseWriter, r *Request) error {
	in := putInput(r.HTTP)
	body, err := h.body(r, &in)
	if err != nil {
		return err
	}
	o, err := h.svc.PutObject(r.HTTP.Context(), r.Bucket, r.Key, body, in)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", o.ETag)
	checksumHeaders(w, o.Checksums)
	w.Header().Set("x-amz-request-id", r.RequestID)
	w.WriteHeader(http.StatusOK)
	return nil
}

// copySource parses X-Amz-Copy-Source: "bucket/key" or "/bucket/key",
// URL-encoded, maybe with ?versionId.
func copySource(v string) (string, string, error) {
	v, _, _ = strings.Cut(v, "?")
	dec, err := url.PathUnescape(v)
	if err != nil {
		return "", "", s3err("InvalidArgument", "Invalid copy source encoding")
	}
	dec = strings.TrimPrefix(dec, "/")
	b, k, ok := strings.Cut(dec, "/")
	if !ok || b == "" || k == "" {
		return "", "", s3err("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	return b, k, nil
}

func (h *Handler) copyObject(w http.ResponseWriter, r *Request) error {
	sb, sk, err := copySource(r.HTTP.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	replace := strings.EqualFold(r.HTTP.Header.Get("X-Amz-Metadata-Directive"), "REPLACE")
	if sb == r.Bucket && sk == r.Key && !replace {
		return s3err("InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	src, err := h.svc.HeadObject(r.HTTP.Context(), sb, sk)
	if err != nil {
		return err
	}
	if err := checkConditions(r.HTTP.Header, src, "X-Amz-Copy-Source-"); err != nil {
		return err
	}
	o, err := h.svc.CopyObject(r.HTTP.Context(), sb, sk, r.Bucket, r.Key, replace, putInput(r.HTTP))
	if err != nil {
		return err
	}
	return writeXML(w, r, 200, struct {
		XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
		LastModified string
		ETag         string
	}{LastModified: isoTime(o.Modified()), ETag: o.ETag})
}

// checkConditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since (prefix "" for GetObject, X-Amz-Copy-Source- for a
// copy's source).
func checkConditions(hd http.Header, o object.Object, prefix string) error {
	etag := strings.Trim(o.ETag, `"`)
	mod := o.Modified().Truncate(time.Second)
	match := func(list string) bool {
		for _, e := range strings.Split(list, ",") {
			e = strings.Trim(strings.TrimSpace(e), `"`)
			if e == "*" || e == etag {
				return true
			}
		}
		return false
	}
	im := hd.Get(prefix + "If-Match")
	if im != "" && !match(im) {
		return s3err("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	if v := hd.Get(prefix + "If-Unmodified-Since"); v != "" && im == "" {
		if t, err := http.ParseTime(v); err == nil && mod.After(t) {
			return s3err("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		}
	}
	inm := hd.Get(prefix + "If-None-Match")
	if inm != "" && match(inm) {
		if prefix != "" {
			return s3err("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		}
		return errNotModified
	}
	if v := hd.Get(prefix + "If-Modified-Since"); v != "" && inm == "" {
		if t, err := http.ParseTime(v); err == nil && !mod.After(t) {
			if prefix != "" {
				return s3err("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
			}
			return errNotModified
		}
	}
	return nil
}

var errNotModified = errors.New("not modified")

// byteRange parses a single "bytes=" range against size.
func byteRange(spec string, size int64) (start, end int64, ok bool, err error) {
	v, found := strings.CutPrefix(spec, "bytes=")
	if !found || strings.Contains(v, ",") {
		return 0, 0, false, nil // not a range S3 honours: the whole object
	}
	a, b, _ := strings.Cut(v, "-")
	switch {
	case a == "":
		n, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || n < 0 {
			return 0, 0, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, s3err("InvalidRange", "The requested range is not satisfiable")
		}
		if n > size {
			n = size
		}
		return size - n, size - 1, true, nil
	default:
		s, perr := strconv.ParseInt(a, 10, 64)
		if perr != nil || s < 0 {
			return 0, 0, false, nil
		}
		e := size - 1
		if b != "" {
			if e, perr = strconv.ParseInt(b, 10, 64); perr != nil || e < s {
				return 0, 0, false, nil
			}
			if e > size-1 {
				e = size - 1
			}
		}
		if s >= size {
			return 0, 0, false, s3err("InvalidRange", "The requested range is not satisfiable")
		}
		return s, e, true, nil
	}
}

func (h *Handler) getObject(w http.ResponseWriter, r *Request, head bool) error {
	ctx := r.HTTP.Context()
	o, f, err := h.svc.Open(ctx, r.Bucket, r.Key)
	if err != nil {
		return err
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("x-amz-request-id", r.RequestID)
	if err := checkConditions(r.HTTP.Header, o, ""); err != nil {
		if err == errNotModified {
			hd.Set("ETag", o.ETag)
			hd.Set("Last-Modified", o.Modified().UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return err
	}
	q := r.HTTP.URL.Query()
	hd.Set("Content-Type", o.ContentType)
	for k, v := range o.Headers {
		hd.Set(k, v)
	}
	for k, v := range o.Metadata {
		hd.Set("x-amz-meta-"+k, v)
	}
	for _, k := range []string{"Content-Type", "Content-Language", "Expires", "Cache-Control", "Content-Disposition", "Content-Encoding"} {
		if v := q.Get("response-" + strings.ToLower(k)); v != "" {
			hd.Set(k, v)
		}
	}
	hd.Set("ETag", o.ETag)
	hd.Set("Last-Modified", o.Modified().UTC().Format(http.TimeFormat))
	hd.Set("Accept-Ranges", "bytes")
	if o.Parts > 0 {
		hd.Set("x-amz-mp-parts-count", strconv.Itoa(o.Parts))
	}
	if strings.EqualFold(r.HTTP.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		checksumHeaders(w, o.Checksums)
	}
	start, end, ranged, err := byteRange(r.HTTP.Header.Get("Range"), o.Size)
	if err != nil {
		hd.Set("Content-Range", fmt.Sprintf("bytes */%d", o.Size))
		return err
	}
	status, n := http.StatusOK, o.Size
	if ranged {
		status, n = http.StatusPartialContent, end-start+1
		hd.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, o.Size))
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			return err
		}
	}
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if head {
		return nil
	}
	if _, err := io.CopyN(w, f, n); err != nil {
		h.log.Debug("object read ended early", "requestId", r.RequestID, "err", err)
	}
	return nil
}

func (h *Handler) listObjects(w http.ResponseWriter, r *Request, v2 bool) error {
	q := r.HTTP.URL.Query()
	in := object.ListInput{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), MaxKeys: 1000}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s3err("InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		in.MaxKeys = n
	}
	token := q.Get("continuation-token")
	if v2 {
		in.StartAfter = q.Get("start-after")
		if token != "" {
			raw, err := base64.RawURLEncoding.DecodeString(token)
			if err != nil {
				return s3err("InvalidArgument", "The continuation token provided is incorrect")
			}
			in.StartAfter = string(raw)
		}
	} else {
		in.StartAfter = q.Get("marker")
	}
	encode := q.Get("encoding-type") == "url"
	enc := func(s string) string {
		if encode {
			return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
		}
		return s
	}
	var res object.ListResult
	if in.MaxKeys > 0 {
		var err error
		if res, err = h.svc.ListObjects(r.HTTP.Context(), r.Bucket, in); err != nil {
			return err
		}
	} else if _, err := h.svc.HeadBucket(r.HTTP.Context(), r.Bucket); err != nil {
		return err
	}
	type content struct {
		Key          string
		LastModified string
		ETag         string
		Size         int64
		StorageClass string
		Owner        *owner `xml:",omitempty"`
	}
	type prefix struct{ Prefix string }
	out := struct {
		XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
		Name                  string
		Prefix                string
		Marker                *string `xml:",omitempty"`
		NextMarker            string  `xml:",omitempty"`
		StartAfter            string  `xml:",omitempty"`
		ContinuationToken     string  `xml:",omitempty"`
		NextContinuationToken string  `xml:",omitempty"`
		KeyCount              *int    `xml:",omitempty"`
		MaxKeys               int
		Delimiter             string `xml:",omitempty"`
		EncodingType          string `xml:",omitempty"`
		IsTruncated           bool
		Contents              []content
		CommonPrefixes        []prefix
	}{Name: r.Bucket, Prefix: enc(in.Prefix), MaxKeys: in.MaxKeys, Delimiter: enc(in.Delimiter), IsTruncated: res.Truncated}
	if encode {
		out.EncodingType = "url"
	}
	for _, o := range res.Objects {
		c := content{Key: enc(o.Key), LastModified: isoTime(o.Modified()), ETag: o.ETag, Size: o.Size, StorageClass: "STANDARD"}
		if !v2 || q.Get("fetch-owner") == "true" {
			own := h.owner()
			c.Owner = &own
		}
		out.Contents = append(out.Contents, c)
	}
	for _, p := range res.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, prefix{enc(p)})
	}
	if v2 {
		n := len(res.Objects) + len(res.CommonPrefixes)
		out.KeyCount = &n
		out.StartAfter = enc(q.Get("start-after"))
		out.ContinuationToken = token
		if res.Truncated {
			out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Next))
		}
	} else {
		m := q.Get("marker")
		out.Marker = &m
		if res.Truncated && in.Delimiter != "" {
			out.NextMarker = enc(res.Next)
		}
	}
	return writeXML(w, r, 200, out)
}

func (h *Handler) deleteObjects(w http.ResponseWriter, r *Request) error {
	body, err := io.ReadAll(io.LimitReader(r.HTTP.Body, 2<<20))
	if err != nil {
		return err
	}
	var req struct {
		Quiet  bool
		Object []struct{ Key string }
	}
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Object) == 0 {
		return s3err("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	if len(req.Object) > 1000 {
		return s3err("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	type deleted struct{ Key string }
	type failed struct{ Key, Code, Message string }
	var res struct {
		XMLName xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
		Deleted []deleted `xml:"Deleted"`
		Error   []failed  `xml:"Error"`
	}
	for _, o := range req.Object {
		if err := h.svc.DeleteObject(r.HTTP.Context(), r.Bucket, o.Key); err != nil {
			var oe *object.Error
			if errors.As(err, &oe) {
				if oe.Kind == object.ErrNoSuchBucket {
					return err
				}
				res.Error = append(res.Error, failed{o.Key, oe.Kind.Error(), oe.Message})
				continue
			}
			return err
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deleted{o.Key})
		}
	}
	return writeXML(w, r, 200, res)
}

func (h *Handler) createUpload(w http.ResponseWriter, r *Request) error {
	u, err := h.svc.CreateUpload(r.HTTP.Context(), r.Bucket, r.Key, putInput(r.HTTP))
	if err != nil {
		return err
	}
	return writeXML(w, r, 200, struct {
		XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
		Bucket   string
		Key      string
		UploadId string
	}{Bucket: r.Bucket, Key: r.Key, UploadId: u.ID})
}

func (h *Handler) uploadPart(w http.ResponseWriter, r *Request) error {
	q := r.HTTP.URL.Query()
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil {
		return s3err("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
	}
	if src := r.HTTP.Header.Get("X-Amz-Copy-Source"); src != "" {
		return s3err("NotImplemented", "UploadPartCopy is not implemented by forkline")
	}
	in := object.PutInput{}
	body, err := h.body(r, &in)
	if err != nil {
		return err
	}
	p, err := h.svc.UploadPart(r.HTTP.Context(), r.Bucket, r.Key, q.Get("uploadId"), n, body, in)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", p.ETag)
	checksumHeaders(w, in.Checksums)
	w.Header().Set("x-amz-request-id", r.RequestID)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) completeUpload(w http.ResponseWriter, r *Request) error {
	body, err := io.ReadAll(io.LimitReader(r.HTTP.Body, 4<<20))
	if err != nil {
		return err
	}
	var req struct {
		Part []struct {
			PartNumber int
			ETag       string
		}
	}
	if err := xml.Unmarshal(body, &req); err != nil {
		return s3err("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	var parts []object.CompletedPart
	for _, p := range req.Part {
		parts = append(parts, object.CompletedPart{Number: p.PartNumber, ETag: p.ETag})
	}
	o, err := h.svc.CompleteUpload(r.HTTP.Context(), r.Bucket, r.Key, r.HTTP.URL.Query().Get("uploadId"), parts)
	if err != nil {
		return err
	}
	return writeXML(w, r, 200, struct {
		XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
		Location string
		Bucket   string
		Key      string
		ETag     string
	}{Location: "/" + r.Bucket + "/" + r.Key, Bucket: r.Bucket, Key: r.Key, ETag: o.ETag})
}

func (h *Handler) listParts(w http.ResponseWriter, r *Request) error {
	id := r.HTTP.URL.Query().Get("uploadId")
	_, parts, err := h.svc.Parts(r.HTTP.Context(), r.Bucket, r.Key, id)
	if err != nil {
		return err
	}
	type part struct {
		PartNumber   int
		LastModified string
		ETag         string
		Size         int64
	}
	out := struct {
		XMLName     xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
		Bucket      string
		Key         string
		UploadId    string
		MaxParts    int
		IsTruncated bool
		Part        []part
	}{Bucket: r.Bucket, Key: r.Key, UploadId: id, MaxParts: 1000}
	for _, p := range parts {
		out.Part = append(out.Part, part{p.Number, isoTime(time.UnixMilli(p.Modified)), p.ETag, p.Size})
	}
	return writeXML(w, r, 200, out)
}

func (h *Handler) listUploads(w http.ResponseWriter, r *Request) error {
	ups, err := h.svc.Uploads(r.HTTP.Context(), r.Bucket)
	if err != nil {
		return err
	}
	type upload struct {
		Key       string
		UploadId  string
		Initiated string
	}
	out := struct {
		XMLName     xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
		Bucket      string
		IsTruncated bool
		Upload      []upload
	}{Bucket: r.Bucket}
	for _, u := range ups {
		out.Upload = append(out.Upload, upload{u.Key, u.ID, isoTime(u.InitiatedAt())})
	}
	return writeXML(w, r, 200, out)
}

// WriteError writes err in S3's XML error shape.
func (h *Handler) WriteError(w http.ResponseWriter, r *Request, err error) { h.writeError(w, r, err) }
