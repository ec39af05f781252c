package firehose

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

type sink struct {
	mu      sync.Mutex
	objects map[string][]byte
	docs    []string
}

func (s *sink) PutObject(_ context.Context, bucket, key string, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[strings.TrimPrefix(bucket, "arn:aws:s3:::")+"/"+key] = body
	return nil
}

// Transform upper-cases records, drops "drop" and fails "fail".
func (s *sink) Transform(_ context.Context, _ string, event []byte) ([]byte, error) {
	var in struct {
		Records []struct{ RecordID, Data string }
	}
	json.Unmarshal(event, &in)
	var out []map[string]string
	for _, r := range in.Records {
		d, _ := base64.StdEncoding.DecodeString(r.Data)
		res := "Ok"
		switch strings.TrimSpace(string(d)) {
		case "drop":
			res = "Dropped"
		case "fail":
			res = "ProcessingFailed"
		}
		out = append(out, map[string]string{"recordId": r.RecordID, "result": res, "data": base64.StdEncoding.EncodeToString(bytes.ToUpper(d))})
	}
	return json.Marshal(map[string]any{"records": out})
}

func (s *sink) Index(_ context.Context, domain, index string, docs [][]byte) (map[int]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	failed := map[int]string{}
	for i, d := range docs {
		if !json.Valid(d) {
			failed[i] = "mapper_parsing_exception"
			continue
		}
		s.docs = append(s.docs, index+" "+string(d))
	}
	return failed, nil
}

func (s *sink) snapshot() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range s.objects {
		out[k] = v
	}
	return out
}

func open(t *testing.T, dir string, clk clock.Clock, sk *sink) (*Service, func()) {
	t.Helper()
	st, err := pebblestore.Open(dir, pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), st, Config{Region: "us-east-1", AccountID: "000000000000", Clock: clk, Sink: sk})
	if err != nil {
		t.Fatal(err)
	}
	return s, func() { s.Close(); st.Close() }
}

// waitObjects waits for the sink to hold n objects, advancing the fake
// clock by step while it waits.
func waitObjects(t *testing.T, sk *sink, n int) map[string][]byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if o := sk.snapshot(); len(o) >= n {
			return o
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%d objects, want %d", len(sk.snapshot()), n)
	return nil
}

func advance(t *testing.T, clk *clock.Fake, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for clk.Pending() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	clk.Advance(d)
}

// Buffering by interval, the object name, prefix and compression ("Amazon
// S3 object name format", "Configure buffering hints" in the Firehose
// developer guide); records survive a restart while buffered.
func TestIntervalBufferingCompressionAndRestart(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 27, 7, 30, 0, 0, time.UTC))
	dir := t.TempDir()
	sk := &sink{objects: map[string][]byte{}}
	s, closeFn := open(t, dir, clk, sk)
	for _, format := range []string{"UNCOMPRESSED", "GZIP", "ZIP", "Snappy"} {
		if _, err := s.Create(ctx, Stream{Name: "s-" + strings.ToLower(format), S3: &S3Destination{BucketARN: "arn:aws:s3:::backup",
			Prefix: "events/", Compression: format, IntervalSeconds: 60, SizeMB: 5}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, "s-"+strings.ToLower(format), [][]byte{[]byte("a\n"), []byte("b\n")}); err != nil {
			t.Fatal(err)
		}
	}
	closeFn() // buffered, not delivered
	if len(sk.snapshot()) != 0 {
		t.Fatal("delivered before the interval")
	}
	s, closeFn = open(t, dir, clk, sk)
	defer closeFn()
	advance(t, clk, 61*time.Second)
	objs := waitObjects(t, sk, 4)
	for key, body := range objs {
		if !strings.HasPrefix(key, "backup/events/2026/11/27/07/s-") || !strings.Contains(key, "-1-2026-11-27-07-30-00-") {
			t.Errorf("key %s", key)
		}
		var plain []byte
		switch {
		case strings.HasSuffix(key, ".gz"):
			zr, _ := gzip.NewReader(bytes.NewReader(body))
			plain, _ = io.ReadAll(zr)
		case strings.HasSuffix(key, ".zip"):
			zr, _ := zip.NewReader(bytes.NewReader(body), int64(len(body)))
			f, _ := zr.File[0].Open()
			plain, _ = io.ReadAll(f)
		case strings.HasSuffix(key, ".snappy"):
			plain, _ = io.ReadAll(snappy.NewReader(bytes.NewReader(body)))
		default:
			plain = body
		}
		if string(plain) != "a\nb\n" {
			t.Errorf("%s holds %q", key, plain)
		}
	}
}

func TestSizeBufferingAndTransformation(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 27, 7, 30, 0, 0, time.UTC))
	sk := &sink{objects: map[string][]byte{}}
	s, closeFn := open(t, t.TempDir(), clk, sk)
	defer closeFn()
	if _, err := s.Create(ctx, Stream{Name: "big", Processor: "arn:aws:lambda:us-east-1:000000000000:function:t",
		S3: &S3Destination{BucketARN: "arn:aws:s3:::b", Prefix: "p/!{timestamp:yyyy-MM}/", ErrorOutputPrefix: "errors/!{firehose:error-output-type}/", IntervalSeconds: 900, SizeMB: 1}}); err != nil {
		t.Fatal(err)
	}
	recs := [][]byte{[]byte("keep\n"), []byte("drop\n"), []byte("fail\n"), bytes.Repeat([]byte("x"), 600<<10), bytes.Repeat([]byte("y"), 600<<10)}
	if _, err := s.Put(ctx, "big", recs); err != nil {
		t.Fatal(err)
	}
	// Over the size hint: delivered without waiting for the interval.
	objs := waitObjects(t, sk, 2)
	var good, failed string
	for k, v := range objs {
		switch {
		case strings.HasPrefix(k, "b/p/2026-11/big-1-"):
			good = string(v)
		case strings.HasPrefix(k, "b/errors/processing-failed/2026/11/27/07/big-1-"):
			failed = string(v)
		default:
			t.Errorf("unexpected object %s", k)
		}
	}
	if !strings.HasPrefix(good, "KEEP\nXXX") || !strings.HasSuffix(good, "YYY") || strings.Contains(good, "DROP") {
		t.Fatalf("delivered %.20q", good)
	}
	if !strings.Contains(failed, `"errorCode":"Lambda.ProcessingFailed"`) {
		t.Fatalf("failed %q", failed)
	}
}

func TestSearchDestinationBacksUpFailedDocuments(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 27, 7, 30, 0, 0, time.UTC))
	sk := &sink{objects: map[string][]byte{}}
	s, closeFn := open(t, t.TempDir(), clk, sk)
	defer closeFn()
	if _, err := s.Create(ctx, Stream{Name: "idx", Search: &SearchDestination{DomainARN: "arn:aws:es:us-east-1:000000000000:domain/d",
		IndexName: "events", Rotation: "OneDay", IntervalSeconds: 60, SizeMB: 5, Backup: S3Destination{BucketARN: "arn:aws:s3:::dlq"}}}); err != nil {
		t.Fatal(err)
	}
	s.Put(ctx, "idx", [][]byte{[]byte(`{"a":1}`), []byte(`not json`)})
	advance(t, clk, time.Minute)
	objs := waitObjects(t, sk, 1)
	for k := range objs {
		if !strings.HasPrefix(k, "dlq/elasticsearch-failed/2026/11/27/07/idx-1-") {
			t.Fatalf("backup key %s", k)
		}
	}
	if len(sk.docs) != 1 || sk.docs[0] != `events-2026-11-27 {"a":1}` {
		t.Fatalf("indexed %v", sk.docs)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	s, closeFn := open(t, t.TempDir(), clock.Real{}, &sink{objects: map[string][]byte{}})
	defer closeFn()
	for _, bad := range []Stream{
		{Name: "bad name!", S3: &S3Destination{BucketARN: "arn:aws:s3:::b"}},
		{Name: "nodest"},
		{Name: "badfmt", S3: &S3Destination{BucketARN: "arn:aws:s3:::b", Compression: "LZ4"}},
		{Name: "badbucket", S3: &S3Destination{BucketARN: "b"}},
		{Name: "badsize", S3: &S3Destination{BucketARN: "arn:aws:s3:::b", SizeMB: 200}},
	} {
		if _, err := s.Create(ctx, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := s.Put(ctx, "missing", [][]byte{[]byte("x")}); err == nil {
		t.Fatal("put into a missing stream")
	}
}
