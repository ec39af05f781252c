// Package firehose is forkline's Data Firehose: delivery streams that
// buffer the records put into them, durably, and deliver each buffer to
// object storage (compressed, under a time-partitioned prefix, through an
// optional transformation function) or to forkline's search index, as the
// Amazon Data Firehose developer guide describes.
//
// Invariants:
//   - A record is committed to the store, with the rest of its
//     PutRecordBatch, before the call answers; it leaves the buffer in the
//     commit that follows its delivery, so a crash may deliver it twice
//     (as Firehose may) but never loses it.
//   - A buffer is delivered when it reaches the stream's size hint or its
//     oldest record the interval hint, on the injected clock.
package firehose

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/snappy"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/uuid"
)

const (
	nsStream = "fh.stream" // name → Stream
	nsRecord = "fh.rec"    // name NUL %020d → record
)

// Error kinds; the text is Firehose's error code.
var (
	ErrNotFound = errors.New("ResourceNotFoundException")
	ErrInUse    = errors.New("ResourceInUseException")
	ErrInvalid  = errors.New("InvalidArgumentException")
)

// Error is a client error.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns the kind.
func (e *Error) Unwrap() error { return e.Kind }

// Code is the error's AWS code.
func (e *Error) Code() string { return e.Kind.Error() }

// Text is the error's message.
func (e *Error) Text() string { return e.Message }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// S3Destination is where a stream writes objects.
type S3Destination struct {
	BucketARN         string `json:"bucketArn"`
	Prefix            string `json:"prefix,omitempty"`
	ErrorOutputPrefix string `json:"errorPrefix,omitempty"`
	Compression       string `json:"compression,omitempty"` // UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY
	FileExtension     string `json:"fileExtension,omitempty"`
	IntervalSeconds   int    `json:"interval"`
	SizeMB            int    `json:"sizeMB"`
}

// SearchDestination is a search domain index, with an S3 backup.
type SearchDestination struct {
	DomainARN       string        `json:"domainArn"`
	IndexName       string        `json:"index"`
	TypeName        string        `json:"type,omitempty"`
	Rotation        string        `json:"rotation,omitempty"` // NoRotation, OneHour, OneDay, OneWeek, OneMonth
	RetrySeconds    int           `json:"retry"`
	IntervalSeconds int           `json:"interval"`
	SizeMB          int           `json:"sizeMB"`
	BackupMode      string        `json:"backupMode,omitempty"` // FailedDocumentsOnly, AllDocuments
	Backup          S3Destination `json:"backup"`
}

// Stream is a delivery stream.
type Stream struct {
	Name    string             `json:"name"`
	Arn     string             `json:"arn"`
	Type    string             `json:"type"`
	Created int64              `json:"created"`
	Version int                `json:"version"`
	S3      *S3Destination     `json:"s3,omitempty"`
	Search  *SearchDestination `json:"search,omitempty"`
	// Processor is the ARN of the transformation function, if any.
	Processor string `json:"processor,omitempty"`
}

type record struct {
	Data    []byte `json:"d"`
	Arrived int64  `json:"t"` // Unix ms
}

// Sink is where deliveries go; the server implements it over object
// storage, functions and the search index.
type Sink interface {
	PutObject(ctx context.Context, bucketARN, key string, body []byte) error
	// Transform invokes a transformation function synchronously.
	Transform(ctx context.Context, functionARN string, event []byte) ([]byte, error)
	// Index adds documents to a domain's index; it returns the positions
	// of the documents it refused, with why.
	Index(ctx context.Context, domainARN, index string, docs [][]byte) (failed map[int]string, err error)
}

// Config configures the Service.
type Config struct {
	Region, AccountID string
	Clock             clock.Clock
	Logger            *slog.Logger
	Sink              Sink
}

type buffer struct {
	bytes   int
	count   int
	oldest  time.Time
	flushed chan struct{} // closed by the flusher after each delivery (tests)
}

// Service holds the streams. It is safe for concurrent use.
type Service struct {
	st    store.Records
	cfg   Config
	clock clock.Clock
	log   *slog.Logger

	mu      sync.Mutex
	streams map[string]*Stream
	bufs    map[string]*buffer
	seq     int64
	wake    chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
	deliver sync.Mutex // one delivery at a time
}

// New loads the streams and their buffers, and starts delivering.
func New(ctx context.Context, st store.Records, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{st: st, cfg: cfg, clock: cfg.Clock, log: cfg.Logger.With("service", "firehose"), streams: map[string]*Stream{},
		bufs: map[string]*buffer{}, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	err := st.ScanRecords(ctx, nsStream, "", func(_ string, v []byte) error {
		var sm Stream
		if err := json.Unmarshal(v, &sm); err != nil {
			return fmt.Errorf("%w: stream: %v", store.ErrCorrupt, err)
		}
		s.streams[sm.Name] = &sm
		s.bufs[sm.Name] = &buffer{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = st.ScanRecords(ctx, nsRecord, "", func(k string, v []byte) error {
		name, seq, _ := strings.Cut(k, "\x00")
		n, _ := strconv.ParseInt(seq, 10, 64)
		if n > s.seq {
			s.seq = n
		}
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: record: %v", store.ErrCorrupt, err)
		}
		if b := s.bufs[name]; b != nil {
			b.add(len(r.Data), time.UnixMilli(r.Arrived))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

func (b *buffer) add(n int, at time.Time) {
	if b.count == 0 || at.Before(b.oldest) {
		b.oldest = at
	}
	b.bytes += n
	b.count++
}

// Close stops delivering; buffered records stay for the next start.
func (s *Service) Close() {
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

var streamName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

func (s *Service) arn(name string) string {
	return fmt.Sprintf("arn:aws:firehose:%s:%s:deliverystream/%s", s.cfg.Region, s.cfg.AccountID, name)
}

func clampHints(interval, size *int, defInterval, defSize int) error {
	if *interval == 0 {
		*interval = defInterval
	}
	if *size == 0 {
		*size = defSize
	}
	if *interval < 0 || *interval > 900 {
		return errorf(ErrInvalid, "BufferingHints.IntervalInSeconds must be between 0 and 900.")
	}
	if *size < 1 || *size > 128 {
		return errorf(ErrInvalid, "BufferingHints.SizeInMBs must be between 1 and 128.")
	}
	return nil
}

// Create makes a delivery stream.
func (s *Service) Create(ctx context.Context, sm Stream) (string, error) {
	if !streamName.MatchString(sm.Name) {
		return "", errorf(ErrInvalid, "1 validation error detected: Value '%s' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", sm.Name)
	}
	if (sm.S3 == nil) == (sm.Search == nil) {
		return "", errorf(ErrInvalid, "Exactly one destination configuration must be given.")
	}
	if sm.Type == "" {
		sm.Type = "DirectPut"
	}
	if sm.S3 != nil {
		if err := checkS3(sm.S3, 300, 5); err != nil {
			return "", err
		}
	}
	if sm.Search != nil {
		if err := clampHints(&sm.Search.IntervalSeconds, &sm.Search.SizeMB, 300, 5); err != nil {
			return "", err
		}
		if sm.Search.BackupMode == "" {
			sm.Search.BackupMode = "FailedDocumentsOnly"
		}
		if err := checkS3(&sm.Search.Backup, 300, 5); err != nil {
			return "", err
		}
	}
	sm.Arn, sm.Created, sm.Version = s.arn(sm.Name), s.clock.Now().UnixMilli(), 1
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams[sm.Name] != nil {
		return "", errorf(ErrInUse, "Firehose %s under account %s already exists.", sm.Name, s.cfg.AccountID)
	}
	var b store.Batch
	b.PutRecord(nsStream, sm.Name, mustJSON(&sm))
	if err := s.st.Commit(ctx, &b); err != nil {
		return "", err
	}
	s.streams[sm.Name] = &sm
	s.bufs[sm.Name] = &buffer{}
	return sm.Arn, nil
}

func checkS3(d *S3Destination, interval, size int) error {
	if !strings.HasPrefix(d.BucketARN, "arn:aws:s3:::") {
		return errorf(ErrInvalid, "BucketARN %q is not a valid S3 bucket ARN.", d.BucketARN)
	}
	// "If you specify a custom prefix with expressions, you must also
	// specify an error prefix" (Custom prefixes for Amazon S3 objects).
	if strings.Contains(d.Prefix, "!{") && d.ErrorOutputPrefix == "" {
		return errorf(ErrInvalid, "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions.")
	}
	switch d.Compression {
	case "":
		d.Compression = "UNCOMPRESSED"
	case "UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY":
	default:
		return errorf(ErrInvalid, "1 validation error detected: Value '%s' at 'compressionFormat' failed to satisfy constraint: Member must satisfy enum value set: [HADOOP_SNAPPY, ZIP, Snappy, UNCOMPRESSED, GZIP]", d.Compression)
	}
	return clampHints(&d.IntervalSeconds, &d.SizeMB, interval, size)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Describe returns a stream.
func (s *Service) Describe(ctx context.Context, name string) (Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm := s.streams[name]
	if sm == nil {
		return Stream{}, errorf(ErrNotFound, "Firehose %s under account %s not found.", name, s.cfg.AccountID)
	}
	return *sm, nil
}

// List lists the streams' names, sorted.
func (s *Service) List(ctx context.Context) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.streams))
	for n := range s.streams {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Delete deletes a stream after delivering what it buffers.
func (s *Service) Delete(ctx context.Context, name string) error {
	if _, err := s.Describe(ctx, name); err != nil {
		return err
	}
	s.flush(ctx, name, true)
	s.mu.Lock()
	defer s.mu.Unlock()
	var b store.Batch
	b.DeleteRecord(nsStream, name)
	err := s.st.ScanRecords(ctx, nsRecord, name+"\x00", func(k string, _ []byte) error {
		b.DeleteRecord(nsRecord, k)
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	delete(s.streams, name)
	delete(s.bufs, name)
	return nil
}

// PutResult is one record's result: its ID, or its error.
type PutResult struct{ RecordID, ErrorCode, ErrorMessage string }

// Put buffers records; they are durable when it returns.
func (s *Service) Put(ctx context.Context, name string, data [][]byte) ([]PutResult, error) {
	if len(data) == 0 || len(data) > 500 {
		return nil, errorf(ErrInvalid, "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to 500")
	}
	total := 0
	for _, d := range data {
		if len(d) > 1000*1024 {
			return nil, errorf(ErrInvalid, "1 validation error detected: Value at 'record.data' failed to satisfy constraint: Member must have length less than or equal to 1024000")
		}
		total += len(d)
	}
	if total > 4*1024*1024 {
		return nil, errorf(ErrInvalid, "Records size exceeds 4 MiB limit")
	}
	now := s.clock.Now()
	var b store.Batch
	out := make([]PutResult, len(data))
	s.mu.Lock()
	buf := s.bufs[name]
	if buf == nil {
		s.mu.Unlock()
		return nil, errorf(ErrNotFound, "Firehose %s under account %s not found.", name, s.cfg.AccountID)
	}
	for i, d := range data {
		s.seq++
		b.PutRecord(nsRecord, fmt.Sprintf("%s\x00%020d", name, s.seq), mustJSON(record{Data: d, Arrived: now.UnixMilli()}))
		out[i].RecordID = recordID(s.seq)
	}
	s.mu.Unlock()
	if err := s.st.Commit(ctx, &b); err != nil {
		return nil, err
	}
	s.mu.Lock()
	for _, d := range data {
		buf.add(len(d), now)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return out, nil
}

// recordID is a record's ID as Firehose shows it: an opaque string.
func recordID(seq int64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], uint64(seq))
	copy(b[:8], "forkline")
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// loop delivers buffers as they fill or age.
func (s *Service) loop() {
	defer s.wg.Done()
	for {
		now := s.clock.Now()
		var wait time.Duration = -1
		var due []string
		s.mu.Lock()
		for name, b := range s.bufs {
			if b.count == 0 {
				continue
			}
			interval, size := s.hints(s.streams[name])
			left := b.oldest.Add(interval).Sub(now)
			if b.bytes >= size || left <= 0 {
				due = append(due, name)
				continue
			}
			if wait < 0 || left < wait {
				wait = left
			}
		}
		s.mu.Unlock()
		for _, name := range due {
			s.flush(s.ctx, name, false)
		}
		if len(due) > 0 {
			continue
		}
		var timer clock.Timer
		var fire <-chan time.Time
		if wait >= 0 {
			timer = s.clock.NewTimer(wait)
			fire = timer.C()
		}
		select {
		case <-s.stop:
			if timer != nil {
				timer.Stop()
			}
			return
		case <-s.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

func (s *Service) hints(sm *Stream) (time.Duration, int) {
	if sm.S3 != nil {
		return time.Duration(sm.S3.IntervalSeconds) * time.Second, sm.S3.SizeMB << 20
	}
	return time.Duration(sm.Search.IntervalSeconds) * time.Second, sm.Search.SizeMB << 20
}

// flush delivers a stream's buffer (up to its size hint per object), then
// removes what it delivered. A failed delivery keeps the records and is
// tried again at the next interval.
func (s *Service) flush(ctx context.Context, name string, all bool) {
	s.deliver.Lock()
	defer s.deliver.Unlock()
	for {
		s.mu.Lock()
		sm := s.streams[name]
		buf := s.bufs[name]
		empty := buf == nil || buf.count == 0 // read under s.mu: Put adds to it
		s.mu.Unlock()
		if sm == nil || empty {
			return
		}
		_, size := s.hints(sm)
		var keys []string
		var recs []record
		bytes := 0
		err := s.st.ScanRecords(ctx, nsRecord, name+"\x00", func(k string, v []byte) error {
			if bytes >= size {
				return errStop
			}
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			keys = append(keys, k)
			recs = append(recs, r)
			bytes += len(r.Data)
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			s.log.Error("read the buffer", "stream", name, "err", err)
			return
		}
		if len(recs) == 0 {
			s.mu.Lock()
			*buf = buffer{}
			s.mu.Unlock()
			return
		}
		if err := s.deliverRecords(ctx, sm, recs); err != nil {
			s.log.Warn("delivery failed; the records stay buffered", "stream", name, "err", err)
			// Try again after an interval: make the buffer look fresh.
			s.mu.Lock()
			buf.oldest = s.clock.Now()
			s.mu.Unlock()
			return
		}
		var b store.Batch
		for _, k := range keys {
			b.DeleteRecord(nsRecord, k)
		}
		if err := s.st.Commit(ctx, &b); err != nil {
			s.log.Error("drop delivered records", "stream", name, "err", err)
			return
		}
		s.mu.Lock()
		buf.bytes -= bytes
		buf.count -= len(recs)
		if buf.count <= 0 {
			*buf = buffer{}
		} else {
			buf.oldest = time.UnixMilli(recs[len(recs)-1].Arrived)
		}
		more := buf.count > 0 && (all || buf.bytes >= size)
		s.mu.Unlock()
		if !more {
			return
		}
	}
}

var errStop = errors.New("stop")

// deliverRecords transforms and writes one buffer.
func (s *Service) deliverRecords(ctx context.Context, sm *Stream, recs []record) error {
	data := make([][]byte, len(recs))
	for i, r := range recs {
		data[i] = r.Data
	}
	oldest := time.UnixMilli(recs[0].Arrived).UTC()
	var failedTransform [][]byte
	if sm.Processor != "" {
		var err error
		data, failedTransform, err = s.transform(ctx, sm, recs)
		if err != nil {
			return err
		}
	}
	if sm.S3 != nil {
		if len(data) > 0 {
			if err := s.writeObject(ctx, sm, sm.S3, sm.S3.Prefix, oldest, data); err != nil {
				return err
			}
		}
		if len(failedTransform) > 0 {
			return s.writeObject(ctx, sm, sm.S3, errorPrefix(sm.S3, "processing-failed"), oldest, failedTransform)
		}
		return nil
	}
	d := sm.Search
	index := rotate(d.IndexName, d.Rotation, oldest)
	failed, err := s.cfg.Sink.Index(ctx, d.DomainARN, index, data)
	if err != nil {
		return err
	}
	var backup [][]byte
	for i, doc := range data {
		reason, bad := failed[i]
		if d.BackupMode == "AllDocuments" || bad {
			if bad {
				doc = mustJSON(map[string]any{"attemptsMade": 1, "arrivalTimestamp": recs[i].Arrived, "errorCode": "400",
					"errorMessage": reason, "rawData": base64.StdEncoding.EncodeToString(doc), "esDocumentId": "", "esIndexName": index,
					"esTypeName": d.TypeName})
				doc = append(doc, '\n')
			}
			backup = append(backup, doc)
		}
	}
	backup = append(backup, failedTransform...)
	if len(backup) > 0 {
		prefix := d.Backup.Prefix
		if d.BackupMode == "FailedDocumentsOnly" {
			prefix = errorPrefix(&d.Backup, "elasticsearch-failed")
		}
		return s.writeObject(ctx, sm, &d.Backup, prefix, oldest, backup)
	}
	return nil
}

// errorPrefix is where failed records go: the destination's error output
// prefix, or the prefix followed by the error type.
func errorPrefix(d *S3Destination, kind string) string {
	if d.ErrorOutputPrefix != "" {
		return strings.ReplaceAll(d.ErrorOutputPrefix, "!{firehose:error-output-type}", kind)
	}
	return d.Prefix + kind + "/"
}

// rotate appends the index rotation suffix ("Index rotation for the
// OpenSearch Service destination").
func rotate(index, period string, t time.Time) string {
	switch period {
	case "OneHour":
		return index + "-" + t.Format("2006-01-02-15")
	case "OneDay":
		return index + "-" + t.Format("2006-01-02")
	case "OneWeek":
		y, w := t.ISOWeek()
		return fmt.Sprintf("%s-%d-w%02d", index, y, w)
	case "OneMonth":
		return index + "-" + t.Format("2006-01")
	}
	return index
}

// transform runs the records through the transformation function
// ("Transform source data in Amazon Data Firehose"): records answered Ok
// go on, Dropped ones are left out, ProcessingFailed ones (and those the
// answer lacks) go to the error prefix.
func (s *Service) transform(ctx context.Context, sm *Stream, recs []record) (ok, failed [][]byte, err error) {
	type inRec struct {
		RecordID string `json:"recordId"`
		Arrival  int64  `json:"approximateArrivalTimestamp"`
		Data     string `json:"data"`
	}
	event := struct {
		InvocationID string  `json:"invocationId"`
		StreamArn    string  `json:"deliveryStreamArn"`
		Region       string  `json:"region"`
		Records      []inRec `json:"records"`
	}{InvocationID: uuid.New(), StreamArn: sm.Arn, Region: s.cfg.Region}
	for i, r := range recs {
		event.Records = append(event.Records, inRec{RecordID: strconv.Itoa(i), Arrival: r.Arrived, Data: base64.StdEncoding.EncodeToString(r.Data)})
	}
	out, err := s.cfg.Sink.Transform(ctx, sm.Processor, mustJSON(event))
	if err != nil {
		return nil, nil, err
	}
	var resp struct {
		Records []struct {
			RecordID string `json:"recordId"`
			Result   string `json:"result"`
			Data     string `json:"data"`
		} `json:"records"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, nil, fmt.Errorf("the transformation function answered no records: %v", err)
	}
	seen := map[string]bool{}
	for _, r := range resp.Records {
		i, err := strconv.Atoi(r.RecordID)
		if err != nil || i < 0 || i >= len(recs) || seen[r.RecordID] {
			continue
		}
		seen[r.RecordID] = true
		switch r.Result {
		case "Ok":
			d, err := base64.StdEncoding.DecodeString(r.Data)
			if err != nil {
				failed = append(failed, processingFailure(recs[i], "Lambda.InvalidBase64"))
				continue
			}
			ok = append(ok, d)
		case "Dropped":
		default:
			failed = append(failed, processingFailure(recs[i], "Lambda.ProcessingFailed"))
		}
	}
	for i, r := range recs {
		if !seen[strconv.Itoa(i)] {
			failed = append(failed, processingFailure(r, "Lambda.MissingRecordId"))
		}
	}
	return ok, failed, nil
}

func processingFailure(r record, code string) []byte {
	b := mustJSON(map[string]any{"attemptsMade": 1, "arrivalTimestamp": r.Arrived, "errorCode": code,
		"errorMessage": "The record was not processed by the transformation function.", "rawData": base64.StdEncoding.EncodeToString(r.Data)})
	return append(b, '\n')
}

var timestampExpr = regexp.MustCompile(`!\{timestamp:([^}]*)\}`)

// evaluatePrefix evaluates a prefix's !{timestamp:...} expressions; a
// prefix without them gets the default YYYY/MM/dd/HH/ time prefix ("Custom
// prefixes for Amazon S3 objects").
func evaluatePrefix(prefix string, t time.Time) string {
	if !timestampExpr.MatchString(prefix) {
		return prefix + t.Format("2006/01/02/15/")
	}
	prefix = timestampExpr.ReplaceAllStringFunc(prefix, func(m string) string {
		return javaTime(timestampExpr.FindStringSubmatch(m)[1], t)
	})
	return strings.ReplaceAll(prefix, "!{firehose:random-string}", strings.ReplaceAll(uuid.New(), "-", "")[:11])
}

// javaTime formats t with the subset of Java DateTimeFormatter patterns
// prefixes use: yyyy, yy, MM, dd, HH, mm, ss, and 'quoted' text.
func javaTime(pattern string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(pattern); {
		switch {
		case pattern[i] == '\'':
			j := strings.IndexByte(pattern[i+1:], '\'')
			if j < 0 {
				b.WriteString(pattern[i+1:])
				return b.String()
			}
			b.WriteString(pattern[i+1 : i+1+j])
			i += j + 2
		case strings.HasPrefix(pattern[i:], "yyyy"):
			b.WriteString(t.Format("2006"))
			i += 4
		case strings.HasPrefix(pattern[i:], "yy"):
			b.WriteString(t.Format("06"))
			i += 2
		case strings.HasPrefix(pattern[i:], "MM"):
			b.WriteString(t.Format("01"))
			i += 2
		case strings.HasPrefix(pattern[i:], "dd"):
			b.WriteString(t.Format("02"))
			i += 2
		case strings.HasPrefix(pattern[i:], "HH"):
			b.WriteString(t.Format("15"))
			i += 2
		case strings.HasPrefix(pattern[i:], "mm"):
			b.WriteString(t.Format("04"))
			i += 2
		case strings.HasPrefix(pattern[i:], "ss"):
			b.WriteString(t.Format("05"))
			i += 2
		default:
			b.WriteByte(pattern[i])
			i++
		}
	}
	return b.String()
}

// writeObject concatenates, compresses and writes one object, named as
// Firehose names them: <prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>.
func (s *Service) writeObject(ctx context.Context, sm *Stream, d *S3Destination, prefix string, oldest time.Time, data [][]byte) error {
	body := bytes.Join(data, nil)
	name := fmt.Sprintf("%s-%d-%s-%s", sm.Name, sm.Version, oldest.Format("2006-01-02-15-04-05"), uuid.New())
	ext := ""
	switch d.Compression {
	case "GZIP":
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body, ext = buf.Bytes(), ".gz"
	case "ZIP":
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create(name)
		w.Write(body)
		zw.Close()
		body, ext = buf.Bytes(), ".zip"
	case "Snappy":
		var buf bytes.Buffer
		zw := snappy.NewBufferedWriter(&buf)
		zw.Write(body)
		zw.Close()
		body, ext = buf.Bytes(), ".snappy"
	case "HADOOP_SNAPPY":
		body, ext = hadoopSnappy(body), ".snappy"
	}
	if d.FileExtension != "" {
		ext = d.FileExtension
	}
	key := evaluatePrefix(prefix, oldest) + name + ext
	return s.cfg.Sink.PutObject(ctx, d.BucketARN, key, body)
}

// hadoopSnappy is Hadoop's block framing of snappy: for each block, its
// raw length, then each compressed chunk with its length, big-endian.
func hadoopSnappy(body []byte) []byte {
	const block = 256 << 10
	var out bytes.Buffer
	var n [4]byte
	for len(body) > 0 || out.Len() == 0 {
		chunk := body
		if len(chunk) > block {
			chunk = chunk[:block]
		}
		body = body[len(chunk):]
		binary.BigEndian.PutUint32(n[:], uint32(len(chunk)))
		out.Write(n[:])
		c := snappy.Encode(nil, chunk)
		binary.BigEndian.PutUint32(n[:], uint32(len(c)))
		out.Write(n[:])
		out.Write(c)
		if len(body) == 0 {
			break
		}
	}
	return out.Bytes()
}

// FlushAll delivers every buffer now (shutdown and tests).
func (s *Service) FlushAll(ctx context.Context) {
	for _, name := range s.List(ctx) {
		s.flush(ctx, name, true)
	}
}
