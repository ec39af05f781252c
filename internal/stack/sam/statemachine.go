package sam

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var dynamicRef = regexp.MustCompile(`^{{resolve:([a-z-]+):(.+)}}$`)

// substitute replaces the intrinsics and dynamic references of an inline
// definition by ${definition_substitution_N} placeholders, numbered in
// sorted-key order, as SAM does, and records their values.
func substitute(v any, subs map[string]any, n *int) any {
	switch x := v.(type) {
	case map[string]any:
		if isIntrinsic(x) {
			*n++
			name := "definition_substitution_" + strconv.Itoa(*n)
			subs[name] = x
			return "${" + name + "}"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(map[string]any, len(x))
		for _, k := range keys {
			out[k] = substitute(x[k], subs, n)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = substitute(e, subs, n)
		}
		return out
	case string:
		if dynamicRef.MatchString(x) {
			*n++
			name := "definition_substitution_" + strconv.Itoa(*n)
			subs[name] = x
			return "${" + name + "}"
		}
	}
	return v
}

func (s *state) stateMachine(id string, r map[string]any) (map[string]map[string]any, error) {
	props := r["Properties"].(map[string]any)
	out := map[string]map[string]any{}
	add := func(name string, res map[string]any) { out[name] = passthrough(r, res) }
	def, hasDef := props["Definition"]
	uri, hasURI := props["DefinitionUri"]
	if hasDef == hasURI {
		return nil, invalidf(id, "Either 'Definition' or 'DefinitionUri' property must be specified.")
	}
	_, hasRole := props["Role"]
	_, hasPolicies := props["Policies"]
	if hasRole && hasPolicies {
		return nil, invalidf(id, "Specify either 'Role' or 'Policies' (but not both at the same time) or neither of them")
	}
	sm := map[string]any{}
	if hasDef {
		m, ok := def.(map[string]any)
		if !ok {
			return nil, invalidf(id, "Type of property 'Definition' is invalid.")
		}
		subs := map[string]any{}
		n := 0
		body := substitute(m, subs, &n)
		var lines []any
		for _, l := range strings.Split(pretty(body), "\n") {
			lines = append(lines, l)
		}
		sm["DefinitionString"] = map[string]any{"Fn::Join": []any{"\n", lines}}
		if user, ok := props["DefinitionSubstitutions"].(map[string]any); ok {
			for k, v := range user {
				subs[k] = v
			}
		}
		if len(subs) > 0 {
			sm["DefinitionSubstitutions"] = subs
		}
	} else {
		b, k, v, ok := s3Location(uri)
		if !ok {
			return nil, invalidf(id, "'DefinitionUri' is not a valid S3 Uri of the form 's3://bucket/key' with optional versionId query parameter.")
		}
		loc := map[string]any{"Bucket": b, "Key": k}
		if v != nil {
			loc["Version"] = v
		}
		sm["DefinitionS3Location"] = loc
		if user, ok := props["DefinitionSubstitutions"]; ok {
			sm["DefinitionSubstitutions"] = user
		}
	}
	for from, to := range map[string]string{"Name": "StateMachineName", "Type": "StateMachineType", "Logging": "LoggingConfiguration", "Tracing": "TracingConfiguration"} {
		if v, ok := props[from]; ok {
			sm[to] = v
		}
	}
	tags := tagList(props["Tags"], tag("stateMachine:createdBy", "SAM"))
	var userTags []any
	if props["PropagateTags"] == true {
		if user := tagList(props["Tags"]); len(user) > 0 {
			tags, userTags = user, user
		}
	}
	sm["Tags"] = tags
	if hasRole {
		sm["RoleArn"] = props["Role"]
	} else {
		sm["RoleArn"] = getAtt(id+"Role", "Arn")
	}
	res := map[string]any{"Type": "AWS::StepFunctions::StateMachine", "Properties": sm}
	for _, a := range []string{"Condition", "DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy", "Metadata", "DependsOn"} {
		if v, ok := r[a]; ok {
			res[a] = v
		}
	}
	out[id] = res

	target := any(ref(id))
	if name, ok := props["AutoPublishAlias"]; ok {
		aliasName, isStr := s.resolve(name).(string)
		if !isStr {
			return nil, invalidf(id, "AutoPublishAlias must be a string")
		}
		version := map[string]any{"Type": "AWS::StepFunctions::StateMachineVersion", "Properties": map[string]any{
			"StateMachineArn": ref(id), "StateMachineRevisionId": getAtt(id, "StateMachineRevisionId")}}
		passthrough(r, version)
		for _, k := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
			if _, ok := version[k]; !ok {
				version[k] = "Retain"
			}
		}
		out[id+"Version"] = version
		pref := map[string]any{"Type": "ALL_AT_ONCE"}
		if dp, ok := props["DeploymentPreference"].(map[string]any); ok {
			pref = clone(dp).(map[string]any)
		}
		pref["StateMachineVersionArn"] = ref(id + "Version")
		aliasID := id + "Alias" + aliasName
		add(aliasID, map[string]any{"Type": "AWS::StepFunctions::StateMachineAlias", "Properties": map[string]any{
			"Name": aliasName, "DeploymentPreference": pref}})
		s.special[id+".Alias"], s.special[id+".Version"] = aliasID, id+"Version"
		if props["UseAliasAsEventTarget"] == true {
			target = ref(aliasID)
		}
	} else if _, ok := props["DeploymentPreference"]; ok {
		return nil, invalidf(id, "'DeploymentPreference' requires AutoPublishAlias property to be specified.")
	}

	evs, _ := props["Events"].(map[string]any)
	evIDs := make([]string, 0, len(evs))
	for ev := range evs {
		evIDs = append(evIDs, ev)
	}
	sort.Strings(evIDs)
	for _, ev := range evIDs {
		def, _ := evs[ev].(map[string]any)
		typ, _ := def["Type"].(string)
		p, _ := def["Properties"].(map[string]any)
		if p == nil {
			p = map[string]any{}
		}
		full := id + ev
		rule := map[string]any{}
		switch typ {
		case "Schedule":
			sched, ok := p["Schedule"]
			if !ok {
				return nil, invalidf(full, "Missing required property 'Schedule'.")
			}
			rule["ScheduleExpression"] = sched
			for _, k := range []string{"Name", "Description"} {
				if v, ok := p[k]; ok {
					rule[k] = v
				}
			}
		case "EventBridgeRule", "CloudWatchEvent":
			pattern, ok := p["Pattern"]
			if !ok {
				return nil, invalidf(full, "Missing required property 'Pattern'.")
			}
			rule["EventPattern"] = pattern
			if bus, ok := p["EventBusName"]; ok {
				rule["EventBusName"] = bus
			}
			if n, ok := p["RuleName"]; ok {
				rule["Name"] = n
			}
		case "ScheduleV2":
			if err := scheduleV2(full, p, target, "StartExecutionPolicy", "states:StartExecution", userTags, add); err != nil {
				return nil, err
			}
			continue
		case "Api", "HttpApi":
			return nil, invalidf(id, "Event with id [%s] is invalid. forkline does not support events of type %s yet.", ev, typ)
		default:
			return nil, invalidf(id, "Event with id [%s] is invalid. Resource dict has missing or invalid value for key Type. Event Type is: %s.", ev, typ)
		}
		_, hasState := p["State"]
		enabled, hasEnabled := p["Enabled"]
		if hasState && hasEnabled {
			return nil, invalidf(id, "Event with id [%s] is invalid. State and Enabled Properties cannot both be specified.", ev)
		}
		if hasState {
			rule["State"] = p["State"]
		} else if hasEnabled {
			rule["State"] = "DISABLED"
			if enabled == true {
				rule["State"] = "ENABLED"
			}
		}
		targetID := full + "StepFunctionsTarget"
		if len(targetID) > 64 {
			targetID = full[:64-len("StepFunctionsTarget")] + "StepFunctionsTarget"
		}
		t := map[string]any{"Arn": target, "Id": targetID}
		for _, k := range []string{"Input", "InputPath", "RetryPolicy"} {
			if v, ok := p[k]; ok {
				t[k] = v
			}
		}
		if dl, ok := p["DeadLetterConfig"].(map[string]any); ok {
			if arn, ok := dl["Arn"]; ok {
				t["DeadLetterConfig"] = map[string]any{"Arn": arn}
			}
		}
		if roleArn, ok := p["RoleArn"]; ok {
			t["RoleArn"] = roleArn
		} else {
			t["RoleArn"] = getAtt(full+"Role", "Arn")
			rp := map[string]any{"AssumeRolePolicyDocument": assumeRole("events.amazonaws.com"),
				"Policies": []any{map[string]any{"PolicyName": full + "RoleStartExecutionPolicy", "PolicyDocument": map[string]any{
					"Statement": []any{map[string]any{"Action": "states:StartExecution", "Effect": "Allow", "Resource": target}}}}}}
			if pb, ok := props["PermissionsBoundary"]; ok {
				rp["PermissionsBoundary"] = pb
			}
			if len(userTags) > 0 {
				rp["Tags"] = userTags
			}
			add(full+"Role", map[string]any{"Type": "AWS::IAM::Role", "Properties": rp})
		}
		rule["Targets"] = []any{t}
		add(full, map[string]any{"Type": "AWS::Events::Rule", "Properties": rule})
	}

	if !hasRole {
		managed, inline, err := s.rolePolicies(id, id+"Role", props["Policies"])
		if err != nil {
			return nil, err
		}
		if tr, ok := props["Tracing"].(map[string]any); ok && tr["Enabled"] == true {
			managed = appendUnique(managed, s.managedArn("AWSXrayWriteOnlyAccess"))
		}
		if managed == nil {
			managed = []any{}
		}
		rp := map[string]any{"AssumeRolePolicyDocument": assumeRole("states.amazonaws.com"), "ManagedPolicyArns": managed, "Tags": tags}
		if len(inline) > 0 {
			rp["Policies"] = inline
		}
		if p, ok := props["RolePath"]; ok {
			rp["Path"] = p
		}
		if p, ok := props["PermissionsBoundary"]; ok {
			rp["PermissionsBoundary"] = p
		}
		add(id+"Role", map[string]any{"Type": "AWS::IAM::Role", "Properties": rp})
	}
	return out, nil
}

var _ = fmt.Sprint
