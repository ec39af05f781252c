package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/stack/sam"
	"github.com/forkline/forkline/internal/stack/template"
)

// plan is a template ready to run: parsed (and transformed), its
// parameters resolved and its conditions decided.
type plan struct {
	body        string
	doc         map[string]any
	tpl         *template.Template
	params      []Parameter
	env         *template.Env
	order       []string // resources whose conditions hold, dependencies first
	description string
	imports     []string
	processed   string // the template after its transforms; "" without any
}

// iamTypes need CAPABILITY_IAM (or CAPABILITY_NAMED_IAM when named).
var iamTypes = map[string]string{"AWS::IAM::Role": "RoleName", "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName",
	"AWS::IAM::Policy": "", "AWS::IAM::ManagedPolicy": "ManagedPolicyName", "AWS::IAM::InstanceProfile": "InstanceProfileName", "AWS::IAM::AccessKey": ""}

// prepare parses, transforms and resolves a template for stackName.
func (s *Service) prepare(ctx context.Context, stackName, stackID, body string, given map[string]string, caps []string, direct bool) (*plan, error) {
	tpl, err := template.Parse([]byte(body))
	if err != nil {
		return nil, errorf(ErrValidation, "%s", err.Error())
	}
	processed := ""
	hasCap := map[string]bool{}
	for _, c := range caps {
		hasCap[c] = true
	}
	if tr, ok := tpl.Doc["Transform"]; ok && tr != nil {
		if direct && !hasCap["CAPABILITY_AUTO_EXPAND"] {
			return nil, errorf(ErrInsufficient, "Requires capabilities : [CAPABILITY_AUTO_EXPAND]")
		}
		if !sam.Has(tpl.Doc) {
			return nil, errorf(ErrValidation, "Template format error: forkline supports only the transform %s, not %v", sam.Name, tr)
		}
		doc, err := sam.Transform(ctx, tpl.Doc, sam.Options{Region: s.cfg.Region, AccountID: s.cfg.AccountID, Partition: "aws",
			StackName: stackName, Params: given, Application: s.cfg.Application})
		if err != nil {
			return nil, errorf(ErrValidation, "Transform %s failed with: %v", sam.Name, err)
		}
		tpl = &template.Template{Doc: doc}
		processed = string(mustJSON(doc))
	}
	p := &plan{body: body, doc: tpl.Doc, tpl: tpl, processed: processed}
	p.description, _ = tpl.Doc["Description"].(string)
	var unknown, named []string
	unnamedIAM := false
	for name, r := range tpl.Resources() {
		typ, _ := r["Type"].(string)
		if typ == "" {
			return nil, errorf(ErrValidation, "Template format error: [/Resources/%s] Every Resources object must contain a Type member.", name)
		}
		if _, ok := s.cfg.Providers[typ]; !ok && !strings.HasPrefix(typ, "Custom::") {
			unknown = append(unknown, typ)
		}
		if nameProp, ok := iamTypes[typ]; ok {
			props, _ := r["Properties"].(map[string]any)
			if _, hasName := props[nameProp]; nameProp != "" && hasName {
				named = append(named, name)
			} else {
				unnamedIAM = true
			}
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, errorf(ErrValidation, "Template format error: Unrecognized resource types: [%s]", strings.Join(dedupe(unknown), ", "))
	}
	switch {
	case len(named) > 0 && !hasCap["CAPABILITY_NAMED_IAM"]:
		return nil, errorf(ErrInsufficient, "Requires capabilities : [CAPABILITY_NAMED_IAM]")
	case unnamedIAM && !hasCap["CAPABILITY_IAM"] && !hasCap["CAPABILITY_NAMED_IAM"]:
		return nil, errorf(ErrInsufficient, "Requires capabilities : [CAPABILITY_IAM]")
	}
	values, err := tpl.ResolveParameters(given)
	if err != nil {
		return nil, errorf(ErrValidation, "%s", err.Error())
	}
	decl, _ := tpl.Parameters()
	for _, d := range decl {
		v := values[d.Name]
		text := ""
		switch x := v.(type) {
		case string:
			text = x
		case []any:
			var parts []string
			for _, e := range x {
				parts = append(parts, fmt.Sprint(e))
			}
			text = strings.Join(parts, ",")
		}
		p.params = append(p.params, Parameter{Key: d.Name, Value: text, NoEcho: d.NoEcho})
	}
	mappings, _ := tpl.Doc["Mappings"].(map[string]any)
	p.env = &template.Env{Params: values, Mappings: mappings, Region: s.cfg.Region, Pseudo: map[string]any{
		"AWS::Region": s.cfg.Region, "AWS::AccountId": s.cfg.AccountID, "AWS::StackName": stackName, "AWS::StackId": stackID,
		"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NotificationARNs": []any{},
	}}
	if err := tpl.EvaluateConditions(p.env); err != nil {
		return nil, errorf(ErrValidation, "%s", err.Error())
	}
	order, err := tpl.Order()
	if err != nil {
		return nil, errorf(ErrValidation, "%s", err.Error())
	}
	res := tpl.Resources()
	for _, name := range order {
		if c, ok := res[name]["Condition"].(string); ok {
			v, known := p.env.Conditions[c]
			if !known {
				return nil, errorf(ErrValidation, "Template format error: Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", c)
			}
			if !v {
				continue
			}
		}
		p.order = append(p.order, name)
	}
	p.imports = imports(tpl.Doc)
	return p, nil
}

func dedupe(list []string) []string {
	var out []string
	for i, s := range list {
		if i == 0 || s != list[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// imports lists the export names a template imports (literal ones).
func imports(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if name, ok := x["Fn::ImportValue"].(string); ok && len(x) == 1 {
				out = append(out, name)
				return
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// bind points a plan's Ref and GetAtt at a stack's resources.
func (s *Service) bind(ctx context.Context, p *plan, r *stackRec) {
	p.env.Ref = func(name string) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		res := r.Resources[name]
		if res == nil || res.Ref == nil {
			return nil, errorf(ErrValidation, "Template format error: Unresolved resource dependencies [%s] in the Resources block of the template", name)
		}
		return res.Ref, nil
	}
	p.env.GetAtt = func(name, attr string) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		res := r.Resources[name]
		if res == nil {
			return nil, errorf(ErrValidation, "Template error: instance of Fn::GetAtt references undefined resource %s", name)
		}
		v, ok := res.Attrs[attr]
		if !ok {
			return nil, errorf(ErrValidation, "Template error: resource %s does not support attribute type %s in Fn::GetAtt", name, attr)
		}
		return v, nil
	}
	p.env.Import = func(name string) (string, error) {
		v, err := s.st.GetRecord(ctx, nsExport, name)
		if err != nil {
			return "", errorf(ErrValidation, "No export named %s found.", name)
		}
		var e exportRec
		json.Unmarshal(v, &e)
		return e.Value, nil
	}
}

// properties resolves a resource's properties for the plan.
func (p *plan) properties(name string) (map[string]any, string, bool, error) {
	def := p.tpl.Resources()[name]
	typ, _ := def["Type"].(string)
	retain := false
	if dp, _ := def["DeletionPolicy"].(string); dp == "Retain" || dp == "RetainExceptOnCreate" || dp == "Snapshot" {
		retain = dp != "Snapshot"
	}
	raw, _ := def["Properties"].(map[string]any)
	v, err := p.env.Resolve(raw)
	if err != nil {
		return nil, typ, retain, err
	}
	props, _ := v.(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	return props, typ, retain, nil
}

// CreateInput are CreateStack's parameters.
type CreateInput struct {
	Name, TemplateBody, TemplateURL string
	Parameters                      map[string]string
	Capabilities                    []string
	Tags                            map[string]string
	DisableRollback                 bool
	parent                          string // the parent stack's ID, for a nested stack
}

var stackNameRE = func(n string) bool {
	if n == "" || len(n) > 128 || !(n[0] >= 'a' && n[0] <= 'z' || n[0] >= 'A' && n[0] <= 'Z') {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Service) body(ctx context.Context, body, url string) (string, error) {
	switch {
	case body != "" && url != "":
		return "", errorf(ErrValidation, "Specify exactly one of TemplateBody and TemplateURL")
	case body != "":
		return body, nil
	case url != "":
		if s.cfg.Fetch == nil {
			return "", errorf(ErrValidation, "TemplateURL must be a supported URL.")
		}
		b, err := s.cfg.Fetch(ctx, url)
		if err != nil {
			return "", errorf(ErrValidation, "TemplateURL must be a supported URL. (%v)", err)
		}
		return string(b), nil
	}
	return "", errorf(ErrValidation, "Either Template URL or Template Body must be specified.")
}

// CreateStack validates the template and starts creating the stack.
func (s *Service) CreateStack(ctx context.Context, in CreateInput) (string, error) {
	if !stackNameRE(in.Name) {
		return "", errorf(ErrValidation, "1 validation error detected: Value '%s' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", in.Name)
	}
	body, err := s.body(ctx, in.TemplateBody, in.TemplateURL)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.stacks[in.Name] != nil {
		s.mu.Unlock()
		return "", errorf(ErrAlreadyExists, "Stack [%s] already exists", in.Name)
	}
	s.mu.Unlock()
	id := s.stackID(in.Name)
	p, err := s.prepare(ctx, in.Name, id, body, in.Parameters, in.Capabilities, true)
	if err != nil {
		return "", err
	}
	r := &stackRec{ID: id, Name: in.Name, Status: "CREATE_IN_PROGRESS", Template: body, Parameters: p.params, Description: p.description,
		Capabilities: in.Capabilities, Tags: in.Tags, Resources: map[string]*Resource{}, Created: s.clock.Now().UnixMilli(), NoRollback: in.DisableRollback,
		ParentID: in.parent, Processed: p.processed}
	if in.parent != "" {
		r.RootID = in.parent
		s.mu.Lock()
		if parent := s.lookup(in.parent); parent != nil && parent.RootID != "" {
			r.RootID = parent.RootID
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	if s.stacks[in.Name] != nil {
		s.mu.Unlock()
		return "", errorf(ErrAlreadyExists, "Stack [%s] already exists", in.Name)
	}
	s.stacks[in.Name] = r
	s.busy[in.Name] = true
	s.mu.Unlock()
	if err := s.save(ctx, r, &Event{LogicalID: r.Name, PhysicalID: r.ID, Type: "AWS::CloudFormation::Stack", Status: "CREATE_IN_PROGRESS", Reason: "User Initiated"}); err != nil {
		return "", err
	}
	s.run(func(ctx context.Context) { s.create(ctx, r, p) })
	return id, nil
}

// syncWait is how long an API call waits for the operation it started:
// local stacks are usually done by then, so the first DescribeStacks of a
// client's waiter finds the final status instead of sleeping for its
// polling delay (30 s for the AWS CLI's stack waiters).
const syncWait = 3 * time.Second

// run starts an operation in the background and waits up to syncWait for
// it.
func (s *Service) run(op func(ctx context.Context)) {
	s.wg.Add(1)
	done := make(chan struct{})
	go func() {
		defer s.wg.Done()
		defer close(done)
		op(s.ctx)
	}()
	select {
	case <-done:
	case <-time.After(syncWait):
	}
}

func (s *Service) done(name string) {
	s.mu.Lock()
	delete(s.busy, name)
	s.mu.Unlock()
}

// resourceEvent records a resource's status with the stack.
func (s *Service) resourceEvent(ctx context.Context, r *stackRec, res *Resource, status, reason string) error {
	s.mu.Lock()
	res.Status, res.Reason, res.Updated = status, reason, s.clock.Now().UnixMilli()
	props := ""
	if res.Properties != nil && strings.HasSuffix(status, "_IN_PROGRESS") {
		b, _ := json.Marshal(res.Properties)
		props = string(b)
	}
	ev := &Event{LogicalID: res.LogicalID, PhysicalID: res.PhysicalID, Type: res.Type, Status: status, Reason: reason, Properties: props}
	err := s.save(ctx, r, ev)
	s.mu.Unlock()
	return err
}

func (s *Service) stackEvent(ctx context.Context, r *stackRec, status, reason string) {
	s.mu.Lock()
	r.Status, r.Reason = status, reason
	if strings.HasPrefix(status, "UPDATE") || strings.HasPrefix(status, "ROLLBACK") {
		r.Updated = s.clock.Now().UnixMilli()
	}
	if status == "DELETE_COMPLETE" {
		r.Deleted = s.clock.Now().UnixMilli()
		delete(s.stacks, r.Name)
	}
	err := s.save(ctx, r, &Event{LogicalID: r.Name, PhysicalID: r.ID, Type: "AWS::CloudFormation::Stack", Status: status, Reason: reason})
	s.mu.Unlock()
	if err != nil {
		s.log.Error("record stack status", "stack", r.Name, "status", status, "err", err)
	}
}

// createResource makes one resource of the plan.
func (s *Service) createResource(ctx context.Context, r *stackRec, p *plan, name string) error {
	props, typ, retain, err := p.properties(name)
	res := &Resource{LogicalID: name, Type: typ, Properties: props, Retain: retain, StackName: r.Name, StackID: r.ID, Suffix: NewSuffix()}
	s.mu.Lock()
	r.Resources[name] = res
	s.mu.Unlock()
	if err != nil {
		s.resourceEvent(ctx, r, res, "CREATE_FAILED", err.Error())
		return err
	}
	if err := s.resourceEvent(ctx, r, res, "CREATE_IN_PROGRESS", ""); err != nil {
		return err
	}
	// The provider works on its own copy: other resources of the stack
	// are created, and the record saved, at the same time.
	s.mu.Lock()
	work := *res
	s.mu.Unlock()
	err = s.provider(typ).Create(ctx, &work)
	s.mu.Lock()
	res.PhysicalID, res.Ref, res.Attrs, res.Suffix = work.PhysicalID, work.Ref, work.Attrs, work.Suffix
	s.mu.Unlock()
	if err != nil {
		s.resourceEvent(ctx, r, res, "CREATE_FAILED", err.Error())
		return err
	}
	return s.resourceEvent(ctx, r, res, "CREATE_COMPLETE", "")
}

// maxParallel bounds the resources of one stack created at once.
const maxParallel = 8

// createAll creates the named resources of the plan, each once the
// resources it depends on exist, independent ones in parallel; after the
// first failure it starts no more and waits for those in flight.
func (s *Service) createAll(ctx context.Context, r *stackRec, p *plan, names []string) (created []string, failed error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	deps := map[string][]string{}
	defs := p.tpl.Resources()
	for _, n := range names {
		var d []string
		for _, ref := range template.References(defs[n]["Properties"]) {
			if want[ref] {
				d = append(d, ref)
			}
		}
		switch x := defs[n]["DependsOn"].(type) {
		case string:
			if want[x] {
				d = append(d, x)
			}
		case []any:
			for _, e := range x {
				if name, ok := e.(string); ok && want[name] {
					d = append(d, name)
				}
			}
		}
		deps[n] = d
	}
	type result struct {
		name string
		err  error
	}
	results := make(chan result)
	done, started := map[string]bool{}, map[string]bool{}
	running := 0
	for {
		if failed == nil {
			for _, n := range names { // dependency order keeps the start order stable
				if started[n] || running >= maxParallel {
					continue
				}
				ready := true
				for _, d := range deps[n] {
					if !done[d] {
						ready = false
						break
					}
				}
				if !ready {
					continue
				}
				started[n] = true
				running++
				go func(n string) { results <- result{n, s.createResource(ctx, r, p, n)} }(n)
			}
		}
		if running == 0 {
			return created, failed
		}
		res := <-results
		running--
		if res.err != nil {
			if failed == nil {
				failed = res.err
			}
			continue
		}
		done[res.name] = true
		created = append(created, res.name)
	}
}

func (s *Service) provider(typ string) Provider {
	if p, ok := s.cfg.Providers[typ]; ok {
		return guarded{p}
	}
	if strings.HasPrefix(typ, "Custom::") {
		if p, ok := s.cfg.Providers["AWS::CloudFormation::CustomResource"]; ok {
			return guarded{p}
		}
	}
	return noop{}
}

// guarded turns a provider's panic into the resource's failure, so that
// one bad resource cannot stop the server.
type guarded struct{ p Provider }

func recovered(err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("Internal Failure: %v", v)
	}
}

func (g guarded) Create(ctx context.Context, r *Resource) (err error) {
	defer recovered(&err)
	return g.p.Create(ctx, r)
}

func (g guarded) Update(ctx context.Context, r, old *Resource) (replace bool, err error) {
	defer recovered(&err)
	return g.p.Update(ctx, r, old)
}

func (g guarded) Delete(ctx context.Context, r *Resource) (err error) {
	defer recovered(&err)
	return g.p.Delete(ctx, r)
}

// noop accepts a resource without making anything (Custom:: types when
// no provider is registered).
type noop struct{}

func (noop) Create(ctx context.Context, r *Resource) error {
	r.PhysicalID = r.StackName + "-" + r.LogicalID
	r.Ref = r.PhysicalID
	return nil
}
func (noop) Update(context.Context, *Resource, *Resource) (bool, error) { return false, nil }
func (noop) Delete(context.Context, *Resource) error                    { return nil }

func (s *Service) create(ctx context.Context, r *stackRec, p *plan) {
	defer s.done(r.Name)
	s.bind(ctx, p, r)
	_, failed := s.createAll(ctx, r, p, p.order)
	if failed == nil {
		if err := s.outputs(ctx, r, p); err != nil {
			failed = err
		}
	}
	if failed == nil {
		s.stackEvent(ctx, r, "CREATE_COMPLETE", "")
		return
	}
	if r.NoRollback {
		s.stackEvent(ctx, r, "CREATE_FAILED", "The following resource(s) failed to create: "+failedNames(r, "CREATE_FAILED"))
		return
	}
	s.stackEvent(ctx, r, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: "+failedNames(r, "CREATE_FAILED")+". Rollback requested by user.")
	if err := s.deleteAll(ctx, r, p.order, false); err != nil {
		s.stackEvent(ctx, r, "ROLLBACK_FAILED", err.Error())
		return
	}
	s.stackEvent(ctx, r, "ROLLBACK_COMPLETE", "")
}

func failedNames(r *stackRec, status string) string {
	var names []string
	for n, res := range r.Resources {
		if res.Status == status {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return "[" + strings.Join(names, ", ") + "]"
}

// outputs resolves the stack's outputs and records its exports.
func (s *Service) outputs(ctx context.Context, r *stackRec, p *plan) error {
	raw, _ := p.doc["Outputs"].(map[string]any)
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var outs []Output
	for _, k := range keys {
		def, _ := raw[k].(map[string]any)
		if c, ok := def["Condition"].(string); ok && !p.env.Conditions[c] {
			continue
		}
		v, err := p.env.Resolve(def["Value"])
		if err != nil {
			return err
		}
		o := Output{Key: k, Value: textOf(v)}
		o.Description, _ = def["Description"].(string)
		if ex, ok := def["Export"].(map[string]any); ok {
			n, err := p.env.Resolve(ex["Name"])
			if err != nil {
				return err
			}
			o.ExportName = textOf(n)
		}
		outs = append(outs, o)
	}
	// Exports are unique across stacks.
	var b storeBatch
	for _, o := range outs {
		if o.ExportName == "" {
			continue
		}
		if v, err := s.st.GetRecord(ctx, nsExport, o.ExportName); err == nil {
			var e exportRec
			json.Unmarshal(v, &e)
			if e.StackID != r.ID {
				return errorf(ErrValidation, "Export with name %s is already exported by stack %s", o.ExportName, stackNameOf(e.StackID))
			}
		}
		b.put(nsExport, o.ExportName, mustJSON(exportRec{StackID: r.ID, Value: o.Value}))
	}
	for _, old := range r.Outputs {
		if old.ExportName != "" && !hasExport(outs, old.ExportName) {
			b.del(nsExport, old.ExportName)
		}
	}
	if err := s.st.Commit(ctx, b.batch()); err != nil {
		return err
	}
	s.mu.Lock()
	r.Outputs = outs
	s.mu.Unlock()
	return nil
}

func hasExport(outs []Output, name string) bool {
	for _, o := range outs {
		if o.ExportName == name {
			return true
		}
	}
	return false
}

func stackNameOf(id string) string {
	parts := strings.Split(id, "/")
	if len(parts) >= 2 {
		return parts[1]
	}
	return id
}

func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, textOf(e))
		}
		return strings.Join(parts, ",")
	case nil:
		return ""
	}
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// deleteAll deletes resources in the reverse of order (those not in order
// last), honouring DeletionPolicy Retain when retain is set.
func (s *Service) deleteAll(ctx context.Context, r *stackRec, order []string, retain bool) error {
	s.mu.Lock()
	seen := map[string]bool{}
	var names []string
	for i := len(order) - 1; i >= 0; i-- {
		if r.Resources[order[i]] != nil && !seen[order[i]] {
			seen[order[i]] = true
			names = append(names, order[i])
		}
	}
	var rest []string
	for n := range r.Resources {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	s.mu.Unlock()
	sort.Sort(sort.Reverse(sort.StringSlice(rest)))
	names = append(rest, names...)
	var firstErr error
	for _, n := range names {
		s.mu.Lock()
		res := r.Resources[n]
		s.mu.Unlock()
		if res == nil || res.Status == "DELETE_COMPLETE" || res.Status == "DELETE_SKIPPED" {
			continue
		}
		if retain && res.Retain {
			s.resourceEvent(ctx, r, res, "DELETE_SKIPPED", "")
			continue
		}
		s.settlePending(ctx, r, res)
		if res.PhysicalID == "" {
			// Never made.
			s.resourceEvent(ctx, r, res, "DELETE_COMPLETE", "")
			s.mu.Lock()
			delete(r.Resources, n)
			s.mu.Unlock()
			continue
		}
		s.resourceEvent(ctx, r, res, "DELETE_IN_PROGRESS", "")
		if err := s.provider(res.Type).Delete(ctx, res); err != nil {
			s.resourceEvent(ctx, r, res, "DELETE_FAILED", err.Error())
			if firstErr == nil {
				firstErr = fmt.Errorf("The following resource(s) failed to delete: [%s]. ", n)
			}
			continue
		}
		s.resourceEvent(ctx, r, res, "DELETE_COMPLETE", "")
		s.mu.Lock()
		delete(r.Resources, n)
		s.mu.Unlock()
	}
	return firstErr
}

// settlePending finds the resource of a create that a crash interrupted,
// which may or may not have been made: the provider creates it again under
// the same generated name, adopting what exists, so that it can then be
// deleted.
func (s *Service) settlePending(ctx context.Context, r *stackRec, res *Resource) {
	if res.PhysicalID != "" || res.Status != "CREATE_IN_PROGRESS" {
		return
	}
	res.StackName, res.StackID, res.Adopt = r.Name, r.ID, true
	if err := s.provider(res.Type).Create(ctx, res); err != nil {
		s.log.Warn("recreate an interrupted resource to delete it", "stack", r.Name, "resource", res.LogicalID, "err", err)
		res.PhysicalID = ""
	}
	res.Adopt = false
}

// DeleteStack starts deleting a stack; deleting one that does not exist
// succeeds, as in CloudFormation.
func (s *Service) DeleteStack(ctx context.Context, nameOrID string, retainResources []string) error {
	s.mu.Lock()
	r := s.lookup(nameOrID)
	if r == nil {
		s.mu.Unlock()
		return nil
	}
	if s.busy[r.Name] {
		s.mu.Unlock()
		if r.Status == "DELETE_IN_PROGRESS" {
			return nil
		}
		return errorf(ErrValidation, "Stack [%s] is in %s state and can not be deleted", r.Name, r.Status)
	}
	for _, n := range retainResources {
		if res := r.Resources[n]; res != nil {
			res.Retain = true
		}
	}
	// An export another stack imports keeps its stack.
	for _, o := range r.Outputs {
		if o.ExportName == "" {
			continue
		}
		for _, other := range s.stacks {
			if other == r {
				continue
			}
			for _, imp := range imports(parsedDoc(other.Template)) {
				if imp == o.ExportName {
					s.mu.Unlock()
					return errorf(ErrValidation, "Export %s cannot be deleted as it is in use by %s", o.ExportName, other.Name)
				}
			}
		}
	}
	s.busy[r.Name] = true
	s.mu.Unlock()
	s.stackEvent(ctx, r, "DELETE_IN_PROGRESS", "User Initiated")
	s.run(func(ctx context.Context) {
		defer s.done(r.Name)
		order := orderOf(r.effective())
		if err := s.deleteAll(ctx, r, order, true); err != nil {
			s.stackEvent(ctx, r, "DELETE_FAILED", err.Error())
			return
		}
		s.deleteExports(ctx, r)
		s.stackEvent(ctx, r, "DELETE_COMPLETE", "")
	})
	return nil
}

// deleteExports removes a deleted stack's exports.
func (s *Service) deleteExports(ctx context.Context, r *stackRec) {
	var b storeBatch
	for _, o := range r.Outputs {
		if o.ExportName != "" {
			b.del(nsExport, o.ExportName)
		}
	}
	if err := s.st.Commit(ctx, b.batch()); err != nil {
		s.log.Error("delete exports", "stack", r.Name, "err", err)
	}
}

func parsedDoc(body string) map[string]any {
	t, err := template.Parse([]byte(body))
	if err != nil {
		return nil
	}
	return t.Doc
}

// orderOf is a template's dependency order (empty when it cannot be
// computed, for a transformed template, say).
func orderOf(body string) []string {
	t, err := template.Parse([]byte(body))
	if err != nil {
		return nil
	}
	o, _ := t.Order()
	return o
}

// ValidateTemplate checks a template and returns its parameters and
// description, and the capabilities it needs.
func (s *Service) ValidateTemplate(ctx context.Context, body, url string) ([]template.Parameter, string, []string, error) {
	b, err := s.body(ctx, body, url)
	if err != nil {
		return nil, "", nil, err
	}
	tpl, err := template.Parse([]byte(b))
	if err != nil {
		return nil, "", nil, errorf(ErrValidation, "%s", err.Error())
	}
	params, err := tpl.Parameters()
	if err != nil {
		return nil, "", nil, errorf(ErrValidation, "%s", err.Error())
	}
	if _, err := tpl.Order(); err != nil && tpl.Doc["Transform"] == nil {
		return nil, "", nil, errorf(ErrValidation, "%s", err.Error())
	}
	desc, _ := tpl.Doc["Description"].(string)
	var caps []string
	for _, r := range tpl.Resources() {
		if typ, _ := r["Type"].(string); iamTypes[typ] != "" || typ == "AWS::IAM::Policy" {
			caps = []string{"CAPABILITY_IAM"}
		}
	}
	if tpl.Doc["Transform"] != nil {
		caps = append(caps, "CAPABILITY_AUTO_EXPAND")
	}
	return params, desc, caps, nil
}

func errorsAs(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

func equalProps(a, b map[string]any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return string(ab) == string(bb) || reflect.DeepEqual(a, b)
}

// TemplateSummary lists a template's resource types and its format
// version.
func (s *Service) TemplateSummary(ctx context.Context, body, url string) ([]string, string, error) {
	b, err := s.body(ctx, body, url)
	if err != nil {
		return nil, "", err
	}
	tpl, err := template.Parse([]byte(b))
	if err != nil {
		return nil, "", errorf(ErrValidation, "%s", err.Error())
	}
	seen := map[string]bool{}
	var types []string
	for _, r := range tpl.Resources() {
		if t, _ := r["Type"].(string); t != "" && !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	sort.Strings(types)
	v, _ := tpl.Doc["AWSTemplateFormatVersion"].(string)
	return types, v, nil
}
