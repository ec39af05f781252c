package object

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/store"
)

// Multipart uploads (S3 API reference: CreateMultipartUpload, UploadPart,
// CompleteMultipartUpload, AbortMultipartUpload, ListParts).

// MinPartSize is the least size of every part but the last.
const MinPartSize = 5 << 20

// Upload is a multipart upload in progress.
type Upload struct {
	ID          string            `json:"id"`
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	Initiated   int64             `json:"initiated"`
	ContentType string            `json:"contentType,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Metadata    map[string]string `json:"meta,omitempty"`
}

// Part is an uploaded part.
type Part struct {
	Number   int    `json:"n"`
	Size     int64  `json:"size"`
	ETag     string `json:"etag"`
	Modified int64  `json:"modified"`
	Blob     string `json:"blob"`
}

func partKey(id string, n int) string { return fmt.Sprintf("%s\x00%05d", id, n) }

// CreateUpload starts a multipart upload.
func (s *Service) CreateUpload(ctx context.Context, bucket, key string, in PutInput) (Upload, error) {
	if err := s.bucketExists(bucket); err != nil {
		return Upload{}, err
	}
	if len(key) > MaxKeyLength {
		return Upload{}, errorf(ErrKeyTooLong, "Your key is too long")
	}
	var id [24]byte
	rand.Read(id[:])
	u := Upload{ID: base64.RawURLEncoding.EncodeToString(id[:]), Bucket: bucket, Key: key, Initiated: s.clock.Now().UnixMilli(),
		ContentType: in.ContentType, Headers: in.Headers, Metadata: in.Metadata}
	var b store.Batch
	b.PutRecord(nsUpload, u.ID, mustJSON(u))
	if err := s.st.Commit(ctx, &b); err != nil {
		return Upload{}, err
	}
	return u, nil
}

func (s *Service) upload(ctx context.Context, bucket, key, id string) (Upload, error) {
	if err := s.bucketExists(bucket); err != nil {
		return Upload{}, err
	}
	v, err := s.st.GetRecord(ctx, nsUpload, id)
	if errors.Is(err, store.ErrNotFound) {
		return Upload{}, errorf(ErrNoSuchUpload, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	}
	if err != nil {
		return Upload{}, err
	}
	var u Upload
	if err := json.Unmarshal(v, &u); err != nil {
		return Upload{}, fmt.Errorf("%w: upload: %v", store.ErrCorrupt, err)
	}
	if u.Bucket != bucket || u.Key != key {
		return Upload{}, errorf(ErrNoSuchUpload, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	}
	return u, nil
}

// UploadPart stores part n (1 to 10000) of an upload.
func (s *Service) UploadPart(ctx context.Context, bucket, key, id string, n int, body io.Reader, in PutInput) (Part, error) {
	if n < 1 || n > 10000 {
		return Part{}, errorf(ErrInvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
	}
	if _, err := s.upload(ctx, bucket, key, id); err != nil {
		return Part{}, err
	}
	w, err := s.newBlob(in.Hashes...)
	if err != nil {
		return Part{}, err
	}
	if _, err := io.Copy(w, body); err != nil {
		w.abort()
		return Part{}, err
	}
	sum := w.md5.Sum(nil)
	if in.ContentMD5 != nil && string(in.ContentMD5) != string(sum) {
		w.abort()
		return Part{}, errorf(ErrBadDigest, "The Content-MD5 you specified did not match what we received.")
	}
	if in.Check != nil {
		if _, err := in.Check(w.n); err != nil {
			w.abort()
			return Part{}, err
		}
	}
	if err := w.finish(s.dir); err != nil {
		return Part{}, err
	}
	p := Part{Number: n, Size: w.n, ETag: `"` + hex.EncodeToString(sum) + `"`, Modified: s.clock.Now().UnixMilli(), Blob: w.name}
	unlock := s.lockKey("\x00upload", id)
	defer unlock()
	var old Part
	if v, err := s.st.GetRecord(ctx, nsPart, partKey(id, n)); err == nil {
		json.Unmarshal(v, &old)
	}
	var b store.Batch
	b.PutRecord(nsPart, partKey(id, n), mustJSON(p))
	if err := s.st.Commit(ctx, &b); err != nil {
		os.Remove(filepath.Join(s.dir, w.name))
		return Part{}, err
	}
	if old.Blob != "" {
		os.Remove(filepath.Join(s.dir, old.Blob))
	}
	return p, nil
}

// Parts lists an upload's parts in order.
func (s *Service) Parts(ctx context.Context, bucket, key, id string) (Upload, []Part, error) {
	u, err := s.upload(ctx, bucket, key, id)
	if err != nil {
		return Upload{}, nil, err
	}
	var parts []Part
	err = s.st.ScanRecords(ctx, nsPart, id+"\x00", func(_ string, v []byte) error {
		var p Part
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("%w: part: %v", store.ErrCorrupt, err)
		}
		parts = append(parts, p)
		return nil
	})
	return u, parts, err
}

// CompletedPart is a part named in CompleteMultipartUpload.
type CompletedPart struct {
	Number int
	ETag   string
}

// CompleteUpload assembles the parts named, in ascending order, into the
// object; the ETag is the MD5 of the parts' MD5s with their count.
func (s *Service) CompleteUpload(ctx context.Context, bucket, key, id string, want []CompletedPart) (Object, error) {
	u, parts, err := s.Parts(ctx, bucket, key, id)
	if err != nil {
		return Object{}, err
	}
	if len(want) == 0 {
		return Object{}, errorf(ErrInvalidArgument, "You must specify at least one part")
	}
	byNum := map[int]Part{}
	for _, p := range parts {
		byNum[p.Number] = p
	}
	for i, c := range want {
		if i > 0 && c.Number <= want[i-1].Number {
			return Object{}, errorf(ErrInvalidPartOrder, "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
		}
	}
	var use []Part
	for i, c := range want {
		p, ok := byNum[c.Number]
		if !ok || strings.Trim(c.ETag, `"`) != strings.Trim(p.ETag, `"`) {
			return Object{}, errorf(ErrInvalidPart, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.")
		}
		if i < len(want)-1 && p.Size < MinPartSize {
			return Object{}, errorf(ErrEntityTooSmall, "Your proposed upload is smaller than the minimum allowed object size.")
		}
		use = append(use, p)
	}
	w, err := s.newBlob()
	if err != nil {
		return Object{}, err
	}
	etags := md5.New()
	for _, p := range use {
		f, err := os.Open(filepath.Join(s.dir, p.Blob))
		if err != nil {
			w.abort()
			return Object{}, err
		}
		_, err = io.Copy(w, f)
		f.Close()
		if err != nil {
			w.abort()
			return Object{}, err
		}
		raw, _ := hex.DecodeString(strings.Trim(p.ETag, `"`))
		etags.Write(raw)
	}
	if err := w.finish(s.dir); err != nil {
		return Object{}, err
	}
	o := Object{Key: key, Size: w.n, ETag: fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(etags.Sum(nil)), len(use)),
		LastModified: s.clock.Now().UnixMilli(), ContentType: u.ContentType, Headers: u.Headers, Metadata: u.Metadata,
		Parts: len(use), Blob: w.name}
	err = s.commitObject(ctx, bucket, o, func(b *store.Batch) {
		b.DeleteRecord(nsUpload, id)
		for _, p := range parts {
			b.DeleteRecord(nsPart, partKey(id, p.Number))
		}
	})
	if err != nil {
		os.Remove(filepath.Join(s.dir, w.name))
		return Object{}, err
	}
	for _, p := range parts {
		os.Remove(filepath.Join(s.dir, p.Blob))
	}
	return o, nil
}

// AbortUpload discards an upload and its parts.
func (s *Service) AbortUpload(ctx context.Context, bucket, key, id string) error {
	_, parts, err := s.Parts(ctx, bucket, key, id)
	if err != nil {
		return err
	}
	var b store.Batch
	b.DeleteRecord(nsUpload, id)
	for _, p := range parts {
		b.DeleteRecord(nsPart, partKey(id, p.Number))
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	for _, p := range parts {
		os.Remove(filepath.Join(s.dir, p.Blob))
	}
	return nil
}

// Uploads lists a bucket's uploads in progress.
func (s *Service) Uploads(ctx context.Context, bucket string) ([]Upload, error) {
	if err := s.bucketExists(bucket); err != nil {
		return nil, err
	}
	var out []Upload
	err := s.st.ScanRecords(ctx, nsUpload, "", func(_ string, v []byte) error {
		var u Upload
		if json.Unmarshal(v, &u) == nil && u.Bucket == bucket {
			out = append(out, u)
		}
		return nil
	})
	return out, err
}

// Initiated returns when the upload began.
func (u Upload) InitiatedAt() time.Time { return time.UnixMilli(u.Initiated) }
