// Package template reads CloudFormation templates, JSON or YAML with the
// short-form intrinsic tags (!Ref, !GetAtt, !Sub, ...), into plain JSON
// values, where every intrinsic is in its long form ({"Ref": ...},
// {"Fn::GetAtt": [...]}), and checks their top-level shape.
package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is a parsed template.
type Template struct {
	// Doc is the whole document.
	Doc map[string]any
}

// Error is a template that CloudFormation would refuse: ValidationError
// with its message.
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

func errorf(format string, args ...any) error { return &Error{Message: fmt.Sprintf(format, args...)} }

// MaxBodySize is CloudFormation's limit on a template body passed inline
// (TemplateBody); templates read from S3 may be up to 1 MB.
const MaxBodySize = 1 << 20

var topLevel = map[string]bool{"AWSTemplateFormatVersion": true, "Description": true, "Metadata": true, "Parameters": true,
	"Rules": true, "Mappings": true, "Conditions": true, "Transform": true, "Resources": true, "Outputs": true, "Hooks": true}

// Parse reads a template body.
func Parse(body []byte) (*Template, error) {
	if len(body) > MaxBodySize {
		return nil, errorf("Template may not exceed %d bytes in size.", MaxBodySize)
	}
	var doc any
	trimmed := bytes.TrimSpace(body)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, errorf("Template format error: JSON not well-formed. (%v)", err)
		}
		if dec.More() {
			return nil, errorf("Template format error: JSON not well-formed. (unexpected content after the template)")
		}
	} else {
		var n yaml.Node
		if err := yaml.Unmarshal(body, &n); err != nil {
			return nil, errorf("Template format error: YAML not well-formed. (%v)", err)
		}
		budget := maxNodes
		v, err := convert(&n, 0, &budget)
		if err != nil {
			return nil, err
		}
		doc = v
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, errorf("Template format error: the template must be an object")
	}
	for k := range m {
		// Globals belongs to the SAM transform, which removes it.
		if !topLevel[k] && !(k == "Globals" && m["Transform"] != nil) {
			return nil, errorf("Template format error: Invalid template property or properties [%s]", k)
		}
	}
	if v, ok := m["AWSTemplateFormatVersion"]; ok {
		if s, _ := v.(string); s != "2010-09-09" {
			return nil, errorf("Template format error: '%v' is not a valid template version.", v)
		}
	}
	res, ok := m["Resources"].(map[string]any)
	if !ok || len(res) == 0 {
		if _, transformed := m["Transform"]; !transformed || m["Resources"] == nil {
			return nil, errorf("Template format error: At least one Resources member must be defined.")
		}
	}
	return &Template{Doc: m}, nil
}

// maxNesting bounds a document's depth.
const maxNesting = 200

// shortForms maps the YAML tags to their long forms.
var shortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join", "!Select": "Fn::Select",
	"!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!And": "Fn::And", "!Or": "Fn::Or", "!Not": "Fn::Not",
	"!FindInMap": "Fn::FindInMap", "!GetAZs": "Fn::GetAZs", "!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr",
	"!ImportValue": "Fn::ImportValue", "!Transform": "Fn::Transform", "!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString",
	"!ForEach": "Fn::ForEach",
}

// maxNodes bounds the values a document expands to, aliases included
// (so that a few nested aliases cannot expand exponentially).
const maxNodes = 1 << 20

func convert(n *yaml.Node, depth int, budget *int) (any, error) {
	if depth > maxNesting {
		return nil, errorf("Template format error: the template is nested too deeply")
	}
	if *budget--; *budget < 0 {
		return nil, errorf("Template format error: the template expands to too many values")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, errorf("Template format error: the template is empty")
		}
		return convert(n.Content[0], depth+1, budget)
	case yaml.AliasNode:
		return convert(n.Alias, depth+1, budget)
	}
	if long, ok := shortForms[n.Tag]; ok {
		inner := *n
		inner.Tag = ""
		switch n.Kind {
		case yaml.ScalarNode:
			inner.Tag = "!!str"
		case yaml.SequenceNode:
			inner.Tag = "!!seq"
		case yaml.MappingNode:
			inner.Tag = "!!map"
		}
		v, err := convert(&inner, depth+1, budget)
		if err != nil {
			return nil, err
		}
		if long == "Fn::GetAtt" {
			if s, ok := v.(string); ok {
				res, attr, found := strings.Cut(s, ".")
				if !found {
					return nil, errorf("Template error: the attribute in Fn::GetAtt must be written RESOURCE.ATTRIBUTE, not %q", s)
				}
				v = []any{res, attr}
			}
		}
		return map[string]any{long: v}, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, errorf("Template format error: unknown tag %s at line %d", n.Tag, n.Line)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, errorf("Template format error: keys must be strings (line %d)", k.Line)
			}
			if k.Value == "<<" {
				// A merge key: the mapping's entries, without overriding.
				merged, err := convert(n.Content[i+1], depth+1, budget)
				if err != nil {
					return nil, err
				}
				if mm, ok := merged.(map[string]any); ok {
					for mk, mv := range mm {
						if _, exists := m[mk]; !exists {
							m[mk] = mv
						}
					}
				}
				continue
			}
			if _, dup := m[k.Value]; dup {
				return nil, errorf("Template format error: YAML not well-formed. (duplicate key %q at line %d)", k.Value, k.Line)
			}
			v, err := convert(n.Content[i+1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		a := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err != nil {
				return n.Value, nil
			}
			return b, nil
		case "!!int", "!!float":
			if _, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil {
				return json.Number(strings.ReplaceAll(n.Value, "_", "")), nil
			}
			if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
				return json.Number(strconv.FormatInt(i, 10)), nil
			}
			return n.Value, nil
		}
		return n.Value, nil
	}
	return nil, errorf("Template format error: unsupported YAML at line %d", n.Line)
}
