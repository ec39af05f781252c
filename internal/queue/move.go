package queue

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/forkline/forkline/internal/store"
)

// Move task statuses (ListMessageMoveTasks API reference).
const (
	TaskRunning    = "RUNNING"
	TaskCompleted  = "COMPLETED"
	TaskCancelling = "CANCELLING"
	TaskCancelled  = "CANCELLED"
	TaskFailed     = "FAILED"
)

// moveTask is a live message move task. Its fields are guarded by
// Service.mu.
type moveTask struct {
	rec store.MoveTask
}

// MoveTaskInfo describes a task for ListMessageMoveTasks.
type MoveTaskInfo = store.MoveTask

type taskHandle struct {
	TaskID    string `json:"taskId"`
	SourceArn string `json:"sourceArn"`
}

func (s *Service) loadMoveTasks(ctx context.Context) error {
	tasks, err := s.st.LoadMoveTasks(ctx)
	if err != nil {
		return fmt.Errorf("load move tasks: %w", err)
	}
	for _, t := range tasks {
		mt := &moveTask{rec: t}
		s.tasks[t.Handle] = mt
		if t.Status == TaskRunning || t.Status == TaskCancelling {
			s.wg.Add(1)
			go s.runMove(mt)
		}
	}
	return nil
}

func (s *Service) isDeadLetterQueue(arn string) bool {
	for _, q := range s.snapshot() {
		q.mu.Lock()
		ok := q.set.redrive != nil && q.set.redrive.DeadLetterTargetArn == arn
		q.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// destinationGone is a task's FailureReason when its destination queue
// no longer exists, as real SQS words it (LocalStack's AWS-validated
// snapshot test_move_task_delete_destination_queue_while_running).
const destinationGone = "AWS.SimpleQueueService.NonExistentQueue"

// StartMessageMoveTask starts moving messages from a dead-letter queue back
// to their source queues or to destArn.
func (s *Service) StartMessageMoveTask(ctx context.Context, sourceArn, destArn string, rate *int) (string, error) {
	if sourceArn == "" {
		return "", missing("SourceArn")
	}
	src := s.lookupArn(sourceArn)
	if src == nil {
		return "", errorf(ErrResourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	if !s.isDeadLetterQueue(sourceArn) {
		return "", errorf(ErrInvalidParameterValue, "Source queue must be configured as a Dead Letter Queue.")
	}
	if destArn != "" {
		dst := s.lookupArn(destArn)
		if dst == nil {
			return "", errorf(ErrResourceNotFound, "The resource that you specified for the DestinationArn parameter doesn't exist.")
		}
		if dst.fifo != src.fifo {
			return "", invalidValue("DestinationArn", destArn, "Destination queue must be the same type of queue as the source.")
		}
	}
	r := 0
	if rate != nil {
		r = *rate
		if r < 1 || r > 500 {
			return "", invalidValue("MaxNumberOfMessagesPerSecond", r, "Must be between 1 and 500.")
		}
	}
	src.mu.Lock()
	src.advance(s.clock.Now())
	toMove := src.idx.nVisible + src.idx.nInflight + src.idx.nDelayed
	srcID := src.rec.ID
	src.mu.Unlock()
	s.reap(ctx, src)
	h, _ := json.Marshal(taskHandle{TaskID: NewMessageID(), SourceArn: sourceArn})
	rec := store.MoveTask{
		Handle: base64.StdEncoding.EncodeToString(h), SourceArn: sourceArn, DestinationArn: destArn,
		MaxPerSecond: r, Status: TaskRunning, ToMove: toMove,
		StartedTimestamp: s.clock.Now().UnixMilli(), SourceQueueID: srcID,
	}
	mt := &moveTask{rec: rec}
	// Reserve the source under s.mu: one active task per source.
	s.mu.Lock()
	for _, t := range s.tasks {
		if t.rec.SourceArn == sourceArn && (t.rec.Status == TaskRunning || t.rec.Status == TaskCancelling) {
			s.mu.Unlock()
			return "", errorf(ErrInvalidParameterValue, "There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
		}
	}
	s.tasks[rec.Handle] = mt
	s.mu.Unlock()
	var b store.Batch
	b.PutMoveTask(rec)
	if err := s.st.Commit(ctx, &b); err != nil {
		s.mu.Lock()
		delete(s.tasks, rec.Handle)
		s.mu.Unlock()
		return "", fmt.Errorf("start move task: %w", err)
	}
	s.wg.Add(1)
	go s.runMove(mt)
	return rec.Handle, nil
}

// CancelMessageMoveTask cancels a running task and returns how many
// messages it had moved.
func (s *Service) CancelMessageMoveTask(ctx context.Context, handle string) (int64, error) {
	if handle == "" {
		return 0, missing("TaskHandle")
	}
	// Real SQS tells a malformed handle from one whose source queue or
	// task it does not know (LocalStack's AWS-validated move task
	// snapshots).
	raw, err := base64.StdEncoding.DecodeString(handle)
	var th taskHandle
	if err != nil || json.Unmarshal(raw, &th) != nil || th.TaskID == "" || th.SourceArn == "" {
		return 0, errorf(ErrInvalidParameterValue, "Value for parameter TaskHandle is invalid.")
	}
	if s.lookupArn(th.SourceArn) == nil {
		return 0, errorf(ErrResourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	s.mu.Lock()
	t := s.tasks[handle]
	if t == nil {
		s.mu.Unlock()
		return 0, errorf(ErrResourceNotFound, "Task does not exist.")
	}
	if t.rec.Status != TaskRunning {
		s.mu.Unlock()
		return 0, errorf(ErrUnsupportedOperation, "Only a task in RUNNING status can be cancelled; this task is %s.", t.rec.Status)
	}
	t.rec.Status = TaskCancelling
	rec := t.rec
	s.mu.Unlock()
	var b store.Batch
	b.PutMoveTask(rec)
	if err := s.st.Commit(ctx, &b); err != nil {
		return 0, fmt.Errorf("cancel move task: %w", err)
	}
	return rec.Moved, nil
}

// ListMessageMoveTasks lists the most recent tasks of a source queue,
// newest first.
func (s *Service) ListMessageMoveTasks(ctx context.Context, sourceArn string, maxResults *int) ([]MoveTaskInfo, error) {
	if sourceArn == "" {
		return nil, missing("SourceArn")
	}
	if s.lookupArn(sourceArn) == nil {
		return nil, errorf(ErrResourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	n := 1
	if maxResults != nil {
		n = *maxResults
		if n < 1 || n > 10 {
			return nil, invalidValue("MaxResults", n, "Must be between 1 and 10.")
		}
	}
	s.mu.RLock()
	var out []MoveTaskInfo
	for _, t := range s.tasks {
		if t.rec.SourceArn == sourceArn {
			out = append(out, t.rec)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].StartedTimestamp > out[j].StartedTimestamp })
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

func (s *Service) finishTask(t *moveTask, status, reason string) {
	s.mu.Lock()
	t.rec.Status = status
	t.rec.FailureReason = reason
	rec := t.rec
	s.mu.Unlock()
	var b store.Batch
	b.PutMoveTask(rec)
	if err := s.st.Commit(s.ctx, &b); err != nil {
		s.log.Warn("persist move task", "handle", rec.Handle, "err", err)
	}
}

// runMove moves messages in batches at the task's rate until the source is
// empty, the planned number is moved, or the task is cancelled. Transient
// failures (contention with a purge or delete, store errors) are retried
// with a pause; ten in a row fail the task.
func (s *Service) runMove(t *moveTask) {
	defer s.wg.Done()
	failures := 0
	for {
		if s.ctx.Err() != nil {
			return // resumed at the next start
		}
		s.mu.RLock()
		rec := t.rec
		s.mu.RUnlock()
		if rec.Status == TaskCancelling {
			s.finishTask(t, TaskCancelled, "")
			return
		}
		if rec.Moved >= rec.ToMove {
			s.finishTask(t, TaskCompleted, "")
			return
		}
		n := 10
		if rec.MaxPerSecond > 0 && rec.MaxPerSecond < n {
			n = rec.MaxPerSecond
		}
		if left := rec.ToMove - rec.Moved; int64(n) > left {
			n = int(left)
		}
		start := s.clock.Now()
		moved, reason, err := s.moveBatch(t, n)
		var pause time.Duration
		switch {
		case reason != "":
			s.finishTask(t, TaskFailed, reason)
			return
		case err != nil:
			failures++
			s.log.Warn("move task batch", "handle", rec.Handle, "err", err, "failures", failures)
			if failures >= 10 {
				s.finishTask(t, TaskFailed, "The task failed repeatedly to move messages.")
				return
			}
			pause = 100 * time.Millisecond
		case moved == 0:
			s.finishTask(t, TaskCompleted, "")
			return
		default:
			failures = 0
			if rec.MaxPerSecond > 0 {
				pause = time.Duration(moved)*time.Second/time.Duration(rec.MaxPerSecond) - s.clock.Now().Sub(start)
			}
		}
		if pause > 0 {
			timer := s.clock.NewTimer(pause)
			select {
			case <-timer.C():
			case <-s.ctx.Done():
				timer.Stop()
				return
			}
		}
	}
}

// errBusy reports contention that a later attempt resolves.
var errBusy = errors.New("queue busy")

// moveBatch moves up to n visible messages of the task's source queue. A
// non-empty reason fails the task; an error is worth a retry.
func (s *Service) moveBatch(t *moveTask, n int) (int, string, error) {
	s.mu.RLock()
	rec := t.rec
	s.mu.RUnlock()
	src := s.lookupArn(rec.SourceArn)
	if src == nil {
		return 0, "The source queue no longer exists.", nil
	}
	if !src.op.TryRLock() {
		return 0, "", errBusy
	}
	defer src.op.RUnlock()
	now := s.clock.Now()
	nowNs := now.UnixNano()
	src.mu.Lock()
	if src.deleted {
		src.mu.Unlock()
		return 0, "The source queue no longer exists.", nil
	}
	src.advance(now)
	cands := src.idx.pick(n, func(seq uint64, sentAt int64, group string) *flight {
		return newBusyFlight(store.State{SentAt: sentAt, VisibleAt: nowNs + int64(time.Minute), Nonce: randUint64(), GroupID: group}, nowNs)
	}, now.UnixMilli()-int64(src.set.retention)*1000)
	srcID := src.rec.ID
	src.mu.Unlock()
	s.reap(s.ctx, src)
	if len(cands) == 0 {
		return 0, "", nil
	}
	giveBack := func() {
		src.mu.Lock()
		src.idx.unpick(cands, s.clock.Now().UnixNano())
		src.wake()
		src.mu.Unlock()
	}
	// Group the messages by destination.
	byDst := map[*queue][]store.Message{}
	var order []*queue
	seqs := make([]uint64, len(cands))
	withState := make([]bool, len(cands))
	for i, c := range cands {
		seqs[i], withState[i] = c.seq, true
	}
	read, found, err := s.st.ReadMessages(s.ctx, srcID, seqs, withState)
	if err != nil {
		giveBack()
		return 0, "", err
	}
	for i := range cands {
		if !found[i] {
			continue // gone from the store: deleted below with the others
		}
		m := read[i]
		target := rec.DestinationArn
		if target == "" {
			target = m.DLQSourceArn
		}
		if target == "" {
			giveBack()
			return 0, "Messages in the source queue have no source queue to move back to; specify a DestinationArn.", nil
		}
		dst := s.lookupArn(target)
		if dst == nil {
			giveBack()
			return 0, destinationGone, nil
		}
		if _, ok := byDst[dst]; !ok {
			order = append(order, dst)
		}
		byDst[dst] = append(byDst[dst], m)
	}
	var b store.Batch
	type landing struct {
		q      *queue
		landed []*store.Message
	}
	var lands []landing
	release := func() {
		for _, l := range lands {
			l.q.op.RUnlock()
		}
	}
	for _, dst := range order {
		if !dst.op.TryRLock() {
			for _, l := range lands {
				s.finishLanding(l.q, l.landed, false)
			}
			release()
			giveBack()
			return 0, "", errBusy
		}
		landed := s.prepareLanding(dst, byDst[dst], "", now, &b)
		lands = append(lands, landing{dst, landed})
		if landed == nil {
			for _, l := range lands {
				s.finishLanding(l.q, l.landed, false)
			}
			release()
			giveBack()
			return 0, destinationGone, nil
		}
	}
	defer release()
	for _, c := range cands {
		b.DeleteMessage(srcID, c.seq)
	}
	moved := 0
	for _, ms := range byDst {
		moved += len(ms)
	}
	s.mu.Lock()
	t.rec.Moved += int64(moved)
	b.PutMoveTask(t.rec)
	s.mu.Unlock()
	err = s.commit(s.ctx, &b)
	if err != nil {
		s.mu.Lock()
		t.rec.Moved -= int64(moved)
		s.mu.Unlock()
		giveBack()
	} else {
		src.mu.Lock()
		for _, c := range cands {
			if src.idx.inflight[c.seq] == c.f {
				src.idx.removeFlight(c.seq, c.f)
			}
		}
		src.wake()
		src.mu.Unlock()
	}
	for _, l := range lands {
		s.finishLanding(l.q, l.landed, err == nil)
	}
	if err != nil {
		return 0, "", err
	}
	return len(cands), "", nil
}
