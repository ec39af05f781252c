package topic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/topic/filter"
)

// Message archiving and replay for FIFO topics (SNS developer guide,
// "Amazon SNS message archiving and replay for FIFO topics"): a topic
// with an ArchivePolicy keeps every message it accepts for the policy's
// retention, in the same durable write as the publish; a subscription
// given a ReplayPolicy receives the archived messages of a time window
// again, in order, then (without an EndingPoint) the topic's new messages
// as a regular subscription.

const (
	// nsArchive: topic name NUL 20-digit sequence number → archRec.
	nsArchive = "sns.archive"
	// nsReplay: subscription ID NUL replay generation (16 hex digits) →
	// replayCursor, the archive key of the last message a replay went
	// past.
	nsReplay = "sns.replay"
	// replayChunk bounds the archived messages one replay write delivers.
	replayChunk = 100
)

// ReplayStatus values (SNS API reference, Subscribe: "ReplayStatus").
const (
	ReplayPending    = "Pending"
	ReplayInProgress = "In progress"
	ReplayCompleted  = "Completed"
	ReplayFailed     = "Failed"
)

// archRec is one archived message: what a replay needs to deliver it as
// it was first delivered.
type archRec struct {
	ID         string                   `json:"id"`
	Seq        uint64                   `json:"seq"`
	Time       int64                    `json:"time"` // Unix nanoseconds of the publish
	TS         string                   `json:"ts"`
	Message    string                   `json:"message"`
	Msgs       map[string]string        `json:"msgs,omitempty"` // MessageStructure=json
	Subject    string                   `json:"subject,omitempty"`
	HasSubject bool                     `json:"hasSubject,omitempty"`
	Attrs      []store.MessageAttribute `json:"attrs,omitempty"`
	GroupID    string                   `json:"groupId,omitempty"`
	DedupID    string                   `json:"dedupId,omitempty"`
	Trace      string                   `json:"trace,omitempty"`
}

// replayRec is a subscription's replay, from its ReplayPolicy.
type replayRec struct {
	// Gen identifies the policy (the Unix nanoseconds it was set at): a
	// new policy replaces a running replay.
	Gen    int64  `json:"gen"`
	Start  int64  `json:"start"`         // Unix milliseconds, inclusive
	End    int64  `json:"end,omitempty"` // Unix milliseconds, inclusive; 0: none
	Status string `json:"status"`
}

type replayCursor struct {
	After string `json:"after"`
}

// holdsLive tells whether the replay keeps the topic's new messages from
// the subscription: while it runs (it delivers them itself, in order,
// when it has no EndingPoint), and once it reached its EndingPoint ("This
// action effectively pauses the subscription", SNS developer guide,
// "Amazon SNS message replay for FIFO topic subscribers").
func (r *replayRec) holdsLive() bool {
	if r == nil {
		return false
	}
	switch r.Status {
	case ReplayPending, ReplayInProgress:
		return true
	case ReplayCompleted:
		return r.End != 0
	}
	return false
}

func (r *replayRec) running() bool {
	return r != nil && (r.Status == ReplayPending || r.Status == ReplayInProgress)
}

func archiveKey(topic string, seq uint64) string {
	return topic + "\x00" + fmt.Sprintf("%020d", seq)
}

// archiveDays is the retention of a topic's active ArchivePolicy, 0 when
// it has none (an empty object turns archiving off).
func archiveDays(rec *topicRec) int {
	doc := rec.Attributes["ArchivePolicy"]
	if doc == "" || isEmptyObject(doc) {
		return 0
	}
	var p map[string]json.RawMessage
	if json.Unmarshal([]byte(doc), &p) != nil {
		return 0
	}
	days, _ := strconv.Atoi(strings.Trim(string(p["MessageRetentionPeriod"]), `"`))
	return days
}

// archiveFloor is the Unix nanoseconds of the oldest message a topic's
// archive still holds for replay: not before archiving began, nor beyond
// the retention.
func archiveFloor(rec *topicRec, now time.Time) int64 {
	floor := now.Add(-time.Duration(archiveDays(rec)) * 24 * time.Hour).UnixNano()
	return max(floor, rec.ArchiveSince)
}

// BeginningArchiveTime is the topic attribute: "The earliest starting
// point at which a message in the topic's archive can be replayed from"
// (SNS API reference, CreateTopic).
func beginningArchiveTime(rec *topicRec, now time.Time) string {
	return time.Unix(0, archiveFloor(rec, now)).UTC().Format("2006-01-02T15:04:05.000Z")
}

// archive adds the messages of a FIFO publish to the topic's archive, in
// the publish's batch, and, at most once per sweepEvery, drops what the
// retention no longer keeps. Requires t.order.
func (s *Service) archive(t *topic, ps []*prepared, now time.Time, days int, b *store.Batch) {
	for _, p := range ps {
		if p.dup {
			continue
		}
		rec := archRec{
			ID: p.id, Seq: p.seq, Time: now.UnixNano(), TS: p.ts, Message: p.in.Message, Msgs: p.msgs,
			Subject: p.in.Subject, HasSubject: p.in.HasSubject, Attrs: p.in.Attributes,
			GroupID: p.in.GroupID, DedupID: p.dedupID, Trace: p.in.TraceHeader,
		}
		b.PutRecord(nsArchive, archiveKey(t.name, p.seq), mustJSON(rec))
	}
	if n := now.UnixNano(); n >= t.nextArchiveSweep {
		t.nextArchiveSweep = n + int64(sweepEvery)
		if cutoff := now.Add(-time.Duration(days) * 24 * time.Hour).UnixNano(); cutoff > 0 {
			// Sequence numbers are never below their publish's time, so
			// every key below the cutoff's is older than the retention.
			b.DeleteRecordRange(nsArchive, t.name+"\x00", archiveKey(t.name, uint64(cutoff)))
		}
	}
}

// archived wakes the replays waiting for a topic's next archived message.
func (t *topic) archived() {
	t.mu.Lock()
	if t.wake != nil {
		close(t.wake)
		t.wake = nil
	}
	t.mu.Unlock()
}

// nextArchived returns a channel closed when the topic archives a message.
func (t *topic) nextArchived() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.wake == nil {
		t.wake = make(chan struct{})
	}
	return t.wake
}

// parseReplayPolicy checks a ReplayPolicy document (SNS developer guide,
// "Amazon SNS message replay for FIFO topic subscribers": PointType, which
// must be Timestamp, StartingPoint and an optional EndingPoint, ISO 8601
// times).
func parseReplayPolicy(doc string) (start, end int64, err error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &p); err != nil || p == nil {
		return 0, 0, errors.New("failed to parse JSON.")
	}
	for k := range p {
		if k != "PointType" && k != "StartingPoint" && k != "EndingPoint" {
			return 0, 0, fmt.Errorf("unknown field %s", k)
		}
	}
	var pointType string
	if raw, ok := p["PointType"]; !ok || json.Unmarshal(raw, &pointType) != nil || pointType != "Timestamp" {
		return 0, 0, errors.New("PointType must be Timestamp")
	}
	at := func(name string) (int64, bool, error) {
		raw, ok := p[name]
		if !ok {
			return 0, false, nil
		}
		var text string
		if json.Unmarshal(raw, &text) != nil {
			return 0, true, fmt.Errorf("%s must be an ISO 8601 timestamp", name)
		}
		tm, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return 0, true, fmt.Errorf("%s must be an ISO 8601 timestamp", name)
		}
		return tm.UnixMilli(), true, nil
	}
	start, ok, err := at("StartingPoint")
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, errors.New("StartingPoint is required")
	}
	end, ok, err = at("EndingPoint")
	if err != nil {
		return 0, 0, err
	}
	if ok && end < start {
		return 0, 0, errors.New("EndingPoint must not be before StartingPoint")
	}
	if ok && end == 0 {
		end = -1 // the epoch itself: an ending point, not none
	}
	return start, end, nil
}

// newReplay checks a subscription's new ReplayPolicy against its topic and
// returns the replay it starts (nil for an empty policy, which ends any
// replay). Requires s.mu.
func (s *Service) newReplay(t *topic, doc string, now time.Time) (*replayRec, error) {
	if doc == "" || isEmptyObject(doc) {
		return nil, nil
	}
	start, end, err := parseReplayPolicy(doc)
	if err != nil {
		return nil, invalidParam("ReplayPolicy", err.Error())
	}
	if archiveDays(&t.rec) == 0 {
		return nil, invalidParam("ReplayPolicy", "the topic has no ArchivePolicy")
	}
	if start > now.UnixMilli() {
		return nil, invalidParam("ReplayPolicy", "StartingPoint must not be in the future")
	}
	return &replayRec{Gen: now.UnixNano(), Start: start, End: end, Status: ReplayPending}, nil
}

// startReplay runs a subscription's replay in the background.
func (s *Service) startReplay(arn string, gen int64) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runReplay(s.ctx, arn, gen)
	}()
}

// replayOf returns the subscription arn and its topic while replay gen
// is its current, running replay of a confirmed subscription.
func (s *Service) replayOf(arn string, gen int64) (*topic, *subscription) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sub := s.subs[arn]
	if sub == nil || !sub.rec.Confirmed || !sub.rec.Replay.running() || sub.rec.Replay.Gen != gen {
		return nil, nil
	}
	return s.topics[sub.rec.Topic], sub
}

func replayKey(subID string, gen int64) string {
	return subID + "\x00" + fmt.Sprintf("%016x", uint64(gen))
}

// runReplay delivers a replay's archived messages in chunks, each in one
// durable write with the replay's cursor, until it reaches its EndingPoint
// (the subscription then stays paused) or catches up with the topic (the
// subscription then receives new messages as they are published). A
// failed store operation is retried after a pause.
func (s *Service) runReplay(ctx context.Context, arn string, gen int64) {
	after := ""
	if t, sub := s.replayOf(arn, gen); sub != nil && t != nil {
		if v, err := s.st.GetRecord(ctx, nsReplay, replayKey(sub.rec.ID, gen)); err == nil {
			var c replayCursor
			if json.Unmarshal(v, &c) == nil {
				after = c.After
			}
		}
	}
	retry := func(what string, err error) bool {
		s.log.Warn("replay: "+what, "subscription", arn, "err", err)
		return s.sleep(ctx, time.Second)
	}
	for ctx.Err() == nil {
		t, sub := s.replayOf(arn, gen)
		if sub == nil || t == nil {
			return
		}
		r := sub.rec.Replay
		if r.Status == ReplayPending {
			if ok, err := s.setReplayStatus(ctx, t, arn, gen, ReplayInProgress); err != nil {
				if !retry("recording its status", err) {
					return
				}
				continue
			} else if !ok {
				return
			}
		}
		now := s.clock.Now()
		s.mu.RLock()
		days, floor := archiveDays(&t.rec), archiveFloor(&t.rec, now)
		s.mu.RUnlock()
		if days == 0 {
			// The archive went away with its policy.
			if _, err := s.setReplayStatus(ctx, t, arn, gen, ReplayFailed); err != nil && retry("recording its status", err) {
				continue
			}
			return
		}
		from := archiveKey(t.name, uint64(max(floor, startNanos(r))))
		if next := after + "\x00"; after != "" && next > from {
			from = next
		}
		// Taken before reading, so that a message archived after the read
		// wakes the wait below.
		wake := t.nextArchived()
		last, ok := t.settled(ctx)
		if !ok {
			return
		}
		recs, keys, past, err := s.readArchive(ctx, t, from, archiveKey(t.name, last+1), r, floor)
		if err != nil {
			if !retry("reading the archive", err) {
				return
			}
			continue
		}
		if len(keys) > 0 {
			if err := s.deliverReplayed(ctx, t, sub, gen, recs, keys[len(keys)-1]); err != nil {
				if !retry("delivering", err) {
					return
				}
				continue
			}
			after = keys[len(keys)-1]
			continue
		}
		if now := s.clock.Now(); r.End != 0 && !past && now.UnixMilli() <= r.End {
			// The ending point is still ahead: wait for the topic's next
			// message or for the ending point (or a minute, to see a
			// replaced replay go).
			wait := min(time.Duration(r.End+1-now.UnixMilli())*time.Millisecond, time.Minute)
			timer := s.clock.NewTimer(wait)
			select {
			case <-wake:
			case <-timer.C():
			case <-ctx.Done():
			}
			timer.Stop()
			continue
		}
		done, err := s.finishReplay(ctx, t, arn, gen, from, r)
		if err != nil {
			if !retry("finishing", err) {
				return
			}
			continue
		}
		if done {
			return
		}
	}
}

// startNanos is a replay's StartingPoint in Unix nanoseconds, 0 for one
// before 1970 (which no message has).
func startNanos(r *replayRec) int64 {
	if r.Start <= 0 {
		return 0
	}
	return r.Start * int64(time.Millisecond)
}

// settled returns the topic's last sequence number once every publish
// numbered up to it has finished its write: the archive then holds every
// message up to it that it will ever hold, so a replay reading no further
// skips none. It reports false when ctx ends first.
func (t *topic) settled(ctx context.Context) (uint64, bool) {
	t.mu.Lock()
	last := t.lastSeq
	inFlight := make([]chan struct{}, 0, len(t.pending))
	for _, ch := range t.pending {
		inFlight = append(inFlight, ch)
	}
	t.mu.Unlock()
	for _, ch := range inFlight {
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, false
		}
	}
	return last, true
}

// readArchive reads up to replayChunk archived messages with keys from
// from up to to that replay r delivers. keys holds the key of every
// message read, recs those in r's window; past tells that the archive
// holds a message after r's EndingPoint.
func (s *Service) readArchive(ctx context.Context, t *topic, from, to string, r *replayRec, floor int64) (recs []archRec, keys []string, past bool, err error) {
	stop := errors.New("stop")
	err = s.st.ScanRecordRange(ctx, nsArchive, from, to, func(k string, v []byte) error {
		var a archRec
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("%w: archived message: %v", store.ErrCorrupt, err)
		}
		ms := a.Time / int64(time.Millisecond)
		if r.End != 0 && ms > r.End {
			past = true
			return stop
		}
		keys = append(keys, k)
		if a.Time >= floor && ms >= r.Start {
			recs = append(recs, a)
		}
		if len(keys) == replayChunk {
			return stop
		}
		return nil
	})
	if errors.Is(err, stop) {
		err = nil
	}
	return recs, keys, past, err
}

// finishReplay ends a replay once nothing is left for it: under the
// topic's order, with no publish between its numbering and its durable
// write, the archive holds nothing after from (or nothing before the
// EndingPoint, which the clock has passed), and the subscription turns
// live for the next publish, or stays paused at its EndingPoint. It
// reports whether the replay ended; false asks the caller to read again.
func (s *Service) finishReplay(ctx context.Context, t *topic, arn string, gen int64, from string, r *replayRec) (bool, error) {
	t.order.Lock()
	defer t.order.Unlock()
	t.mu.Lock()
	inFlight := len(t.pending)
	t.mu.Unlock()
	if inFlight > 0 {
		return false, nil
	}
	stop := errors.New("stop")
	more := false
	err := s.st.ScanRecordRange(ctx, nsArchive, from, t.name+"\x01", func(_ string, v []byte) error {
		if r.End != 0 {
			var a archRec
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("%w: archived message: %v", store.ErrCorrupt, err)
			}
			if a.Time/int64(time.Millisecond) > r.End {
				return stop
			}
		}
		more = true
		return stop
	})
	if err != nil && !errors.Is(err, stop) {
		return false, err
	}
	if more {
		return false, nil
	}
	ok, err := s.setReplayStatus(ctx, t, arn, gen, ReplayCompleted)
	return ok || err == nil, err
}

// setReplayStatus records a replay's new status, if gen is still the
// subscription's replay. It reports whether it was.
func (s *Service) setReplayStatus(ctx context.Context, t *topic, arn string, gen int64, status string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subs[arn]
	if sub == nil || sub.rec.Replay == nil || sub.rec.Replay.Gen != gen {
		return false, nil
	}
	rec := sub.rec
	r := *rec.Replay
	r.Status = status
	rec.Replay = &r
	var b store.Batch
	b.PutRecord(nsSub, rec.ID, mustJSON(rec))
	if status == ReplayCompleted || status == ReplayFailed {
		b.DeleteRecord(nsReplay, replayKey(rec.ID, gen))
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		return false, err
	}
	ns := *sub
	ns.rec = rec
	for i := range t.subs {
		if t.subs[i].arn == arn {
			s.replaceSub(t, i, &ns)
		}
	}
	return true, nil
}

func (s *Service) sleep(ctx context.Context, d time.Duration) bool {
	timer := s.clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// deliverReplayed delivers archived messages to one subscription, those
// its filter policy accepts, in one durable write with the replay's
// cursor.
func (s *Service) deliverReplayed(ctx context.Context, t *topic, sub *subscription, gen int64, recs []archRec, last string) error {
	b := store.Batch{}
	b.PutRecord(nsReplay, replayKey(sub.rec.ID, gen), mustJSON(replayCursor{After: last}))
	envs := map[*prepared]map[string]*rendered{}
	var inputs []queue.SendInput
	var owners []*prepared
	var outs []*outRec
	for i := range recs {
		a := &recs[i]
		p := &prepared{
			in: &PublishInput{
				Message: a.Message, Subject: a.Subject, HasSubject: a.HasSubject, Attributes: a.Attrs,
				GroupID: a.GroupID, HasGroupID: true, DedupID: a.DedupID, HasDedupID: a.DedupID != "", TraceHeader: a.Trace,
			},
			msgs: a.Msgs, id: a.ID, ts: a.TS, dedupID: a.DedupID, seq: a.Seq, replayed: true,
		}
		if sub.policy != nil {
			attrs := make(map[string]filter.Attribute, len(a.Attrs))
			for _, at := range a.Attrs {
				attrs[at.Name] = filter.Attribute{DataType: at.DataType, Value: at.StringValue}
			}
			body := sub.policy.Scope() == filter.ScopeBody
			if !sub.policy.Match(filter.NewMessage(attrs, p.message(sub.rec.Protocol), body)) {
				continue
			}
		}
		switch sub.rec.Protocol {
		case "sqs":
			in := s.queueInput(t, p, sub, "", envs)
			if sub.raw && len(in.Attributes) < queue.MaxMessageAttributes && !hasAttribute(in.Attributes, "Replayed") {
				// A raw message has no envelope to carry the marker.
				in.Attributes = append(append([]store.MessageAttribute(nil), in.Attributes...),
					store.MessageAttribute{Name: "Replayed", DataType: "String", StringValue: "true"})
				in.AttrsChecked = nil
			}
			inputs = append(inputs, in)
			owners = append(owners, p)
		case "http", "https", "lambda", "firehose":
			o := s.notificationRecord(t, p, sub, "")
			o.put(&b)
			outs = append(outs, o)
		}
	}
	var txn *queue.SendTxn
	if len(inputs) > 0 {
		targets := []queue.Target{{QueueArn: sub.rec.Endpoint, Inputs: inputs}}
		inlineSingles(targets)
		txn = s.cfg.Queues.BeginSends(ctx, targets, &b)
		if ctx.Err() != nil {
			txn.End(ctx.Err())
			return ctx.Err()
		}
		for _, r := range txn.Early() {
			for j, p := range owners {
				failed := r.Err
				if failed == nil && j < len(r.Results) {
					failed = r.Results[j].Err
				}
				if failed == nil {
					continue
				}
				s.log.Warn("replayed delivery to queue failed", "subscription", sub.arn, "queue", sub.rec.Endpoint, "err", failed)
				if sub.dlq != "" {
					o := s.notificationRecord(t, p, sub, "")
					o.DLQ = true
					o.put(&b)
					outs = append(outs, o)
				}
			}
		}
	}
	var err error
	if t2, cur := s.replayOf(sub.arn, gen); cur == nil || t2 != t {
		// Replaced or unsubscribed meanwhile: deliver nothing more.
		err = errReplayGone
	} else {
		err = s.st.Commit(ctx, &b)
	}
	var sent []queue.TargetResult
	if txn != nil {
		sent = txn.End(err)
	}
	if errors.Is(err, errReplayGone) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, o := range outs {
		s.out.add(o)
	}
	// Replayed copies are deliveries too, for delivery status logging.
	if attrs := s.topicAttributes(t.arn); sent != nil && s.cfg.DeliveryLog != nil &&
		(attrs["SQSSuccessFeedbackRoleArn"] != "" || attrs["SQSFailureFeedbackRoleArn"] != "") {
		ds := make([]delivery, len(owners))
		for j, p := range owners {
			ds[j] = delivery{p, sub}
		}
		s.logQueueDeliveries(t, attrs, sent, [][]delivery{ds})
	}
	return nil
}

var errReplayGone = errors.New("replay replaced or subscription gone")

func hasAttribute(attrs []store.MessageAttribute, name string) bool {
	for _, a := range attrs {
		if a.Name == name {
			return true
		}
	}
	return false
}

// dropArchive deletes a topic's whole archive.
func dropArchive(b *store.Batch, name string) {
	b.DeleteRecordRange(nsArchive, name+"\x00", name+"\x01")
}

// dropReplays deletes a subscription's replay cursors.
func dropReplays(b *store.Batch, subID string) {
	b.DeleteRecordRange(nsReplay, subID+"\x00", subID+"\x01")
}
