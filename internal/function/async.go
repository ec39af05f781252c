package function

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/store"
)

// Record namespaces of asynchronous invocation: queued events, and the
// event invoke configuration of each function (key NAME NUL QUALIFIER).
const (
	nsAsync        = "fn.async"
	nsInvokeConfig = "fn.eic"
)

// Asynchronous invocation limits (Lambda developer guide, "Asynchronous
// invocation").
const (
	maxAsyncPayload    = 1024 * 1024
	defaultRetries     = 2
	defaultMaxEventAge = 6 * 3600
)

// Senders delivers destinations other than functions: an SQS queue (in the
// caller's batch, so the event's record and its result land together) and
// an SNS topic.
type Senders interface {
	BeginSends(ctx context.Context, targets []queue.Target, b *store.Batch) *queue.SendTxn
	Publish(ctx context.Context, topicArn, message string) error
}

// EventInvokeConfig is a function's asynchronous invocation settings.
type EventInvokeConfig struct {
	FunctionArn              string             `json:"FunctionArn"`
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds,omitempty"`
	LastModified             float64            `json:"LastModified"`
	DestinationConfig        *DestinationConfig `json:"DestinationConfig,omitempty"`
}

// DestinationConfig names where results go.
type DestinationConfig struct {
	OnSuccess *Destination `json:"OnSuccess,omitempty"`
	OnFailure *Destination `json:"OnFailure,omitempty"`
}

// Destination is one target ARN.
type Destination struct {
	Destination string `json:"Destination,omitempty"`
}

// asyncRec is one queued event.
type asyncRec struct {
	FunctionName string          `json:"functionName"`
	Qualifier    string          `json:"qualifier,omitempty"`
	RequestID    string          `json:"requestId"`
	Payload      json.RawMessage `json:"payload"`
	EnqueuedAt   int64           `json:"enqueuedAt"` // Unix nanoseconds
	Attempts     int             `json:"attempts"`

	id string
}

var asyncSeq atomic.Uint64

// asyncWorkers bounds the queued events run at once.
const asyncWorkers = 16

// enqueue stores an event durably; the invocation answers 202 after.
func (s *Service) enqueue(ctx context.Context, in InvokeInput) (string, error) {
	if len(in.Payload) > maxAsyncPayload {
		return "", errorf(ErrRequestEntityTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", maxAsyncPayload)
	}
	name, q, err := s.ParseName(in.FunctionName)
	if err != nil {
		return "", err
	}
	if in.Qualifier != "" {
		q = in.Qualifier
	}
	now := s.clock.Now()
	id := in.RequestID
	if id == "" {
		id = newRevision()
	}
	r := &asyncRec{FunctionName: name, Qualifier: q, RequestID: id,
		Payload: append(json.RawMessage(nil), in.Payload...), EnqueuedAt: now.UnixNano()}
	r.id = fmt.Sprintf("%016x%08x", now.UnixNano(), asyncSeq.Add(1)&0xffffffff)
	var b store.Batch
	b.PutRecord(nsAsync, r.id, mustJSON(r))
	if err := s.st.Commit(ctx, &b); err != nil {
		return "", fmt.Errorf("queue event: %w", err)
	}
	s.async.Add(r, now)
	return r.RequestID, nil
}

// loadAsync schedules every queued event, due now.
func (s *Service) loadAsync(ctx context.Context) error {
	now := s.clock.Now()
	return s.st.ScanRecords(ctx, nsAsync, "", func(k string, v []byte) error {
		r := new(asyncRec)
		if err := json.Unmarshal(v, r); err != nil {
			return fmt.Errorf("%w: queued event: %v", store.ErrCorrupt, err)
		}
		r.id = k
		s.async.Add(r, now)
		return nil
	})
}

// invokeConfig returns the event invoke configuration that applies to a
// function and qualifier.
func (s *Service) invokeConfig(name, qualifier string) EventInvokeConfig {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.eic[name+"\x00"+qualifier]; ok {
		return c
	}
	if c, ok := s.eic[name+"\x00"]; ok && qualifier == "" {
		return c
	}
	return EventInvokeConfig{}
}

// runAsync makes one attempt at a queued event and records its outcome:
// success (OnSuccess destination), a retry later, or failure (OnFailure
// destination, else the function's dead-letter target) once retries or
// the event's age run out.
func (s *Service) runAsync(ctx context.Context, r *asyncRec) {
	cfg := s.invokeConfig(r.FunctionName, r.Qualifier)
	retries, maxAge := defaultRetries, defaultMaxEventAge
	if cfg.MaximumRetryAttempts != nil {
		retries = *cfg.MaximumRetryAttempts
	}
	if cfg.MaximumEventAgeInSeconds != nil {
		maxAge = *cfg.MaximumEventAgeInSeconds
	}
	now := s.clock.Now()
	condition := ""
	var out InvokeOutput
	var err error
	if now.Sub(time.Unix(0, r.EnqueuedAt)) > time.Duration(maxAge)*time.Second {
		condition = "EventAgeExceeded"
	} else {
		r.Attempts++
		// Every attempt runs with the event's request ID, the one Invoke
		// answered with and the destinations' requestContext names.
		out, err = s.Invoke(ctx, InvokeInput{FunctionName: r.FunctionName, Qualifier: r.Qualifier, Payload: r.Payload, RequestID: r.RequestID})
		if ctx.Err() != nil {
			return // shutting down: the record stays queued
		}
		switch {
		case err == nil && out.FunctionError == "":
			condition = "Success"
		case isKind(err, ErrResourceNotFound):
			condition = "RetriesExhausted" // the function is gone: nothing to retry
		case r.Attempts <= retries:
			// Lambda waits one minute, then two, between attempts.
			delay := time.Duration(r.Attempts) * time.Minute
			var b store.Batch
			b.PutRecord(nsAsync, r.id, mustJSON(r))
			if cerr := s.st.Commit(ctx, &b); cerr != nil {
				s.log.Error("record asynchronous attempt", "err", cerr)
			}
			s.async.Add(r, now.Add(delay))
			return
		default:
			condition = "RetriesExhausted"
		}
	}
	var dest string
	if cfg.DestinationConfig != nil {
		if condition == "Success" && cfg.DestinationConfig.OnSuccess != nil {
			dest = cfg.DestinationConfig.OnSuccess.Destination
		}
		if condition != "Success" && cfg.DestinationConfig.OnFailure != nil {
			dest = cfg.DestinationConfig.OnFailure.Destination
		}
	}
	var b store.Batch
	b.DeleteRecord(nsAsync, r.id)
	if dest == "" {
		if condition != "Success" {
			s.log.Warn("asynchronous invocation failed", "function", r.FunctionName, "requestId", r.RequestID, "condition", condition, "err", err)
		}
		if cerr := s.st.Commit(ctx, &b); cerr != nil {
			s.log.Error("finish asynchronous invocation", "err", cerr)
		}
		return
	}
	s.deliverDestination(ctx, &b, dest, s.destinationRecord(r, condition, out, err))
}

// destinationRecord is the invocation record sent to a destination
// (Lambda developer guide, "Capturing records of asynchronous
// invocations").
func (s *Service) destinationRecord(r *asyncRec, condition string, out InvokeOutput, err error) []byte {
	type reqCtx struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	}
	type respCtx struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError,omitempty"`
	}
	arn := s.functionArn(r.FunctionName)
	if name, _, perr := s.ParseName(r.FunctionName); perr == nil {
		arn = s.functionArn(name)
	}
	if r.Qualifier != "" {
		arn += ":" + r.Qualifier
	} else {
		arn += ":$LATEST"
	}
	rec := map[string]any{
		"version":        "1.0",
		"timestamp":      s.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"requestContext": reqCtx{r.RequestID, arn, condition, r.Attempts},
		"requestPayload": r.Payload,
	}
	if condition != "EventAgeExceeded" {
		rc := respCtx{StatusCode: out.StatusCode, ExecutedVersion: out.ExecutedVersion, FunctionError: out.FunctionError}
		if err != nil {
			rc.StatusCode = 404
		}
		rec["responseContext"] = rc
		if json.Valid(out.Payload) && len(out.Payload) > 0 {
			rec["responsePayload"] = json.RawMessage(out.Payload)
		}
	}
	return mustJSON(rec)
}

// deliverDestination sends a record to an SQS queue (in the same write as
// the event's removal), an SNS topic or another function, then commits b.
func (s *Service) deliverDestination(ctx context.Context, b *store.Batch, dest string, record []byte) {
	finish := func() {
		if err := s.st.Commit(ctx, b); err != nil {
			s.log.Error("finish asynchronous invocation", "err", err)
		}
	}
	switch {
	case strings.HasPrefix(dest, "arn:aws:sqs:") && s.cfg.Senders != nil:
		txn := s.cfg.Senders.BeginSends(ctx, []queue.Target{{QueueArn: dest, Inputs: []queue.SendInput{{Body: string(record), SenderID: s.cfg.AccountID}}}}, b)
		if e := txn.Early()[0]; e.Err != nil || (len(e.Results) == 1 && e.Results[0].Err != nil) {
			s.log.Warn("destination queue refused the record", "destination", dest)
		}
		err := s.st.Commit(ctx, b)
		txn.End(err)
		if err != nil {
			s.log.Error("finish asynchronous invocation", "err", err)
		}
	case strings.HasPrefix(dest, "arn:aws:sns:") && s.cfg.Senders != nil:
		if err := s.cfg.Senders.Publish(ctx, dest, string(record)); err != nil {
			s.log.Warn("destination topic refused the record", "destination", dest, "err", err)
		}
		finish()
	case strings.HasPrefix(dest, "arn:aws:lambda:"):
		now := s.clock.Now()
		name, q, _ := s.ParseName(dest)
		r := &asyncRec{FunctionName: name, Qualifier: q, RequestID: newRevision(), Payload: record, EnqueuedAt: now.UnixNano()}
		r.id = fmt.Sprintf("%016x%08x", now.UnixNano(), asyncSeq.Add(1)&0xffffffff)
		b.PutRecord(nsAsync, r.id, mustJSON(r))
		finish()
		s.async.Add(r, now)
	default:
		s.log.Warn("unsupported destination", "destination", dest)
		finish()
	}
}

func isKind(err, kind error) bool {
	e, ok := err.(*Error)
	return ok && e.Kind == kind
}

// ------------------------------------------------------ event invoke config

// PutEventInvokeConfig sets (put) or changes (update) a function's
// asynchronous invocation settings.
func (s *Service) PutEventInvokeConfig(ctx context.Context, ref, qualifier string, c EventInvokeConfig, update bool) (EventInvokeConfig, error) {
	f, q, err := s.lookup(ref)
	if err != nil {
		return EventInvokeConfig{}, err
	}
	if qualifier == "" {
		qualifier = q
	}
	if c.MaximumRetryAttempts != nil && (*c.MaximumRetryAttempts < 0 || *c.MaximumRetryAttempts > 2) {
		return EventInvokeConfig{}, validation("maximumRetryAttempts", fmt.Sprint(*c.MaximumRetryAttempts), "Member must have value less than or equal to 2")
	}
	if c.MaximumEventAgeInSeconds != nil && (*c.MaximumEventAgeInSeconds < 60 || *c.MaximumEventAgeInSeconds > 21600) {
		return EventInvokeConfig{}, validation("maximumEventAgeInSeconds", fmt.Sprint(*c.MaximumEventAgeInSeconds), "Member must have value between 60 and 21600")
	}
	if d := c.DestinationConfig; d != nil {
		for _, x := range []*Destination{d.OnSuccess, d.OnFailure} {
			if x == nil || x.Destination == "" {
				continue
			}
			if !strings.HasPrefix(x.Destination, "arn:aws:sqs:") && !strings.HasPrefix(x.Destination, "arn:aws:sns:") &&
				!strings.HasPrefix(x.Destination, "arn:aws:lambda:") && !strings.HasPrefix(x.Destination, "arn:aws:events:") {
				return EventInvokeConfig{}, errorf(ErrInvalidParameterValue, "The destination ARN %s is invalid.", x.Destination)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(f); err != nil {
		return EventInvokeConfig{}, err
	}
	name := f.rec.Config.FunctionName
	key := name + "\x00" + qualifier
	old, exists := s.eic[key]
	if update {
		if !exists {
			return EventInvokeConfig{}, errorf(ErrResourceNotFound, "The function %s doesn't have an EventInvokeConfig", s.functionArn(name))
		}
		if c.MaximumRetryAttempts == nil {
			c.MaximumRetryAttempts = old.MaximumRetryAttempts
		}
		if c.MaximumEventAgeInSeconds == nil {
			c.MaximumEventAgeInSeconds = old.MaximumEventAgeInSeconds
		}
		if c.DestinationConfig == nil {
			c.DestinationConfig = old.DestinationConfig
		}
	}
	c.FunctionArn = s.functionArn(name)
	if qualifier != "" {
		c.FunctionArn += ":" + qualifier
	} else {
		c.FunctionArn += ":$LATEST"
	}
	c.LastModified = float64(s.clock.Now().UnixMilli()) / 1000
	if c.DestinationConfig == nil {
		c.DestinationConfig = &DestinationConfig{OnSuccess: &Destination{}, OnFailure: &Destination{}}
	}
	var b store.Batch
	b.PutRecord(nsInvokeConfig, key, mustJSON(c))
	if err := s.st.Commit(ctx, &b); err != nil {
		return EventInvokeConfig{}, fmt.Errorf("put event invoke config: %w", err)
	}
	s.eic[key] = c
	return c, nil
}

// GetEventInvokeConfig returns a function's asynchronous settings.
func (s *Service) GetEventInvokeConfig(ctx context.Context, ref, qualifier string) (EventInvokeConfig, error) {
	f, q, err := s.lookup(ref)
	if err != nil {
		return EventInvokeConfig{}, err
	}
	if qualifier == "" {
		qualifier = q
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	name := f.rec.Config.FunctionName
	c, ok := s.eic[name+"\x00"+qualifier]
	if !ok {
		return EventInvokeConfig{}, errorf(ErrResourceNotFound, "The function %s doesn't have an EventInvokeConfig", s.functionArn(name))
	}
	return c, nil
}

// DeleteEventInvokeConfig removes a function's asynchronous settings.
func (s *Service) DeleteEventInvokeConfig(ctx context.Context, ref, qualifier string) error {
	if _, err := s.GetEventInvokeConfig(ctx, ref, qualifier); err != nil {
		return err
	}
	f, q, _ := s.lookup(ref)
	if qualifier == "" {
		qualifier = q
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := f.rec.Config.FunctionName + "\x00" + qualifier
	var b store.Batch
	b.DeleteRecord(nsInvokeConfig, key)
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("delete event invoke config: %w", err)
	}
	delete(s.eic, key)
	return nil
}

func (s *Service) loadInvokeConfigs(ctx context.Context) error {
	return s.st.ScanRecords(ctx, nsInvokeConfig, "", func(k string, v []byte) error {
		var c EventInvokeConfig
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("%w: event invoke config: %v", store.ErrCorrupt, err)
		}
		s.eic[k] = c
		return nil
	})
}
