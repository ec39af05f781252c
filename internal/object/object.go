// Package object is forkline's object storage, the S3 subset that stacks
// as code need: buckets, objects with their metadata, ranges and
// conditional reads, copies, listing with prefixes and delimiters, and
// multipart uploads.
//
// Invariants:
//   - An object's bytes are a file of their own (a blob) under the data
//     directory, written and fsynced under a temporary name and renamed
//     before the metadata record that names it is committed; a successful
//     write survives a crash.
//   - A blob that no record names (a crash between the two steps, or an
//     overwrite or a delete that did not get to remove it) is removed when
//     the service starts.
package object

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store"
)

// Record namespaces.
const (
	nsBucket = "s3.bucket" // bucket name → bucketRec
	nsObject = "s3.obj"    // bucket NUL key → Object
	nsUpload = "s3.upl"    // upload ID → Upload
	nsPart   = "s3.part"   // upload ID NUL %05d → Part
)

// Error kinds; the text is S3's error code.
var (
	ErrNoSuchBucket            = errors.New("NoSuchBucket")
	ErrNoSuchKey               = errors.New("NoSuchKey")
	ErrBucketAlreadyOwnedByYou = errors.New("BucketAlreadyOwnedByYou")
	ErrBucketNotEmpty          = errors.New("BucketNotEmpty")
	ErrInvalidBucketName       = errors.New("InvalidBucketName")
	ErrNoSuchUpload            = errors.New("NoSuchUpload")
	ErrInvalidPart             = errors.New("InvalidPart")
	ErrInvalidPartOrder        = errors.New("InvalidPartOrder")
	ErrEntityTooSmall          = errors.New("EntityTooSmall")
	ErrBadDigest               = errors.New("BadDigest")
	ErrInvalidArgument         = errors.New("InvalidArgument")
	ErrPreconditionFailed      = errors.New("PreconditionFailed")
	ErrKeyTooLong              = errors.New("KeyTooLongError")
)

// Error is a client error: a kind and S3's message.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns the kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Config configures a Service.
type Config struct {
	DataDir string // blobs go under DataDir/s3
	Region  string
	Clock   clock.Clock
	Logger  *slog.Logger
}

type bucketRec struct {
	Name    string `json:"name"`
	Created int64  `json:"created"` // Unix milliseconds
	Region  string `json:"region"`
}

// Bucket describes a bucket.
type Bucket struct {
	Name    string
	Created time.Time
	Region  string
}

// Object is an object's metadata.
type Object struct {
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"` // quoted, as S3 shows it
	LastModified int64             `json:"modified"`
	ContentType  string            `json:"contentType,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"` // Content-Encoding, Cache-Control, ...
	Metadata     map[string]string `json:"meta,omitempty"`    // x-amz-meta-*
	Checksums    map[string]string `json:"checksums,omitempty"`
	Parts        int               `json:"parts,omitempty"`
	Blob         string            `json:"blob"`
}

// Modified returns LastModified as a time.
func (o Object) Modified() time.Time { return time.UnixMilli(o.LastModified) }

// Service stores buckets and objects. It is safe for concurrent use.
type Service struct {
	st    store.Records
	cfg   Config
	clock clock.Clock
	log   *slog.Logger
	dir   string

	mu      sync.Mutex // guards buckets; serializes bucket creation and deletion
	buckets map[string]*bucketRec
	// keyLocks serialize writes to one key so that an overwrite's old blob
	// is known when the new record commits.
	keyLocks sync.Map
}

// New loads the buckets and removes blobs no record names.
func New(ctx context.Context, st store.Records, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{st: st, cfg: cfg, clock: cfg.Clock, log: cfg.Logger.With("service", "s3"),
		dir: filepath.Join(cfg.DataDir, "s3", "blobs"), buckets: map[string]*bucketRec{}}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, err
	}
	err := st.ScanRecords(ctx, nsBucket, "", func(_ string, v []byte) error {
		var b bucketRec
		if err := json.Unmarshal(v, &b); err != nil {
			return fmt.Errorf("%w: bucket: %v", store.ErrCorrupt, err)
		}
		s.buckets[b.Name] = &b
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.sweep(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// sweep removes the blobs that no object or part names.
func (s *Service) sweep(ctx context.Context) error {
	used := map[string]bool{}
	for _, ns := range []string{nsObject, nsPart} {
		err := s.st.ScanRecords(ctx, ns, "", func(_ string, v []byte) error {
			var o struct{ Blob string }
			if json.Unmarshal(v, &o) == nil {
				used[o.Blob] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !used[e.Name()] {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
	return nil
}

// bucketNameRE is S3's general-purpose bucket naming rule (3 to 63
// lowercase letters, digits, dots and hyphens, starting and ending with a
// letter or digit).
var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
var ipLikeRE = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)

// ValidBucketName reports whether S3 accepts name (developer guide,
// "General purpose bucket naming rules").
func ValidBucketName(name string) bool {
	return bucketNameRE.MatchString(name) && !strings.Contains(name, "..") && !ipLikeRE.MatchString(name) &&
		!strings.HasPrefix(name, "xn--") && !strings.HasPrefix(name, "sthree-") && !strings.HasSuffix(name, "-s3alias") &&
		!strings.HasSuffix(name, "--ol-s3")
}

// CreateBucket creates a bucket (BucketAlreadyOwnedByYou when it exists).
func (s *Service) CreateBucket(ctx context.Context, name, region string) error {
	if !ValidBucketName(name) {
		return errorf(ErrInvalidBucketName, "The specified bucket is not valid.")
	}
	if region == "" {
		region = s.cfg.Region
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] != nil {
		return errorf(ErrBucketAlreadyOwnedByYou, "Your previous request to create the named bucket succeeded and you already own it.")
	}
	b := &bucketRec{Name: name, Created: s.clock.Now().UnixMilli(), Region: region}
	var batch store.Batch
	batch.PutRecord(nsBucket, name, mustJSON(b))
	if err := s.st.Commit(ctx, &batch); err != nil {
		return err
	}
	s.buckets[name] = b
	return nil
}

// HeadBucket returns a bucket.
func (s *Service) HeadBucket(ctx context.Context, name string) (Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil {
		return Bucket{}, errorf(ErrNoSuchBucket, "The specified bucket does not exist")
	}
	return Bucket{Name: b.Name, Created: time.UnixMilli(b.Created), Region: b.Region}, nil
}

// ListBuckets lists the buckets by name.
func (s *Service) ListBuckets(ctx context.Context) []Bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Bucket
	for _, b := range s.buckets {
		out = append(out, Bucket{Name: b.Name, Created: time.UnixMilli(b.Created), Region: b.Region})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var errStop = errors.New("stop")

// DeleteBucket deletes an empty bucket.
func (s *Service) DeleteBucket(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] == nil {
		return errorf(ErrNoSuchBucket, "The specified bucket does not exist")
	}
	empty := true
	err := s.st.ScanRecords(ctx, nsObject, name+"\x00", func(string, []byte) error {
		empty = false
		return errStop
	})
	if err != nil && err != errStop {
		return err
	}
	if !empty {
		return errorf(ErrBucketNotEmpty, "The bucket you tried to delete is not empty")
	}
	var batch store.Batch
	batch.DeleteRecord(nsBucket, name)
	if err := s.st.Commit(ctx, &batch); err != nil {
		return err
	}
	delete(s.buckets, name)
	return nil
}

func (s *Service) bucketExists(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] == nil {
		return errorf(ErrNoSuchBucket, "The specified bucket does not exist")
	}
	return nil
}

func objectKey(bucket, key string) string { return bucket + "\x00" + key }

func (s *Service) lockKey(bucket, key string) func() {
	v, _ := s.keyLocks.LoadOrStore(objectKey(bucket, key), &sync.Mutex{})
	m := v.(*sync.Mutex)
	m.Lock()
	return m.Unlock
}

// blobWriter writes a new blob durably, hashing what it writes.
type blobWriter struct {
	f    *os.File
	name string
	tmp  string
	n    int64
	md5  hash.Hash
	more []io.Writer
}

func (s *Service) newBlob(hashes ...io.Writer) (*blobWriter, error) {
	var id [16]byte
	rand.Read(id[:])
	name := hex.EncodeToString(id[:])
	tmp := filepath.Join(s.dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &blobWriter{f: f, name: name, tmp: tmp, md5: md5.New(), more: hashes}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	w.md5.Write(p[:n])
	for _, h := range w.more {
		h.Write(p[:n])
	}
	return n, err
}

// finish syncs and names the blob; abort removes it.
func (w *blobWriter) finish(dir string) error {
	if err := w.f.Sync(); err != nil {
		w.abort()
		return err
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.tmp)
		return err
	}
	if err := os.Rename(w.tmp, filepath.Join(dir, w.name)); err != nil {
		os.Remove(w.tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (w *blobWriter) abort() {
	w.f.Close()
	os.Remove(w.tmp)
}

// PutInput is what PutObject stores besides the bytes.
type PutInput struct {
	ContentType string
	Headers     map[string]string
	Metadata    map[string]string
	// ContentMD5 (base64), when given, must match the bytes.
	ContentMD5 []byte
	// Check, when set, is called once the bytes are all written, with
	// their size; it may refuse them (a payload hash or checksum
	// mismatch) and returns the checksums to keep.
	Check func(size int64) (map[string]string, error)
	// Checksums are the x-amz-checksum-* values to keep.
	Checksums map[string]string
	// Hashes receive the bytes as they are written (for checksums).
	Hashes []io.Writer
}

// MaxKeyLength is S3's limit on a key's length in bytes.
const MaxKeyLength = 1024

// PutObject stores body as the object key of bucket.
func (s *Service) PutObject(ctx context.Context, bucket, key string, body io.Reader, in PutInput) (Object, error) {
	if err := s.bucketExists(bucket); err != nil {
		return Object{}, err
	}
	if len(key) > MaxKeyLength {
		return Object{}, errorf(ErrKeyTooLong, "Your key is too long")
	}
	if key == "" {
		return Object{}, errorf(ErrInvalidArgument, "Object key must not be empty")
	}
	w, err := s.newBlob(in.Hashes...)
	if err != nil {
		return Object{}, err
	}
	if _, err := io.Copy(w, body); err != nil {
		w.abort()
		return Object{}, err
	}
	sum := w.md5.Sum(nil)
	if in.ContentMD5 != nil && string(in.ContentMD5) != string(sum) {
		w.abort()
		return Object{}, errorf(ErrBadDigest, "The Content-MD5 you specified did not match what we received.")
	}
	if in.Check != nil {
		sums, err := in.Check(w.n)
		if err != nil {
			w.abort()
			return Object{}, err
		}
		if len(sums) > 0 {
			in.Checksums = sums
		}
	}
	if err := w.finish(s.dir); err != nil {
		return Object{}, err
	}
	o := Object{Key: key, Size: w.n, ETag: `"` + hex.EncodeToString(sum) + `"`, LastModified: s.clock.Now().UnixMilli(),
		ContentType: in.ContentType, Headers: in.Headers, Metadata: in.Metadata, Checksums: in.Checksums, Blob: w.name}
	if err := s.commitObject(ctx, bucket, o, nil); err != nil {
		os.Remove(filepath.Join(s.dir, w.name))
		return Object{}, err
	}
	return o, nil
}

// commitObject records o, replacing what the key held; extra joins the
// same batch. The old blob is removed after the commit.
func (s *Service) commitObject(ctx context.Context, bucket string, o Object, extra func(*store.Batch)) error {
	unlock := s.lockKey(bucket, o.Key)
	defer unlock()
	old, err := s.head(ctx, bucket, o.Key)
	if err != nil && !errors.Is(err, ErrNoSuchKey) {
		return err
	}
	var batch store.Batch
	batch.PutRecord(nsObject, objectKey(bucket, o.Key), mustJSON(o))
	if extra != nil {
		extra(&batch)
	}
	if err := s.st.Commit(ctx, &batch); err != nil {
		return err
	}
	if old.Blob != "" && old.Blob != o.Blob {
		os.Remove(filepath.Join(s.dir, old.Blob))
	}
	return nil
}

func (s *Service) head(ctx context.Context, bucket, key string) (Object, error) {
	v, err := s.st.GetRecord(ctx, nsObject, objectKey(bucket, key))
	if errors.Is(err, store.ErrNotFound) {
		return Object{}, errorf(ErrNoSuchKey, "The specified key does not exist.")
	}
	if err != nil {
		return Object{}, err
	}
	var o Object
	if err := json.Unmarshal(v, &o); err != nil {
		return Object{}, fmt.Errorf("%w: object: %v", store.ErrCorrupt, err)
	}
	return o, nil
}

// HeadObject returns an object's metadata.
func (s *Service) HeadObject(ctx context.Context, bucket, key string) (Object, error) {
	if err := s.bucketExists(bucket); err != nil {
		return Object{}, err
	}
	return s.head(ctx, bucket, key)
}

// Open returns an object's metadata and its bytes, to be closed.
func (s *Service) Open(ctx context.Context, bucket, key string) (Object, *os.File, error) {
	o, err := s.HeadObject(ctx, bucket, key)
	if err != nil {
		return Object{}, nil, err
	}
	f, err := os.Open(filepath.Join(s.dir, o.Blob))
	if errors.Is(err, os.ErrNotExist) {
		// Overwritten between the two reads: read the new version.
		if o, err = s.HeadObject(ctx, bucket, key); err != nil {
			return Object{}, nil, err
		}
		f, err = os.Open(filepath.Join(s.dir, o.Blob))
	}
	return o, f, err
}

// DeleteObject deletes an object; a missing key succeeds, as in S3.
func (s *Service) DeleteObject(ctx context.Context, bucket, key string) error {
	if err := s.bucketExists(bucket); err != nil {
		return err
	}
	unlock := s.lockKey(bucket, key)
	defer unlock()
	o, err := s.head(ctx, bucket, key)
	if errors.Is(err, ErrNoSuchKey) {
		return nil
	}
	if err != nil {
		return err
	}
	var batch store.Batch
	batch.DeleteRecord(nsObject, objectKey(bucket, key))
	if err := s.st.Commit(ctx, &batch); err != nil {
		return err
	}
	os.Remove(filepath.Join(s.dir, o.Blob))
	return nil
}

// CopyObject copies src to dst; with replace, the metadata given replaces
// the source's (the MetadataDirective REPLACE).
func (s *Service) CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, replace bool, in PutInput) (Object, error) {
	src, f, err := s.Open(ctx, srcBucket, srcKey)
	if err != nil {
		return Object{}, err
	}
	defer f.Close()
	if !replace {
		in.ContentType, in.Headers, in.Metadata = src.ContentType, src.Headers, src.Metadata
	}
	in.Checksums = src.Checksums
	in.ContentMD5, in.Check = nil, nil
	o, err := s.PutObject(ctx, dstBucket, dstKey, f, in)
	if err != nil {
		return Object{}, err
	}
	if src.Parts > 0 {
		// A copy of a multipart object is a single part with its own ETag.
		return o, nil
	}
	return o, nil
}

// ListInput are ListObjectsV2's parameters.
type ListInput struct {
	Prefix, Delimiter, StartAfter string
	MaxKeys                       int
}

// ListResult is a page of a listing.
type ListResult struct {
	Objects        []Object
	CommonPrefixes []string
	Truncated      bool
	// Next is the key to start after for the next page.
	Next string
}

// ListObjects lists keys in order, grouping those that share a prefix up
// to the delimiter.
func (s *Service) ListObjects(ctx context.Context, bucket string, in ListInput) (ListResult, error) {
	if err := s.bucketExists(bucket); err != nil {
		return ListResult{}, err
	}
	if in.MaxKeys <= 0 || in.MaxKeys > 1000 {
		in.MaxKeys = 1000
	}
	var res ListResult
	seen := map[string]bool{}
	count := 0
	err := s.st.ScanRecords(ctx, nsObject, objectKey(bucket, in.Prefix), func(k string, v []byte) error {
		key := k[len(bucket)+1:]
		if in.StartAfter != "" && key <= in.StartAfter {
			return nil
		}
		if in.Delimiter != "" {
			if i := strings.Index(key[len(in.Prefix):], in.Delimiter); i >= 0 {
				cp := key[:len(in.Prefix)+i+len(in.Delimiter)]
				if seen[cp] {
					return nil
				}
				if in.StartAfter != "" && cp <= in.StartAfter {
					return nil
				}
				if count == in.MaxKeys {
					res.Truncated = true
					return errStop
				}
				seen[cp] = true
				res.CommonPrefixes = append(res.CommonPrefixes, cp)
				res.Next = cp
				count++
				return nil
			}
		}
		if count == in.MaxKeys {
			res.Truncated = true
			return errStop
		}
		var o Object
		if err := json.Unmarshal(v, &o); err != nil {
			return fmt.Errorf("%w: object: %v", store.ErrCorrupt, err)
		}
		res.Objects = append(res.Objects, o)
		res.Next = key
		count++
		return nil
	})
	if err != nil && err != errStop {
		return ListResult{}, err
	}
	if !res.Truncated {
		res.Next = ""
	}
	return res, nil
}

// BlobPath returns the file holding an object's bytes (for code that
// unpacks archives, such as function code from S3).
func (s *Service) BlobPath(o Object) string { return filepath.Join(s.dir, o.Blob) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// ReadObject returns an object's bytes, refusing objects larger than max.
func (s *Service) ReadObject(ctx context.Context, bucket, key string, max int64) ([]byte, error) {
	o, f, err := s.Open(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if o.Size > max {
		return nil, errorf(ErrInvalidArgument, "The object is larger than %d bytes", max)
	}
	return io.ReadAll(f)
}
