package function

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/forkline/forkline/internal/store"
)

// accountConcurrency is the account's concurrency limit (Lambda quotas).
const accountConcurrency = 1000

// mutate writes a changed function record whose change does not affect
// running sandboxes (tags, policy, concurrency).
func (s *Service) mutate(ctx context.Context, f *fn, change func(*funcRec) error) (funcRec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := f.rec.Config.FunctionName
	if s.funcs[name] != f {
		return funcRec{}, errorf(ErrResourceNotFound, "Function not found: %s", s.functionArn(name))
	}
	rec := f.rec
	rec.Tags = copyMap(rec.Tags)
	rec.Policy = append([]json.RawMessage(nil), rec.Policy...)
	if err := change(&rec); err != nil {
		return funcRec{}, err
	}
	var b store.Batch
	b.PutRecord(nsFunction, name, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return funcRec{}, fmt.Errorf("update function %s: %w", name, err)
	}
	f.rec = rec
	return rec, nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// PutConcurrency reserves concurrency for a function; 0 stops it.
func (s *Service) PutConcurrency(ctx context.Context, ref string, n int) (int, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > accountConcurrency-100 {
		return 0, errorf(ErrInvalidParameterValue, "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].")
	}
	_, err = s.mutate(ctx, f, func(r *funcRec) error { r.Reserved = &n; return nil })
	return n, err
}

// GetConcurrency returns a function's reserved concurrency, or nil.
func (s *Service) GetConcurrency(ctx context.Context, ref string) (*int, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return f.rec.Reserved, nil
}

// DeleteConcurrency removes a function's reservation.
func (s *Service) DeleteConcurrency(ctx context.Context, ref string) error {
	f, _, err := s.lookup(ref)
	if err != nil {
		return err
	}
	_, err = s.mutate(ctx, f, func(r *funcRec) error { r.Reserved = nil; return nil })
	return err
}

// PermissionInput is one AddPermission statement.
type PermissionInput struct {
	StatementID, Action, Principal, SourceArn, SourceAccount, EventSourceToken, PrincipalOrgID, FunctionURLAuthType string
}

// AddPermission adds a statement to a function's resource policy and
// returns it as JSON.
func (s *Service) AddPermission(ctx context.Context, ref string, in PermissionInput) (string, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return "", err
	}
	if in.StatementID == "" || in.Action == "" || in.Principal == "" {
		return "", errorf(ErrInvalidParameterValue, "StatementId, Action and Principal are required.")
	}
	if !strings.HasPrefix(in.Action, "lambda:") {
		return "", validation("action", in.Action, "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])")
	}
	principal := map[string]string{"Service": in.Principal}
	if in.Principal == "*" || strings.HasPrefix(in.Principal, "arn:") || isAccount(in.Principal) {
		p := in.Principal
		if isAccount(p) {
			p = "arn:aws:iam::" + p + ":root"
		}
		principal = map[string]string{"AWS": p}
	}
	stmt := map[string]any{"Sid": in.StatementID, "Effect": "Allow", "Principal": principal, "Action": in.Action}
	cond := map[string]map[string]string{}
	if in.SourceArn != "" {
		cond["ArnLike"] = map[string]string{"AWS:SourceArn": in.SourceArn}
	}
	if in.SourceAccount != "" {
		cond["StringEquals"] = map[string]string{"AWS:SourceAccount": in.SourceAccount}
	}
	if len(cond) > 0 {
		stmt["Condition"] = cond
	}
	var raw json.RawMessage
	_, err = s.mutate(ctx, f, func(r *funcRec) error {
		// Read under the service's lock: f.rec changes with every
		// mutation, concurrent AddPermission calls included.
		stmt["Resource"] = r.Config.FunctionArn
		raw = json.RawMessage(mustJSON(stmt))
		for _, st := range r.Policy {
			var m struct{ Sid string }
			if json.Unmarshal(st, &m) == nil && m.Sid == in.StatementID {
				return errorf(ErrResourceConflict, "The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", in.StatementID)
			}
		}
		r.Policy = append(r.Policy, raw)
		return nil
	})
	return string(raw), err
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

// RemovePermission removes a statement.
func (s *Service) RemovePermission(ctx context.Context, ref, sid string) error {
	f, _, err := s.lookup(ref)
	if err != nil {
		return err
	}
	_, err = s.mutate(ctx, f, func(r *funcRec) error {
		kept := r.Policy[:0]
		found := false
		for _, st := range r.Policy {
			var m struct{ Sid string }
			if json.Unmarshal(st, &m) == nil && m.Sid == sid {
				found = true
				continue
			}
			kept = append(kept, st)
		}
		if !found {
			return errorf(ErrResourceNotFound, "Statement %s is not found in resource policy.", sid)
		}
		r.Policy = kept
		return nil
	})
	return err
}

// GetPolicy returns a function's resource policy document.
func (s *Service) GetPolicy(ctx context.Context, ref string) (string, string, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return "", "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(f.rec.Policy) == 0 {
		return "", "", errorf(ErrResourceNotFound, "The resource you requested does not exist.")
	}
	doc := map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": f.rec.Policy}
	return string(mustJSON(doc)), f.rec.Config.RevisionID, nil
}

// functionFromArn resolves the ARN of a tagged resource.
func (s *Service) functionFromArn(arn string) (*fn, error) {
	if !strings.HasPrefix(arn, "arn:aws:lambda:") {
		return nil, errorf(ErrValidation, "1 validation error detected: Value '%s' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:[a-zA-Z0-9-_]+|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", arn)
	}
	f, _, err := s.lookup(arn)
	return f, err
}

// TagResource adds tags to a function.
func (s *Service) TagResource(ctx context.Context, arn string, tags map[string]string) error {
	f, err := s.functionFromArn(arn)
	if err != nil {
		return err
	}
	_, err = s.mutate(ctx, f, func(r *funcRec) error {
		for k, v := range tags {
			r.Tags[k] = v
		}
		if len(r.Tags) > 50 {
			return errorf(ErrInvalidParameterValue, "Number of tags exceeds resource tag limit.")
		}
		return nil
	})
	return err
}

// UntagResource removes tags of a function.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	f, err := s.functionFromArn(arn)
	if err != nil {
		return err
	}
	_, err = s.mutate(ctx, f, func(r *funcRec) error {
		for _, k := range keys {
			delete(r.Tags, k)
		}
		return nil
	})
	return err
}

// ListTags returns a function's tags.
func (s *Service) ListTags(ctx context.Context, arn string) (map[string]string, error) {
	f, err := s.functionFromArn(arn)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return copyMap(f.rec.Tags), nil
}
