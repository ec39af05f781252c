// Package workflow is forkline's Step Functions: state machines in the
// Amazon States Language and their executions, interpreted in process.
//
// Invariants:
//   - A STANDARD execution's position (state, input, retry attempt, Wait
//     deadline) and its history are recorded before each effectful state
//     (Task, Wait, and Parallel or Map holding one) takes effect, and at
//     the end; after a restart, running executions resume where they
//     were, a Wait keeping its deadline and a Task that was in flight
//     running again. The pure states between two commits (Pass, Choice,
//     Succeed, Fail) are run again unseen.
//   - EXPRESS executions live in memory only, as Step Functions allows:
//     the last expressRetained finished ones stay describable.
//   - Finished STANDARD executions are read from the store, not memory;
//     executions share their machine's definition, stored once by hash.
//   - Parallel branches and Map iterations run in memory within their
//     state: a restart runs the whole Parallel or Map state again.
package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/uuid"
	"github.com/forkline/forkline/internal/workflow/asl"
)

// Record namespaces.
const (
	nsMachine = "sfn.sm"   // name → machineRec
	nsExec    = "sfn.exec" // execution ARN → execRec
	nsEvent   = "sfn.ev"   // execution ARN NUL event id → Event
	nsDef     = "sfn.def"  // definition hash → definition
	nsRunning = "sfn.run"  // execution ARN → "" while it runs
	nsMeta    = "sfn.meta" // format markers
)

// expressRetained is how many finished EXPRESS executions stay in memory.
const expressRetained = 1000

// Sentinel errors; the text is Step Functions' error code.
var (
	ErrStateMachineDoesNotExist     = fmt.Errorf("StateMachineDoesNotExist")
	ErrStateMachineAlreadyExists    = fmt.Errorf("StateMachineAlreadyExists")
	ErrExecutionDoesNotExist        = fmt.Errorf("ExecutionDoesNotExist")
	ErrExecutionAlreadyExists       = fmt.Errorf("ExecutionAlreadyExists")
	ErrInvalidDefinition            = fmt.Errorf("InvalidDefinition")
	ErrInvalidArn                   = fmt.Errorf("InvalidArn")
	ErrInvalidName                  = fmt.Errorf("InvalidName")
	ErrInvalidExecutionInput        = fmt.Errorf("InvalidExecutionInput")
	ErrValidation                   = fmt.Errorf("ValidationException")
	ErrStateMachineTypeNotSupported = fmt.Errorf("StateMachineTypeNotSupported")
	ErrServiceQuotaExceeded         = fmt.Errorf("ServiceQuotaExceededException")
	ErrMissingRequiredParameter     = fmt.Errorf("MissingRequiredParameter")
	ErrExecutionNotRedrivable       = fmt.Errorf("ExecutionNotRedrivable")
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

// Config configures a Service.
type Config struct {
	Region, AccountID string
	Clock             clock.Clock
	Logger            *slog.Logger
	Tasks             Tasks
}

// MachineInfo describes a state machine.
type MachineInfo struct {
	Arn, Name, Definition, RoleArn, Type string
	CreationDate                         time.Time
	RevisionID, Description              string
	// VersionArn is set when the machine was just published as a version.
	VersionArn string
}

type machineRec struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
	DefHash    string `json:"defHash,omitempty"`
	RoleArn    string `json:"roleArn"`
	Revision   string `json:"revisionId,omitempty"`
	// NextVersion is the number of the last version published.
	NextVersion int               `json:"lastVersion,omitempty"`
	Type        string            `json:"type"`
	Created     int64             `json:"created"` // Unix milliseconds
	Tags        map[string]string `json:"tags,omitempty"`
}

// cursor is where a running execution is.
type cursor struct {
	State     string `json:"state,omitempty"`
	Entered   bool   `json:"entered,omitempty"`
	Input     string `json:"input,omitempty"`
	Attempt   int    `json:"attempt,omitempty"`
	WaitUntil int64  `json:"waitUntil,omitempty"`
	// Token is the task token of a callback task that has been sent;
	// Result is the answer that arrived for it while nothing waited.
	Token  string       `json:"token,omitempty"`
	Result *tokenResult `json:"result,omitempty"`
	// Vars are the workflow variables as they were.
	Vars map[string]any `json:"vars,omitempty"`
}

// tokenResult is what SendTaskSuccess or SendTaskFailure said.
type tokenResult struct {
	Output string `json:"output,omitempty"`
	Failed bool   `json:"failed,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
}

// tokenWait is a callback task waiting for its token.
type tokenWait struct {
	exec      *execution
	result    chan tokenResult
	heartbeat chan struct{}
}

type execRec struct {
	Arn        string `json:"arn"`
	Machine    string `json:"machine"` // state machine ARN
	Name       string `json:"name"`
	Definition string `json:"definition,omitempty"` // records before DefHash
	DefHash    string `json:"defHash,omitempty"`
	VersionArn string `json:"versionArn,omitempty"`
	AliasArn   string `json:"aliasArn,omitempty"`
	Status     string `json:"status"`
	Input      string `json:"input"`
	Output     string `json:"output,omitempty"`
	Error      string `json:"error,omitempty"`
	Cause      string `json:"cause,omitempty"`
	Start      int64  `json:"start"` // Unix milliseconds
	Stop       int64  `json:"stop,omitempty"`
	Cursor     cursor `json:"cursor"`
	NextEvent  int64  `json:"nextEvent"`
	// Redrives counts RedriveExecution calls; Redriven is the last one's
	// time (Unix milliseconds).
	Redrives int   `json:"redrives,omitempty"`
	Redriven int64 `json:"redriven,omitempty"`
	Express  bool  `json:"express,omitempty"`
}

// Event is one history event.
type Event struct {
	ID              int64          `json:"id"`
	PreviousEventID int64          `json:"previousEventId"`
	Timestamp       int64          `json:"timestamp"` // Unix milliseconds
	Type            string         `json:"type"`
	Details         map[string]any `json:"details,omitempty"`
}

// execution is a live execution.
type execution struct {
	s      *Service
	mu     sync.Mutex // guards rec and pending
	rec    execRec
	cancel context.CancelFunc
	done   chan struct{}
	// pending holds events not yet committed (committed with the next
	// cursor or at the end); an ephemeral (EXPRESS) execution keeps its
	// whole history here and commits nothing.
	pending   []Event
	ephemeral bool
	machine   *Machine
	input     any // the decoded input, when started in this process
}

// Service runs state machines. It is safe for concurrent use.
type Service struct {
	st    store.Records
	cfg   Config
	clock clock.Clock
	log   *slog.Logger

	mu       sync.Mutex // guards machines, execs, express, defs and tokens
	machines map[string]*machineRec
	// execs holds the running executions and the retained EXPRESS ones;
	// finished STANDARD executions are read from the store.
	execs   map[string]*execution
	express []string // finished EXPRESS executions, oldest first
	defs    map[string]*Machine
	tokens  map[string]*tokenWait
	// versions and aliases by machine name; versions in order.
	versions map[string][]*versionRec
	aliases  map[string]map[string]*aliasRec

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New loads state machines and resumes running executions.
func New(ctx context.Context, st store.Records, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{st: st, cfg: cfg, clock: cfg.Clock, log: cfg.Logger.With("service", "states"),
		machines: map[string]*machineRec{}, execs: map[string]*execution{}, tokens: map[string]*tokenWait{}, defs: map[string]*Machine{},
		versions: map[string][]*versionRec{}, aliases: map[string]map[string]*aliasRec{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	err := st.ScanRecords(ctx, nsMachine, "", func(_ string, v []byte) error {
		var m machineRec
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("%w: state machine: %v", store.ErrCorrupt, err)
		}
		s.machines[m.Name] = &m
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Machines recorded before definitions were stored by hash.
	var upgrade store.Batch
	for _, m := range s.machines {
		if m.DefHash == "" || m.Revision == "" {
			m.DefHash = defHash(m.Definition)
			if m.Revision == "" {
				m.Revision = newRevision()
			}
			upgrade.PutRecord(nsDef, m.DefHash, []byte(m.Definition))
			upgrade.PutRecord(nsMachine, m.Name, mustJSON(m))
		}
	}
	if err := st.Commit(ctx, &upgrade); err != nil {
		return nil, err
	}
	if err := s.loadVersions(ctx); err != nil {
		return nil, err
	}
	if err := s.indexRunning(ctx); err != nil {
		return nil, err
	}
	var running []*execution
	err = st.ScanRecords(ctx, nsRunning, "", func(arn string, _ []byte) error {
		v, err := st.GetRecord(ctx, nsExec, arn)
		if err != nil {
			return fmt.Errorf("%w: running execution %s: %v", store.ErrCorrupt, arn, err)
		}
		var r execRec
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: execution: %v", store.ErrCorrupt, err)
		}
		if r.Status == "RUNNING" {
			e := &execution{s: s, rec: r, done: make(chan struct{})}
			s.execs[r.Arn] = e
			running = append(running, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, e := range running {
		s.start(e)
	}
	return s, nil
}

// indexRunning builds the index of running executions for data written
// before it existed.
func (s *Service) indexRunning(ctx context.Context) error {
	if _, err := s.st.GetRecord(ctx, nsMeta, "running-index"); err == nil {
		return nil
	}
	var b store.Batch
	err := s.st.ScanRecords(ctx, nsExec, "", func(arn string, v []byte) error {
		var r execRec
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: execution: %v", store.ErrCorrupt, err)
		}
		if r.Status == "RUNNING" {
			b.PutRecord(nsRunning, arn, nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.PutRecord(nsMeta, "running-index", []byte("1"))
	return s.st.Commit(ctx, &b)
}

func defHash(def string) string {
	h := sha256.Sum256([]byte(def))
	return hex.EncodeToString(h[:16])
}

// parsed returns the machine of a stored definition, parsed once.
func (s *Service) parsed(ctx context.Context, hash, def string) (*Machine, error) {
	s.mu.Lock()
	m := s.defs[hash]
	s.mu.Unlock()
	if m != nil {
		return m, nil
	}
	if def == "" {
		v, err := s.st.GetRecord(ctx, nsDef, hash)
		if err != nil {
			return nil, fmt.Errorf("definition %s: %w", hash, err)
		}
		def = string(v)
	}
	m, err := Parse(def)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.defs[hash] = m
	s.mu.Unlock()
	return m, nil
}

// Close stops the executions (they resume at the next start) and waits.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

func (s *Service) machineArn(name string) string {
	return "arn:aws:states:" + s.cfg.Region + ":" + s.cfg.AccountID + ":stateMachine:" + name
}

func (s *Service) execArn(machine, name string) string {
	return "arn:aws:states:" + s.cfg.Region + ":" + s.cfg.AccountID + ":execution:" + machine + ":" + name
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,80}$`)

// sleep waits d on the injected clock.
func (s *Service) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := s.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// CreateStateMachine validates and stores a state machine.
func (s *Service) CreateStateMachine(ctx context.Context, name, definition, roleArn, typ string) (MachineInfo, error) {
	return s.CreateStateMachineWith(ctx, CreateInput{Name: name, Definition: definition, RoleArn: roleArn, Type: typ})
}

// CreateInput are the parameters of CreateStateMachine.
type CreateInput struct {
	Name, Definition, RoleArn, Type string
	// Publish publishes the machine as version 1, with VersionDescription.
	Publish            bool
	VersionDescription string
}

// CreateStateMachineWith validates and stores a state machine, and
// publishes its first version when asked.
func (s *Service) CreateStateMachineWith(ctx context.Context, in CreateInput) (MachineInfo, error) {
	name, definition, roleArn, typ := in.Name, in.Definition, in.RoleArn, in.Type
	if !nameRE.MatchString(name) {
		return MachineInfo{}, errorf(ErrInvalidName, "Invalid Name: '%s'", name)
	}
	if typ == "" {
		typ = "STANDARD"
	}
	if typ != "STANDARD" && typ != "EXPRESS" {
		return MachineInfo{}, errorf(ErrValidation, "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", typ)
	}
	if in.VersionDescription != "" && !in.Publish {
		return MachineInfo{}, errorf(ErrValidation, "Version description can only be set when publish is true")
	}
	if _, err := Parse(definition); err != nil {
		return MachineInfo{}, errorf(ErrInvalidDefinition, "Invalid State Machine Definition: '%s'", err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.machines[name]
	if m != nil && (m.Definition != definition || m.RoleArn != roleArn || m.Type != typ) {
		return MachineInfo{}, errorf(ErrStateMachineAlreadyExists, "State Machine Already Exists: '%s'", s.machineArn(name))
	}
	if m == nil { // else idempotent
		m = &machineRec{Name: name, Definition: definition, DefHash: defHash(definition), RoleArn: roleArn, Type: typ,
			Created: s.clock.Now().UnixMilli(), Revision: newRevision()}
		var b store.Batch
		b.PutRecord(nsDef, m.DefHash, []byte(definition))
		b.PutRecord(nsMachine, name, mustJSON(m))
		if err := s.st.Commit(ctx, &b); err != nil {
			return MachineInfo{}, err
		}
		s.machines[name] = m
	}
	info := s.info(m)
	if in.Publish {
		v, err := s.publishLocked(ctx, name, "", in.VersionDescription)
		if err != nil {
			return MachineInfo{}, err
		}
		info.VersionArn = v.Arn
	}
	return info, nil
}

func (s *Service) info(m *machineRec) MachineInfo {
	return MachineInfo{Arn: s.machineArn(m.Name), Name: m.Name, Definition: m.Definition, RoleArn: m.RoleArn, Type: m.Type,
		CreationDate: time.UnixMilli(m.Created), RevisionID: m.Revision}
}

func (s *Service) machineName(arn string) (string, error) {
	prefix := "arn:aws:states:" + s.cfg.Region + ":" + s.cfg.AccountID + ":stateMachine:"
	if !strings.HasPrefix(arn, "arn:") {
		return "", errorf(ErrInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	if !strings.HasPrefix(arn, prefix) {
		return "", errorf(ErrStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	return arn[len(prefix):], nil
}

// DescribeStateMachine returns a state machine, or one of its versions.
func (s *Service) DescribeStateMachine(ctx context.Context, arn string) (MachineInfo, error) {
	t, err := s.parseTarget(arn)
	if err != nil {
		return MachineInfo{}, err
	}
	if t.alias != "" {
		return MachineInfo{}, errorf(ErrInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	s.mu.Lock()
	m := s.machines[t.machine]
	if m == nil {
		s.mu.Unlock()
		return MachineInfo{}, errorf(ErrStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	info := s.info(m)
	if t.version == 0 {
		s.mu.Unlock()
		return info, nil
	}
	v := s.findVersion(t.machine, t.version)
	s.mu.Unlock()
	if v == nil {
		return MachineInfo{}, errorf(ErrStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	def, err := s.definitionByHash(ctx, v.DefHash)
	if err != nil {
		return MachineInfo{}, err
	}
	info.Arn, info.Definition, info.RoleArn, info.Type = arn, def, v.RoleArn, v.Type
	info.CreationDate, info.RevisionID, info.Description = time.UnixMilli(v.Created), v.RevisionID, v.Description
	return info, nil
}

func (s *Service) definitionByHash(ctx context.Context, hash string) (string, error) {
	v, err := s.st.GetRecord(ctx, nsDef, hash)
	if err != nil {
		return "", fmt.Errorf("definition %s: %w", hash, err)
	}
	return string(v), nil
}

// UpdateInput are the parameters of UpdateStateMachine.
type UpdateInput struct {
	Arn                 string
	Definition, RoleArn *string
	Publish             bool
	VersionDescription  string
}

// UpdateResult is what UpdateStateMachine answers.
type UpdateResult struct {
	UpdateDate             time.Time
	RevisionID, VersionArn string
}

// UpdateStateMachine changes a machine's definition or role (a new
// revision); running executions keep the definition they started with.
func (s *Service) UpdateStateMachine(ctx context.Context, arn string, definition, roleArn *string) (time.Time, error) {
	r, err := s.UpdateStateMachineWith(ctx, UpdateInput{Arn: arn, Definition: definition, RoleArn: roleArn})
	return r.UpdateDate, err
}

// UpdateStateMachineWith updates a machine and publishes the new revision
// as a version when asked.
func (s *Service) UpdateStateMachineWith(ctx context.Context, in UpdateInput) (UpdateResult, error) {
	t, err := s.parseTarget(in.Arn)
	if err != nil {
		return UpdateResult{}, err
	}
	if t.version != 0 || t.alias != "" {
		return UpdateResult{}, errorf(ErrInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", in.Arn)
	}
	if in.Definition == nil && in.RoleArn == nil && !in.Publish {
		return UpdateResult{}, errorf(ErrMissingRequiredParameter, "Either the definition, the roleArn, the loggingConfiguration or the tracingConfiguration must be specified")
	}
	if in.VersionDescription != "" && !in.Publish {
		return UpdateResult{}, errorf(ErrValidation, "Version description can only be set when publish is true")
	}
	if in.Definition != nil {
		if _, err := Parse(*in.Definition); err != nil {
			return UpdateResult{}, errorf(ErrInvalidDefinition, "Invalid State Machine Definition: '%s'", err.Error())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.machines[t.machine]
	if old == nil {
		return UpdateResult{}, errorf(ErrStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", in.Arn)
	}
	m := *old
	var b store.Batch
	if in.Definition != nil && *in.Definition != m.Definition {
		m.Definition, m.DefHash = *in.Definition, defHash(*in.Definition)
		b.PutRecord(nsDef, m.DefHash, []byte(m.Definition))
		m.Revision = newRevision()
	}
	if in.RoleArn != nil && *in.RoleArn != m.RoleArn {
		m.RoleArn = *in.RoleArn
		m.Revision = newRevision()
	}
	b.PutRecord(nsMachine, t.machine, mustJSON(m))
	if err := s.st.Commit(ctx, &b); err != nil {
		return UpdateResult{}, err
	}
	s.machines[t.machine] = &m
	res := UpdateResult{UpdateDate: s.clock.Now(), RevisionID: m.Revision}
	if in.Publish {
		v, err := s.publishLocked(ctx, t.machine, "", in.VersionDescription)
		if err != nil {
			return UpdateResult{}, err
		}
		res.VersionArn = v.Arn
	}
	return res, nil
}

// ListStateMachines lists state machines by name.
func (s *Service) ListStateMachines(ctx context.Context) []MachineInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []MachineInfo
	for _, m := range s.machines {
		out = append(out, s.info(m))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DeleteStateMachine deletes a state machine with its versions and
// aliases (its executions remain describable, as in Step Functions). A
// version ARN deletes that version.
func (s *Service) DeleteStateMachine(ctx context.Context, arn string) error {
	t, err := s.parseTarget(arn)
	if err != nil {
		return err
	}
	if t.version != 0 {
		return s.DeleteVersion(ctx, arn)
	}
	if t.alias != "" {
		return errorf(ErrInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var b store.Batch
	b.DeleteRecord(nsMachine, t.machine)
	for _, v := range s.versions[t.machine] {
		b.DeleteRecord(nsVersion, versionKey(t.machine, v.Version))
	}
	for a := range s.aliases[t.machine] {
		b.DeleteRecord(nsAlias, aliasKey(t.machine, a))
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	delete(s.machines, t.machine)
	delete(s.versions, t.machine)
	delete(s.aliases, t.machine)
	return nil
}

// ExecutionInfo describes an execution.
type ExecutionInfo struct {
	Arn, StateMachineArn, Name, Status string
	VersionArn, AliasArn               string
	RedriveCount                       int
	RedriveDate                        time.Time
	// RedriveStatus is REDRIVABLE or NOT_REDRIVABLE, for the reason given.
	RedriveStatus, RedriveStatusReason string
	Input, Output, Error, Cause        string
	HasOutput                          bool
	StartDate, StopDate                time.Time
}

func (e *execution) info() ExecutionInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.rec
	out := ExecutionInfo{Arn: r.Arn, StateMachineArn: r.Machine, Name: r.Name, Status: r.Status, Input: r.Input,
		VersionArn: r.VersionArn, AliasArn: r.AliasArn,
		Output: r.Output, Error: r.Error, Cause: r.Cause, StartDate: time.UnixMilli(r.Start), HasOutput: r.Status == "SUCCEEDED"}
	if r.Stop != 0 {
		out.StopDate = time.UnixMilli(r.Stop)
	}
	out.RedriveCount = r.Redrives
	if r.Redriven != 0 {
		out.RedriveDate = time.UnixMilli(r.Redriven)
	}
	out.RedriveStatus, out.RedriveStatusReason = "REDRIVABLE", ""
	if reason := e.notRedrivable(); reason != "" {
		out.RedriveStatus, out.RedriveStatusReason = "NOT_REDRIVABLE", reason
	}
	return out
}

// redriveWindow is how long after its end an execution can be redriven.
const redriveWindow = 14 * 24 * time.Hour

// notRedrivable says why RedriveExecution would refuse the execution
// (Step Functions developer guide, "Restarting state machine executions
// with redrive"), or "" when it would not; e.mu is held.
func (e *execution) notRedrivable() string {
	r := e.rec
	switch {
	case r.Express || e.ephemeral:
		return "Execution is an EXPRESS execution and cannot be redriven"
	case r.Status == "RUNNING" || r.Status == "SUCCEEDED" || r.Status == "PENDING_REDRIVE":
		return "Execution is " + r.Status + " and cannot be redriven"
	case r.Redrives >= 1000:
		return "Execution can not be redriven more than 1000 times"
	case r.NextEvent > 24999:
		return "Execution history event limit exceeded"
	case e.s != nil && e.s.clock.Now().Sub(time.UnixMilli(r.Stop)) > redriveWindow:
		return "Execution stopped more than 14 days ago and cannot be redriven"
	}
	return ""
}

// RedriveExecution runs a failed, timed out or aborted STANDARD execution
// again from the state where it stopped, with that state's input; the
// states that succeeded before are not run again.
func (s *Service) RedriveExecution(ctx context.Context, arn string) (time.Time, error) {
	old, err := s.lookupExec(arn)
	if err != nil {
		return time.Time{}, err
	}
	s.mu.Lock()
	if live := s.execs[arn]; live != nil && live != old {
		old = live
	}
	old.mu.Lock()
	reason := old.notRedrivable()
	rec := old.rec
	old.mu.Unlock()
	if reason != "" {
		s.mu.Unlock()
		return time.Time{}, errorf(ErrExecutionNotRedrivable, "Execution is not redrivable: %s", reason)
	}
	now := s.clock.Now()
	rec.Status, rec.Output, rec.Error, rec.Cause, rec.Stop = "RUNNING", "", "", "", 0
	rec.Redrives++
	rec.Redriven = now.UnixMilli()
	e := &execution{s: s, rec: rec, done: make(chan struct{})}
	e.addEvent("ExecutionRedriven", map[string]any{"executionRedrivenEventDetails": map[string]any{"redriveCount": rec.Redrives}})
	s.execs[arn] = e
	s.mu.Unlock()
	if err := e.persist(&e.rec.Cursor); err != nil {
		s.mu.Lock()
		delete(s.execs, arn)
		s.mu.Unlock()
		return time.Time{}, err
	}
	s.start(e)
	return now, nil
}

// StartExecution starts an execution; starting again with the same name
// and input returns the same execution (Step Functions' idempotency).
func (s *Service) StartExecution(ctx context.Context, machineArn, name, input string) (ExecutionInfo, error) {
	e, err := s.startExecution(ctx, machineArn, name, input)
	if err != nil {
		return ExecutionInfo{}, err
	}
	return e.info(), nil
}

func (s *Service) startExecution(ctx context.Context, machineArn, name, input string) (*execution, error) {
	e, fresh, err := s.newExecution(ctx, machineArn, name, input)
	if fresh {
		s.start(e)
	}
	return e, err
}

// newExecution records a new execution (fresh), or finds the one that an
// idempotent start names, without running it.
func (s *Service) newExecution(ctx context.Context, machineArn, name, input string) (e *execution, fresh bool, err error) {
	if name == "" {
		name = uuid.New()
	}
	if !nameRE.MatchString(name) {
		return nil, false, errorf(ErrInvalidName, "Invalid Name: '%s'", name)
	}
	if input == "" {
		input = "{}"
	}
	v, err := asl.Decode(input)
	if err != nil {
		return nil, false, errorf(ErrInvalidExecutionInput, "Invalid State Machine Execution Input: '%v'", err)
	}
	s.mu.Lock()
	target, err := s.resolve(machineArn)
	s.mu.Unlock()
	if err != nil {
		return nil, false, err
	}
	mname := target.machine
	m := &machineRec{Name: mname, Type: target.typ, RoleArn: target.roleArn, DefHash: target.defHash, Definition: target.definition}
	machine, err := s.parsed(ctx, m.DefHash, m.Definition)
	if err != nil {
		return nil, false, err
	}
	machineArn = s.machineArn(mname)
	arn := s.execArn(mname, name)
	// A name is taken by a running or retained execution (memory) or by a
	// finished STANDARD one (the store; EXPRESS ones are never there).
	var old *execution
	if m.Type == "EXPRESS" {
		s.mu.Lock()
		old = s.execs[arn]
		s.mu.Unlock()
	} else {
		old, _ = s.lookupExec(arn)
	}
	text := asl.Encode(v)
	if old != nil {
		info := old.info()
		if info.Input == text && info.Status == "RUNNING" {
			return old, false, nil
		}
		return nil, false, errorf(ErrExecutionAlreadyExists, "Execution Already Exists: '%s'", arn)
	}
	now := s.clock.Now()
	e = &execution{s: s, done: make(chan struct{}), ephemeral: m.Type == "EXPRESS", machine: machine, input: v,
		rec: execRec{Arn: arn, Machine: machineArn, Name: name, DefHash: m.DefHash, VersionArn: target.versionArn, AliasArn: target.aliasArn,
			Express: m.Type == "EXPRESS",
			Status:  "RUNNING", Input: text, Start: now.UnixMilli(), NextEvent: 1}}
	started := map[string]any{"input": text, "inputDetails": map[string]any{"truncated": false}, "roleArn": m.RoleArn}
	if target.versionArn != "" {
		started["stateMachineVersionArn"] = target.versionArn
	}
	if target.aliasArn != "" {
		started["stateMachineAliasArn"] = target.aliasArn
	}
	e.addEvent("ExecutionStarted", map[string]any{"executionStartedEventDetails": started})
	s.mu.Lock()
	if s.execs[arn] != nil {
		s.mu.Unlock()
		return nil, false, errorf(ErrExecutionAlreadyExists, "Execution Already Exists: '%s'", arn)
	}
	s.execs[arn] = e
	s.mu.Unlock()
	// The start is durable before StartExecution answers.
	if err := e.persist(&e.rec.Cursor); err != nil {
		s.mu.Lock()
		delete(s.execs, arn)
		s.mu.Unlock()
		return nil, false, err
	}
	return e, true, nil
}

// start runs an execution in the background.
func (s *Service) start(e *execution) {
	ctx, cancel := context.WithCancel(s.ctx)
	e.mu.Lock()
	e.cancel = cancel
	e.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		s.execute(ctx, e)
	}()
}

// runHere runs an execution in the calling goroutine, as StartSyncExecution
// does: it saves a goroutine (and its stack growth) per short execution.
func (s *Service) runHere(e *execution) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	e.mu.Lock()
	e.cancel = cancel
	e.mu.Unlock()
	s.wg.Add(1)
	defer s.wg.Done()
	s.execute(ctx, e)
}

// execute interprets an execution to its end (or until shutdown).
func (s *Service) execute(ctx context.Context, e *execution) {
	e.mu.Lock()
	rec := e.rec
	m := e.machine
	e.mu.Unlock()
	if m == nil {
		var err error
		if m, err = s.parsed(ctx, rec.DefHash, rec.Definition); err != nil {
			e.finish("FAILED", "", "States.Runtime", err.Error())
			return
		}
	}
	input := e.input
	if input == nil {
		input, _ = asl.Decode(rec.Input)
	}
	rctx := map[string]any{
		"Execution": map[string]any{"Id": rec.Arn, "Input": input, "Name": rec.Name, "StartTime": time.UnixMilli(rec.Start).UTC().Format(time.RFC3339Nano),
			"RoleArn": ""},
		"StateMachine": map[string]any{"Id": rec.Machine, "Name": strings.TrimPrefix(rec.Machine, "arn:aws:states:"+s.cfg.Region+":"+s.cfg.AccountID+":stateMachine:")},
	}
	r := &run{s: s, exec: e, ctx: rctx, usesContext: m.UsesContext, vars: &vars{m: map[string]any{}}}
	for k, v := range rec.Cursor.Vars {
		r.vars.m[k] = v
	}
	cur := rec.Cursor
	tctx := ctx
	if m.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		began := rec.Start
		if rec.Redriven != 0 {
			began = rec.Redriven // a redrive has the whole timeout again
		}
		deadline := time.UnixMilli(began).Add(time.Duration(m.TimeoutSeconds) * time.Second)
		tctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	out, err := r.runMachine(tctx, m, input, &cur)
	switch {
	case err == nil:
		text := asl.Encode(out)
		e.addEvent("ExecutionSucceeded", map[string]any{"executionSucceededEventDetails": map[string]any{"output": text}})
		e.finish("SUCCEEDED", text, "", "")
	case ctx.Err() != nil:
		// Stopped (StopExecution finished it) or shutting down: the
		// execution resumes at the next start from its last commit, as
		// after a crash, and the events since are emitted again then.
	case tctx.Err() == context.DeadlineExceeded:
		e.addEvent("ExecutionTimedOut", map[string]any{"executionTimedOutEventDetails": map[string]any{"error": "States.Timeout"}})
		e.finish("TIMED_OUT", "", "States.Timeout", "")
	default:
		f := asFailure(err)
		e.addEvent("ExecutionFailed", map[string]any{"executionFailedEventDetails": map[string]any{"error": f.name, "cause": f.cause}})
		e.finish("FAILED", "", f.name, f.cause)
	}
}

// addEvent appends a history event; it is committed with the next
// persist or finish.
func (e *execution) addEvent(typ string, details map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := e.rec.NextEvent
	if id == 0 {
		id = 1
	}
	e.rec.NextEvent = id + 1
	e.pending = append(e.pending, Event{ID: id, PreviousEventID: id - 1, Timestamp: e.s.clock.Now().UnixMilli(), Type: typ, Details: details})
}

// persist commits the cursor with the pending events.
func (e *execution) persist(cur *cursor) error {
	e.mu.Lock()
	e.rec.Cursor = *cur
	if e.ephemeral {
		e.mu.Unlock()
		return nil
	}
	var b store.Batch
	if len(e.pending) > 0 {
		// The events of one commit share a record, keyed by the first.
		b.PutRecord(nsEvent, eventKey(e.rec.Arn, e.pending[0].ID), appendEvents(nil, e.pending))
	}
	e.pending = nil
	b.PutRecord(nsExec, e.rec.Arn, mustJSON(e.rec))
	if e.rec.Status == "RUNNING" {
		b.PutRecord(nsRunning, e.rec.Arn, nil)
	} else {
		b.DeleteRecord(nsRunning, e.rec.Arn)
	}
	e.mu.Unlock()
	return e.s.st.Commit(context.Background(), &b)
}

func (e *execution) flush() error {
	e.mu.Lock()
	cur := e.rec.Cursor
	e.mu.Unlock()
	err := e.persist(&cur)
	if err != nil {
		e.s.log.Error("record execution", "execution", e.rec.Arn, "err", err)
	}
	return err
}

// finish records the end of an execution, then lets it go from memory
// (EXPRESS ones are retained a while).
func (e *execution) finish(status, output, errName, cause string) {
	e.mu.Lock()
	if e.rec.Status != "RUNNING" {
		e.mu.Unlock()
		return
	}
	// The end is committed, with the last events, before it shows: a
	// client that sees the final status finds the whole history.
	rec := e.rec
	rec.Status, rec.Output, rec.Error, rec.Cause = status, output, errName, cause
	rec.Stop = e.s.clock.Now().UnixMilli()
	var b store.Batch
	if !e.ephemeral {
		if len(e.pending) > 0 {
			b.PutRecord(nsEvent, eventKey(rec.Arn, e.pending[0].ID), appendEvents(nil, e.pending))
		}
		e.pending = nil
		b.PutRecord(nsExec, rec.Arn, mustJSON(rec))
		b.DeleteRecord(nsRunning, rec.Arn)
	}
	e.mu.Unlock()
	kept := false
	if !e.ephemeral {
		if err := e.s.st.Commit(context.Background(), &b); err != nil {
			e.s.log.Error("record execution", "execution", rec.Arn, "err", err)
			kept = true
		}
	}
	e.mu.Lock()
	e.rec.Status, e.rec.Output, e.rec.Error, e.rec.Cause, e.rec.Stop = rec.Status, rec.Output, rec.Error, rec.Cause, rec.Stop
	e.mu.Unlock()
	s := e.s
	s.mu.Lock()
	switch {
	case e.ephemeral:
		s.express = append(s.express, e.rec.Arn)
		if len(s.express) > expressRetained {
			delete(s.execs, s.express[0])
			s.express = s.express[1:]
		}
	case !kept && s.execs[e.rec.Arn] == e:
		delete(s.execs, e.rec.Arn)
	}
	s.mu.Unlock()
	select {
	case <-e.done:
	default:
		close(e.done)
	}
}

// appendEvents appends events as a JSON array, as json.Marshal would.
func appendEvents(b []byte, evs []Event) []byte {
	b = append(b, '[')
	for i, ev := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, ev.ID, 10)
		b = append(b, `,"previousEventId":`...)
		b = strconv.AppendInt(b, ev.PreviousEventID, 10)
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, ev.Timestamp, 10)
		b = append(b, `,"type":`...)
		b = asl.AppendString(b, ev.Type)
		if len(ev.Details) > 0 {
			b = append(b, `,"details":`...)
			b = asl.AppendJSON(b, ev.Details)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func eventKey(arn string, id int64) string { return fmt.Sprintf("%s\x00%012d", arn, id) }

func (s *Service) lookupExec(arn string) (*execution, error) {
	if !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":execution:") {
		return nil, errorf(ErrInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	s.mu.Lock()
	e := s.execs[arn]
	s.mu.Unlock()
	if e != nil {
		return e, nil
	}
	v, err := s.st.GetRecord(context.Background(), nsExec, arn)
	if err != nil {
		return nil, errorf(ErrExecutionDoesNotExist, "Execution Does Not Exist: '%s'", arn)
	}
	var r execRec
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("%w: execution: %v", store.ErrCorrupt, err)
	}
	e = &execution{s: s, rec: r, done: make(chan struct{})}
	close(e.done)
	return e, nil
}

// DescribeExecution returns an execution.
func (s *Service) DescribeExecution(ctx context.Context, arn string) (ExecutionInfo, error) {
	e, err := s.lookupExec(arn)
	if err != nil {
		return ExecutionInfo{}, err
	}
	return e.info(), nil
}

// ListExecutions lists a state machine's executions, newest first.
func (s *Service) ListExecutions(ctx context.Context, machineArn, status string) ([]ExecutionInfo, error) {
	t, err := s.parseTarget(machineArn)
	if err != nil {
		return nil, err
	}
	name, through := t.machine, machineArn
	// A version or alias ARN lists the executions started through it.
	match := func(info ExecutionInfo) bool {
		switch {
		case t.version != 0:
			return info.VersionArn == through
		case t.alias != "":
			return info.AliasArn == through
		}
		return true
	}
	machineArn = s.machineArn(name)
	s.mu.Lock()
	if s.machines[name] == nil {
		s.mu.Unlock()
		return nil, errorf(ErrStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", machineArn)
	}
	live := map[string]*execution{}
	for arn, e := range s.execs {
		live[arn] = e
	}
	s.mu.Unlock()
	var out []ExecutionInfo
	add := func(info ExecutionInfo) {
		if info.StateMachineArn == machineArn && (status == "" || info.Status == status) && match(info) {
			out = append(out, info)
		}
	}
	// Running executions are all in memory; finished STANDARD ones are
	// read from the store.
	if status != "RUNNING" {
		err = s.st.ScanRecords(ctx, nsExec, s.execArn(name, ""), func(arn string, v []byte) error {
			if e := live[arn]; e != nil {
				return nil // the live copy is newer
			}
			var r execRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: execution: %v", store.ErrCorrupt, err)
			}
			add((&execution{rec: r}).info())
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, e := range live {
		add(e.info())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartDate.Equal(out[j].StartDate) {
			return out[i].StartDate.After(out[j].StartDate)
		}
		return out[i].Arn > out[j].Arn
	})
	return out, nil
}

// History returns an execution's events.
func (s *Service) History(ctx context.Context, arn string, reverse bool) ([]Event, error) {
	e, err := s.lookupExec(arn)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	ephemeral := e.ephemeral
	var pending []Event
	if ephemeral {
		pending = append(pending, e.pending...)
	}
	e.mu.Unlock()
	var out []Event
	if ephemeral {
		if reverse {
			slices.Reverse(pending)
		}
		return pending, nil
	}
	err = s.st.ScanRecords(ctx, nsEvent, arn+"\x00", func(_ string, v []byte) error {
		if len(v) > 0 && v[0] == '[' {
			var evs []Event
			if err := json.Unmarshal(v, &evs); err != nil {
				return fmt.Errorf("%w: history of %s: %v", store.ErrCorrupt, arn, err)
			}
			out = append(out, evs...)
			return nil
		}
		var ev Event // one event per record, as before event batches
		if err := json.Unmarshal(v, &ev); err != nil {
			return fmt.Errorf("%w: history of %s: %v", store.ErrCorrupt, arn, err)
		}
		out = append(out, ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The events not yet committed, read after the store so that a commit
	// in between neither loses nor repeats any.
	e.mu.Lock()
	for _, ev := range e.pending {
		if len(out) == 0 || ev.ID > out[len(out)-1].ID {
			out = append(out, ev)
		}
	}
	e.mu.Unlock()
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// StopExecution aborts a running execution.
func (s *Service) StopExecution(ctx context.Context, arn, errName, cause string) (time.Time, error) {
	e, err := s.lookupExec(arn)
	if err != nil {
		return time.Time{}, err
	}
	e.mu.Lock()
	running := e.rec.Status == "RUNNING"
	e.mu.Unlock()
	if running {
		e.addEvent("ExecutionAborted", map[string]any{"executionAbortedEventDetails": map[string]any{"error": errName, "cause": cause}})
		e.finish("ABORTED", "", errName, cause)
		e.mu.Lock()
		cancel := e.cancel
		e.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	}
	return s.clock.Now(), nil
}

// ExecutionDefinition returns the definition an execution runs.
func (s *Service) ExecutionDefinition(ctx context.Context, arn string) (string, error) {
	e, err := s.lookupExec(arn)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	rec := e.rec
	e.mu.Unlock()
	if rec.Definition != "" {
		return rec.Definition, nil
	}
	v, err := s.st.GetRecord(ctx, nsDef, rec.DefHash)
	if err != nil {
		return "", fmt.Errorf("definition of %s: %w", arn, err)
	}
	return string(v), nil
}

// Tag adds and removes tags of a state machine.
func (s *Service) Tag(ctx context.Context, arn string, add map[string]string, remove []string) error {
	name, err := s.machineName(arn)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.machines[name]
	if old == nil {
		return errorf(ErrResourceNotFound, "Resource not found: '%s'", arn)
	}
	m := *old
	m.Tags = map[string]string{}
	for k, v := range old.Tags {
		m.Tags[k] = v
	}
	for k, v := range add {
		m.Tags[k] = v
	}
	for _, k := range remove {
		delete(m.Tags, k)
	}
	if len(m.Tags) > 50 {
		return errorf(ErrTooManyTags, "Too many tags: a resource can have 50")
	}
	var b store.Batch
	b.PutRecord(nsMachine, name, mustJSON(m))
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	s.machines[name] = &m
	return nil
}

// Tags returns a state machine's tags.
func (s *Service) Tags(ctx context.Context, arn string) (map[string]string, error) {
	name, err := s.machineName(arn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.machines[name]
	if m == nil {
		return nil, errorf(ErrResourceNotFound, "Resource not found: '%s'", arn)
	}
	out := map[string]string{}
	for k, v := range m.Tags {
		out[k] = v
	}
	return out, nil
}

// ErrResourceNotFound and ErrTooManyTags are the tagging errors.
var (
	ErrResourceNotFound = fmt.Errorf("ResourceNotFound")
	ErrTooManyTags      = fmt.Errorf("TooManyTags")
)

// ErrInvalidToken and ErrTaskDoesNotExist are the callback errors.
var (
	ErrInvalidToken     = fmt.Errorf("InvalidToken")
	ErrTaskDoesNotExist = fmt.Errorf("TaskDoesNotExist")
	ErrInvalidOutput    = fmt.Errorf("InvalidOutput")
)

// newToken makes a task token naming its execution.
func newToken(execArn string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(execArn + "\x00" + uuid.New()))
}

func tokenExecution(token string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", false
	}
	arn, _, ok := strings.Cut(string(raw), "\x00")
	return arn, ok
}

// SendTaskResult answers a callback task (SendTaskSuccess and
// SendTaskFailure).
func (s *Service) SendTaskResult(ctx context.Context, token string, res tokenResult) error {
	if !res.Failed {
		if _, err := asl.Decode(res.Output); err != nil {
			return errorf(ErrInvalidOutput, "Invalid Output: '%v'", err)
		}
	}
	arn, ok := tokenExecution(token)
	if !ok {
		return errorf(ErrInvalidToken, "Invalid Token: 'Invalid token'")
	}
	s.mu.Lock()
	w := s.tokens[token]
	if w != nil {
		delete(s.tokens, token)
		s.mu.Unlock()
		w.result <- res
		return nil
	}
	// Nothing waits (the execution is between a restart and its resume):
	// keep the answer with the execution, where the callback looks when
	// it registers (both under s.mu).
	e := s.execs[arn]
	if e == nil {
		s.mu.Unlock()
		return errorf(ErrTaskDoesNotExist, "Task Does Not Exist: 'Provided task does not exist anymore'")
	}
	e.mu.Lock()
	cur := e.rec.Cursor
	live := e.rec.Status == "RUNNING" && cur.Token == token && cur.Result == nil
	if live {
		e.rec.Cursor.Result = &res
		cur.Result = &res
	}
	e.mu.Unlock()
	s.mu.Unlock()
	if !live {
		return errorf(ErrTaskDoesNotExist, "Task Does Not Exist: 'Provided task does not exist anymore'")
	}
	return e.persist(&cur)
}

// SendTaskSuccess answers a callback task with its output.
func (s *Service) SendTaskSuccess(ctx context.Context, token, output string) error {
	return s.SendTaskResult(ctx, token, tokenResult{Output: output})
}

// SendTaskFailure fails a callback task.
func (s *Service) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	return s.SendTaskResult(ctx, token, tokenResult{Failed: true, Error: errName, Cause: cause})
}

// SendTaskHeartbeat keeps a callback task alive.
func (s *Service) SendTaskHeartbeat(ctx context.Context, token string) error {
	if _, ok := tokenExecution(token); !ok {
		return errorf(ErrInvalidToken, "Invalid Token: 'Invalid token'")
	}
	s.mu.Lock()
	w := s.tokens[token]
	s.mu.Unlock()
	if w == nil {
		return errorf(ErrTaskDoesNotExist, "Task Does Not Exist: 'Provided task does not exist anymore'")
	}
	select {
	case w.heartbeat <- struct{}{}:
	default:
	}
	return nil
}

// Wait blocks until an execution ends or ctx does (for tests).
func (s *Service) Wait(ctx context.Context, arn string) (ExecutionInfo, error) {
	e, err := s.lookupExec(arn)
	if err != nil {
		return ExecutionInfo{}, err
	}
	return e.wait(ctx)
}

func (e *execution) wait(ctx context.Context) (ExecutionInfo, error) {
	select {
	case <-e.done:
	case <-ctx.Done():
		return ExecutionInfo{}, ctx.Err()
	}
	return e.info(), nil
}

// StartSyncExecution starts an execution and waits for its end.
func (s *Service) StartSyncExecution(ctx context.Context, machineArn, name, input string) (ExecutionInfo, error) {
	e, fresh, err := s.newExecution(ctx, machineArn, name, input)
	if err != nil {
		return ExecutionInfo{}, err
	}
	if fresh {
		s.runHere(e)
	}
	return e.wait(ctx)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
