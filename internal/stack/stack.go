// Package stack is forkline's CloudFormation: stacks created, updated and
// deleted from templates, resource by resource in dependency order,
// through providers that call forkline's own services.
//
// Invariants:
//   - A stack's record (status, resources with their physical IDs and
//     attributes, outputs) is committed after every resource operation,
//     and each event is committed with it; a restart finds every resource
//     a stack created.
//   - An operation that a restart interrupted is finished when forkline
//     starts again: a create rolls back, a delete resumes, an update rolls
//     back to the previous template (stack.recover).
//   - Operations on one stack are serialized; different stacks proceed
//     concurrently.
package stack

import (
	"context"
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
	"github.com/forkline/forkline/internal/uuid"
)

// Record namespaces.
const (
	nsStack  = "cfn.stack"  // stack name → stackRec (the live stack of that name)
	nsEvent  = "cfn.ev"     // stack ID NUL %012d → Event
	nsExport = "cfn.export" // export name → exportRec
	nsGone   = "cfn.gone"   // stack ID → stackRec of a deleted stack
)

// Error kinds; the text is CloudFormation's error code.
var (
	ErrValidation    = errors.New("ValidationError")
	ErrAlreadyExists = errors.New("AlreadyExistsException")
	ErrInsufficient  = errors.New("InsufficientCapabilitiesException")
	ErrChangeSetNF   = errors.New("ChangeSetNotFound")
	ErrInvalidCS     = errors.New("InvalidChangeSetStatus")
)

// Error is a client error.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns the kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Provider makes one resource type real.
type Provider interface {
	// Create makes the resource; it returns the physical ID, the value of
	// Ref, and the attributes (for Fn::GetAtt).
	Create(ctx context.Context, r *Resource) error
	// Update changes the resource to r.Properties (old holds what it
	// was); it sets replace when the change needs a new resource, which
	// the engine then creates before deleting the old one.
	Update(ctx context.Context, r, old *Resource) (replace bool, err error)
	// Delete removes the resource.
	Delete(ctx context.Context, r *Resource) error
}

// Resource is a stack's resource.
type Resource struct {
	LogicalID  string         `json:"logicalId"`
	Type       string         `json:"type"`
	PhysicalID string         `json:"physicalId,omitempty"`
	Ref        any            `json:"ref,omitempty"`
	Attrs      map[string]any `json:"attrs,omitempty"`
	Properties map[string]any `json:"properties,omitempty"` // resolved
	Status     string         `json:"status"`
	Reason     string         `json:"reason,omitempty"`
	Updated    int64          `json:"updated"`
	Retain     bool           `json:"retain,omitempty"` // DeletionPolicy Retain
	// Suffix is the random part of a generated physical name, chosen and
	// committed before the provider creates the resource, so that a
	// create a crash interrupted can be found again by its name.
	Suffix string `json:"suffix,omitempty"`
	// Adopt asks Create to take over a resource of the same name that
	// already exists (recovering an interrupted create).
	Adopt bool `json:"-"`
	// Stack names what the provider may need: the stack's name and region.
	StackName string `json:"-"`
	StackID   string `json:"-"`
}

// Output is a stack output.
type Output struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
	ExportName  string `json:"exportName,omitempty"`
}

// Parameter is a parameter as given and as used.
type Parameter struct {
	Key      string `json:"key"`
	Value    string `json:"value"`
	Resolved string `json:"resolved,omitempty"`
	NoEcho   bool   `json:"noEcho,omitempty"`
}

type stackRec struct {
	ID           string                `json:"id"`
	Name         string                `json:"name"`
	Status       string                `json:"status"`
	Reason       string                `json:"reason,omitempty"`
	Description  string                `json:"description,omitempty"`
	Template     string                `json:"template"`
	Parameters   []Parameter           `json:"parameters,omitempty"`
	Capabilities []string              `json:"capabilities,omitempty"`
	Tags         map[string]string     `json:"tags,omitempty"`
	Resources    map[string]*Resource  `json:"resources"`
	Outputs      []Output              `json:"outputs,omitempty"`
	Created      int64                 `json:"created"`
	Updated      int64                 `json:"updated,omitempty"`
	Deleted      int64                 `json:"deleted,omitempty"`
	NextEvent    int64                 `json:"nextEvent"`
	NoRollback   bool                  `json:"noRollback,omitempty"`
	ChangeSets   map[string]*changeSet `json:"changeSets,omitempty"`
	ParentID     string                `json:"parentId,omitempty"`
	RootID       string                `json:"rootId,omitempty"`
	// Processed is the template after its transforms, when it has any.
	Processed string `json:"processed,omitempty"`

	// Previous is the template and parameters before the update in
	// progress, for its rollback.
	Previous *prevState `json:"previous,omitempty"`
}

type prevState struct {
	Template   string      `json:"template"`
	Parameters []Parameter `json:"parameters,omitempty"`
}

type exportRec struct {
	StackID string `json:"stackId"`
	Value   string `json:"value"`
}

// Event is a stack event.
type Event struct {
	ID          string `json:"id"`
	StackID     string `json:"stackId"`
	StackName   string `json:"stackName"`
	LogicalID   string `json:"logicalId"`
	PhysicalID  string `json:"physicalId,omitempty"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	Timestamp   int64  `json:"timestamp"`
	Properties  string `json:"properties,omitempty"`
	ClientToken string `json:"clientToken,omitempty"`
}

// Config configures the Service.
type Config struct {
	Region, AccountID string
	Clock             clock.Clock
	Logger            *slog.Logger
	// Providers by resource type.
	Providers map[string]Provider
	// Application resolves an AWS::Serverless::Application's
	// ApplicationId and SemanticVersion to a template URL; nil refuses
	// them.
	Application func(ctx context.Context, id, version string) (string, error)
	// Fetch reads a template from a TemplateURL (object storage).
	Fetch func(ctx context.Context, url string) ([]byte, error)
}

// Service runs stacks. It is safe for concurrent use.
type Service struct {
	st    store.Records
	cfg   Config
	clock clock.Clock
	log   *slog.Logger

	mu     sync.Mutex // guards stacks and busy
	stacks map[string]*stackRec
	busy   map[string]bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// New loads the stacks and starts finishing the operations a restart
// interrupted.
func New(ctx context.Context, st store.Records, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{st: st, cfg: cfg, clock: cfg.Clock, log: cfg.Logger.With("service", "cloudformation"),
		stacks: map[string]*stackRec{}, busy: map[string]bool{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if _, ok := cfg.Providers["AWS::CloudFormation::Stack"]; !ok {
		providers := map[string]Provider{"AWS::CloudFormation::Stack": nestedStack{s}}
		for k, v := range cfg.Providers {
			providers[k] = v
		}
		s.cfg.Providers = providers
	}
	var interrupted []*stackRec
	err := st.ScanRecords(ctx, nsStack, "", func(_ string, v []byte) error {
		var r stackRec
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: stack: %v", store.ErrCorrupt, err)
		}
		s.stacks[r.Name] = &r
		if strings.HasSuffix(r.Status, "_IN_PROGRESS") {
			interrupted = append(interrupted, &r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Operations a restart interrupted are finished in the background:
	// creates roll back, deletes resume, updates roll back.
	for _, r := range interrupted {
		s.busy[r.Name] = true
		s.wg.Add(1)
		go func(r *stackRec) {
			defer s.wg.Done()
			s.recover(s.ctx, r)
		}(r)
	}
	return s, nil
}

// Close waits for the operations in progress to stop.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

func (s *Service) stackID(name string) string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", s.cfg.Region, s.cfg.AccountID, name, uuid.New())
}

// effective is the template that made the stack's resources: after its
// transforms.
func (r *stackRec) effective() string {
	if r.Processed != "" {
		return r.Processed
	}
	return r.Template
}

// save commits a stack record with an event (nil for none).
func (s *Service) save(ctx context.Context, r *stackRec, ev *Event) error {
	var b store.Batch
	if ev != nil {
		r.NextEvent++
		ev.ID, ev.StackID, ev.StackName = uuid.New(), r.ID, r.Name
		if ev.Timestamp == 0 {
			ev.Timestamp = s.clock.Now().UnixMilli()
		}
		b.PutRecord(nsEvent, fmt.Sprintf("%s\x00%012d", r.ID, r.NextEvent), mustJSON(ev))
	}
	if r.Status == "DELETE_COMPLETE" {
		b.DeleteRecord(nsStack, r.Name)
		b.PutRecord(nsGone, r.ID, mustJSON(r))
	} else {
		b.PutRecord(nsStack, r.Name, mustJSON(r))
	}
	return s.st.Commit(ctx, &b)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Stack is a stack as DescribeStacks shows it.
type Stack struct {
	ID, Name, Status, Reason, Description string
	Parameters                            []Parameter
	Outputs                               []Output
	Capabilities                          []string
	Tags                                  map[string]string
	Created, Updated, Deleted             time.Time
	DisableRollback                       bool
	ParentID, RootID                      string
}

func (r *stackRec) info() Stack {
	out := Stack{ID: r.ID, Name: r.Name, Status: r.Status, Reason: r.Reason, Description: r.Description,
		Parameters: r.Parameters, Outputs: r.Outputs, Capabilities: r.Capabilities, Tags: r.Tags,
		Created: time.UnixMilli(r.Created), DisableRollback: r.NoRollback,
		ParentID: r.ParentID, RootID: r.RootID}
	if r.Updated != 0 {
		out.Updated = time.UnixMilli(r.Updated)
	}
	if r.Deleted != 0 {
		out.Deleted = time.UnixMilli(r.Deleted)
	}
	return out
}

// lookup finds a live stack by name or ID (s.mu held).
func (s *Service) lookup(nameOrID string) *stackRec {
	if r := s.stacks[nameOrID]; r != nil {
		return r
	}
	for _, r := range s.stacks {
		if r.ID == nameOrID {
			return r
		}
	}
	return nil
}

// DescribeStacks returns one stack (by name or ID, deleted ones by ID) or
// every live stack.
func (s *Service) DescribeStacks(ctx context.Context, nameOrID string) ([]Stack, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if nameOrID == "" {
		var out []Stack
		for _, r := range s.stacks {
			out = append(out, r.info())
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
		return out, nil
	}
	if r := s.lookup(nameOrID); r != nil {
		return []Stack{r.info()}, nil
	}
	if strings.HasPrefix(nameOrID, "arn:") {
		if v, err := s.st.GetRecord(ctx, nsGone, nameOrID); err == nil {
			var r stackRec
			if json.Unmarshal(v, &r) == nil {
				return []Stack{r.info()}, nil
			}
		}
	}
	return nil, errorf(ErrValidation, "Stack with id %s does not exist", nameOrID)
}

// ListStacks summarizes the stacks, deleted ones included, filtered by
// status when statuses is not empty.
func (s *Service) ListStacks(ctx context.Context, statuses []string) ([]Stack, error) {
	want := map[string]bool{}
	for _, st := range statuses {
		want[st] = true
	}
	var out []Stack
	s.mu.Lock()
	for _, r := range s.stacks {
		out = append(out, r.info())
	}
	s.mu.Unlock()
	err := s.st.ScanRecords(ctx, nsGone, "", func(_ string, v []byte) error {
		var r stackRec
		if json.Unmarshal(v, &r) == nil {
			out = append(out, r.info())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var filtered []Stack
	for _, st := range out {
		if len(want) == 0 || want[st.Status] {
			filtered = append(filtered, st)
		}
	}
	sort.Slice(filtered, func(i, j int) bool { return filtered[i].Created.After(filtered[j].Created) })
	return filtered, nil
}

// Events returns a stack's events, newest first.
func (s *Service) Events(ctx context.Context, nameOrID string) ([]Event, error) {
	stacks, err := s.DescribeStacks(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	var out []Event
	err = s.st.ScanRecords(ctx, nsEvent, stacks[0].ID+"\x00", func(_ string, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("%w: stack event: %v", store.ErrCorrupt, err)
		}
		out = append(out, e)
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// Resources returns a stack's resources by logical ID.
func (s *Service) Resources(ctx context.Context, nameOrID string) ([]Resource, Stack, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(nameOrID)
	if r == nil {
		return nil, Stack{}, errorf(ErrValidation, "Stack with id %s does not exist", nameOrID)
	}
	var out []Resource
	for _, res := range r.Resources {
		out = append(out, *res)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out, r.info(), nil
}

// Template returns a stack's template body, as given or after its
// transforms.
func (s *Service) Template(ctx context.Context, nameOrID string, processed bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(nameOrID)
	if r == nil {
		return "", errorf(ErrValidation, "Stack with id %s does not exist", nameOrID)
	}
	if processed && r.Processed != "" {
		return r.Processed, nil
	}
	return r.Template, nil
}

// Exports lists the exports.
func (s *Service) Exports(ctx context.Context) (map[string]exportRec, error) {
	out := map[string]exportRec{}
	err := s.st.ScanRecords(ctx, nsExport, "", func(k string, v []byte) error {
		var e exportRec
		if json.Unmarshal(v, &e) == nil {
			out[k] = e
		}
		return nil
	})
	return out, err
}

// Export is an exported output.
type Export struct{ Name, StackID, Value string }

// ExportList lists the exports by name.
func (s *Service) ExportList(ctx context.Context) ([]Export, error) {
	m, err := s.Exports(ctx)
	if err != nil {
		return nil, err
	}
	var out []Export
	for k, v := range m {
		out = append(out, Export{Name: k, StackID: v.StackID, Value: v.Value})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
