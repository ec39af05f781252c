package sam

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// fnProps are the properties of AWS::Serverless::Function.
var fnProps = map[string]bool{
	"Handler": true, "Runtime": true, "CodeUri": true, "ImageUri": true, "PackageType": true, "InlineCode": true,
	"FunctionName": true, "Description": true, "MemorySize": true, "Timeout": true, "Role": true, "AssumeRolePolicyDocument": true,
	"Policies": true, "RolePath": true, "PermissionsBoundary": true, "Environment": true, "VpcConfig": true, "Events": true,
	"Tags": true, "PropagateTags": true, "Tracing": true, "KmsKeyArn": true, "DeadLetterQueue": true, "DeploymentPreference": true,
	"ReservedConcurrentExecutions": true, "Layers": true, "EventInvokeConfig": true, "AutoPublishAlias": true,
	"AutoPublishCodeSha256": true, "AutoPublishAliasAllProperties": true, "VersionDescription": true,
	"ProvisionedConcurrencyConfig": true, "FileSystemConfigs": true, "ImageConfig": true, "CodeSigningConfigArn": true,
	"Architectures": true, "FunctionUrlConfig": true, "SnapStart": true, "EphemeralStorage": true,
	"RuntimeManagementConfig": true, "LoggingConfig": true, "RecursiveLoop": true, "SourceKMSKeyArn": true,
	"VersionDeletionPolicy": true, "TenancyConfig": true, "DurableConfig": true,
}

// fnCopied are copied to AWS::Lambda::Function as they are.
var fnCopied = []string{"Handler", "Runtime", "Description", "MemorySize", "Timeout", "VpcConfig", "Environment", "KmsKeyArn",
	"ReservedConcurrentExecutions", "Layers", "FileSystemConfigs", "ImageConfig", "PackageType", "Architectures", "SnapStart",
	"EphemeralStorage", "CodeSigningConfigArn", "RuntimeManagementConfig", "LoggingConfig", "RecursiveLoop", "TenancyConfig",
	"DurableConfig", "FunctionName"}

var reservedTags = []string{"lambda:createdBy", "serverlessrepo:applicationId", "serverlessrepo:semanticVersion"}

var aliasName = regexp.MustCompile(`^[a-zA-Z0-9\-_]+$`)
var digits = regexp.MustCompile(`^[0-9]+$`)

// fnRefs are how events address a function: its name and its ARN (the
// alias when AutoPublishAlias is set).
type fnRefs struct{ name, arn any }

// fnBuild collects what a function's expansion adds.
type fnBuild struct {
	s        *state
	id       string
	r, props map[string]any
	out      map[string]map[string]any
	managed  []any // event-source managed policies
	inline   []any
	tags     []any // the tags of generated resources that carry tags
	userTags []any // with PropagateTags, the tags of generated queues
	refs     fnRefs
}

func (b *fnBuild) add(id string, res map[string]any) {
	b.out[id] = passthrough(b.r, res)
}

func (s *state) function(id string, r map[string]any) (map[string]map[string]any, error) {
	props := r["Properties"].(map[string]any)
	var unknown []string
	for k := range props {
		if !fnProps[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, invalidf(id, "property %s not defined for resource of type AWS::Serverless::Function", unknown[0])
	}
	b := &fnBuild{s: s, id: id, r: r, props: props, out: map[string]map[string]any{}}
	if t, ok := props["Tags"]; ok {
		m, isMap := t.(map[string]any)
		if !isMap || isIntrinsic(t) {
			return nil, invalidf(id, "Property 'Tags' should be a map.")
		}
		for _, k := range reservedTags {
			if _, bad := m[k]; bad {
				return nil, invalidf(id, "%s is a reserved Tag key name and cannot be set on your resource. Please change the tag key in the input.", k)
			}
		}
	}
	fn := map[string]any{}
	packageType, _ := props["PackageType"].(string)
	switch {
	case props["InlineCode"] != nil:
		fn["Code"] = map[string]any{"ZipFile": props["InlineCode"]}
	case props["ImageUri"] != nil && packageType == "Image":
		fn["Code"] = map[string]any{"ImageUri": props["ImageUri"]}
	case props["CodeUri"] != nil:
		bkt, key, ver, ok := s3Location(props["CodeUri"])
		if !ok {
			return nil, invalidf(id, "'CodeUri' is not a valid S3 Uri of the form 's3://bucket/key' with optional versionId query parameter.")
		}
		c := map[string]any{"S3Bucket": bkt, "S3Key": key}
		if ver != nil {
			c["S3ObjectVersion"] = ver
		}
		if k, ok := props["SourceKMSKeyArn"]; ok {
			c["SourceKMSKeyArn"] = k
		}
		fn["Code"] = c
	default:
		return nil, invalidf(id, "Only one of 'InlineCode' or 'CodeUri' can be set.")
	}
	if packageType != "Image" && (props["Handler"] == nil || props["Runtime"] == nil) {
		return nil, invalidf(id, "Runtime and Handler needs to be present when PackageType is of type `Zip`")
	}
	for _, k := range fnCopied {
		if v, ok := props[k]; ok {
			fn[k] = v
		}
	}
	tracing := props["Tracing"]
	tracingOn := tracing != nil && s.resolve(tracing) != "Disabled"
	if tracingOn {
		fn["TracingConfig"] = map[string]any{"Mode": tracing}
	}
	if dlq, ok := props["DeadLetterQueue"].(map[string]any); ok {
		fn["DeadLetterConfig"] = map[string]any{"TargetArn": dlq["TargetArn"]}
		action := "sqs:SendMessage"
		if dlq["Type"] == "SNS" {
			action = "sns:Publish"
		}
		b.inline = append(b.inline, map[string]any{"PolicyName": "DeadLetterQueuePolicy", "PolicyDocument": map[string]any{
			"Version": "2012-10-17", "Statement": []any{map[string]any{"Action": action, "Resource": dlq["TargetArn"], "Effect": "Allow"}}}})
	}
	propagate := props["PropagateTags"] == true
	b.tags = tagList(props["Tags"], tag("lambda:createdBy", "SAM"))
	if propagate {
		if user := tagList(props["Tags"]); len(user) > 0 {
			b.tags, b.userTags = user, user
		}
	}
	fn["Tags"] = b.tags
	role, hasRole := props["Role"]
	if hasRole {
		fn["Role"] = role
	} else {
		fn["Role"] = getAtt(id+"Role", "Arn")
	}
	res := map[string]any{"Type": "AWS::Lambda::Function", "Properties": fn}
	for _, a := range []string{"Condition", "DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy", "Metadata", "DependsOn"} {
		if v, ok := r[a]; ok {
			res[a] = v
		}
	}
	b.out[id] = res
	b.refs = fnRefs{name: ref(id), arn: getAtt(id, "Arn")}

	// AutoPublishAlias: a version named by a hash of the code and an alias.
	var alias map[string]any
	if ap, ok := props["AutoPublishAlias"]; ok {
		name, isStr := s.resolve(ap).(string)
		if !isStr || !aliasName.MatchString(name) || digits.MatchString(name) {
			return nil, invalidf(id, "AutoPublishAlias must contain only alphanumerics, hyphens, or underscores matching (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
		}
		code := fn["Code"].(map[string]any)
		for k, v := range code {
			code[k] = s.resolve(v)
		}
		var suffix string
		if sha, ok := props["AutoPublishCodeSha256"]; ok {
			shaStr, isStr := s.resolve(sha).(string)
			if !isStr {
				return nil, invalidf(id, "AutoPublishCodeSha256 must be a string")
			}
			suffix = shaStr
			if len(suffix) > 10 {
				suffix = suffix[:10]
			}
			switch d := fn["Description"].(type) {
			case nil:
				fn["Description"] = shaStr
			case string:
				fn["Description"] = d + " " + shaStr
			default:
				fn["Description"] = map[string]any{"Fn::Join": []any{" ", []any{d, shaStr}}}
			}
		} else {
			var data map[string]any
			if props["AutoPublishAliasAllProperties"] == true {
				data = clone(fn).(map[string]any)
				if !hasRole {
					delete(data, "Role")
				}
			} else {
				data = clone(code).(map[string]any)
				if env, ok := fn["Environment"].(map[string]any); ok {
					for k, v := range env {
						data[k] = v
					}
				}
				if m := fn["MemorySize"]; m != nil && m != false && m != "" {
					data["MemorySize"] = m
				}
				if ss, ok := fn["SnapStart"].(map[string]any); ok && ss["ApplyOn"] != nil && ss["ApplyOn"] != "None" {
					data["SnapStart"] = ss
				}
			}
			if len(data) > 0 {
				suffix = hash10(data)
			}
		}
		versionID := id + "Version" + suffix
		version := map[string]any{"Type": "AWS::Lambda::Version", "Properties": map[string]any{"FunctionName": ref(id)}}
		if d, ok := props["VersionDescription"]; ok {
			version["Properties"].(map[string]any)["Description"] = d
		}
		passthrough(r, version)
		if _, ok := version["DeletionPolicy"]; !ok {
			version["DeletionPolicy"] = "Retain"
			if vdp, ok := props["VersionDeletionPolicy"]; ok {
				version["DeletionPolicy"] = vdp
			}
		}
		b.out[versionID] = version
		aliasID := id + "Alias" + strings.NewReplacer("-", "D", "_", "U").Replace(name)
		ap := map[string]any{"Name": name, "FunctionName": ref(id), "FunctionVersion": getAtt(versionID, "Version")}
		if pc, ok := props["ProvisionedConcurrencyConfig"]; ok {
			ap["ProvisionedConcurrencyConfig"] = pc
		}
		alias = map[string]any{"Type": "AWS::Lambda::Alias", "Properties": ap}
		b.add(aliasID, alias)
		s.special[id+".Alias"], s.special[id+".Version"] = aliasID, versionID
		b.refs = fnRefs{name: ref(aliasID), arn: ref(aliasID)}
	} else if _, ok := props["ProvisionedConcurrencyConfig"]; ok {
		return nil, invalidf(id, "To set ProvisionedConcurrencyConfig AutoPublishALias must be defined on the function")
	}

	if dp, ok := props["DeploymentPreference"].(map[string]any); ok {
		if err := b.deploymentPreference(dp, alias); err != nil {
			return nil, err
		}
	}

	if err := b.events(); err != nil {
		return nil, err
	}

	if !hasRole {
		managed := []any{s.managedArn("AWSLambdaBasicExecutionRole")}
		if props["DurableConfig"] != nil {
			managed = []any{s.managedArn("AWSLambdaBasicDurableExecutionRolePolicy")}
		}
		if tracingOn {
			managed = append(managed, s.managedArn("AWSXrayWriteOnlyAccess"))
		}
		if props["VpcConfig"] != nil {
			managed = append(managed, s.managedArn("AWSLambdaVPCAccessExecutionRole"))
		}
		userManaged, userInline, err := s.rolePolicies(id, id+"Role", props["Policies"])
		if err != nil {
			return nil, err
		}
		managed = appendUnique(managed, userManaged...)
		managed = appendUnique(managed, b.managed...)
		inline := append(b.inline, userInline...)
		rp := map[string]any{"ManagedPolicyArns": managed, "Tags": b.tags}
		if doc, ok := props["AssumeRolePolicyDocument"]; ok {
			rp["AssumeRolePolicyDocument"] = doc
		} else {
			rp["AssumeRolePolicyDocument"] = assumeRole("lambda.amazonaws.com")
		}
		if len(inline) > 0 {
			rp["Policies"] = inline
		}
		if p, ok := props["RolePath"]; ok {
			rp["Path"] = p
		}
		if p, ok := props["PermissionsBoundary"]; ok {
			rp["PermissionsBoundary"] = p
		}
		b.add(id+"Role", map[string]any{"Type": "AWS::IAM::Role", "Properties": rp})
	}
	return b.out, nil
}

func appendUnique(list []any, items ...any) []any {
	for _, it := range items {
		dup := false
		for _, e := range list {
			if fmt.Sprint(e) == fmt.Sprint(it) {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, it)
		}
	}
	return list
}

// codeDeploy is the template's CodeDeploy application, shared by every
// function with a DeploymentPreference.
type codeDeploy struct {
	partition   string
	serviceRole bool
	tags        []any
}

func (c *codeDeploy) resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	app := map[string]any{"ComputePlatform": "Lambda"}
	if len(c.tags) > 0 {
		app["Tags"] = c.tags
	}
	out["ServerlessDeploymentApplication"] = map[string]any{"Type": "AWS::CodeDeploy::Application", "Properties": app}
	if c.serviceRole {
		rp := map[string]any{"AssumeRolePolicyDocument": assumeRole("codedeploy.amazonaws.com"),
			"ManagedPolicyArns": []any{"arn:" + c.partition + ":iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"}}
		if len(c.tags) > 0 {
			rp["Tags"] = c.tags
		}
		out["CodeDeployServiceRole"] = map[string]any{"Type": "AWS::IAM::Role", "Properties": rp}
	}
	return out
}

var predefinedConfigs = map[string]bool{"Canary10Percent5Minutes": true, "Canary10Percent10Minutes": true,
	"Canary10Percent15Minutes": true, "Canary10Percent30Minutes": true, "Linear10PercentEvery1Minute": true,
	"Linear10PercentEvery2Minutes": true, "Linear10PercentEvery3Minutes": true, "Linear10PercentEvery10Minutes": true, "AllAtOnce": true}

// deploymentPreference records a gradual deployment as SAM does: a
// CodeDeploy deployment group and the alias's update policy. forkline keeps
// them for its canary deployments.
func (b *fnBuild) deploymentPreference(dp map[string]any, alias map[string]any) error {
	enabled := b.s.resolve(dp["Enabled"])
	if enabled == false || enabled == "false" || enabled == "False" {
		return nil
	}
	if alias == nil {
		return invalidf(b.id, "'DeploymentPreference' requires AutoPublishAlias property to be specified.")
	}
	typ, ok := dp["Type"]
	if !ok {
		return invalidf(b.id, "'DeploymentPreference' is missing required Property 'Type'")
	}
	typ = b.s.resolve(typ)
	if b.s.deploy == nil {
		b.s.deploy = &codeDeploy{partition: b.s.o.Partition}
	}
	var config any = typ
	if t, ok := typ.(string); ok && predefinedConfigs[t] {
		config = map[string]any{"Fn::Sub": []any{"CodeDeployDefault.Lambda${ConfigName}", map[string]any{"ConfigName": t}}}
	}
	group := map[string]any{
		"ApplicationName":           ref("ServerlessDeploymentApplication"),
		"AutoRollbackConfiguration": map[string]any{"Enabled": true, "Events": []any{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"}},
		"DeploymentConfigName":      config,
		"DeploymentStyle":           map[string]any{"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"},
	}
	if role, ok := dp["Role"]; ok {
		group["ServiceRoleArn"] = role
	} else {
		group["ServiceRoleArn"] = getAtt("CodeDeployServiceRole", "Arn")
		b.s.deploy.serviceRole = true
	}
	if alarms, ok := dp["Alarms"].([]any); ok {
		if len(alarms) == 0 {
			group["AlarmConfiguration"] = map[string]any{}
		} else {
			var list []any
			for _, a := range alarms {
				list = append(list, map[string]any{"Name": a})
			}
			group["AlarmConfiguration"] = map[string]any{"Enabled": true, "Alarms": list}
		}
	}
	if tc, ok := dp["TriggerConfigurations"]; ok {
		group["TriggerConfigurations"] = tc
	}
	if len(b.userTags) > 0 {
		group["Tags"] = b.userTags
		b.s.deploy.tags = appendUnique(b.s.deploy.tags, b.userTags...)
	}
	b.out[b.id+"DeploymentGroup"] = map[string]any{"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": group}
	update := map[string]any{"ApplicationName": ref("ServerlessDeploymentApplication"), "DeploymentGroupName": ref(b.id + "DeploymentGroup")}
	if hooks, ok := dp["Hooks"].(map[string]any); ok {
		if v, ok := hooks["PreTraffic"]; ok {
			update["BeforeAllowTrafficHook"] = v
		}
		if v, ok := hooks["PostTraffic"]; ok {
			update["AfterAllowTrafficHook"] = v
		}
	}
	alias["UpdatePolicy"] = map[string]any{"CodeDeployLambdaAliasUpdate": update}
	return nil
}
