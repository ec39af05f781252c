// Package logs is forkline's CloudWatch Logs: log groups, streams and
// events, written by functions (one stream per sandbox, START / END /
// REPORT lines included) and by clients with PutLogEvents, and read with
// the Logs API.
//
// Events are buffered and written in batches every flushInterval, one
// store commit per batch: logs are not acknowledged writes, and a crash
// may lose the last fraction of a second of function output, never an
// API-acknowledged PutLogEvents (which commits before it answers).
package logs

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store"
)

// Record namespaces: groups by name, streams by GROUP NUL STREAM, events by
// GROUP NUL STREAM NUL TIMESTAMP SEQUENCE (big-endian, so keys sort by time).
const (
	nsGroup  = "logs.group"
	nsStream = "logs.stream"
	nsEvent  = "logs.ev"
)

const flushInterval = 200 * time.Millisecond

// Sentinel errors; the text is CloudWatch Logs' error code.
var (
	ErrResourceNotFound      = errors.New("ResourceNotFoundException")
	ErrResourceAlreadyExists = errors.New("ResourceAlreadyExistsException")
	ErrInvalidParameter      = errors.New("InvalidParameterException")
)

// Error is a client error.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Group is a log group.
type Group struct {
	Name         string `json:"name"`
	CreationTime int64  `json:"creationTime"`
}

// Stream is a log stream with its event bounds.
type Stream struct {
	Group         string `json:"group"`
	Name          string `json:"name"`
	CreationTime  int64  `json:"creationTime"`
	FirstEvent    int64  `json:"firstEvent,omitempty"`
	LastEvent     int64  `json:"lastEvent,omitempty"`
	LastIngestion int64  `json:"lastIngestion,omitempty"`
	StoredBytes   int64  `json:"storedBytes,omitempty"`
	// Sequence orders events of the same millisecond; it is stored with
	// the stream so that keys never repeat across restarts.
	Sequence uint32 `json:"seq,omitempty"`
}

// Event is one log event.
type Event struct {
	Stream        string
	Timestamp     int64 // Unix milliseconds
	IngestionTime int64
	Message       string
	ID            string
}

type eventRec struct {
	Message   string `json:"m"`
	Ingestion int64  `json:"i"`
}

// Service stores and reads logs. It is safe for concurrent use.
type Service struct {
	st    store.Records
	clock clock.Clock
	log   *slog.Logger
	acct  string
	reg   string

	mu      sync.Mutex // guards groups, streams and pending
	groups  map[string]*Group
	streams map[string]*Stream // by GROUP NUL STREAM
	pending store.Batch
	// dirty are the streams whose record the next flush writes: a
	// function's stream changes with every line, and is written once per
	// flush rather than once per line.
	dirty map[*Stream]struct{}

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// New loads the groups and streams and starts the flusher.
func New(ctx context.Context, st store.Records, region, account string, clk clock.Clock, log *slog.Logger) (*Service, error) {
	s := &Service{st: st, clock: clk, log: log.With("service", "logs"), acct: account, reg: region,
		groups: map[string]*Group{}, streams: map[string]*Stream{}, dirty: map[*Stream]struct{}{}, done: make(chan struct{})}
	err := st.ScanRecords(ctx, nsGroup, "", func(_ string, v []byte) error {
		var g Group
		if err := json.Unmarshal(v, &g); err != nil {
			return fmt.Errorf("%w: log group: %v", store.ErrCorrupt, err)
		}
		s.groups[g.Name] = &g
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = st.ScanRecords(ctx, nsStream, "", func(k string, v []byte) error {
		var x Stream
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("%w: log stream: %v", store.ErrCorrupt, err)
		}
		x.Sequence += 1 << 20 // past any events buffered but not recorded
		s.streams[k] = &x
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.flusher()
	return s, nil
}

// Close flushes buffered events and stops.
func (s *Service) Close() {
	s.cancel()
	<-s.done
}

func (s *Service) flusher() {
	defer close(s.done)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			s.flush(context.Background())
			return
		case <-t.C:
			s.flush(s.ctx)
		}
	}
}

func (s *Service) flush(ctx context.Context) {
	s.mu.Lock()
	for x := range s.dirty {
		key := x.Group + "\x00" + x.Name
		if s.streams[key] == x { // not deleted since
			s.pending.PutRecord(nsStream, key, mustJSON(x))
		}
	}
	clear(s.dirty)
	b := s.pending
	s.pending = store.Batch{}
	s.mu.Unlock()
	if b.Len() == 0 {
		return
	}
	if err := s.st.Commit(ctx, &b); err != nil && ctx.Err() == nil {
		s.log.Error("write log events", "err", err)
	}
}

func eventKey(group, stream string, ts int64, seq uint32) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(ts)+1<<63) // sortable even before 1970
	binary.BigEndian.PutUint32(b[8:], seq)
	return group + "\x00" + stream + "\x00" + string(b[:])
}

// ensure creates a group and stream as needed. Requires s.mu.
func (s *Service) ensure(b *store.Batch, group, stream string, now int64) *Stream {
	if s.groups[group] == nil {
		g := &Group{Name: group, CreationTime: now}
		s.groups[group] = g
		b.PutRecord(nsGroup, group, mustJSON(g))
	}
	key := group + "\x00" + stream
	x := s.streams[key]
	if x == nil {
		x = &Stream{Group: group, Name: stream, CreationTime: now}
		s.streams[key] = x
	}
	return x
}

// append adds events to a stream in b; the caller writes the stream's
// record. Requires s.mu.
func (s *Service) append(b *store.Batch, x *Stream, events []Event, now int64) {
	for _, e := range events {
		x.Sequence++
		b.PutRecord(nsEvent, eventKey(x.Group, x.Name, e.Timestamp, x.Sequence), mustJSON(eventRec{e.Message, now}))
		if x.FirstEvent == 0 || e.Timestamp < x.FirstEvent {
			x.FirstEvent = e.Timestamp
		}
		if e.Timestamp > x.LastEvent {
			x.LastEvent = e.Timestamp
		}
		x.StoredBytes += int64(len(e.Message))
	}
	x.LastIngestion = now
}

// Append buffers a line of output for a function's stream, creating the
// group and stream as Lambda does.
func (s *Service) Append(group, stream string, ts time.Time, message string) {
	now := s.clock.Now().UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.ensure(&s.pending, group, stream, now)
	s.append(&s.pending, x, []Event{{Timestamp: ts.UnixMilli(), Message: message}}, now)
	s.dirty[x] = struct{}{}
}

// CreateGroup creates a log group.
func (s *Service) CreateGroup(ctx context.Context, name string) error {
	if err := checkName("logGroupName", name, 512); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[name] != nil {
		return errorf(ErrResourceAlreadyExists, "The specified log group already exists")
	}
	g := &Group{Name: name, CreationTime: s.clock.Now().UnixMilli()}
	var b store.Batch
	b.PutRecord(nsGroup, name, mustJSON(g))
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	s.groups[name] = g
	return nil
}

// CreateStream creates a log stream.
func (s *Service) CreateStream(ctx context.Context, group, name string) error {
	if err := checkName("logStreamName", name, 512); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[group] == nil {
		return errorf(ErrResourceNotFound, "The specified log group does not exist.")
	}
	if s.streams[group+"\x00"+name] != nil {
		return errorf(ErrResourceAlreadyExists, "The specified log stream already exists")
	}
	x := &Stream{Group: group, Name: name, CreationTime: s.clock.Now().UnixMilli()}
	var b store.Batch
	b.PutRecord(nsStream, group+"\x00"+name, mustJSON(x))
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	s.streams[group+"\x00"+name] = x
	return nil
}

func checkName(field, name string, max int) error {
	if name == "" || len(name) > max || strings.ContainsAny(name, ":*") {
		return errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name, field)
	}
	return nil
}

// Put writes events to an existing stream durably.
func (s *Service) Put(ctx context.Context, group, stream string, events []Event) error {
	if len(events) == 0 {
		return errorf(ErrInvalidParameter, "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	now := s.clock.Now().UnixMilli()
	s.mu.Lock()
	if s.groups[group] == nil {
		s.mu.Unlock()
		return errorf(ErrResourceNotFound, "The specified log group does not exist.")
	}
	x := s.streams[group+"\x00"+stream]
	if x == nil {
		s.mu.Unlock()
		return errorf(ErrResourceNotFound, "The specified log stream does not exist.")
	}
	var b store.Batch
	s.append(&b, x, events, now)
	b.PutRecord(nsStream, group+"\x00"+stream, mustJSON(x))
	delete(s.dirty, x) // written here
	s.mu.Unlock()
	return s.st.Commit(ctx, &b)
}

// DeleteGroup deletes a log group with its streams and events.
func (s *Service) DeleteGroup(ctx context.Context, name string) error {
	s.flush(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[name] == nil {
		return errorf(ErrResourceNotFound, "The specified log group does not exist.")
	}
	var b store.Batch
	b.DeleteRecord(nsGroup, name)
	for k, x := range s.streams {
		if x.Group != name {
			continue
		}
		b.DeleteRecord(nsStream, k)
		err := s.st.ScanRecords(ctx, nsEvent, k+"\x00", func(ek string, _ []byte) error {
			b.DeleteRecord(nsEvent, ek)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	delete(s.groups, name)
	for k, x := range s.streams {
		if x.Group == name {
			delete(s.streams, k)
		}
	}
	return nil
}

// Groups lists groups by name prefix.
func (s *Service) Groups(prefix string) []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Group
	for _, g := range s.groups {
		if strings.HasPrefix(g.Name, prefix) {
			out = append(out, *g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Streams lists a group's streams by name prefix, or by last event time.
func (s *Service) Streams(group, prefix string, byTime, descending bool) ([]Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[group] == nil {
		return nil, errorf(ErrResourceNotFound, "The specified log group does not exist.")
	}
	var out []Stream
	for _, x := range s.streams {
		if x.Group == group && strings.HasPrefix(x.Name, prefix) {
			out = append(out, *x)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		less := out[i].Name < out[j].Name
		if byTime {
			less = out[i].LastEvent < out[j].LastEvent
		}
		if descending {
			return !less
		}
		return less
	})
	return out, nil
}

// Events returns a stream's events in time order within [start, end)
// (zero bounds are open), after flushing buffered output.
func (s *Service) Events(ctx context.Context, group string, streams []string, start, end int64, pattern string) ([]Event, error) {
	s.flush(ctx)
	s.mu.Lock()
	if s.groups[group] == nil {
		s.mu.Unlock()
		return nil, errorf(ErrResourceNotFound, "The specified log group does not exist.")
	}
	if streams == nil {
		for _, x := range s.streams {
			if x.Group == group {
				streams = append(streams, x.Name)
			}
		}
	}
	s.mu.Unlock()
	match := compilePattern(pattern)
	var out []Event
	for _, name := range streams {
		prefix := group + "\x00" + name + "\x00"
		err := s.st.ScanRecords(ctx, nsEvent, prefix, func(k string, v []byte) error {
			raw := []byte(k[len(prefix):])
			if len(raw) != 12 {
				return nil
			}
			ts := int64(binary.BigEndian.Uint64(raw[:8]) - 1<<63)
			if (start != 0 && ts < start) || (end != 0 && ts >= end) {
				return nil
			}
			var r eventRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: log event: %v", store.ErrCorrupt, err)
			}
			if !match(r.Message) {
				return nil
			}
			out = append(out, Event{Stream: name, Timestamp: ts, IngestionTime: r.Ingestion, Message: r.Message, ID: hex.EncodeToString(raw)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp < out[j].Timestamp })
	return out, nil
}

// compilePattern supports the term form of CloudWatch Logs filter
// patterns: every term (or "quoted phrase") must occur, a term starting
// with - must not, and ? joins alternatives.
func compilePattern(p string) func(string) bool {
	p = strings.TrimSpace(p)
	if p == "" {
		return func(string) bool { return true }
	}
	var terms []string
	for p != "" {
		if p[0] == '"' {
			end := strings.IndexByte(p[1:], '"')
			if end < 0 {
				terms = append(terms, p[1:])
				break
			}
			terms = append(terms, p[1:end+1])
			p = strings.TrimSpace(p[end+2:])
			continue
		}
		f, rest, _ := strings.Cut(p, " ")
		terms = append(terms, f)
		p = strings.TrimSpace(rest)
	}
	return func(msg string) bool {
		anyAlt, hasAlt := false, false
		for _, t := range terms {
			switch {
			case strings.HasPrefix(t, "?"):
				hasAlt = true
				if strings.Contains(msg, t[1:]) {
					anyAlt = true
				}
			case strings.HasPrefix(t, "-") && len(t) > 1:
				if strings.Contains(msg, t[1:]) {
					return false
				}
			default:
				if !strings.Contains(msg, t) {
					return false
				}
			}
		}
		return !hasAlt || anyAlt
	}
}

// Arn returns a log group's ARN.
func (s *Service) Arn(group string) string {
	return "arn:aws:logs:" + s.reg + ":" + s.acct + ":log-group:" + group + ":*"
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
