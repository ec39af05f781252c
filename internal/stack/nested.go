package stack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
)

// nestedStack is the AWS::CloudFormation::Stack provider: a child stack
// created from TemplateURL with Parameters, whose Ref is its stack ID and
// whose outputs are the attributes Outputs.Name. The parent waits for the
// child to finish each operation.
type nestedStack struct{ s *Service }

var allCapabilities = []string{"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}

func nestedParams(r *Resource) map[string]string {
	out := map[string]string{}
	m, _ := r.Properties["Parameters"].(map[string]any)
	for k, v := range m {
		out[k] = textOf(v)
	}
	return out
}

func nestedName(r *Resource) string {
	suffix := r.Suffix
	if suffix == "" {
		suffix = NewSuffix()
	}
	suffix = suffix[:12]
	name := r.StackName + "-" + r.LogicalID
	if len(name) > 128-13 {
		name = name[:128-13]
	}
	return name + "-" + suffix
}

// NewSuffix returns the random part of a generated physical name: 13
// upper-case letters and digits, as CloudFormation's.
func NewSuffix() string {
	var b [13]byte
	rand.Read(b[:])
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

func (n nestedStack) Create(ctx context.Context, r *Resource) error {
	url, _ := r.Properties["TemplateURL"].(string)
	if url == "" {
		return errors.New("Property TemplateURL cannot be empty.")
	}
	id, err := n.s.CreateStack(ctx, CreateInput{Name: nestedName(r), TemplateURL: url, Parameters: nestedParams(r),
		Capabilities: allCapabilities, Tags: tagMap(r.Properties["Tags"]), parent: r.StackID})
	if err != nil {
		return err
	}
	r.PhysicalID, r.Ref = id, id
	st, err := n.s.wait(ctx, id)
	if err != nil {
		return err
	}
	r.Attrs = outputAttrs(st)
	if st.Status != "CREATE_COMPLETE" {
		return fmt.Errorf("Embedded stack %s was not successfully created: %s", id, st.Reason)
	}
	return nil
}

func (n nestedStack) Update(ctx context.Context, r, old *Resource) (bool, error) {
	url, _ := r.Properties["TemplateURL"].(string)
	params := map[string]*string{}
	for k, v := range nestedParams(r) {
		v := v
		params[k] = &v
	}
	_, err := n.s.UpdateStack(ctx, UpdateInput{Name: old.PhysicalID, TemplateURL: url, Parameters: params, Capabilities: allCapabilities,
		Tags: tagMap(r.Properties["Tags"])})
	var se *Error
	if errors.As(err, &se) && strings.Contains(se.Message, "No updates are to be performed") {
		err = nil
	} else if err == nil {
		var st Stack
		st, err = n.s.wait(ctx, old.PhysicalID)
		if err == nil && st.Status != "UPDATE_COMPLETE" {
			err = fmt.Errorf("Embedded stack %s was not successfully updated. Currently in %s.", old.PhysicalID, st.Status)
		}
	}
	if err != nil {
		return false, err
	}
	st, err := n.s.DescribeStacks(ctx, old.PhysicalID)
	if err != nil {
		return false, err
	}
	r.PhysicalID, r.Ref, r.Attrs = old.PhysicalID, old.PhysicalID, outputAttrs(st[0])
	return false, nil
}

func (n nestedStack) Delete(ctx context.Context, r *Resource) error {
	if err := n.s.DeleteStack(ctx, r.PhysicalID, nil); err != nil {
		return err
	}
	st, err := n.s.wait(ctx, r.PhysicalID)
	if err != nil {
		var se *Error
		if errors.As(err, &se) { // gone
			return nil
		}
		return err
	}
	if st.Status != "DELETE_COMPLETE" {
		return fmt.Errorf("Embedded stack %s was not successfully deleted: %s", r.PhysicalID, st.Reason)
	}
	return nil
}

func outputAttrs(st Stack) map[string]any {
	attrs := map[string]any{}
	for _, o := range st.Outputs {
		attrs["Outputs."+o.Key] = o.Value
	}
	return attrs
}

func tagMap(v any) map[string]string {
	list, _ := v.([]any)
	if len(list) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, e := range list {
		m, _ := e.(map[string]any)
		k, _ := m["Key"].(string)
		if k != "" {
			out[k] = textOf(m["Value"])
		}
	}
	return out
}

// wait polls a stack until its operation ends.
func (s *Service) wait(ctx context.Context, id string) (Stack, error) {
	for {
		st, err := s.DescribeStacks(ctx, id)
		if err != nil {
			return Stack{}, err
		}
		s.mu.Lock()
		busy := s.busy[st[0].Name] && st[0].Status != "DELETE_COMPLETE"
		s.mu.Unlock()
		if !busy && !strings.HasSuffix(st[0].Status, "_IN_PROGRESS") {
			return st[0], nil
		}
		select {
		case <-ctx.Done():
			return Stack{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
