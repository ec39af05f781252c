package sam

import (
	"fmt"
	"sort"
	"strings"
)

// The Globals section: the properties each resource type may take from it
// ("Globals section of the AWS SAM template", SAM developer guide).
var globalProps = map[string][]string{
	"Function": {"Handler", "Runtime", "CodeUri", "DeadLetterQueue", "Description", "MemorySize", "Timeout", "VpcConfig",
		"Environment", "Tags", "PropagateTags", "Tracing", "KmsKeyArn", "AutoPublishAlias", "AutoPublishAliasAllProperties",
		"Layers", "DeploymentPreference", "RolePath", "PermissionsBoundary", "ReservedConcurrentExecutions",
		"ProvisionedConcurrencyConfig", "AssumeRolePolicyDocument", "EventInvokeConfig", "FileSystemConfigs",
		"CodeSigningConfigArn", "Architectures", "SnapStart", "EphemeralStorage", "FunctionUrlConfig",
		"RuntimeManagementConfig", "LoggingConfig", "RecursiveLoop", "SourceKMSKeyArn", "TenancyConfig", "DurableConfig",
		"CapacityProviderConfig", "FunctionScalingConfig", "PublishToLatestPublished", "VersionDeletionPolicy"},
	"StateMachine":     {"PropagateTags"},
	"LayerVersion":     {"PublishLambdaVersion"},
	"Api":              nil, // accepted; forkline has no API Gateway yet
	"HttpApi":          nil,
	"WebSocketApi":     nil,
	"SimpleTable":      {"SSESpecification"},
	"CapacityProvider": nil,
}

func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func globalsError(format string, args ...any) error {
	return &Error{Causes: []string{"'Globals' section is invalid. " + fmt.Sprintf(format, args...)}}
}

// globals merges the Globals section into the resources it applies to.
func (s *state) globals() error {
	raw, ok := s.doc["Globals"]
	if !ok {
		return nil
	}
	g, ok := raw.(map[string]any)
	if !ok || len(g) == 0 {
		return globalsError("It must be a non-empty dictionary")
	}
	sections := make([]string, 0, len(globalProps))
	for k := range globalProps {
		sections = append(sections, k)
	}
	sort.Strings(sections)
	for section, v := range g {
		allowed, known := globalProps[section]
		if !known {
			return globalsError("'%s' is not supported. Must be one of the following values - %s", section, pyList(sections))
		}
		props, ok := v.(map[string]any)
		if !ok {
			return globalsError("Value of %s must be a dictionary", section)
		}
		if allowed == nil {
			continue
		}
		for p := range props {
			if !contains(allowed, p) {
				return globalsError("'%s' is not a supported property of '%s'. Must be one of the following values - %s", p, section, pyList(allowed))
			}
		}
	}
	for id, rv := range s.out {
		r := rv.(map[string]any)
		section, isSAM := strings.CutPrefix(str(r["Type"]), "AWS::Serverless::")
		if !isSAM {
			continue
		}
		ignore := r["IgnoreGlobals"]
		delete(r, "IgnoreGlobals")
		gp, ok := g[section].(map[string]any)
		if !ok {
			continue
		}
		skip := map[string]bool{}
		switch x := ignore.(type) {
		case string:
			if x == "*" {
				continue
			}
			skip[x] = true
		case []any:
			for _, e := range x {
				name := str(e)
				if _, inGlobals := gp[name]; !inGlobals {
					s.fail(invalidf(id, "Resource %s has invalid resource attribute 'IgnoreGlobals' on item '%s'.", id, name))
				}
				skip[name] = true
			}
		}
		props, _ := r["Properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
			r["Properties"] = props
		}
		for k, gv := range gp {
			if skip[k] {
				continue
			}
			if lv, has := props[k]; has {
				props[k] = merge(gv, lv)
			} else {
				props[k] = clone(gv)
			}
		}
	}
	return nil
}

// merge combines a global value with a local one: objects merge key by
// key, lists concatenate (global first), and otherwise the local wins.
func merge(g, l any) any {
	gm, gIsMap := g.(map[string]any)
	lm, lIsMap := l.(map[string]any)
	if gIsMap && lIsMap && !isIntrinsic(gm) && !isIntrinsic(lm) {
		out := map[string]any{}
		for k, v := range gm {
			out[k] = clone(v)
		}
		for k, v := range lm {
			if gv, has := gm[k]; has {
				out[k] = merge(gv, v)
			} else {
				out[k] = v
			}
		}
		return out
	}
	gl, gIsList := g.([]any)
	ll, lIsList := l.([]any)
	if gIsList && lIsList {
		return append(clone(gl).([]any), ll...)
	}
	return l
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
