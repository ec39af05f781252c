package stack

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/forkline/forkline/internal/uuid"
)

// Change sets (CloudFormation API reference: CreateChangeSet,
// DescribeChangeSet, ExecuteChangeSet, DeleteChangeSet, ListChangeSets).
// A change set is computed when created (CREATE_COMPLETE at once, or
// FAILED when there is nothing to change).

type changeSet struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Type            string            `json:"type"` // CREATE or UPDATE
	Status          string            `json:"status"`
	ExecutionStatus string            `json:"executionStatus"`
	Reason          string            `json:"reason,omitempty"`
	Description     string            `json:"description,omitempty"`
	Template        string            `json:"template"`
	Given           map[string]string `json:"given,omitempty"`
	Parameters      []Parameter       `json:"parameters,omitempty"`
	Capabilities    []string          `json:"capabilities,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Changes         []change          `json:"changes,omitempty"`
	Created         int64             `json:"created"`
}

// ChangeSet describes a change set.
type ChangeSet struct {
	ID, Name, Type, Status, ExecutionStatus, Reason, Description string
	StackID, StackName                                           string
	Parameters                                                   []Parameter
	Capabilities                                                 []string
	Changes                                                      []ResourceChange
	Created                                                      time.Time
}

// ResourceChange is a change set's change to one resource.
type ResourceChange struct {
	Action, LogicalID, PhysicalID, Type, Replacement string
	// Details are the changed properties, each with whether its change
	// needs a new resource ("Always" or "Never").
	Details []Detail
}

// ChangeSetInput are CreateChangeSet's parameters.
type ChangeSetInput struct {
	StackName, Name, Type, Description string
	TemplateBody, TemplateURL          string
	UsePreviousTemplate                bool
	Parameters                         map[string]*string
	Capabilities                       []string
	Tags                               map[string]string
}

// CreateChangeSet computes a change set.
func (s *Service) CreateChangeSet(ctx context.Context, in ChangeSetInput) (string, string, error) {
	if in.Type == "" {
		in.Type = "UPDATE"
	}
	if in.Type != "CREATE" && in.Type != "UPDATE" {
		return "", "", errorf(ErrValidation, "ChangeSetType must be CREATE or UPDATE (IMPORT is not supported by forkline)")
	}
	if !stackNameRE(in.StackName) {
		return "", "", errorf(ErrValidation, "1 validation error detected: Value '%s' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", in.StackName)
	}
	if !stackNameRE(in.Name) {
		return "", "", errorf(ErrValidation, "1 validation error detected: Value '%s' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", in.Name)
	}
	s.mu.Lock()
	r := s.lookup(in.StackName)
	switch {
	case in.Type == "CREATE" && r != nil && r.Status != "REVIEW_IN_PROGRESS":
		s.mu.Unlock()
		return "", "", errorf(ErrAlreadyExists, "Stack [%s] already exists and cannot be created again with the changeSet [%s].", in.StackName, in.Name)
	case in.Type == "UPDATE" && r == nil:
		s.mu.Unlock()
		return "", "", errorf(ErrValidation, "Stack [%s] does not exist", in.StackName)
	case r != nil && r.ChangeSets[in.Name] != nil:
		s.mu.Unlock()
		return "", "", errorf(ErrAlreadyExists, "ChangeSet [%s] already exists", in.Name)
	case r != nil && s.busy[r.Name]:
		s.mu.Unlock()
		return "", "", errorf(ErrValidation, "Stack:%s is in %s state and can not be updated.", r.ID, r.Status)
	}
	if r == nil {
		r = &stackRec{ID: s.stackID(in.StackName), Name: in.StackName, Status: "REVIEW_IN_PROGRESS", Resources: map[string]*Resource{},
			Created: s.clock.Now().UnixMilli()}
		s.stacks[in.StackName] = r
		s.mu.Unlock()
		if err := s.save(ctx, r, &Event{LogicalID: r.Name, PhysicalID: r.ID, Type: "AWS::CloudFormation::Stack", Status: "REVIEW_IN_PROGRESS", Reason: "User Initiated"}); err != nil {
			return "", "", err
		}
	} else {
		s.mu.Unlock()
	}
	cs := &changeSet{ID: fmt.Sprintf("arn:aws:cloudformation:%s:%s:changeSet/%s/%s", s.cfg.Region, s.cfg.AccountID, in.Name, uuid.New()),
		Name: in.Name, Type: in.Type, Description: in.Description, Capabilities: in.Capabilities, Tags: in.Tags, Created: s.clock.Now().UnixMilli()}
	var err error
	if in.Type == "CREATE" {
		var body string
		if body, err = s.body(ctx, in.TemplateBody, in.TemplateURL); err != nil {
			return "", "", err
		}
		given := map[string]string{}
		for k, v := range in.Parameters {
			if v != nil {
				given[k] = *v
			}
		}
		p, err := s.prepare(ctx, r.Name, r.ID, body, given, in.Capabilities, false)
		if err != nil {
			return "", "", err
		}
		cs.Template, cs.Given, cs.Parameters = body, given, p.params
		for _, name := range p.order {
			typ, _ := p.tpl.Resources()[name]["Type"].(string)
			cs.Changes = append(cs.Changes, change{Action: "Add", LogicalID: name, Type: typ})
		}
	} else {
		p, changes, err := s.planUpdate(ctx, r, UpdateInput{Name: in.StackName, TemplateBody: in.TemplateBody, TemplateURL: in.TemplateURL,
			UsePreviousTemplate: in.UsePreviousTemplate, Parameters: in.Parameters, Capabilities: in.Capabilities}, false)
		if err != nil {
			return "", "", err
		}
		cs.Template, cs.Parameters, cs.Changes = p.body, p.params, changes
		cs.Given = map[string]string{}
		for _, prm := range p.params {
			cs.Given[prm.Key] = prm.Value
		}
	}
	cs.Status, cs.ExecutionStatus = "CREATE_COMPLETE", "AVAILABLE"
	if len(cs.Changes) == 0 && in.Type == "UPDATE" && paramsEqual(r.Parameters, cs.Parameters) && r.Template == cs.Template {
		cs.Status, cs.ExecutionStatus = "FAILED", "UNAVAILABLE"
		cs.Reason = "The submitted information didn't contain changes. Submit different information to create a change set."
	}
	s.mu.Lock()
	if r.ChangeSets == nil {
		r.ChangeSets = map[string]*changeSet{}
	}
	r.ChangeSets[cs.Name] = cs
	err = s.save(ctx, r, nil)
	s.mu.Unlock()
	if err != nil {
		return "", "", err
	}
	return cs.ID, r.ID, nil
}

// findChangeSet finds a change set by name (with its stack) or by ARN
// (s.mu held).
func (s *Service) findChangeSet(stackName, name string) (*stackRec, *changeSet, error) {
	for _, r := range s.stacks {
		if stackName != "" && r.Name != stackName && r.ID != stackName {
			continue
		}
		for _, cs := range r.ChangeSets {
			if cs.Name == name || cs.ID == name {
				return r, cs, nil
			}
		}
	}
	return nil, nil, errorf(ErrChangeSetNF, "ChangeSet [%s] does not exist", name)
}

// Detail is one property a change set's Modify changes.
type Detail struct{ Name, RequiresRecreation string }

func (cs *changeSet) info(r *stackRec) ChangeSet {
	out := ChangeSet{ID: cs.ID, Name: cs.Name, Type: cs.Type, Status: cs.Status, ExecutionStatus: cs.ExecutionStatus, Reason: cs.Reason,
		Description: cs.Description, StackID: r.ID, StackName: r.Name, Parameters: cs.Parameters, Capabilities: cs.Capabilities,
		Created: time.UnixMilli(cs.Created)}
	for _, c := range cs.Changes {
		rc := ResourceChange{Action: c.Action, LogicalID: c.LogicalID, Type: c.Type}
		if res := r.Resources[c.LogicalID]; res != nil && c.Action != "Add" {
			rc.PhysicalID = res.PhysicalID
		}
		if c.Action == "Modify" {
			rc.Replacement = "False"
			if c.Replace {
				rc.Replacement = "True"
			}
			for _, p := range c.Props {
				d := Detail{Name: p, RequiresRecreation: "Never"}
				if needsReplacement(c.Type, []string{p}) {
					d.RequiresRecreation = "Always"
				}
				rc.Details = append(rc.Details, d)
			}
		}
		out.Changes = append(out.Changes, rc)
	}
	return out
}

// DescribeChangeSet returns a change set.
func (s *Service) DescribeChangeSet(ctx context.Context, stackName, name string) (ChangeSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, cs, err := s.findChangeSet(stackName, name)
	if err != nil {
		return ChangeSet{}, err
	}
	return cs.info(r), nil
}

// ListChangeSets lists a stack's change sets.
func (s *Service) ListChangeSets(ctx context.Context, stackName string) ([]ChangeSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(stackName)
	if r == nil {
		return nil, errorf(ErrValidation, "Stack [%s] does not exist", stackName)
	}
	var out []ChangeSet
	for _, cs := range r.ChangeSets {
		out = append(out, cs.info(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// DeleteChangeSet deletes a change set (and a stack that only it made).
func (s *Service) DeleteChangeSet(ctx context.Context, stackName, name string) error {
	s.mu.Lock()
	r, cs, err := s.findChangeSet(stackName, name)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if cs.ExecutionStatus == "EXECUTE_IN_PROGRESS" {
		s.mu.Unlock()
		return errorf(ErrInvalidCS, "ChangeSet [%s] cannot be deleted while it executes", cs.ID)
	}
	delete(r.ChangeSets, cs.Name)
	err = s.save(ctx, r, nil)
	s.mu.Unlock()
	return err
}

// ExecuteChangeSet runs a change set's changes.
func (s *Service) ExecuteChangeSet(ctx context.Context, stackName, name string, disableRollback bool) error {
	s.mu.Lock()
	r, cs, err := s.findChangeSet(stackName, name)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if cs.ExecutionStatus != "AVAILABLE" {
		s.mu.Unlock()
		return errorf(ErrInvalidCS, "ChangeSet [%s] cannot be executed in its current execution status of [%s]", cs.ID, cs.ExecutionStatus)
	}
	if s.busy[r.Name] {
		s.mu.Unlock()
		return errorf(ErrInvalidCS, "ChangeSet [%s] cannot be executed in its current status of [%s]", cs.ID, r.Status)
	}
	s.busy[r.Name] = true
	cs.ExecutionStatus = "EXECUTE_COMPLETE"
	for _, other := range r.ChangeSets {
		if other != cs {
			other.ExecutionStatus = "OBSOLETE"
		}
	}
	r.ChangeSets = nil // executed and obsolete change sets are gone
	s.mu.Unlock()
	if cs.Type == "CREATE" {
		p, err := s.prepare(ctx, r.Name, r.ID, cs.Template, cs.Given, cs.Capabilities, false)
		if err != nil {
			s.done(r.Name)
			return err
		}
		s.mu.Lock()
		r.Template, r.Parameters, r.Description, r.Capabilities, r.Tags, r.NoRollback = cs.Template, p.params, p.description, cs.Capabilities, cs.Tags, disableRollback
		r.Processed = p.processed
		s.mu.Unlock()
		s.stackEvent(ctx, r, "CREATE_IN_PROGRESS", "User Initiated")
		s.run(func(ctx context.Context) { s.create(ctx, r, p) })
		return nil
	}
	p, err := s.prepare(ctx, r.Name, r.ID, cs.Template, cs.Given, cs.Capabilities, false)
	if err != nil {
		s.done(r.Name)
		return err
	}
	s.startUpdate(ctx, r, p, cs.Tags)
	return nil
}
