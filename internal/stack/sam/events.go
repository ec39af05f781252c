package sam

import (
	"encoding/json"
	"fmt"
	"sort"
)

// eventError is an event's error as SAM words it, inside its function's.
func eventError(fnID, evID, format string, args ...any) error {
	return invalidf(fnID, "Event with id [%s] is invalid. %s", evID, fmt.Sprintf(format, args...))
}

var esmCopied = []string{"BatchSize", "Enabled", "MaximumBatchingWindowInSeconds", "FilterCriteria", "FunctionResponseTypes",
	"ScalingConfig", "KmsKeyArn", "MetricsConfig", "ProvisionedPollerConfig", "LoggingConfig"}

// intTyped are event properties that must be integers.
var intTyped = map[string]bool{"BatchSize": true, "MaximumBatchingWindowInSeconds": true}

// events expands a function's Events, in the order of their IDs.
func (b *fnBuild) events() error {
	evs, _ := b.props["Events"].(map[string]any)
	ids := make([]string, 0, len(evs))
	for id := range evs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	sqsPolicy := false
	for _, ev := range ids {
		def, ok := evs[ev].(map[string]any)
		if !ok {
			return eventError(b.id, ev, "Resource dict has missing or invalid value for key Type. Event Type is: None.")
		}
		typ, _ := def["Type"].(string)
		p, _ := def["Properties"].(map[string]any)
		if p == nil {
			p = map[string]any{}
		}
		full := b.id + ev
		for k := range intTyped {
			if v, ok := p[k]; ok && !isIntrinsic(v) {
				if _, isNum := v.(json.Number); !isNum {
					return invalidf(full, "Type of property '%s' is invalid.", k)
				}
			}
		}
		switch typ {
		case "SQS":
			q, ok := p["Queue"]
			if !ok {
				return invalidf(full, "Missing required property 'Queue'.")
			}
			esm := map[string]any{"EventSourceArn": q, "FunctionName": b.refs.name}
			for _, k := range esmCopied {
				if v, ok := p[k]; ok {
					esm[k] = v
				}
			}
			b.add(full, map[string]any{"Type": "AWS::Lambda::EventSourceMapping", "Properties": esm})
			sqsPolicy = true
		case "SNS":
			topic, ok := p["Topic"]
			if !ok {
				return invalidf(full, "Missing required property 'Topic'.")
			}
			sub := map[string]any{"TopicArn": topic}
			for _, k := range []string{"Region", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy"} {
				if v, ok := p[k]; ok {
					sub[k] = v
				}
			}
			switch sq := p["SqsSubscription"].(type) {
			case nil, bool:
				if sq == nil || sq == false {
					sub["Protocol"], sub["Endpoint"] = "lambda", b.refs.arn
					b.add(full+"Permission", permission(b.refs.name, "sns.amazonaws.com", topic))
					b.add(full, map[string]any{"Type": "AWS::SNS::Subscription", "Properties": sub})
					continue
				}
				queueID := full + "Queue"
				qp := map[string]any{}
				if b.s.fifoTopic(topic) {
					qp["FifoQueue"] = true
				}
				if len(b.userTags) > 0 {
					qp["Tags"] = b.userTags
				}
				b.add(queueID, map[string]any{"Type": "AWS::SQS::Queue", "Properties": qp})
				b.add(full+"QueuePolicy", queuePolicy([]any{ref(queueID)}, getAtt(queueID, "Arn"), "*", topic))
				sub["Protocol"], sub["Endpoint"] = "sqs", getAtt(queueID, "Arn")
				b.add(full, map[string]any{"Type": "AWS::SNS::Subscription", "Properties": sub})
				b.add(full+"EventSourceMapping", map[string]any{"Type": "AWS::Lambda::EventSourceMapping", "Properties": map[string]any{
					"EventSourceArn": getAtt(queueID, "Arn"), "FunctionName": b.refs.name, "BatchSize": json.Number("10"), "Enabled": true}})
			case map[string]any:
				arn, hasArn := sq["QueueArn"]
				url, hasURL := sq["QueueUrl"]
				if !hasArn || !hasURL {
					return eventError(b.id, ev, "No QueueARN or QueueURL provided.")
				}
				policyID := full + "QueuePolicy"
				if id, ok := sq["QueuePolicyLogicalId"].(string); ok {
					policyID = id
				}
				b.add(policyID, queuePolicy([]any{url}, arn, "*", topic))
				sub["Protocol"], sub["Endpoint"] = "sqs", arn
				b.add(full, map[string]any{"Type": "AWS::SNS::Subscription", "Properties": sub})
				batch := sq["BatchSize"]
				if batch == nil {
					batch = json.Number("10")
				}
				b.add(full+"EventSourceMapping", map[string]any{"Type": "AWS::Lambda::EventSourceMapping", "Properties": map[string]any{
					"EventSourceArn": arn, "FunctionName": b.refs.name, "BatchSize": batch, "Enabled": true}})
			default:
				return eventError(b.id, ev, "Type of property 'SqsSubscription' is invalid.")
			}
			sqsPolicy = true
		case "Schedule", "EventBridgeRule", "CloudWatchEvent":
			rule := map[string]any{}
			if typ == "Schedule" {
				sched, ok := p["Schedule"]
				if !ok {
					return invalidf(full, "Missing required property 'Schedule'.")
				}
				rule["ScheduleExpression"] = sched
			} else {
				pattern, ok := p["Pattern"]
				if !ok {
					return invalidf(full, "Missing required property 'Pattern'.")
				}
				rule["EventPattern"] = pattern
				if bus, ok := p["EventBusName"]; ok {
					rule["EventBusName"] = bus
				}
				if n, ok := p["RuleName"]; ok {
					rule["Name"] = n
				}
			}
			_, hasState := p["State"]
			enabled, hasEnabled := p["Enabled"]
			if hasState && hasEnabled {
				return eventError(b.id, ev, "State and Enabled Properties cannot both be specified.")
			}
			if hasState {
				rule["State"] = p["State"]
			} else if hasEnabled {
				rule["State"] = "DISABLED"
				if enabled == true {
					rule["State"] = "ENABLED"
				}
			}
			if typ == "Schedule" {
				for _, k := range []string{"Name", "Description"} {
					if v, ok := p[k]; ok {
						rule[k] = v
					}
				}
			}
			targetID := full + "LambdaTarget"
			if len(targetID) > 64 {
				targetID = full[:52] + "LambdaTarget"
			}
			if t, ok := p["Target"].(map[string]any); ok && t["Id"] != nil {
				targetID = str(t["Id"])
			}
			target := map[string]any{"Arn": b.refs.arn, "Id": targetID}
			for _, k := range []string{"Input", "InputPath", "RetryPolicy"} {
				if v, ok := p[k]; ok {
					target[k] = v
				}
			}
			if dl, ok := p["DeadLetterConfig"].(map[string]any); ok {
				arn, hasArn := dl["Arn"]
				_, hasType := dl["Type"]
				switch {
				case hasArn && hasType, !hasArn && !hasType:
					return eventError(b.id, ev, "No 'Arn' or 'Type' property provided for DeadLetterConfig")
				case hasArn:
					target["DeadLetterConfig"] = map[string]any{"Arn": arn}
				default:
					queueID := full + "Queue"
					if id, ok := dl["QueueLogicalId"].(string); ok {
						queueID = id
					}
					b.add(queueID, map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{}})
					b.add(full+"QueuePolicy", queuePolicy([]any{ref(queueID)}, getAtt(queueID, "Arn"),
						map[string]any{"Service": "events.amazonaws.com"}, getAtt(full, "Arn")))
					target["DeadLetterConfig"] = map[string]any{"Arn": getAtt(queueID, "Arn")}
				}
			}
			rule["Targets"] = []any{target}
			b.add(full, map[string]any{"Type": "AWS::Events::Rule", "Properties": rule})
			b.add(full+"Permission", permission(b.refs.name, "events.amazonaws.com", getAtt(full, "Arn")))
		case "ScheduleV2":
			if err := scheduleV2(full, p, b.refs.arn, "LambdaPolicy", "lambda:InvokeFunction", b.userTags, b.add); err != nil {
				return err
			}
		case "Api", "HttpApi", "S3", "DynamoDB", "Kinesis", "MSK", "MQ", "SelfManagedKafka", "DocumentDB", "IoTRule",
			"AlexaSkill", "Cognito", "CloudWatchLogs":
			return eventError(b.id, ev, "forkline does not support events of type %s yet.", typ)
		default:
			name := typ
			if name == "" {
				name = "None"
			}
			return eventError(b.id, ev, "Resource dict has missing or invalid value for key Type. Event Type is: %s.", name)
		}
	}
	if sqsPolicy {
		b.managed = append(b.managed, b.s.managedArn("AWSLambdaSQSQueueExecutionRole"))
	}
	return nil
}

func permission(fn any, principal string, source any) map[string]any {
	return map[string]any{"Type": "AWS::Lambda::Permission", "Properties": map[string]any{
		"Action": "lambda:InvokeFunction", "FunctionName": fn, "Principal": principal, "SourceArn": source}}
}

func queuePolicy(queues []any, queueArn, principal, source any) map[string]any {
	return map[string]any{"Type": "AWS::SQS::QueuePolicy", "Properties": map[string]any{
		"Queues": queues,
		"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Action": "sqs:SendMessage", "Effect": "Allow", "Principal": principal, "Resource": queueArn,
			"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": source}}}}},
	}}
}

// fifoTopic reports whether a topic reference names a FIFO topic of the
// template.
func (s *state) fifoTopic(topic any) bool {
	m, ok := topic.(map[string]any)
	if !ok {
		return false
	}
	var name string
	if r, ok := m["Ref"].(string); ok {
		name = r
	} else if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		name, _ = ga[0].(string)
	}
	r, ok := s.out[name].(map[string]any)
	if !ok || r["Type"] != "AWS::SNS::Topic" {
		return false
	}
	props, _ := r["Properties"].(map[string]any)
	f := s.resolve(props["FifoTopic"])
	return f == true || f == "true"
}

// scheduleV2 expands a ScheduleV2 event into an EventBridge Scheduler
// schedule and, unless the event names a role, the role the scheduler
// assumes to reach the target.
func scheduleV2(full string, p map[string]any, target any, policy, action string, userTags []any, add func(string, map[string]any)) error {
	expr, ok := p["ScheduleExpression"]
	if !ok {
		return invalidf(full, "Missing required property 'ScheduleExpression'.")
	}
	_, hasName := p["Name"]
	if hasName && p["OmitName"] == true {
		return invalidf(full, "Cannot use both 'Name' and 'OmitName' properties.")
	}
	sched := map[string]any{"ScheduleExpression": expr, "FlexibleTimeWindow": map[string]any{"Mode": "OFF"}}
	if hasName {
		sched["Name"] = p["Name"]
	} else if p["OmitName"] != true {
		sched["Name"] = full
	}
	if w, ok := p["FlexibleTimeWindow"]; ok {
		sched["FlexibleTimeWindow"] = w
	}
	for _, k := range []string{"State", "Description", "StartDate", "EndDate", "ScheduleExpressionTimezone", "GroupName", "KmsKeyArn"} {
		if v, ok := p[k]; ok {
			sched[k] = v
		}
	}
	t := map[string]any{"Arn": target}
	for _, k := range []string{"Input", "RetryPolicy"} {
		if v, ok := p[k]; ok {
			t[k] = v
		}
	}
	var dlqArn any
	if dl, ok := p["DeadLetterConfig"].(map[string]any); ok {
		if arn, ok := dl["Arn"]; ok {
			dlqArn = arn
		} else if dl["Type"] != nil {
			queueID := full + "Queue"
			if id, ok := dl["QueueLogicalId"].(string); ok {
				queueID = id
			}
			add(queueID, map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{}})
			dlqArn = getAtt(queueID, "Arn")
		}
		if dlqArn != nil {
			t["DeadLetterConfig"] = map[string]any{"Arn": dlqArn}
		}
	}
	if role, ok := p["RoleArn"]; ok {
		t["RoleArn"] = role
	} else {
		t["RoleArn"] = getAtt(full+"Role", "Arn")
		policies := []any{map[string]any{"PolicyName": full + policy, "PolicyDocument": map[string]any{
			"Statement": []any{map[string]any{"Action": action, "Effect": "Allow", "Resource": target}}}}}
		if dlqArn != nil {
			policies = append(policies, map[string]any{"PolicyName": full + "SQSPolicy", "PolicyDocument": map[string]any{
				"Statement": []any{map[string]any{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": dlqArn}}}})
		}
		rp := map[string]any{"AssumeRolePolicyDocument": assumeRole("scheduler.amazonaws.com"), "Policies": policies}
		if pb, ok := p["PermissionsBoundary"]; ok {
			rp["PermissionsBoundary"] = pb
		}
		if len(userTags) > 0 {
			rp["Tags"] = userTags
		}
		add(full+"Role", map[string]any{"Type": "AWS::IAM::Role", "Properties": rp})
	}
	sched["Target"] = t
	add(full, map[string]any{"Type": "AWS::Scheduler::Schedule", "Properties": sched})
	return nil
}
