package stack

import (
	"context"
	"sort"
)

// UpdateInput are UpdateStack's parameters. A parameter whose value is
// nil keeps its previous value (UsePreviousValue).
type UpdateInput struct {
	Name, TemplateBody, TemplateURL string
	UsePreviousTemplate             bool
	Parameters                      map[string]*string
	Capabilities                    []string
	Tags                            map[string]string
}

// change is one resource's part in an update.
type change struct {
	Action    string // Add, Modify, Remove
	LogicalID string
	Type      string
	Replace   bool
	Props     []string // the properties a Modify changes
}

// planUpdate prepares the new template of a stack and lists the changes.
func (s *Service) planUpdate(ctx context.Context, r *stackRec, in UpdateInput, direct bool) (*plan, []change, error) {
	body := r.Template
	if !in.UsePreviousTemplate {
		var err error
		if body, err = s.body(ctx, in.TemplateBody, in.TemplateURL); err != nil {
			return nil, nil, err
		}
	}
	given := map[string]string{}
	for k, v := range in.Parameters {
		if v != nil {
			given[k] = *v
			continue
		}
		found := false
		for _, p := range r.Parameters {
			if p.Key == k {
				given[k], found = p.Value, true
			}
		}
		if !found {
			return nil, nil, errorf(ErrValidation, "Invalid input for parameter key %s. Cannot specify usePreviousValue as true for a parameter key not in the previous template", k)
		}
	}
	p, err := s.prepare(ctx, r.Name, r.ID, body, given, in.Capabilities, direct)
	if err != nil {
		return nil, nil, err
	}
	s.bind(ctx, p, r)
	var changes []change
	inNew := map[string]bool{}
	for _, name := range p.order {
		inNew[name] = true
		def := p.tpl.Resources()[name]
		typ, _ := def["Type"].(string)
		old := r.Resources[name]
		if old == nil {
			changes = append(changes, change{Action: "Add", LogicalID: name, Type: typ})
			continue
		}
		if old.Type != typ {
			changes = append(changes, change{Action: "Modify", LogicalID: name, Type: typ, Replace: true})
			continue
		}
		// Properties that refer to resources being changed resolve
		// against their current values: a change there shows on the
		// referring resource when it runs.
		props, _, _, err := p.properties(name)
		if err != nil || !equalProps(props, old.Properties) {
			var diff []string
			if err == nil {
				diff = changedProps(props, old.Properties)
			} else {
				diff = p.pendingDiff(name, old.Properties)
			}
			changes = append(changes, change{Action: "Modify", LogicalID: name, Type: typ, Replace: needsReplacement(typ, diff), Props: diff})
		}
	}
	var gone []string
	for name := range r.Resources {
		if !inNew[name] {
			gone = append(gone, name)
		}
	}
	sort.Strings(gone)
	for _, name := range gone {
		changes = append(changes, change{Action: "Remove", LogicalID: name, Type: r.Resources[name].Type})
	}
	return p, changes, nil
}

// UpdateStack starts updating a stack.
func (s *Service) UpdateStack(ctx context.Context, in UpdateInput) (string, error) {
	s.mu.Lock()
	r := s.lookup(in.Name)
	if r == nil {
		s.mu.Unlock()
		return "", errorf(ErrValidation, "Stack [%s] does not exist", in.Name)
	}
	if s.busy[r.Name] || !updatable(r.Status) {
		s.mu.Unlock()
		return "", errorf(ErrValidation, "Stack:%s is in %s state and can not be updated.", r.ID, r.Status)
	}
	s.busy[r.Name] = true
	s.mu.Unlock()
	p, changes, err := s.planUpdate(ctx, r, in, true)
	if err == nil && len(changes) == 0 && sameOutputs(r, p) {
		err = errorf(ErrValidation, "No updates are to be performed.")
	}
	if err != nil {
		s.done(r.Name)
		return "", err
	}
	s.startUpdate(ctx, r, p, in.Tags)
	return r.ID, nil
}

func updatable(status string) bool {
	switch status {
	case "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE":
		return true
	}
	return false
}

// sameOutputs reports whether an update would leave the outputs as they
// are (an update that changes only outputs is an update).
func sameOutputs(r *stackRec, p *plan) bool {
	old := parsedDoc(r.Template)
	a, _ := old["Outputs"].(map[string]any)
	b, _ := p.doc["Outputs"].(map[string]any)
	return equalProps(a, b) && r.Template == p.body || equalProps(a, b) && paramsEqual(r.Parameters, p.params)
}

func paramsEqual(a, b []Parameter) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

// startUpdate runs an update (s.busy is set).
func (s *Service) startUpdate(ctx context.Context, r *stackRec, p *plan, tags map[string]string) {
	s.mu.Lock()
	r.Previous = &prevState{Template: r.Template, Parameters: r.Parameters}
	if tags != nil {
		r.Tags = tags
	}
	s.mu.Unlock()
	s.stackEvent(ctx, r, "UPDATE_IN_PROGRESS", "User Initiated")
	s.run(func(ctx context.Context) { s.update(ctx, r, p) })
}

// update applies a plan to a stack: new resources are created and changed
// ones updated in dependency order, then removed and replaced ones are
// deleted; a failure rolls the stack back to its previous template.
func (s *Service) update(ctx context.Context, r *stackRec, p *plan) {
	defer s.done(r.Name)
	s.bind(ctx, p, r)
	prevBody := r.effective()
	if r.Previous != nil {
		prevBody = r.Previous.Template
	}
	prev := map[string]*Resource{}
	s.mu.Lock()
	for k, v := range r.Resources {
		c := *v
		prev[k] = &c
	}
	s.mu.Unlock()
	var created []string
	var replaced []*Resource
	var failed error
	for _, name := range p.order {
		old := prev[name]
		if old == nil {
			if err := s.createResource(ctx, r, p, name); err != nil {
				failed = err
				break
			}
			created = append(created, name)
			continue
		}
		props, typ, retain, err := p.properties(name)
		if err != nil {
			failed = err
			s.resourceEvent(ctx, r, r.Resources[name], "UPDATE_FAILED", err.Error())
			break
		}
		if typ == old.Type && equalProps(props, old.Properties) {
			continue
		}
		res := &Resource{LogicalID: name, Type: typ, Properties: props, Retain: retain, StackName: r.Name, StackID: r.ID,
			PhysicalID: old.PhysicalID, Ref: old.Ref, Attrs: old.Attrs}
		s.mu.Lock()
		r.Resources[name] = res
		s.mu.Unlock()
		s.resourceEvent(ctx, r, res, "UPDATE_IN_PROGRESS", "")
		replace := typ != old.Type || needsReplacement(typ, changedProps(props, old.Properties))
		if !replace {
			if replace, err = s.provider(typ).Update(ctx, res, old); err != nil {
				s.resourceEvent(ctx, r, res, "UPDATE_FAILED", err.Error())
				failed = err
				break
			}
		}
		if replace {
			res.PhysicalID, res.Ref, res.Attrs = "", nil, nil
			s.resourceEvent(ctx, r, res, "UPDATE_IN_PROGRESS", "Requested update requires the creation of a new physical resource; hence creating one.")
			if err := s.provider(typ).Create(ctx, res); err != nil {
				s.resourceEvent(ctx, r, res, "UPDATE_FAILED", err.Error())
				failed = err
				break
			}
			replaced = append(replaced, old)
		}
		s.resourceEvent(ctx, r, res, "UPDATE_COMPLETE", "")
	}
	if failed == nil {
		failed = s.outputs(ctx, r, p)
	}
	if failed != nil {
		s.rollbackUpdate(ctx, r, prev, created, replaced)
		return
	}
	s.mu.Lock()
	r.Template, r.Parameters, r.Description, r.Previous, r.Processed = p.body, p.params, p.description, nil, p.processed
	s.mu.Unlock()
	s.stackEvent(ctx, r, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "")
	// Resources the new template no longer has, in reverse order.
	keep := map[string]bool{}
	for _, n := range p.order {
		keep[n] = true
	}
	var gone []string
	for _, n := range reverse(orderOf(prevBody)) {
		if !keep[n] && prev[n] != nil {
			gone = append(gone, n)
		}
	}
	for n := range prev {
		if !keep[n] && !contains(gone, n) {
			gone = append(gone, n)
		}
	}
	for _, n := range gone {
		res := r.Resources[n]
		if res == nil {
			continue
		}
		if res.Retain {
			s.resourceEvent(ctx, r, res, "DELETE_SKIPPED", "")
		} else {
			s.resourceEvent(ctx, r, res, "DELETE_IN_PROGRESS", "")
			if err := s.provider(res.Type).Delete(ctx, res); err != nil {
				s.resourceEvent(ctx, r, res, "DELETE_FAILED", err.Error())
			} else {
				s.resourceEvent(ctx, r, res, "DELETE_COMPLETE", "")
			}
		}
		s.mu.Lock()
		delete(r.Resources, n)
		s.mu.Unlock()
	}
	for _, old := range replaced {
		if err := s.provider(old.Type).Delete(ctx, old); err != nil {
			s.log.Warn("delete replaced resource", "stack", r.Name, "resource", old.LogicalID, "err", err)
		}
	}
	s.stackEvent(ctx, r, "UPDATE_COMPLETE", "")
}

// rollbackUpdate undoes a failed update: created resources are deleted,
// changed ones restored to their previous properties.
func (s *Service) rollbackUpdate(ctx context.Context, r *stackRec, prev map[string]*Resource, created []string, replaced []*Resource) {
	s.stackEvent(ctx, r, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: "+failedNames(r, "UPDATE_FAILED")+failedNames2(r))
	var rollbackErr error
	for name, old := range prev {
		s.mu.Lock()
		cur := r.Resources[name]
		s.mu.Unlock()
		if cur == nil || (cur.PhysicalID == old.PhysicalID && equalProps(cur.Properties, old.Properties)) {
			continue
		}
		s.resourceEvent(ctx, r, cur, "UPDATE_IN_PROGRESS", "")
		if cur.PhysicalID != old.PhysicalID {
			// It was replaced: drop the new one, keep the old.
			if cur.PhysicalID != "" {
				s.provider(cur.Type).Delete(ctx, cur)
			}
		} else if _, err := s.provider(old.Type).Update(ctx, old, cur); err != nil && rollbackErr == nil {
			rollbackErr = err
		}
		restored := *old
		s.mu.Lock()
		r.Resources[name] = &restored
		s.mu.Unlock()
		s.resourceEvent(ctx, r, &restored, "UPDATE_COMPLETE", "")
	}
	for i := len(created) - 1; i >= 0; i-- {
		s.mu.Lock()
		res := r.Resources[created[i]]
		s.mu.Unlock()
		if res == nil {
			continue
		}
		if res.PhysicalID != "" {
			s.resourceEvent(ctx, r, res, "DELETE_IN_PROGRESS", "")
			if err := s.provider(res.Type).Delete(ctx, res); err != nil && rollbackErr == nil {
				rollbackErr = err
			}
			s.resourceEvent(ctx, r, res, "DELETE_COMPLETE", "")
		}
		s.mu.Lock()
		delete(r.Resources, created[i])
		s.mu.Unlock()
	}
	// A resource the update created and failed keeps no record either.
	s.mu.Lock()
	for n, res := range r.Resources {
		if prev[n] == nil && res.Status == "CREATE_FAILED" {
			delete(r.Resources, n)
		}
	}
	if r.Previous != nil {
		r.Template, r.Parameters, r.Previous = r.Previous.Template, r.Previous.Parameters, nil
	}
	s.mu.Unlock()
	if rollbackErr != nil {
		s.stackEvent(ctx, r, "UPDATE_ROLLBACK_FAILED", rollbackErr.Error())
		return
	}
	s.stackEvent(ctx, r, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "")
	s.stackEvent(ctx, r, "UPDATE_ROLLBACK_COMPLETE", "")
}

func failedNames2(r *stackRec) string {
	if f := failedNames(r, "CREATE_FAILED"); f != "[]" {
		return " " + f
	}
	return ""
}

func reverse(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[len(list)-1-i] = s
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pendingDiff lists the properties of a resource that change, when some
// cannot be resolved yet (they refer to resources the update adds): those
// count as changed, the others are compared.
func (p *plan) pendingDiff(name string, old map[string]any) []string {
	raw, _ := p.tpl.Resources()[name]["Properties"].(map[string]any)
	var out []string
	for k, v := range raw {
		got, err := p.env.Resolve(v)
		if err != nil || !jsonEqual(got, old[k]) {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := raw[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
