// Package sam is forkline's own implementation of the SAM transform
// (AWS::Serverless-2016-10-31): it expands AWS::Serverless::Function,
// LayerVersion, StateMachine and Application resources, with Globals, into
// the CloudFormation resources that AWS's transform generates for them:
// the same logical IDs (hashed ones included), types, properties and
// attributes, so that a template's outputs, references and change sets
// come out as they do on AWS.
//
// The expansion follows the SAM specification and is checked against
// aws-sam-translator over the corpus in testdata (see sam_test.go).
package sam

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Name is the transform's name.
const Name = "AWS::Serverless-2016-10-31"

// Options configure a transform.
type Options struct {
	Region, AccountID, Partition, StackName string
	// Params are the parameter values given for the stack.
	Params map[string]string
	// Application resolves an AWS::Serverless::Application's
	// {ApplicationId, SemanticVersion} to a template URL; nil refuses them.
	Application func(ctx context.Context, id, version string) (string, error)
}

// Error is a template the transform refuses, with every cause found.
type Error struct{ Causes []string }

func (e *Error) Error() string {
	return fmt.Sprintf("Invalid Serverless Application Specification document. Number of errors found: %d. %s", len(e.Causes), strings.Join(e.Causes, " "))
}

// invalid is one resource's error.
type invalid struct{ id, msg string }

func (e *invalid) Error() string {
	return fmt.Sprintf("Resource with id [%s] is invalid. %s", e.id, e.msg)
}

func invalidf(id, format string, args ...any) error {
	return &invalid{id: id, msg: fmt.Sprintf(format, args...)}
}

// Has reports whether a template's Transform names the SAM transform.
func Has(doc map[string]any) bool {
	switch t := doc["Transform"].(type) {
	case string:
		return t == Name
	case []any:
		for _, e := range t {
			if e == Name {
				return true
			}
		}
	}
	return false
}

// state is one transform's work.
type state struct {
	ctx    context.Context
	o      Options
	doc    map[string]any
	out    map[string]any // the output's Resources
	params map[string]any // parameter values for the resolver
	// renamed maps a logical ID that the transform changed (layers) to
	// the new one; special maps "Fn.Alias" and "Fn.Version" references.
	renamed, special map[string]string
	deploy           *codeDeploy
	causes           []string
}

var logicalID = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// Transform expands the SAM resources of doc, which it does not change.
func Transform(ctx context.Context, doc map[string]any, o Options) (map[string]any, error) {
	if o.Partition == "" {
		o.Partition = "aws"
	}
	if tr, ok := doc["Transform"].([]any); ok {
		for _, e := range tr {
			if e != Name {
				return nil, fmt.Errorf("the transform %v is not supported by forkline", e)
			}
		}
	}
	s := &state{ctx: ctx, o: o, doc: clone(doc).(map[string]any), renamed: map[string]string{}, special: map[string]string{}}
	res, ok := s.doc["Resources"].(map[string]any)
	if !ok || len(res) == 0 {
		return nil, &Error{Causes: []string{"Structure of the SAM template is invalid. 'Resources' section is required"}}
	}
	for id, r := range res {
		if _, ok := r.(map[string]any); !ok {
			return nil, &Error{Causes: []string{fmt.Sprintf("Structure of the SAM template is invalid. All 'Resources' must be Objects. Type of '%s' is not an Object", id)}}
		}
	}
	s.out = res
	s.resolverParams()
	if err := s.globals(); err != nil {
		return nil, err
	}
	// Functions first, then state machines, then the rest, each in a
	// stable order.
	rank := map[string]int{"AWS::Serverless::Function": 0, "AWS::Serverless::StateMachine": 1}
	var ids []string
	for id, r := range res {
		typ := str(r.(map[string]any)["Type"])
		if strings.HasPrefix(typ, "AWS::Serverless::") {
			ids = append(ids, id)
		}
	}
	rankOf := func(id string) int {
		if r, ok := rank[str(res[id].(map[string]any)["Type"])]; ok {
			return r
		}
		return 2
	}
	sort.Slice(ids, func(i, j int) bool {
		ri, rj := rankOf(ids[i]), rankOf(ids[j])
		if ri != rj {
			return ri < rj
		}
		return ids[i] < ids[j]
	})
	seen := map[string]bool{}
	for _, id := range ids {
		r := res[id].(map[string]any)
		typ := str(r["Type"])
		if !logicalID.MatchString(id) {
			s.fail(invalidf(id, "Logical ids must be alphanumeric."))
			continue
		}
		if _, ok := r["Properties"]; !ok {
			r["Properties"] = map[string]any{}
		}
		if _, ok := r["Properties"].(map[string]any); !ok {
			s.fail(invalidf(id, "Properties of a resource must be an object."))
			continue
		}
		var gen map[string]map[string]any
		var err error
		switch typ {
		case "AWS::Serverless::Function":
			gen, err = s.function(id, r)
		case "AWS::Serverless::StateMachine":
			gen, err = s.stateMachine(id, r)
		case "AWS::Serverless::LayerVersion":
			gen, err = s.layer(id, r)
		case "AWS::Serverless::Application":
			gen, err = s.application(id, r)
		case "AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::Serverless::SimpleTable", "AWS::Serverless::GraphQLApi",
			"AWS::Serverless::Connector", "AWS::Serverless::WebSocketApi", "AWS::Serverless::CapacityProvider":
			err = invalidf(id, "forkline does not support the resource type %s yet.", typ)
		default:
			continue // passed on, as SAM does; CloudFormation then refuses the type
		}
		if err != nil {
			s.fail(err)
			continue
		}
		delete(res, id)
		names := make([]string, 0, len(gen))
		for n := range gen {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if _, exists := res[n]; exists || seen[n] {
				s.fail(fmt.Errorf("Transforming resource with id [%s] attempts to create a new resource with id [%s] and type \"%s\". A resource with that id already exists within this template. Please use a different id for that resource.", id, n, str(gen[n]["Type"])))
				continue
			}
			seen[n] = true
			res[n] = gen[n]
		}
	}
	if s.deploy != nil {
		for n, r := range s.deploy.resources() {
			res[n] = r
		}
	}
	if len(s.causes) > 0 {
		return nil, &Error{Causes: s.causes}
	}
	delete(s.doc, "Transform")
	delete(s.doc, "Globals")
	s.doc["Resources"] = s.rewrite(res)
	if outs, ok := s.doc["Outputs"]; ok {
		s.doc["Outputs"] = s.rewrite(outs)
	}
	return s.doc, nil
}

func (s *state) fail(err error) {
	msg := err.Error()
	for _, c := range s.causes {
		if c == msg {
			return
		}
	}
	s.causes = append(s.causes, msg)
}

// resolverParams collects the values the transform resolves parameter
// references with: given, then defaults, then pseudo parameters.
func (s *state) resolverParams() {
	s.params = map[string]any{"AWS::Region": s.o.Region, "AWS::AccountId": s.o.AccountID, "AWS::Partition": s.o.Partition}
	if s.o.StackName != "" {
		s.params["AWS::StackName"] = s.o.StackName
	}
	decl, _ := s.doc["Parameters"].(map[string]any)
	for name, d := range decl {
		if v, ok := s.o.Params[name]; ok {
			s.params[name] = v
		} else if dm, ok := d.(map[string]any); ok {
			if def, ok := dm["Default"]; ok {
				s.params[name] = def
			}
		}
	}
}

var subVar = regexp.MustCompile(`\$\{([^}!]+)\}`)

// resolve substitutes parameter references in v: {"Ref": P} for a known
// parameter, and ${P} inside Fn::Sub strings.
func (s *state) resolve(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if name, ok := x["Ref"].(string); ok {
				if val, known := s.params[name]; known {
					return val
				}
				return x
			}
			if text, ok := x["Fn::Sub"].(string); ok {
				return map[string]any{"Fn::Sub": subVar.ReplaceAllStringFunc(text, func(m string) string {
					if val, known := s.params[m[2:len(m)-1]].(string); known {
						return val
					}
					return m
				})}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = s.resolve(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.resolve(e)
		}
		return out
	}
	return v
}

// rewrite replaces references to renamed resources (layers) and to
// Fn.Alias / Fn.Version in Ref, GetAtt, Sub and DependsOn.
func (s *state) rewrite(v any) any {
	if len(s.renamed) == 0 && len(s.special) == 0 {
		return v
	}
	target := func(name string) (string, bool) {
		if n, ok := s.special[name]; ok {
			return n, true
		}
		n, ok := s.renamed[name]
		return n, ok
	}
	var walk func(v any, key string) any
	walk = func(v any, key string) any {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 1 {
				if name, ok := x["Ref"].(string); ok {
					if n, found := target(name); found {
						return ref(n)
					}
					return x
				}
				if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
					name, _ := ga[0].(string)
					attr, _ := ga[1].(string)
					if n, found := target(name); found {
						return map[string]any{"Fn::GetAtt": []any{n, ga[1]}}
					}
					// GetAtt Fn.Alias.Attr arrives as [Fn, Alias.Attr].
					if head, rest, ok := strings.Cut(attr, "."); ok {
						if n, found := s.special[name+"."+head]; found {
							return map[string]any{"Fn::GetAtt": []any{n, rest}}
						}
					}
				}
				if sub, ok := x["Fn::Sub"]; ok {
					switch t := sub.(type) {
					case string:
						return map[string]any{"Fn::Sub": s.rewriteSub(t)}
					case []any:
						if len(t) == 2 {
							if text, ok := t[0].(string); ok {
								return map[string]any{"Fn::Sub": []any{s.rewriteSub(text), walk(t[1], "")}}
							}
						}
					}
				}
			}
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = walk(e, k)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk(e, key)
				if key == "DependsOn" {
					if name, ok := e.(string); ok {
						if n, found := s.renamed[name]; found {
							out[i] = n
						}
					}
				}
			}
			return out
		case string:
			if key == "DependsOn" {
				if n, found := s.renamed[x]; found {
					return n
				}
			}
		}
		return v
	}
	return walk(v, "")
}

func (s *state) rewriteSub(text string) string {
	return subVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if n, ok := s.special[name]; ok {
			return "${" + n + "}"
		}
		head, attr, dotted := strings.Cut(name, ".")
		if n, ok := s.renamed[head]; ok {
			if dotted {
				return "${" + n + "." + attr + "}"
			}
			return "${" + n + "}"
		}
		if dotted {
			if h2, rest, ok := strings.Cut(attr, "."); ok {
				if n, found := s.special[head+"."+h2]; found {
					return "${" + n + "." + rest + "}"
				}
			}
		}
		return m
	})
}

// passthrough copies the attributes SAM passes on to every generated
// resource: Condition, DeletionPolicy, UpdateReplacePolicy.
func passthrough(src, dst map[string]any) map[string]any {
	for _, k := range []string{"Condition", "DeletionPolicy", "UpdateReplacePolicy"} {
		if v, ok := src[k]; ok {
			dst[k] = v
		}
	}
	return dst
}

// s3Location parses a CodeUri-like value: "s3://bucket/key?versionId=V"
// or {Bucket, Key, Version}.
func s3Location(v any) (bucket, key, version any, ok bool) {
	switch x := v.(type) {
	case string:
		rest, found := strings.CutPrefix(x, "s3://")
		if !found {
			return nil, nil, nil, false
		}
		b, k, _ := strings.Cut(rest, "/")
		if q := strings.Index(k, "?"); q >= 0 {
			query := k[q+1:]
			k = k[:q]
			var vs []string
			for _, part := range strings.Split(query, "&") {
				if name, val, _ := strings.Cut(part, "="); name == "versionId" {
					vs = append(vs, val)
				}
			}
			if len(vs) == 1 {
				version = vs[0]
			}
		}
		if b == "" || k == "" {
			return nil, nil, nil, false
		}
		return b, k, version, true
	case map[string]any:
		if isIntrinsic(x) {
			return nil, nil, nil, false
		}
		b, hasB := x["Bucket"]
		k, hasK := x["Key"]
		if !hasB || !hasK {
			return nil, nil, nil, false
		}
		return b, k, x["Version"], true
	}
	return nil, nil, nil, false
}

// tagList is SAM's Tags map as a CloudFormation tag list, after the
// reserved tags given; keys are sorted (templates reach forkline as maps
// without their source order).
func tagList(tags any, first ...any) []any {
	out := append([]any{}, first...)
	m, _ := tags.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		if v == nil {
			v = ""
		}
		out = append(out, map[string]any{"Key": k, "Value": v})
	}
	return out
}

func tag(k, v string) map[string]any { return map[string]any{"Key": k, "Value": v} }

// assumeRole is the trust policy of a role for service.
func assumeRole(service string) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Action": []any{"sts:AssumeRole"}, "Effect": "Allow", "Principal": map[string]any{"Service": []any{service}}}}}
}

// layer expands AWS::Serverless::LayerVersion: its logical ID gains a hash
// of its definition, so that a change publishes a new version.
func (s *state) layer(id string, r map[string]any) (map[string]map[string]any, error) {
	props := r["Properties"].(map[string]any)
	for _, k := range []string{"LayerName", "LicenseInfo", "Description", "RetentionPolicy"} {
		if v, ok := props[k]; ok {
			props[k] = s.resolve(v)
		}
	}
	content, ok := props["ContentUri"]
	if !ok {
		return nil, invalidf(id, "Missing required property 'ContentUri'.")
	}
	b, k, v, ok := s3Location(content)
	if !ok {
		return nil, invalidf(id, "'ContentUri' is not a valid S3 Uri of the form 's3://bucket/key' with optional versionId query parameter.")
	}
	hashed := map[string]any{"Type": r["Type"]}
	for _, a := range []string{"DependsOn", "Condition", "UpdatePolicy"} {
		if x, ok := r[a]; ok {
			hashed[a] = x
		}
	}
	hp := map[string]any{}
	for pk, pv := range props {
		if pv != nil {
			hp[pk] = pv
		}
	}
	hashed["Properties"] = hp
	newID := id + hash10(map[string]any{id: hashed})
	s.renamed[id] = newID
	c := map[string]any{"S3Bucket": b, "S3Key": k}
	if v != nil {
		c["S3ObjectVersion"] = v
	}
	out := map[string]any{"Content": c, "LayerName": id}
	if n, ok := props["LayerName"]; ok {
		out["LayerName"] = n
	}
	for _, pk := range []string{"Description", "CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo"} {
		if pv, ok := props[pk]; ok {
			out[pk] = pv
		}
	}
	res := map[string]any{"Type": "AWS::Lambda::LayerVersion", "Properties": out}
	for _, a := range []string{"Condition", "UpdateReplacePolicy", "DependsOn"} {
		if x, ok := r[a]; ok {
			res[a] = x
		}
	}
	res["DeletionPolicy"] = "Retain"
	if dp, ok := r["DeletionPolicy"]; ok {
		res["DeletionPolicy"] = dp
	}
	if rp, ok := props["RetentionPolicy"]; ok {
		rs, isStr := rp.(string)
		if !isStr {
			return nil, invalidf(id, "'RetentionPolicy' does not accept intrinsic functions, please use one of the following options: ['Retain', 'Delete']")
		}
		switch strings.ToLower(rs) {
		case "retain":
			res["DeletionPolicy"] = "Retain"
		case "delete":
			res["DeletionPolicy"] = "Delete"
		default:
			return nil, invalidf(id, "'RetentionPolicy' must be one of the following options: ['Retain', 'Delete'].")
		}
	}
	return map[string]map[string]any{newID: res}, nil
}

// application expands AWS::Serverless::Application into a nested stack.
func (s *state) application(id string, r map[string]any) (map[string]map[string]any, error) {
	props := r["Properties"].(map[string]any)
	loc, ok := props["Location"]
	if !ok {
		return nil, invalidf(id, "Missing required property 'Location'.")
	}
	tags := []any{tag("lambda:createdBy", "SAM")}
	var url any
	switch x := loc.(type) {
	case string:
		url = x
	case map[string]any:
		appID, version := s.resolve(x["ApplicationId"]), s.resolve(x["SemanticVersion"])
		if _, has := x["ApplicationId"]; !has {
			return nil, invalidf(id, "Resource is missing the required [ApplicationId] property.")
		}
		if _, has := x["SemanticVersion"]; !has {
			return nil, invalidf(id, "Resource is missing the required [SemanticVersion] property.")
		}
		as, ok1 := appID.(string)
		if !ok1 {
			return nil, invalidf(id, "Property 'ApplicationId' cannot be resolved. Only FindInMap and Ref intrinsic functions are supported.")
		}
		vs := fmt.Sprint(version)
		if isIntrinsic(version) {
			return nil, invalidf(id, "Property 'SemanticVersion' cannot be resolved. Only FindInMap and Ref intrinsic functions are supported.")
		}
		if vs == "" {
			return nil, invalidf(id, "Property 'SemanticVersion' cannot be blank.")
		}
		if s.o.Application == nil {
			return nil, invalidf(id, "forkline cannot resolve application %s: no application repository is available.", as)
		}
		u, err := s.o.Application(s.ctx, as, vs)
		if err != nil {
			return nil, invalidf(id, "%s", err.Error())
		}
		url = u
		tags = append(tags, tag("serverlessrepo:applicationId", as), tag("serverlessrepo:semanticVersion", vs))
	default:
		return nil, invalidf(id, "Type of property 'Location' is invalid.")
	}
	out := map[string]any{"TemplateURL": url, "Tags": tagList(props["Tags"], tags...)}
	for _, k := range []string{"Parameters", "NotificationARNs", "TimeoutInMinutes"} {
		if v, ok := props[k]; ok {
			out[k] = v
		}
	}
	res := passthrough(r, map[string]any{"Type": "AWS::CloudFormation::Stack", "Properties": out})
	if d, ok := r["DependsOn"]; ok {
		res["DependsOn"] = d
	}
	return map[string]map[string]any{id: res}, nil
}
