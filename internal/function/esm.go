package function

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/wire/jsontext"
)

// nsMapping holds event source mappings by UUID.
const nsMapping = "fn.esm"

// Queues is what event source mappings need of the queue service.
type Queues interface {
	ReceiveMessage(ctx context.Context, name string, in queue.ReceiveInput) ([]queue.ReceivedMessage, error)
	DeleteMessageBatch(ctx context.Context, name string, entries []queue.BatchEntry) ([]error, error)
	QueueByArn(arn string) (exists, fifo bool)
	QueueNameFromArn(arn string) string
}

// Mapping is an event source mapping as the Lambda API reports it
// (EventSourceMappingConfiguration).
type Mapping struct {
	UUID                           string         `json:"UUID"`
	EventSourceMappingArn          string         `json:"EventSourceMappingArn"`
	BatchSize                      int            `json:"BatchSize"`
	MaximumBatchingWindowInSeconds int            `json:"MaximumBatchingWindowInSeconds"`
	EventSourceArn                 string         `json:"EventSourceArn"`
	FunctionArn                    string         `json:"FunctionArn"`
	LastModified                   float64        `json:"LastModified"`
	LastProcessingResult           string         `json:"LastProcessingResult,omitempty"`
	State                          string         `json:"State"`
	StateTransitionReason          string         `json:"StateTransitionReason"`
	FunctionResponseTypes          []string       `json:"FunctionResponseTypes"`
	ScalingConfig                  *ScalingConfig `json:"ScalingConfig,omitempty"`
}

// ScalingConfig bounds the concurrent invocations of a mapping.
type ScalingConfig struct {
	MaximumConcurrency int `json:"MaximumConcurrency,omitempty"`
}

// MappingInput are the settable fields of a mapping; nil leaves a field
// as it is (or at its default on creation).
type MappingInput struct {
	FunctionName          string
	EventSourceArn        string
	Enabled               *bool
	BatchSize             *int
	MaximumBatchingWindow *int
	FunctionResponseTypes *[]string
	MaximumConcurrency    *int
}

// poller runs one enabled mapping.
type poller struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *Service) mappingArn(id string) string {
	return "arn:aws:lambda:" + s.cfg.Region + ":" + s.cfg.AccountID + ":event-source-mapping:" + id
}

// loadMappings reads the stored mappings and starts the enabled ones.
func (s *Service) loadMappings(ctx context.Context) error {
	return s.st.ScanRecords(ctx, nsMapping, "", func(_ string, v []byte) error {
		var m Mapping
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("%w: event source mapping: %v", store.ErrCorrupt, err)
		}
		s.mappings[m.UUID] = &m
		if m.State == "Enabled" {
			s.startPoller(&m)
		}
		return nil
	})
}

func (s *Service) checkMapping(m *Mapping) error {
	if s.cfg.Queues == nil || !strings.HasPrefix(m.EventSourceArn, "arn:aws:sqs:") {
		return errorf(ErrInvalidParameterValue, "Unsupported event source: %s. forkline maps SQS queues.", m.EventSourceArn)
	}
	exists, fifo := s.cfg.Queues.QueueByArn(m.EventSourceArn)
	if !exists {
		return errorf(ErrInvalidParameterValue, "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist for this wsdl version.")
	}
	max := 10000
	if fifo {
		max = 10
	}
	if m.BatchSize < 1 || m.BatchSize > max {
		return errorf(ErrInvalidParameterValue, "BatchSize must be between 1 and %d for this event source.", max)
	}
	if m.BatchSize > 10 && m.MaximumBatchingWindowInSeconds < 1 {
		return errorf(ErrInvalidParameterValue, "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
	}
	if m.MaximumBatchingWindowInSeconds < 0 || m.MaximumBatchingWindowInSeconds > 300 {
		return validation("maximumBatchingWindowInSeconds", fmt.Sprint(m.MaximumBatchingWindowInSeconds), "Member must have value less than or equal to 300")
	}
	for _, t := range m.FunctionResponseTypes {
		if t != "ReportBatchItemFailures" {
			return validation("functionResponseTypes", t, "Member must satisfy enum value set: [ReportBatchItemFailures]")
		}
	}
	if m.ScalingConfig != nil && (m.ScalingConfig.MaximumConcurrency < 2 || m.ScalingConfig.MaximumConcurrency > 1000) {
		return validation("scalingConfig.maximumConcurrency", fmt.Sprint(m.ScalingConfig.MaximumConcurrency), "Member must have value between 2 and 1000")
	}
	return nil
}

func apply(m *Mapping, in MappingInput) {
	if in.BatchSize != nil {
		m.BatchSize = *in.BatchSize
	}
	if in.MaximumBatchingWindow != nil {
		m.MaximumBatchingWindowInSeconds = *in.MaximumBatchingWindow
	}
	if in.FunctionResponseTypes != nil {
		m.FunctionResponseTypes = *in.FunctionResponseTypes
	}
	if in.MaximumConcurrency != nil {
		m.ScalingConfig = &ScalingConfig{MaximumConcurrency: *in.MaximumConcurrency}
	}
	if in.Enabled != nil {
		if *in.Enabled {
			m.State = "Enabled"
		} else {
			m.State = "Disabled"
		}
	}
}

// CreateMapping creates an event source mapping from an SQS queue to a
// function; it answers with State Creating, as Lambda does.
func (s *Service) CreateMapping(ctx context.Context, in MappingInput) (Mapping, error) {
	f, q, err := s.lookup(in.FunctionName)
	if err != nil {
		return Mapping{}, err
	}
	var id [16]byte
	randRead(id[:])
	h := hex.EncodeToString(id[:])
	m := Mapping{
		UUID: h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], BatchSize: 10,
		EventSourceArn: in.EventSourceArn, State: "Enabled", StateTransitionReason: "USER_INITIATED",
		FunctionResponseTypes: []string{}, LastProcessingResult: "No records processed",
	}
	m.EventSourceMappingArn = s.mappingArn(m.UUID)
	s.mu.RLock()
	m.FunctionArn = f.rec.Config.FunctionArn
	if q != "" {
		// A mapping on an alias or version invokes that qualifier.
		if _, _, _, err := s.resolve(f, q, false); err != nil {
			s.mu.RUnlock()
			return Mapping{}, err
		}
		m.FunctionArn += ":" + q
	}
	s.mu.RUnlock()
	apply(&m, in)
	if err := s.checkMapping(&m); err != nil {
		return Mapping{}, err
	}
	m.LastModified = float64(s.clock.Now().UnixMilli()) / 1000
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.mappings {
		if o.EventSourceArn == m.EventSourceArn && o.FunctionArn == m.FunctionArn {
			return Mapping{}, errorf(ErrResourceConflict, "An event source mapping with SQS arn (\" %s \") and function (\" %s \") already exists. Please update or delete the existing mapping with UUID %s",
				m.EventSourceArn, f.rec.Config.FunctionName, o.UUID)
		}
	}
	var b store.Batch
	b.PutRecord(nsMapping, m.UUID, mustJSON(m))
	if err := s.st.Commit(ctx, &b); err != nil {
		return Mapping{}, fmt.Errorf("create event source mapping: %w", err)
	}
	s.mappings[m.UUID] = &m
	out := m
	if m.State == "Enabled" {
		s.startPoller(&m)
		out.State = "Creating"
	}
	return out, nil
}

// GetMapping returns a mapping.
func (s *Service) GetMapping(ctx context.Context, id string) (Mapping, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.mappings[id]
	if m == nil {
		return Mapping{}, errorf(ErrResourceNotFound, "The resource you requested does not exist.")
	}
	return *m, nil
}

// ListMappings lists mappings, optionally of one source or function.
func (s *Service) ListMappings(ctx context.Context, sourceArn, functionName string) ([]Mapping, error) {
	fnArn := ""
	if functionName != "" {
		name, _, err := s.ParseName(functionName)
		if err != nil {
			return nil, err
		}
		fnArn = s.functionArn(name)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Mapping{}
	for _, m := range s.mappings {
		if (sourceArn == "" || m.EventSourceArn == sourceArn) && (fnArn == "" || m.FunctionArn == fnArn) {
			out = append(out, *m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UUID < out[j].UUID })
	return out, nil
}

// UpdateMapping changes a mapping (enable, disable, batching).
func (s *Service) UpdateMapping(ctx context.Context, id string, in MappingInput) (Mapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.mappings[id]
	if old == nil {
		return Mapping{}, errorf(ErrResourceNotFound, "The resource you requested does not exist.")
	}
	m := *old
	if in.FunctionName != "" {
		name, q, err := s.ParseName(in.FunctionName)
		if err != nil {
			return Mapping{}, err
		}
		if s.funcs[name] == nil {
			return Mapping{}, errorf(ErrResourceNotFound, "Function not found: %s", s.functionArn(name))
		}
		m.FunctionArn = s.functionArn(name)
		if q != "" {
			m.FunctionArn += ":" + q
		}
	}
	apply(&m, in)
	if err := s.checkMapping(&m); err != nil {
		return Mapping{}, err
	}
	m.LastModified = float64(s.clock.Now().UnixMilli()) / 1000
	var b store.Batch
	b.PutRecord(nsMapping, m.UUID, mustJSON(m))
	if err := s.st.Commit(ctx, &b); err != nil {
		return Mapping{}, fmt.Errorf("update event source mapping: %w", err)
	}
	s.stopPoller(id)
	s.mappings[id] = &m
	if m.State == "Enabled" {
		s.startPoller(&m)
	}
	out := m
	out.State = "Updating"
	return out, nil
}

// DeleteMapping deletes a mapping; it answers with State Deleting.
func (s *Service) DeleteMapping(ctx context.Context, id string) (Mapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mappings[id]
	if m == nil {
		return Mapping{}, errorf(ErrResourceNotFound, "The resource you requested does not exist.")
	}
	var b store.Batch
	b.DeleteRecord(nsMapping, id)
	if err := s.st.Commit(ctx, &b); err != nil {
		return Mapping{}, fmt.Errorf("delete event source mapping: %w", err)
	}
	s.stopPoller(id)
	delete(s.mappings, id)
	out := *m
	out.State = "Deleting"
	return out, nil
}

// startPoller runs a mapping's pollers. Requires s.mu held for writing.
func (s *Service) startPoller(m *Mapping) {
	ctx, cancel := context.WithCancel(s.ctx)
	p := &poller{cancel: cancel, done: make(chan struct{})}
	s.pollers[m.UUID] = p
	n := 2 // Lambda starts with a few pollers for SQS
	if m.ScalingConfig != nil && m.ScalingConfig.MaximumConcurrency > 0 {
		n = m.ScalingConfig.MaximumConcurrency
		if n > 16 {
			n = 16
		}
	}
	mc := *m
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.poll(ctx, &mc)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		wg.Wait()
		close(p.done)
	}()
}

// stopPoller stops a mapping's pollers (without waiting for an invocation
// in progress: its messages return to the queue when their visibility
// ends). Requires s.mu held for writing.
func (s *Service) stopPoller(id string) {
	if p := s.pollers[id]; p != nil {
		p.cancel()
		delete(s.pollers, id)
	}
}

// poll receives batches from the queue and invokes the function with them
// until ctx ends.
func (s *Service) poll(ctx context.Context, m *Mapping) {
	name := s.cfg.Queues.QueueNameFromArn(m.EventSourceArn)
	_, fifo := s.cfg.Queues.QueueByArn(m.EventSourceArn)
	for ctx.Err() == nil {
		batch := s.gather(ctx, name, m)
		if len(batch) == 0 {
			if ctx.Err() == nil {
				// The queue is gone or failing: back off.
				t := s.clock.NewTimer(time.Second)
				select {
				case <-ctx.Done():
				case <-t.C():
				}
				t.Stop()
			}
			continue
		}
		if !s.handleBatch(ctx, name, m, fifo, batch) && ctx.Err() == nil {
			// The invocation failed before the function ran (throttled,
			// function gone, service closing): wait before taking more
			// messages, rather than spinning through the queue and
			// spending their receive counts.
			t := s.clock.NewTimer(time.Second)
			select {
			case <-ctx.Done():
			case <-t.C():
			}
			t.Stop()
		}
	}
}

// gather receives up to BatchSize messages, waiting at most the batching
// window once the first has arrived.
func (s *Service) gather(ctx context.Context, name string, m *Mapping) []queue.ReceivedMessage {
	var batch []queue.ReceivedMessage
	var deadline time.Time
	for len(batch) < m.BatchSize {
		want := m.BatchSize - len(batch)
		if want > 10 {
			want = 10
		}
		wait := 20
		if len(batch) > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			wait = int(left / time.Second)
		}
		msgs, err := s.cfg.Queues.ReceiveMessage(ctx, name, queue.ReceiveInput{
			MaxNumberOfMessages: &want, WaitTimeSeconds: &wait,
			SystemAttributeNames: []string{"All"}, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("event source mapping receive failed", "mapping", m.UUID, "err", err)
			}
			return batch
		}
		if len(batch) == 0 && len(msgs) > 0 {
			deadline = time.Now().Add(time.Duration(m.MaximumBatchingWindowInSeconds) * time.Second)
		}
		batch = append(batch, msgs...)
		if len(msgs) == 0 || m.MaximumBatchingWindowInSeconds == 0 {
			break
		}
	}
	return batch
}

// handleBatch invokes the function and deletes what it processed. It
// reports false when the invocation itself failed.
func (s *Service) handleBatch(ctx context.Context, name string, m *Mapping, fifo bool, batch []queue.ReceivedMessage) bool {
	out, err := s.Invoke(ctx, InvokeInput{FunctionName: m.FunctionArn, Payload: s.sqsEvent(m, batch), built: true})
	failed := map[string]bool{}
	switch {
	case err != nil:
		s.log.Warn("event source mapping invocation failed", "mapping", m.UUID, "err", err)
		return false // the messages come back when their visibility ends
	case out.FunctionError != "":
		return true
	case hasReportBatchItemFailures(m) && len(out.Payload) > 0 && string(out.Payload) != "null":
		// An answer that cannot be read, or an identifier that is empty
		// or names no message of the batch, fails the whole batch (Lambda
		// developer guide, "Reporting batch item failures").
		var r struct {
			BatchItemFailures []struct {
				ItemIdentifier *string `json:"itemIdentifier"`
			} `json:"batchItemFailures"`
		}
		if json.Unmarshal(out.Payload, &r) != nil {
			return true
		}
		ids := make(map[string]bool, len(batch))
		for _, msg := range batch {
			ids[msg.MessageID] = true
		}
		for _, f := range r.BatchItemFailures {
			if f.ItemIdentifier == nil || !ids[*f.ItemIdentifier] {
				return true
			}
			failed[*f.ItemIdentifier] = true
		}
	}
	var entries []queue.BatchEntry
	for i, msg := range batch {
		if failed[msg.MessageID] {
			if fifo {
				break // FIFO: keep the failed message and those after it in order
			}
			continue
		}
		entries = append(entries, queue.BatchEntry{ID: fmt.Sprint(i), ReceiptHandle: msg.ReceiptHandle})
		if len(entries) == 10 {
			s.deleteBatch(ctx, name, m, entries)
			entries = nil
		}
	}
	if len(entries) > 0 {
		s.deleteBatch(ctx, name, m, entries)
	}
	return true
}

func (s *Service) deleteBatch(ctx context.Context, name string, m *Mapping, entries []queue.BatchEntry) {
	if _, err := s.cfg.Queues.DeleteMessageBatch(ctx, name, entries); err != nil && ctx.Err() == nil {
		s.log.Warn("event source mapping delete failed", "mapping", m.UUID, "err", err)
	}
}

func hasReportBatchItemFailures(m *Mapping) bool {
	for _, t := range m.FunctionResponseTypes {
		if t == "ReportBatchItemFailures" {
			return true
		}
	}
	return false
}

// sqsEvent renders the event a function receives from SQS (Lambda
// developer guide, "Using Lambda with Amazon SQS").
func (s *Service) sqsEvent(m *Mapping, batch []queue.ReceivedMessage) []byte {
	return appendSQSEvent(make([]byte, 0, 64+len(batch)*(512+len(m.EventSourceArn))), m.EventSourceArn, s.cfg.Region, batch)
}

// appendSQSEvent writes the SQS event of a batch as encoding/json would
// write its records (without HTML escaping), with no reflection: the
// pollers build one per invocation. TestSQSEventEncoding holds it to
// encoding/json.
func appendSQSEvent(b []byte, arn, region string, batch []queue.ReceivedMessage) []byte {
	b = append(b, `{"Records":[`...)
	for i := range batch {
		msg := &batch[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"messageId":`...)
		b = jsontext.AppendString(b, msg.MessageID)
		b = append(b, `,"receiptHandle":`...)
		b = jsontext.AppendString(b, msg.ReceiptHandle)
		b = append(b, `,"body":`...)
		b = jsontext.AppendString(b, msg.Body)
		b = append(b, `,"attributes":`...)
		if msg.Attributes == nil {
			b = append(b, "null"...)
		} else {
			keys := make([]string, 0, len(msg.Attributes))
			for k := range msg.Attributes {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b = append(b, '{')
			for j, k := range keys {
				if j > 0 {
					b = append(b, ',')
				}
				b = jsontext.AppendString(b, k)
				b = append(b, ':')
				b = jsontext.AppendString(b, msg.Attributes[k])
			}
			b = append(b, '}')
		}
		b = append(b, `,"messageAttributes":{`...)
		// By name; of attributes named alike, the last (as a map keeps).
		attrs := append([]store.MessageAttribute(nil), msg.MessageAttrs...)
		sort.SliceStable(attrs, func(x, y int) bool { return attrs[x].Name < attrs[y].Name })
		first := true
		for j := range attrs {
			a := &attrs[j]
			if j+1 < len(attrs) && attrs[j+1].Name == a.Name {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = jsontext.AppendString(b, a.Name)
			if len(a.BinaryValue) > 0 {
				b = append(b, `:{"binaryValue":"`...)
				b = base64.StdEncoding.AppendEncode(b, a.BinaryValue)
				b = append(b, '"')
			} else {
				b = append(b, `:{"stringValue":`...)
				b = jsontext.AppendString(b, a.StringValue)
			}
			b = append(b, `,"stringListValues":[],"binaryListValues":[],"dataType":`...)
			b = jsontext.AppendString(b, a.DataType)
			b = append(b, '}')
		}
		b = append(b, `},"md5OfBody":`...)
		b = jsontext.AppendString(b, msg.MD5Body)
		if msg.MD5Attr != "" {
			b = append(b, `,"md5OfMessageAttributes":`...)
			b = jsontext.AppendString(b, msg.MD5Attr)
		}
		b = append(b, `,"eventSource":"aws:sqs","eventSourceARN":`...)
		b = jsontext.AppendString(b, arn)
		b = append(b, `,"awsRegion":`...)
		b = jsontext.AppendString(b, region)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
