package stack

import (
	"context"
	"fmt"
	"strings"
)

// restartReason explains the events of a recovery.
const restartReason = "The operation was interrupted by a restart of forkline"

// recover finishes, after a restart, the operation a stack was in: a
// create rolls back (nothing left behind), a delete resumes, an update
// rolls back to the previous template, and a cleanup completes. Runs with
// s.busy set for the stack.
func (s *Service) recover(ctx context.Context, r *stackRec) {
	defer s.done(r.Name)
	status := r.Status
	s.log.Warn("recovering an interrupted stack operation", "stack", r.Name, "status", status)
	switch {
	case status == "DELETE_IN_PROGRESS":
		if err := s.deleteAll(ctx, r, orderOf(r.effective()), true); err != nil {
			s.stackEvent(ctx, r, "DELETE_FAILED", err.Error())
			return
		}
		s.deleteExports(ctx, r)
		s.stackEvent(ctx, r, "DELETE_COMPLETE", "")
	case status == "CREATE_IN_PROGRESS" || status == "ROLLBACK_IN_PROGRESS":
		if r.NoRollback {
			s.stackEvent(ctx, r, "CREATE_FAILED", restartReason)
			return
		}
		if status == "CREATE_IN_PROGRESS" {
			s.stackEvent(ctx, r, "ROLLBACK_IN_PROGRESS", restartReason+". Rollback requested by forkline.")
		}
		if err := s.deleteAll(ctx, r, orderOf(r.effective()), false); err != nil {
			s.stackEvent(ctx, r, "ROLLBACK_FAILED", err.Error())
			return
		}
		s.stackEvent(ctx, r, "ROLLBACK_COMPLETE", "")
	case status == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS":
		s.dropUnlisted(ctx, r, orderOf(r.effective()))
		s.stackEvent(ctx, r, "UPDATE_COMPLETE", "")
	case status == "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS":
		s.stackEvent(ctx, r, "UPDATE_ROLLBACK_COMPLETE", "")
	case strings.HasPrefix(status, "UPDATE"):
		s.rollbackToPrevious(ctx, r)
	default:
		s.stackEvent(ctx, r, strings.TrimSuffix(status, "_IN_PROGRESS")+"_FAILED", restartReason)
	}
}

// dropUnlisted deletes the resources a template no longer has.
func (s *Service) dropUnlisted(ctx context.Context, r *stackRec, order []string) {
	keep := map[string]bool{}
	for _, n := range order {
		keep[n] = true
	}
	s.mu.Lock()
	var gone []*Resource
	for n, res := range r.Resources {
		if !keep[n] {
			gone = append(gone, res)
		}
	}
	s.mu.Unlock()
	for _, res := range gone {
		s.settlePending(ctx, r, res)
		if res.Retain {
			s.resourceEvent(ctx, r, res, "DELETE_SKIPPED", "")
		} else if res.PhysicalID != "" {
			s.resourceEvent(ctx, r, res, "DELETE_IN_PROGRESS", "")
			if err := s.provider(res.Type).Delete(ctx, res); err != nil {
				s.resourceEvent(ctx, r, res, "DELETE_FAILED", err.Error())
				continue
			}
			s.resourceEvent(ctx, r, res, "DELETE_COMPLETE", "")
		}
		s.mu.Lock()
		delete(r.Resources, res.LogicalID)
		s.mu.Unlock()
	}
}

// rollbackToPrevious brings an interrupted update's resources back to the
// previous template: what it lacks is created, what differs is updated,
// what the update added is deleted.
func (s *Service) rollbackToPrevious(ctx context.Context, r *stackRec) {
	s.stackEvent(ctx, r, "UPDATE_ROLLBACK_IN_PROGRESS", restartReason+". Rollback requested by forkline.")
	prev := r.Previous
	if prev == nil {
		prev = &prevState{Template: r.Template, Parameters: r.Parameters}
	}
	given := map[string]string{}
	for _, p := range prev.Parameters {
		given[p.Key] = p.Value
	}
	p, err := s.prepare(ctx, r.Name, r.ID, prev.Template, given, allCapabilities, false)
	if err != nil {
		s.stackEvent(ctx, r, "UPDATE_ROLLBACK_FAILED", err.Error())
		return
	}
	s.bind(ctx, p, r)
	var failed error
	for _, name := range p.order {
		s.mu.Lock()
		cur := r.Resources[name]
		s.mu.Unlock()
		if cur == nil || cur.PhysicalID == "" {
			if err := s.createResource(ctx, r, p, name); err != nil {
				failed = err
				break
			}
			continue
		}
		props, typ, retain, err := p.properties(name)
		if err != nil {
			failed = err
			break
		}
		if typ == cur.Type && equalProps(props, cur.Properties) {
			continue
		}
		res := &Resource{LogicalID: name, Type: typ, Properties: props, Retain: retain, StackName: r.Name, StackID: r.ID,
			PhysicalID: cur.PhysicalID, Ref: cur.Ref, Attrs: cur.Attrs}
		s.resourceEvent(ctx, r, res, "UPDATE_IN_PROGRESS", "")
		replace := typ != cur.Type || needsReplacement(typ, changedProps(props, cur.Properties))
		if !replace {
			if replace, err = s.provider(typ).Update(ctx, res, cur); err != nil {
				s.resourceEvent(ctx, r, res, "UPDATE_FAILED", err.Error())
				failed = err
				break
			}
		}
		if replace {
			res.PhysicalID, res.Ref, res.Attrs = "", nil, nil
			if err := s.provider(typ).Create(ctx, res); err != nil {
				s.resourceEvent(ctx, r, res, "UPDATE_FAILED", err.Error())
				failed = err
				break
			}
			if !cur.Retain {
				s.provider(cur.Type).Delete(ctx, cur)
			}
		}
		s.mu.Lock()
		r.Resources[name] = res
		s.mu.Unlock()
		s.resourceEvent(ctx, r, res, "UPDATE_COMPLETE", "")
	}
	if failed == nil {
		failed = s.outputs(ctx, r, p)
	}
	if failed != nil {
		s.stackEvent(ctx, r, "UPDATE_ROLLBACK_FAILED", fmt.Sprintf("%s: %v", restartReason, failed))
		return
	}
	s.mu.Lock()
	r.Template, r.Parameters, r.Description, r.Previous, r.Processed = p.body, p.params, p.description, nil, p.processed
	s.mu.Unlock()
	s.stackEvent(ctx, r, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "")
	s.dropUnlisted(ctx, r, p.order)
	s.stackEvent(ctx, r, "UPDATE_ROLLBACK_COMPLETE", "")
}
