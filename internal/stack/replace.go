package stack

import (
	"encoding/json"
	"sort"
)

// replaceOn lists, per resource type, the properties whose change needs a
// new physical resource ("Update requires: Replacement" in the
// CloudFormation resource reference); "*" means every property. A change
// to any other property updates the resource in place (providers may
// still ask for a replacement the table does not know).
var replaceOn = map[string][]string{
	"AWS::SQS::Queue":                         {"QueueName", "FifoQueue"},
	"AWS::SNS::Topic":                         {"TopicName", "FifoTopic"},
	"AWS::SNS::Subscription":                  {"Endpoint", "Protocol", "TopicArn", "Region"},
	"AWS::Lambda::Function":                   {"FunctionName", "PackageType"},
	"AWS::Lambda::Permission":                 {"*"},
	"AWS::Lambda::EventSourceMapping":         {"EventSourceArn", "StartingPosition", "StartingPositionTimestamp", "SelfManagedEventSource", "AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig"},
	"AWS::Lambda::Version":                    {"CodeSha256", "Description", "FunctionName", "RuntimePolicy"},
	"AWS::Lambda::Alias":                      {"FunctionName", "Name"},
	"AWS::Lambda::LayerVersion":               {"*"},
	"AWS::Lambda::EventInvokeConfig":          {"FunctionName", "Qualifier"},
	"AWS::StepFunctions::StateMachine":        {"StateMachineName", "StateMachineType"},
	"AWS::StepFunctions::StateMachineVersion": {"*"},
	"AWS::StepFunctions::StateMachineAlias":   {"Name"},
	"AWS::S3::Bucket":                         {"BucketName", "ObjectLockEnabled"},
	"AWS::Logs::LogGroup":                     {"LogGroupName"},
	"AWS::IAM::Role":                          {"RoleName", "Path"},
	"AWS::IAM::ManagedPolicy":                 {"ManagedPolicyName", "Path", "Description"},
	"AWS::Events::Rule":                       {"Name", "EventBusName"},
	"AWS::Scheduler::Schedule":                {"Name", "GroupName"},
	"AWS::CloudFormation::CustomResource":     {"ServiceToken"},
}

// changedProps lists the top-level properties that differ, sorted.
func changedProps(a, b map[string]any) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !jsonEqual(v, w) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// needsReplacement reports whether changing props of a resource of typ
// needs a new physical resource.
func needsReplacement(typ string, props []string) bool {
	rules := replaceOn[typ]
	for _, r := range rules {
		if r == "*" && len(props) > 0 {
			return true
		}
		for _, p := range props {
			if p == r {
				return true
			}
		}
	}
	return false
}

func jsonEqual(a, b any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return string(ab) == string(bb)
}
