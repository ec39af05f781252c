package sam

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Policies of SAM functions and state machines: AWS managed policy names,
// policy ARNs, inline documents and policy templates ("AWS SAM policy
// templates", SAM developer guide). forkline accepts IAM without enforcing
// it, so the documents only need to be what AWS would attach.

// serviceRolePolicies are the AWS managed policies under the service-role/
// path that SAM templates name.
var serviceRolePolicies = map[string]bool{
	"AWSLambdaBasicExecutionRole": true, "AWSLambdaSQSQueueExecutionRole": true, "AWSLambdaRole": true,
	"AWSLambdaVPCAccessExecutionRole": true, "AWSLambdaDynamoDBExecutionRole": true, "AWSLambdaKinesisExecutionRole": true,
	"AWSLambdaMSKExecutionRole": true, "AWSCodeDeployRoleForLambda": true, "AWSLambdaBasicDurableExecutionRolePolicy": true,
	"AWSLambdaENIManagementAccess": true, "AWSConfigRulesExecutionRole": true, "AWSIoTRuleActions": true,
	"AWSCodeDeployRoleForLambdaLimited": true,
}

var awsManagedName = regexp.MustCompile(`^(AWS|Amazon|CloudWatch|IAM|Administrator|ReadOnly|PowerUser|SecretsManager|Elastic|Resource)[A-Za-z0-9_.-]*$`)

// managedArn is the ARN of a managed policy given by name or ARN; a name
// that is no AWS managed policy stays as it is, as in SAM.
func (s *state) managedArn(name string) string {
	switch {
	case strings.HasPrefix(name, "arn:"):
		return name
	case serviceRolePolicies[name]:
		return "arn:" + s.o.Partition + ":iam::aws:policy/service-role/" + name
	case awsManagedName.MatchString(name):
		return "arn:" + s.o.Partition + ":iam::aws:policy/" + name
	}
	return name
}

// rolePolicies splits a Policies value into managed policy ARNs and inline
// policies named <role>Policy<index>.
func (s *state) rolePolicies(owner, role string, v any) (managed, inline []any, err error) {
	var list []any
	switch x := v.(type) {
	case nil:
		return nil, nil, nil
	case []any:
		list = x
	default:
		list = []any{x}
	}
	for i, e := range list {
		switch x := e.(type) {
		case string:
			managed = append(managed, s.managedArn(x))
			continue
		case map[string]any:
			if isIntrinsic(x) {
				managed = append(managed, x)
				continue
			}
			if _, ok := x["Statement"]; ok {
				inline = append(inline, map[string]any{"PolicyName": role + "Policy" + strconv.Itoa(i), "PolicyDocument": x})
				continue
			}
			if len(x) == 1 {
				var name string
				var params any
				for k, v := range x {
					name, params = k, v
				}
				doc, err := policyTemplate(name, params)
				if err != nil {
					return nil, nil, invalidf(owner, "%s", err.Error())
				}
				if doc != nil {
					inline = append(inline, map[string]any{"PolicyName": role + "Policy" + strconv.Itoa(i), "PolicyDocument": doc})
					continue
				}
			}
		}
		return nil, nil, invalidf(owner, "Policy at index %d in the 'Policies' property is not valid", i)
	}
	return managed, inline, nil
}

// template is one policy template: its parameters and statements, where
// "${param}" names a parameter (bound through Fn::Sub as SAM does).
type policyTmpl struct {
	params     []string
	statements func(p map[string]any) []any
}

func subArn(pattern string, bindings map[string]any) map[string]any {
	return map[string]any{"Fn::Sub": []any{pattern, bindings}}
}

func allow(actions []string, resource any) map[string]any {
	a := make([]any, len(actions))
	for i, s := range actions {
		a[i] = s
	}
	return map[string]any{"Effect": "Allow", "Action": a, "Resource": resource}
}

var policyTemplates = map[string]policyTmpl{
	"SQSPollerPolicy": {[]string{"QueueName"}, func(p map[string]any) []any {
		return []any{allow([]string{"sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch", "sqs:DeleteMessage", "sqs:DeleteMessageBatch", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"},
			subArn("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${queueName}", map[string]any{"queueName": p["QueueName"]}))}
	}},
	"SQSSendMessagePolicy": {[]string{"QueueName"}, func(p map[string]any) []any {
		return []any{allow([]string{"sqs:SendMessage*"},
			subArn("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${queueName}", map[string]any{"queueName": p["QueueName"]}))}
	}},
	"SNSPublishMessagePolicy": {[]string{"TopicName"}, func(p map[string]any) []any {
		return []any{allow([]string{"sns:Publish"},
			subArn("arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${topicName}", map[string]any{"topicName": p["TopicName"]}))}
	}},
	"SNSCrudPolicy": {[]string{"TopicName"}, func(p map[string]any) []any {
		return []any{allow([]string{"sns:ListSubscriptionsByTopic", "sns:CreateTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Publish"},
			subArn("arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${topicName}*", map[string]any{"topicName": p["TopicName"]}))}
	}},
	"LambdaInvokePolicy": {[]string{"FunctionName"}, func(p map[string]any) []any {
		return []any{allow([]string{"lambda:InvokeFunction"},
			subArn("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${functionName}*", map[string]any{"functionName": p["FunctionName"]}))}
	}},
	"StepFunctionsExecutionPolicy": {[]string{"StateMachineName"}, func(p map[string]any) []any {
		return []any{allow([]string{"states:StartExecution"},
			subArn("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${stateMachineName}", map[string]any{"stateMachineName": p["StateMachineName"]}))}
	}},
	"S3ReadPolicy":        s3Policy([]string{"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion", "s3:GetLifecycleConfiguration"}),
	"S3WritePolicy":       s3Policy([]string{"s3:PutObject", "s3:PutObjectAcl", "s3:PutLifecycleConfiguration"}),
	"S3CrudPolicy":        s3Policy([]string{"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:DeleteObject"}),
	"S3FullAccessPolicy":  s3Policy([]string{"s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging", "s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObjectTagging", "s3:PutObjectVersionTagging", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration"}),
	"DynamoDBCrudPolicy":  dynamoPolicy([]string{"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"}),
	"DynamoDBReadPolicy":  dynamoPolicy([]string{"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"}),
	"DynamoDBWritePolicy": dynamoPolicy([]string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"}),
	"CloudWatchPutMetricPolicy": {nil, func(map[string]any) []any {
		return []any{allow([]string{"cloudwatch:PutMetricData"}, "*")}
	}},
	"EventBridgePutEventsPolicy": {[]string{"EventBusName"}, func(p map[string]any) []any {
		return []any{allow([]string{"events:PutEvents"},
			subArn("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${eventBusName}", map[string]any{"eventBusName": p["EventBusName"]}))}
	}},
	"SSMParameterReadPolicy": {[]string{"ParameterName"}, func(p map[string]any) []any {
		return []any{allow([]string{"ssm:DescribeParameters"}, "*"), allow([]string{"ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"},
			subArn("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${parameterName}", map[string]any{"parameterName": p["ParameterName"]}))}
	}},
	"AWSSecretsManagerGetSecretValuePolicy": {[]string{"SecretArn"}, func(p map[string]any) []any {
		return []any{allow([]string{"secretsmanager:GetSecretValue"}, subArn("${secretArn}", map[string]any{"secretArn": p["SecretArn"]}))}
	}},
	"KMSDecryptPolicy": {[]string{"KeyId"}, func(p map[string]any) []any {
		return []any{allow([]string{"kms:Decrypt"}, subArn("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/${keyId}", map[string]any{"keyId": p["KeyId"]}))}
	}},
	"VPCAccessPolicy": {nil, func(map[string]any) []any {
		return []any{allow([]string{"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DetachNetworkInterface"}, "*")}
	}},
	"CloudWatchLogsFullAccessPolicy": {nil, func(map[string]any) []any {
		return []any{allow([]string{"logs:*"}, subArn("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*", map[string]any{}))}
	}},
}

func s3Policy(actions []string) policyTmpl {
	return policyTmpl{[]string{"BucketName"}, func(p map[string]any) []any {
		b := map[string]any{"bucketName": p["BucketName"]}
		return []any{allow(actions, []any{subArn("arn:${AWS::Partition}:s3:::${bucketName}", b), subArn("arn:${AWS::Partition}:s3:::${bucketName}/*", clone(b).(map[string]any))})}
	}}
}

func dynamoPolicy(actions []string) policyTmpl {
	return policyTmpl{[]string{"TableName"}, func(p map[string]any) []any {
		t := map[string]any{"tableName": p["TableName"]}
		return []any{allow(actions, []any{
			subArn("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${tableName}", t),
			subArn("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${tableName}/index/*", clone(t).(map[string]any))})}
	}}
}

// policyTemplate expands a policy template; nil for a name that is no
// template. SAM has more templates than forkline writes out: any other
// name ending in "Policy" with parameters is accepted with an empty
// document, since forkline does not enforce IAM.
func policyTemplate(name string, params any) (map[string]any, error) {
	p, ok := params.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Must specify valid parameter values for policy template '%s'", name)
	}
	t, known := policyTemplates[name]
	if !known {
		if strings.HasSuffix(name, "Policy") && name[0] >= 'A' && name[0] <= 'Z' {
			return map[string]any{"Statement": []any{}}, nil
		}
		return nil, nil
	}
	var missing []string
	for _, k := range t.params {
		if _, ok := p[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("Following required parameters of template '%s' don't have values: %s", name, pyList(missing))
	}
	return map[string]any{"Statement": t.statements(p)}, nil
}
