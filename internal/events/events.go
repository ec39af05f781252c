// Package events is forkline's EventBridge: rules on the default event
// bus, scheduled (rate and cron expressions on the injected clock) or
// matching events put with PutEvents, each delivering to its targets
// (functions, queues, topics, state machines) through a Deliverer.
//
// Invariants:
//   - A rule and its targets are one record, committed before the call
//     that changed them answers.
//   - Scheduled rules fire at the expression's times from the moment they
//     are enabled; times missed while forkline was stopped are not made
//     up (EventBridge does not backfill either).
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/topic/filter"
	"github.com/forkline/forkline/internal/uuid"
)

const nsRule = "events.rule" // rule name → ruleRec

// Error kinds; the text is EventBridge's error code.
var (
	ErrValidation = errors.New("ValidationException")
	ErrNotFound   = errors.New("ResourceNotFoundException")
	ErrLimit      = errors.New("LimitExceededException")
	ErrPattern    = errors.New("InvalidEventPatternException")
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

// Target is where a rule sends its events.
type Target struct {
	ID        string `json:"Id"`
	Arn       string `json:"Arn"`
	Input     string `json:"Input,omitempty"`
	InputPath string `json:"InputPath,omitempty"`
	RoleArn   string `json:"RoleArn,omitempty"`
	// MessageGroupID is SqsParameters.MessageGroupId, for FIFO queues.
	MessageGroupID string `json:"MessageGroupId,omitempty"`
}

// Rule is a rule as DescribeRule shows it, with its targets.
type Rule struct {
	Name               string            `json:"name"`
	Arn                string            `json:"arn"`
	ScheduleExpression string            `json:"schedule,omitempty"`
	EventPattern       string            `json:"pattern,omitempty"`
	State              string            `json:"state"`
	Description        string            `json:"description,omitempty"`
	RoleArn            string            `json:"roleArn,omitempty"`
	Targets            []Target          `json:"targets,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	// Scheduler marks an EventBridge Scheduler schedule, which has one
	// target and no place among the rules.
	Scheduler bool   `json:"scheduler,omitempty"`
	Timezone  string `json:"tz,omitempty"`
	Created   int64  `json:"created"` // Unix ms; anchors rate expressions
	Enabled   int64  `json:"enabled"` // Unix ms of the last enabling
}

// Deliverer sends an event to a target; the server implements it over the
// other services.
type Deliverer interface {
	Deliver(ctx context.Context, t Target, event []byte) error
}

// Config configures the Service.
type Config struct {
	Region, AccountID string
	Clock             clock.Clock
	Logger            *slog.Logger
	Deliverer         Deliverer
}

type ruleState struct {
	Rule
	sched   Schedule
	pattern *filter.Policy
	next    time.Time
}

// Service holds the rules. It is safe for concurrent use.
type Service struct {
	st    store.Records
	cfg   Config
	clock clock.Clock
	log   *slog.Logger

	mu    sync.Mutex
	rules map[string]*ruleState
	wake  chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup
	ctx   context.Context
	quit  context.CancelFunc
}

// New loads the rules and starts the schedule.
func New(ctx context.Context, st store.Records, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{st: st, cfg: cfg, clock: cfg.Clock, log: cfg.Logger.With("service", "events"),
		rules: map[string]*ruleState{}, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	s.ctx, s.quit = context.WithCancel(context.Background())
	err := st.ScanRecords(ctx, nsRule, "", func(_ string, v []byte) error {
		var r Rule
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: rule: %v", store.ErrCorrupt, err)
		}
		rs, err := s.compile(r)
		if err != nil {
			return fmt.Errorf("%w: rule %s: %v", store.ErrCorrupt, r.Name, err)
		}
		s.rules[r.Name] = rs
		return nil
	})
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	for _, rs := range s.rules {
		s.arm(rs, now)
	}
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

// Close stops the schedule and waits for deliveries in progress.
func (s *Service) Close() {
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	s.quit()
	s.wg.Wait()
}

func (s *Service) compile(r Rule) (*ruleState, error) {
	rs := &ruleState{Rule: r}
	if r.ScheduleExpression != "" {
		sched, err := ParseScheduleIn(r.ScheduleExpression, time.UnixMilli(r.Enabled), r.Timezone)
		if err != nil {
			return nil, errorf(ErrValidation, "%s", err.Error())
		}
		rs.sched = sched
	}
	if r.EventPattern != "" {
		p, err := parsePattern(r.EventPattern)
		if err != nil {
			return nil, err
		}
		rs.pattern = p
	}
	return rs, nil
}

// parsePattern parses an event pattern; its syntax is the content
// filtering that SNS body-scoped filter policies share with EventBridge.
func parsePattern(doc string) (*filter.Policy, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil || m == nil {
		return nil, errorf(ErrPattern, "Event pattern is not valid. Reason: Filter is not an object")
	}
	p, err := filter.Parse(doc, filter.ScopeBody)
	if err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "FilterPolicy: ")
		return nil, errorf(ErrPattern, "Event pattern is not valid. Reason: %s", msg)
	}
	return p, nil
}

// arm computes a scheduled rule's next firing (s.mu held or at start).
func (s *Service) arm(rs *ruleState, now time.Time) {
	rs.next = time.Time{}
	if rs.sched != nil && rs.State != "DISABLED" {
		rs.next = rs.sched.Next(now)
	}
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop fires scheduled rules when they fall due on the clock.
func (s *Service) loop() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		var earliest time.Time
		for _, rs := range s.rules {
			if !rs.next.IsZero() && (earliest.IsZero() || rs.next.Before(earliest)) {
				earliest = rs.next
			}
		}
		s.mu.Unlock()
		var timer clock.Timer
		var due <-chan time.Time
		if !earliest.IsZero() {
			timer = s.clock.NewTimer(earliest.Sub(s.clock.Now()))
			due = timer.C()
		}
		select {
		case <-s.stop:
			if timer != nil {
				timer.Stop()
			}
			return
		case <-s.wake:
			if timer != nil {
				timer.Stop()
			}
		case <-due:
			s.fireDue()
		}
	}
}

func (s *Service) fireDue() {
	now := s.clock.Now()
	type firing struct {
		rule Rule
		at   time.Time
	}
	var fire []firing
	s.mu.Lock()
	for _, rs := range s.rules {
		if !rs.next.IsZero() && !rs.next.After(now) {
			fire = append(fire, firing{rs.Rule, rs.next})
			rs.next = rs.sched.Next(now)
		}
	}
	s.mu.Unlock()
	for _, f := range fire {
		if f.rule.Scheduler {
			s.send(f.rule, map[string]any{})
			continue
		}
		ev := map[string]any{"version": "0", "id": uuid.New(), "detail-type": "Scheduled Event", "source": "aws.events",
			"account": s.cfg.AccountID, "time": f.at.UTC().Format("2006-01-02T15:04:05Z"), "region": s.cfg.Region,
			"resources": []string{f.rule.Arn}, "detail": map[string]any{}}
		s.send(f.rule, ev)
	}
}

// send delivers an event to each of the rule's targets, in the background.
func (s *Service) send(r Rule, ev map[string]any) {
	raw, _ := json.Marshal(ev)
	for _, t := range r.Targets {
		payload, err := input(t, raw, ev)
		if err != nil {
			s.log.Warn("target input", "rule", r.Name, "target", t.ID, "err", err)
			continue
		}
		s.wg.Add(1)
		go func(t Target) {
			defer s.wg.Done()
			if s.cfg.Deliverer == nil {
				return
			}
			if err := s.cfg.Deliverer.Deliver(s.ctx, t, payload); err != nil {
				s.log.Warn("delivery failed", "rule", r.Name, "target", t.ID, "arn", t.Arn, "err", err)
			}
		}(t)
	}
}

// input is what a target receives: its constant Input, the part of the
// event its InputPath selects, or the event.
func input(t Target, raw []byte, ev map[string]any) ([]byte, error) {
	switch {
	case t.Input != "":
		return []byte(t.Input), nil
	case t.InputPath != "" && t.InputPath != "$":
		var cur any = ev
		for _, part := range strings.Split(strings.TrimPrefix(t.InputPath, "$."), ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("InputPath %s selects nothing", t.InputPath)
			}
			cur = m[part]
		}
		return json.Marshal(cur)
	}
	return raw, nil
}

var ruleName = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)

// PutRuleInput is PutRule's request.
type PutRuleInput struct {
	Name, ScheduleExpression, EventPattern, State, Description, RoleArn, EventBusName string
	Tags                                                                              map[string]string
}

func (s *Service) arn(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", s.cfg.Region, s.cfg.AccountID, name)
}

func checkBus(bus string) error {
	if bus != "" && bus != "default" && !strings.HasSuffix(bus, ":event-bus/default") {
		return errorf(ErrNotFound, "Event bus %s does not exist.", bus)
	}
	return nil
}

// PutRule creates or replaces a rule (keeping its targets).
func (s *Service) PutRule(ctx context.Context, in PutRuleInput) (string, error) {
	if !ruleName.MatchString(in.Name) {
		return "", errorf(ErrValidation, "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", in.Name)
	}
	if err := checkBus(in.EventBusName); err != nil {
		return "", err
	}
	if in.ScheduleExpression == "" && in.EventPattern == "" {
		return "", errorf(ErrValidation, "Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	switch in.State {
	case "":
		in.State = "ENABLED"
	case "ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS":
	default:
		return "", errorf(ErrValidation, "1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, DISABLED, ENABLED]", in.State)
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Rule{Name: in.Name, Arn: s.arn(in.Name), ScheduleExpression: in.ScheduleExpression, EventPattern: in.EventPattern,
		State: in.State, Description: in.Description, RoleArn: in.RoleArn, Tags: in.Tags, Created: now.UnixMilli(), Enabled: now.UnixMilli()}
	if old := s.rules[in.Name]; old != nil {
		r.Targets, r.Created = old.Targets, old.Created
		if r.Tags == nil {
			r.Tags = old.Tags
		}
		if old.ScheduleExpression == r.ScheduleExpression && old.State == r.State {
			r.Enabled = old.Enabled
		}
	}
	rs, err := s.compile(r)
	if err != nil {
		return "", err
	}
	if err := s.save(ctx, &r); err != nil {
		return "", err
	}
	s.arm(rs, now)
	s.rules[r.Name] = rs
	s.poke()
	return r.Arn, nil
}

func (s *Service) save(ctx context.Context, r *Rule) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var batch store.Batch
	batch.PutRecord(nsRule, r.Name, b)
	return s.st.Commit(ctx, &batch)
}

func (s *Service) get(name, bus string) (*ruleState, error) {
	if err := checkBus(bus); err != nil {
		return nil, err
	}
	rs := s.rules[name]
	if rs == nil || rs.Scheduler {
		return nil, errorf(ErrNotFound, "Rule %s does not exist on EventBus default.", name)
	}
	return rs, nil
}

// DescribeRule returns a rule.
func (s *Service) DescribeRule(ctx context.Context, name, bus string) (Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.get(name, bus)
	if err != nil {
		return Rule{}, err
	}
	return rs.Rule, nil
}

// ListRules lists the rules whose names start with prefix, by name.
func (s *Service) ListRules(ctx context.Context, prefix, bus string) ([]Rule, error) {
	if err := checkBus(bus); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Rule
	for name, rs := range s.rules {
		if strings.HasPrefix(name, prefix) && !rs.Scheduler {
			out = append(out, rs.Rule)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteRule removes a rule that has no targets; a missing rule is no
// error.
func (s *Service) DeleteRule(ctx context.Context, name, bus string, force bool) error {
	if err := checkBus(bus); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.rules[name]
	if rs == nil || rs.Scheduler {
		return nil
	}
	if len(rs.Targets) > 0 && !force {
		return errorf(ErrValidation, "Rule can't be deleted since it has targets.")
	}
	var b store.Batch
	b.DeleteRecord(nsRule, name)
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	delete(s.rules, name)
	s.poke()
	return nil
}

// SetState enables or disables a rule.
func (s *Service) SetState(ctx context.Context, name, bus string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.get(name, bus)
	if err != nil {
		return err
	}
	state := "DISABLED"
	if enabled {
		state = "ENABLED"
	}
	if rs.State == state || (enabled && rs.State != "DISABLED") {
		return nil
	}
	r := rs.Rule
	now := s.clock.Now()
	r.State = state
	if enabled {
		r.Enabled = now.UnixMilli()
	}
	nrs, err := s.compile(r)
	if err != nil {
		return err
	}
	if err := s.save(ctx, &r); err != nil {
		return err
	}
	s.arm(nrs, now)
	s.rules[name] = nrs
	s.poke()
	return nil
}

// FailedEntry is a target that PutTargets or RemoveTargets refused.
type FailedEntry struct{ TargetID, Code, Message string }

// PutTargets adds or replaces targets by ID; a rule has at most 5.
func (s *Service) PutTargets(ctx context.Context, name, bus string, targets []Target) ([]FailedEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.get(name, bus)
	if err != nil {
		return nil, err
	}
	r := rs.Rule
	r.Targets = append([]Target(nil), r.Targets...)
	var failed []FailedEntry
	for _, t := range targets {
		if t.ID == "" || t.Arn == "" || len(t.ID) > 64 {
			return nil, errorf(ErrValidation, "Parameter(s) Id and Arn must be specified for each target.")
		}
		if !strings.HasPrefix(t.Arn, "arn:") {
			failed = append(failed, FailedEntry{t.ID, "ValidationException", "Parameter " + t.Arn + " is not valid. Reason: Provided Arn is not in correct format."})
			continue
		}
		replaced := false
		for i := range r.Targets {
			if r.Targets[i].ID == t.ID {
				r.Targets[i], replaced = t, true
			}
		}
		if !replaced {
			r.Targets = append(r.Targets, t)
		}
	}
	// "The maximum number of entries per request is 10 ... You can
	// configure up to five targets for each rule."
	if len(r.Targets) > 5 {
		return nil, errorf(ErrLimit, "The requested resource exceeds the maximum number allowed.")
	}
	if err := s.save(ctx, &r); err != nil {
		return nil, err
	}
	rs.Rule = r
	return failed, nil
}

// RemoveTargets removes targets by ID.
func (s *Service) RemoveTargets(ctx context.Context, name, bus string, ids []string) ([]FailedEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.get(name, bus)
	if err != nil {
		return nil, err
	}
	r := rs.Rule
	drop := map[string]bool{}
	for _, id := range ids {
		drop[id] = true
	}
	var keep []Target
	for _, t := range r.Targets {
		if !drop[t.ID] {
			keep = append(keep, t)
		}
	}
	r.Targets = keep
	if err := s.save(ctx, &r); err != nil {
		return nil, err
	}
	rs.Rule = r
	return nil, nil
}

// Entry is one PutEvents entry.
type Entry struct {
	Source, DetailType, Detail, EventBusName string
	Resources                                []string
	Time                                     time.Time
}

// Result is one PutEvents result: an event ID or an error.
type Result struct{ EventID, ErrorCode, ErrorMessage string }

// PutEvents matches each event against the rules' patterns and delivers
// it to the targets of every rule it matches.
func (s *Service) PutEvents(ctx context.Context, entries []Entry) ([]Result, error) {
	if len(entries) == 0 || len(entries) > 10 {
		return nil, errorf(ErrValidation, "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	out := make([]Result, len(entries))
	for i, e := range entries {
		switch {
		case e.Source == "":
			out[i] = Result{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter Source is not valid. Reason: Source is a required argument."}
			continue
		case e.DetailType == "":
			out[i] = Result{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter DetailType is not valid. Reason: DetailType is a required argument."}
			continue
		case e.Detail == "":
			out[i] = Result{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter Detail is not valid. Reason: Detail is a required argument."}
			continue
		case checkBus(e.EventBusName) != nil:
			out[i] = Result{ErrorCode: "InvalidArgument", ErrorMessage: "Event bus " + e.EventBusName + " does not exist."}
			continue
		}
		var detail map[string]any
		if err := json.Unmarshal([]byte(e.Detail), &detail); err != nil || detail == nil {
			out[i] = Result{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."}
			continue
		}
		at := e.Time
		if at.IsZero() {
			at = s.clock.Now()
		}
		resources := e.Resources
		if resources == nil {
			resources = []string{}
		}
		id := uuid.New()
		ev := map[string]any{"version": "0", "id": id, "detail-type": e.DetailType, "source": e.Source,
			"account": s.cfg.AccountID, "time": at.UTC().Format("2006-01-02T15:04:05Z"), "region": s.cfg.Region,
			"resources": resources, "detail": detail}
		raw, _ := json.Marshal(ev)
		msg := filter.NewMessage(nil, string(raw), true)
		var matched []Rule
		s.mu.Lock()
		for _, rs := range s.rules {
			if rs.pattern != nil && rs.State != "DISABLED" && rs.pattern.Match(msg) {
				matched = append(matched, rs.Rule)
			}
		}
		s.mu.Unlock()
		for _, r := range matched {
			s.send(r, ev)
		}
		out[i] = Result{EventID: id}
	}
	return out, nil
}

// TestEventPattern reports whether an event matches a pattern.
func TestEventPattern(pattern, event string) (bool, error) {
	p, err := parsePattern(pattern)
	if err != nil {
		return false, err
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(event), &ev); err != nil || ev == nil {
		return false, errorf(ErrValidation, "Parameter Event is not valid.")
	}
	return p.Match(filter.NewMessage(nil, event, true)), nil
}

// ScheduleInput is an EventBridge Scheduler schedule.
type ScheduleInput struct {
	Name, Group, Expression, Timezone, State string
	Target                                   Target
}

func scheduleKey(group, name string) string {
	if group == "" {
		group = "default"
	}
	return "schedule:" + group + "/" + name
}

// PutSchedule creates or replaces a Scheduler schedule; it returns its ARN.
func (s *Service) PutSchedule(ctx context.Context, in ScheduleInput) (string, error) {
	group := in.Group
	if group == "" {
		group = "default"
	}
	state := "ENABLED"
	if in.State == "DISABLED" {
		state = "DISABLED"
	}
	now := s.clock.Now()
	key := scheduleKey(group, in.Name)
	in.Target.ID = in.Name
	if in.Target.Input == "" {
		in.Target.Input = "{}"
	}
	r := Rule{Name: key, Arn: fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/%s/%s", s.cfg.Region, s.cfg.AccountID, group, in.Name),
		ScheduleExpression: in.Expression, State: state, Targets: []Target{in.Target}, Scheduler: true, Timezone: in.Timezone,
		Created: now.UnixMilli(), Enabled: now.UnixMilli()}
	rs, err := s.compile(r)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.save(ctx, &r); err != nil {
		return "", err
	}
	s.arm(rs, now)
	s.rules[key] = rs
	s.poke()
	return r.Arn, nil
}

// DeleteSchedule removes a Scheduler schedule.
func (s *Service) DeleteSchedule(ctx context.Context, group, name string) error {
	key := scheduleKey(group, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rules[key] == nil {
		return nil
	}
	var b store.Batch
	b.DeleteRecord(nsRule, key)
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	delete(s.rules, key)
	s.poke()
	return nil
}
