package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/forkline/forkline/internal/server/servertest"
)

const sfnRole = "arn:aws:iam::000000000000:role/states"

func waitExecution(t *testing.T, c *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still running", arn)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A saga across the services: Pass, Choice, a Lambda Task with Retry and
// Catch, Parallel, Map with intrinsic functions, SQS and SNS tasks (States
// Language specification; Step Functions developer guide, "Service
// integrations").
func TestWorkflowEndToEnd(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := sfn.NewFromConfig(s.Config())
	lc := lambda.NewFromConfig(s.Config())
	q := sqs.NewFromConfig(s.Config())
	url := create(t, q, "orders-out", nil)
	createFunction(t, lc, "price", codeZip(map[string]string{"app.py": `def handler(event, context):
    if event.get("qty", 0) > 100:
        raise ValueError("too many")
    return {"total": event["qty"] * 3}
`}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = lambdatypes.RuntimePython311, aws.String("app.handler")
	})
	def := `{
  "StartAt": "Init",
  "States": {
    "Init": {"Type": "Pass", "Parameters": {"order.$": "$.order", "greeting.$": "States.Format('order {}', $.order.id)"}, "Next": "Big?"},
    "Big?": {"Type": "Choice", "Choices": [{"Variable": "$.order.qty", "NumericGreaterThan": 100, "Next": "Price"}], "Default": "Price"},
    "Price": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:price", "InputPath": "$.order", "ResultPath": "$.price",
      "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2}],
      "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.failure", "Next": "Compensate"}], "Next": "Fan"},
    "Compensate": {"Type": "Pass", "Result": "refunded", "ResultPath": "$.compensation", "Next": "Done"},
    "Fan": {"Type": "Parallel", "ResultPath": "$.parallel", "Next": "Items", "Branches": [
      {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}},
      {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": "` + url + `", "MessageBody.$": "States.JsonToString($.price)"}, "ResultSelector": {"sent": true}, "End": true}}}]},
    "Items": {"Type": "Map", "ItemsPath": "$.order.items", "ItemSelector": {"item.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
      "ItemProcessor": {"StartAt": "Double", "States": {"Double": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($.item, $.item)"}, "End": true}}},
      "ResultPath": "$.doubled", "Next": "Done"},
    "Done": {"Type": "Succeed"}
  }
}`
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("checkout"), Definition: aws.String(def), RoleArn: aws.String(sfnRole)})
	if err != nil {
		t.Fatal(err)
	}
	start, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("run-1"),
		Input: aws.String(`{"order":{"id":"o-1","qty":2,"items":[1,2,3]}}`)})
	if err != nil {
		t.Fatal(err)
	}
	out := waitExecution(t, c, *start.ExecutionArn)
	if out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %v %v", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	var res map[string]any
	json.Unmarshal([]byte(*out.Output), &res)
	if res["greeting"] != "order o-1" || res["price"].(map[string]any)["total"] != float64(6) ||
		len(res["parallel"].([]any)) != 2 || res["doubled"].([]any)[2].(map[string]any)["v"] != float64(6) {
		t.Fatalf("output = %s", *out.Output)
	}
	if msgs := receive(t, q, url, 1); len(msgs) != 1 || *msgs[0].Body != `{"total":6}` {
		t.Fatalf("the SQS task sent %v", msgs)
	}
	// The same name and input again is the same execution; other input is
	// ExecutionAlreadyExists.
	_, err = c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("run-1"), Input: aws.String(`{}`)})
	wantCode(t, err, "ExecutionAlreadyExists")

	// The compensation path: the function fails, Catch routes to it.
	start, _ = c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn,
		Input: aws.String(`{"order":{"id":"o-2","qty":500,"items":[]}}`)})
	out = waitExecution(t, c, *start.ExecutionArn)
	if out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("saga compensation: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	res = map[string]any{}
	json.Unmarshal([]byte(*out.Output), &res)
	if res["compensation"] != "refunded" || res["failure"].(map[string]any)["Error"] != "ValueError" {
		t.Fatalf("saga compensation: %s %s", out.Status, aws.ToString(out.Output))
	}
	hist, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: start.ExecutionArn})
	if err != nil || len(hist.Events) < 6 || hist.Events[0].Type != sfntypes.HistoryEventTypeExecutionStarted ||
		hist.Events[len(hist.Events)-1].Type != sfntypes.HistoryEventTypeExecutionSucceeded {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	var types []string
	for _, e := range hist.Events {
		types = append(types, string(e.Type))
	}
	if !strings.Contains(strings.Join(types, ","), "LambdaFunctionFailed") {
		t.Fatalf("history lacks LambdaFunctionFailed: %v", types)
	}
	// A Fail state fails the execution with its error and cause.
	failDef := `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Order.Rejected","Cause":"out of stock"}}}`
	fm, _ := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("reject"), Definition: aws.String(failDef), RoleArn: aws.String(sfnRole)})
	start, _ = c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: fm.StateMachineArn})
	out = waitExecution(t, c, *start.ExecutionArn)
	if out.Status != sfntypes.ExecutionStatusFailed || *out.Error != "Order.Rejected" || *out.Cause != "out of stock" {
		t.Fatalf("Fail state: %+v", out)
	}
	list, err := c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
	if err != nil || len(list.Executions) != 2 {
		t.Fatalf("ListExecutions = %+v, %v", list, err)
	}
}

// Definitions are validated with the offending state and field named
// (Step Functions API reference, CreateStateMachine: InvalidDefinition).
func TestWorkflowInvalidDefinitions(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := sfn.NewFromConfig(s.Config())
	for _, def := range []string{
		`not json`,
		`{"States":{}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"B":{"Type":"Pass","End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Teleport","End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Wait","End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"not a path"},"End":true}}}`,
	} {
		_, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("bad"), Definition: aws.String(def), RoleArn: aws.String(sfnRole)})
		wantCode(t, err, "InvalidDefinition")
	}
	_, err := c.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:000000000000:stateMachine:none")})
	wantCode(t, err, "StateMachineDoesNotExist")
}

// A Wait state keeps its deadline on the injected clock; StopExecution
// aborts.
func TestWorkflowWaitAndStop(t *testing.T) {
	s := servertest.Start(t, servertest.Options{FakeClock: true})
	c := sfn.NewFromConfig(s.Config())
	def := `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"Next":"D"},"D":{"Type":"Succeed"}}}`
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("waiter"), Definition: aws.String(def), RoleArn: aws.String(sfnRole)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("a")})
	waitPending(t, s, 1)
	s.Clock.Advance(time.Hour)
	if out := waitExecution(t, c, *a.ExecutionArn); out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("after the wait: %s", out.Status)
	}
	b, _ := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("b")})
	waitPending(t, s, 1)
	if _, err := c.StopExecution(ctx(t), &sfn.StopExecutionInput{ExecutionArn: b.ExecutionArn, Error: aws.String("Op.Cancel")}); err != nil {
		t.Fatal(err)
	}
	if out := waitExecution(t, c, *b.ExecutionArn); out.Status != sfntypes.ExecutionStatusAborted {
		t.Fatalf("after StopExecution: %s", out.Status)
	}
}

// Callback tasks: the token goes out in an SQS message; SendTaskSuccess,
// SendTaskFailure and the heartbeat limit end the task (Step Functions
// developer guide, "Wait for a Callback with Task Token").
func TestWorkflowCallbacks(t *testing.T) {
	s := servertest.Start(t, servertest.Options{FakeClock: true})
	c := sfn.NewFromConfig(s.Config())
	q := sqs.NewFromConfig(s.Config())
	url := create(t, q, "approvals", nil)
	def := `{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","HeartbeatSeconds":60,
  "Parameters":{"QueueUrl":"` + url + `","MessageBody":{"token.$":"$$.Task.Token","order.$":"$.order"}},"ResultPath":"$.approval","End":true}}}`
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("approve"), Definition: aws.String(def), RoleArn: aws.String(sfnRole)})
	if err != nil {
		t.Fatal(err)
	}
	token := func() string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if ms := receive(t, q, url, 1); len(ms) == 1 {
				var m struct{ Token string }
				json.Unmarshal([]byte(*ms[0].Body), &m)
				del(t, q, url, ms[0])
				return m.Token
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no task message")
		return ""
	}
	run := func(name string) string {
		out, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String(name), Input: aws.String(`{"order":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		return *out.ExecutionArn
	}

	ok := run("ok")
	tok := token()
	if _, err := c.SendTaskHeartbeat(ctx(t), &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(tok)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendTaskSuccess(ctx(t), &sfn.SendTaskSuccessInput{TaskToken: aws.String(tok), Output: aws.String(`{"approved":true}`)}); err != nil {
		t.Fatal(err)
	}
	if out := waitExecution(t, c, ok); out.Status != sfntypes.ExecutionStatusSucceeded || !strings.Contains(*out.Output, `"approval":{"approved":true}`) {
		t.Fatalf("after SendTaskSuccess: %s %s", out.Status, aws.ToString(out.Output))
	}
	_, err = c.SendTaskSuccess(ctx(t), &sfn.SendTaskSuccessInput{TaskToken: aws.String(tok), Output: aws.String(`{}`)})
	wantCode(t, err, "TaskDoesNotExist")
	_, err = c.SendTaskSuccess(ctx(t), &sfn.SendTaskSuccessInput{TaskToken: aws.String("garbage!"), Output: aws.String(`{}`)})
	wantCode(t, err, "InvalidToken")

	no := run("no")
	if _, err := c.SendTaskFailure(ctx(t), &sfn.SendTaskFailureInput{TaskToken: aws.String(token()), Error: aws.String("Rejected"), Cause: aws.String("nope")}); err != nil {
		t.Fatal(err)
	}
	if out := waitExecution(t, c, no); out.Status != sfntypes.ExecutionStatusFailed || *out.Error != "Rejected" {
		t.Fatalf("after SendTaskFailure: %+v", out)
	}

	silent := run("silent")
	token()
	waitPending(t, s, 1)
	s.Clock.Advance(time.Minute)
	if out := waitExecution(t, c, silent); out.Status != sfntypes.ExecutionStatusFailed || *out.Error != "States.HeartbeatTimeout" {
		t.Fatalf("without heartbeats: %s %s", out.Status, aws.ToString(out.Error))
	}
}

// Nested executions (states:startExecution.sync:2), StartSyncExecution on
// an EXPRESS machine, tags and DescribeStateMachineForExecution.
func TestWorkflowNestedAndExpress(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := sfn.NewFromConfig(s.Config())
	child, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("child"), RoleArn: aws.String(sfnRole),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"doubled.$":"States.MathAdd($.n, $.n)"},"End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	parentDef := `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
  "Parameters":{"StateMachineArn":"` + *child.StateMachineArn + `","Input":{"n.$":"$.n"}},"OutputPath":"$.Output","End":true}}}`
	parent, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("parent"), RoleArn: aws.String(sfnRole),
		Definition: aws.String(parentDef), Tags: []sfntypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	start, _ := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: parent.StateMachineArn, Input: aws.String(`{"n":21}`)})
	out := waitExecution(t, c, *start.ExecutionArn)
	if out.Status != sfntypes.ExecutionStatusSucceeded || *out.Output != `{"doubled":42}` {
		t.Fatalf("nested execution: %s %s %s", out.Status, aws.ToString(out.Output), aws.ToString(out.Cause))
	}
	d, err := c.DescribeStateMachineForExecution(ctx(t), &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: start.ExecutionArn})
	if err != nil || *d.Definition != parentDef {
		t.Fatalf("DescribeStateMachineForExecution = %v, %v", d, err)
	}
	tags, err := c.ListTagsForResource(ctx(t), &sfn.ListTagsForResourceInput{ResourceArn: parent.StateMachineArn})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "team" {
		t.Fatalf("ListTagsForResource = %+v, %v", tags, err)
	}
	express, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("quick"), RoleArn: aws.String(sfnRole),
		Type: sfntypes.StateMachineTypeExpress, Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"fast","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	// The SDKs send StartSyncExecution to "sync-" + the endpoint's host;
	// against a local endpoint that prefix must be turned off.
	noPrefix := func(o *sfn.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
				}), middleware.Before)
		})
	}
	sync, err := c.StartSyncExecution(ctx(t), &sfn.StartSyncExecutionInput{StateMachineArn: express.StateMachineArn}, noPrefix)
	if err != nil || sync.Status != sfntypes.SyncExecutionStatusSucceeded || *sync.Output != `"fast"` {
		t.Fatalf("StartSyncExecution = %+v, %v", sync, err)
	}
	_, err = c.StartSyncExecution(ctx(t), &sfn.StartSyncExecutionInput{StateMachineArn: parent.StateMachineArn}, noPrefix)
	wantCode(t, err, "StateMachineTypeNotSupported")
}

// Versions and weighted aliases (Step Functions developer guide, "Manage
// continuous deployments with versions and aliases").
func TestWorkflowVersionsAndAliases(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := sfn.NewFromConfig(s.Config())
	def := func(v string) string {
		return `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"` + v + `","End":true}}}`
	}
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("deploy"), Definition: aws.String(def("v1")),
		RoleArn: aws.String(sfnRole), Publish: true, VersionDescription: aws.String("first")})
	if err != nil {
		t.Fatal(err)
	}
	v1 := aws.ToString(sm.StateMachineVersionArn)
	if v1 != *sm.StateMachineArn+":1" {
		t.Fatalf("version ARN %q", v1)
	}
	up, err := c.UpdateStateMachine(ctx(t), &sfn.UpdateStateMachineInput{StateMachineArn: sm.StateMachineArn, Definition: aws.String(def("v2")), Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	v2 := aws.ToString(up.StateMachineVersionArn)
	if v2 != *sm.StateMachineArn+":2" || up.RevisionId == nil {
		t.Fatalf("update: %+v", up)
	}
	// Publishing an already published revision returns its version.
	again, err := c.PublishStateMachineVersion(ctx(t), &sfn.PublishStateMachineVersionInput{StateMachineArn: sm.StateMachineArn})
	if err != nil || *again.StateMachineVersionArn != v2 {
		t.Fatalf("republish: %v %v", again, err)
	}
	_, err = c.PublishStateMachineVersion(ctx(t), &sfn.PublishStateMachineVersionInput{StateMachineArn: sm.StateMachineArn, RevisionId: aws.String("stale")})
	wantCode(t, err, "ConflictException")
	d, err := c.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(v1)})
	if err != nil || *d.Definition != def("v1") || aws.ToString(d.Description) != "first" {
		t.Fatalf("describe v1: %+v %v", d, err)
	}
	vs, err := c.ListStateMachineVersions(ctx(t), &sfn.ListStateMachineVersionsInput{StateMachineArn: sm.StateMachineArn})
	if err != nil || len(vs.StateMachineVersions) != 2 || *vs.StateMachineVersions[0].StateMachineVersionArn != v2 {
		t.Fatalf("versions: %+v %v", vs, err)
	}

	al, err := c.CreateStateMachineAlias(ctx(t), &sfn.CreateStateMachineAliasInput{Name: aws.String("live"), RoutingConfiguration: []sfntypes.RoutingConfigurationListItem{
		{StateMachineVersionArn: aws.String(v1), Weight: 70}, {StateMachineVersionArn: aws.String(v2), Weight: 30}}})
	if err != nil {
		t.Fatal(err)
	}
	if *al.StateMachineAliasArn != *sm.StateMachineArn+":live" {
		t.Fatalf("alias ARN %s", *al.StateMachineAliasArn)
	}
	_, err = c.CreateStateMachineAlias(ctx(t), &sfn.CreateStateMachineAliasInput{Name: aws.String("bad"), RoutingConfiguration: []sfntypes.RoutingConfigurationListItem{
		{StateMachineVersionArn: aws.String(v1), Weight: 70}, {StateMachineVersionArn: aws.String(v2), Weight: 20}}})
	wantCode(t, err, "ValidationException")
	_, err = c.DeleteStateMachineVersion(ctx(t), &sfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(v1)})
	wantCode(t, err, "ConflictException")

	seen := map[string]int{}
	for i := 0; i < 60; i++ {
		ex, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: al.StateMachineAliasArn})
		if err != nil {
			t.Fatal(err)
		}
		out := waitExecution(t, c, *ex.ExecutionArn)
		if aws.ToString(out.StateMachineAliasArn) != *al.StateMachineAliasArn || *out.StateMachineArn != *sm.StateMachineArn {
			t.Fatalf("execution through the alias: %+v", out)
		}
		want := map[string]string{v1: `"v1"`, v2: `"v2"`}[aws.ToString(out.StateMachineVersionArn)]
		if want == "" || *out.Output != want {
			t.Fatalf("version %s ran %s", aws.ToString(out.StateMachineVersionArn), *out.Output)
		}
		seen[*out.Output]++
	}
	if seen[`"v1"`] == 0 || seen[`"v2"`] == 0 {
		t.Fatalf("a 70/30 alias ran only one version in 60 executions: %v", seen)
	}
	byVersion, err := c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(v2)})
	if err != nil {
		t.Fatalf("executions of v2: %v", err)
	}
	if len(byVersion.Executions) != seen[`"v2"`] {
		t.Fatalf("executions of v2: %d; ran %d", len(byVersion.Executions), seen[`"v2"`])
	}

	if _, err := c.UpdateStateMachineAlias(ctx(t), &sfn.UpdateStateMachineAliasInput{StateMachineAliasArn: al.StateMachineAliasArn,
		RoutingConfiguration: []sfntypes.RoutingConfigurationListItem{{StateMachineVersionArn: aws.String(v2), Weight: 100}}}); err != nil {
		t.Fatal(err)
	}
	da, err := c.DescribeStateMachineAlias(ctx(t), &sfn.DescribeStateMachineAliasInput{StateMachineAliasArn: al.StateMachineAliasArn})
	if err != nil || len(da.RoutingConfiguration) != 1 || *da.RoutingConfiguration[0].StateMachineVersionArn != v2 {
		t.Fatalf("alias after update: %+v %v", da, err)
	}
	if _, err := c.DeleteStateMachineVersion(ctx(t), &sfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(v1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteStateMachineAlias(ctx(t), &sfn.DeleteStateMachineAliasInput{StateMachineAliasArn: al.StateMachineAliasArn}); err != nil {
		t.Fatal(err)
	}
	as, err := c.ListStateMachineAliases(ctx(t), &sfn.ListStateMachineAliasesInput{StateMachineArn: sm.StateMachineArn})
	if err != nil || len(as.StateMachineAliases) != 0 {
		t.Fatalf("aliases left: %+v %v", as, err)
	}
}

// RedriveExecution runs a failed execution again from the failed state,
// without running the states that succeeded (Step Functions developer
// guide, "Restarting state machine executions with redrive").
func TestWorkflowRedrive(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := sfn.NewFromConfig(s.Config())
	lc := lambda.NewFromConfig(s.Config())
	py := func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = lambdatypes.RuntimePython311, aws.String("app.handler")
		in.Environment = &lambdatypes.Environment{Variables: map[string]string{"FAIL": "1"}}
	}
	createFunction(t, lc, "first", codeZip(map[string]string{"app.py": "def handler(event, context):\n    return {\"ok\": 1}\n"}), py)
	createFunction(t, lc, "flaky", codeZip(map[string]string{"app.py": `import os
class Unavailable(Exception):
    pass
def handler(event, context):
    if os.environ.get("FAIL") == "1":
        raise Unavailable("try later")
    return {"done": True}
`}), py)
	def := `{"StartAt":"First","States":{
  "First":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:first","ResultPath":"$.first","Next":"Between"},
  "Between":{"Type":"Pass","Result":"x","ResultPath":"$.between","Next":"Flaky"},
  "Flaky":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:flaky","ResultPath":"$.flaky","End":true}}}`
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("redrive"), Definition: aws.String(def), RoleArn: aws.String(sfnRole)})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	out := waitExecution(t, c, *ex.ExecutionArn)
	if out.Status != sfntypes.ExecutionStatusFailed || aws.ToString(out.Error) != "Unavailable" || out.RedriveStatus != sfntypes.ExecutionRedriveStatusRedrivable {
		t.Fatalf("first run: %s %s %s", out.Status, aws.ToString(out.Error), out.RedriveStatus)
	}
	if _, err := lc.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("flaky"),
		Environment: &lambdatypes.Environment{Variables: map[string]string{"FAIL": "0"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RedriveExecution(ctx(t), &sfn.RedriveExecutionInput{ExecutionArn: ex.ExecutionArn}); err != nil {
		t.Fatal(err)
	}
	out = waitExecution(t, c, *ex.ExecutionArn)
	if out.Status != sfntypes.ExecutionStatusSucceeded || aws.ToInt32(out.RedriveCount) != 1 || out.RedriveDate == nil ||
		!strings.Contains(aws.ToString(out.Output), `"flaky":{"done":true}`) || !strings.Contains(aws.ToString(out.Output), `"first":{"ok":1}`) {
		t.Fatalf("after redrive: %s %v %s", out.Status, aws.ToInt32(out.RedriveCount), aws.ToString(out.Output))
	}
	h, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: ex.ExecutionArn, MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	entered, redriven := map[string]int{}, 0
	for _, e := range h.Events {
		if e.StateEnteredEventDetails != nil {
			entered[*e.StateEnteredEventDetails.Name]++
		}
		if e.Type == sfntypes.HistoryEventTypeExecutionRedriven {
			redriven++
		}
	}
	if entered["First"] != 1 || entered["Between"] != 1 || entered["Flaky"] != 2 || redriven != 1 {
		t.Fatalf("states entered %v, redriven %d", entered, redriven)
	}
	_, err = c.RedriveExecution(ctx(t), &sfn.RedriveExecutionInput{ExecutionArn: ex.ExecutionArn})
	wantCode(t, err, "ExecutionNotRedrivable")
}

// TestState runs one state with its data processing shown step by step,
// and reports Retry and Catch outcomes as statuses (Step Functions
// developer guide, "Using TestState API to test a state").
func TestWorkflowTestState(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := sfn.NewFromConfig(s.Config())
	lc := lambda.NewFromConfig(s.Config())
	createFunction(t, lc, "double", codeZip(map[string]string{"app.py": `class TooBig(Exception):
    pass
def handler(event, context):
    if event["n"] > 100:
        raise TooBig("too big")
    return {"n": event["n"] * 2}
`}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = lambdatypes.RuntimePython311, aws.String("app.handler")
	})
	noPrefix := func(o *sfn.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
				}), middleware.Before)
		})
	}
	task := `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","InputPath":"$.job",
  "Parameters":{"FunctionName":"double","Payload":{"n.$":"$.n"}},"ResultSelector":{"n.$":"$.Payload.n"},"ResultPath":"$.out","Next":"Done",
  "Retry":[{"ErrorEquals":["Lambda.TooManyRequestsException"],"MaxAttempts":2}],
  "Catch":[{"ErrorEquals":["TooBig"],"ResultPath":"$.error","Next":"Handle"}]}`
	out, err := c.TestState(ctx(t), &sfn.TestStateInput{Definition: aws.String(task), RoleArn: aws.String(sfnRole),
		Input: aws.String(`{"job":{"n":21}}`), InspectionLevel: sfntypes.InspectionLevelDebug}, noPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != sfntypes.TestExecutionStatusSucceeded || aws.ToString(out.NextState) != "Done" ||
		aws.ToString(out.Output) != `{"job":{"n":21},"out":{"n":42}}` {
		t.Fatalf("TestState: %s %s %s", out.Status, aws.ToString(out.NextState), aws.ToString(out.Output))
	}
	d := out.InspectionData
	if d == nil || aws.ToString(d.AfterInputPath) != `{"n":21}` || aws.ToString(d.AfterParameters) != `{"FunctionName":"double","Payload":{"n":21}}` ||
		aws.ToString(d.AfterResultSelector) != `{"n":42}` || !strings.Contains(aws.ToString(d.Result), `"Payload":{"n":42}`) {
		t.Fatalf("inspection data: %+v", d)
	}
	out, err = c.TestState(ctx(t), &sfn.TestStateInput{Definition: aws.String(task), RoleArn: aws.String(sfnRole),
		Input: aws.String(`{"job":{"n":500}}`)}, noPrefix)
	if err != nil || out.Status != sfntypes.TestExecutionStatusCaughtError || aws.ToString(out.NextState) != "Handle" || aws.ToString(out.Error) != "TooBig" {
		t.Fatalf("caught: %+v %v", out, err)
	}
	_, err = c.TestState(ctx(t), &sfn.TestStateInput{Definition: aws.String(`{"Type":"Pass","Next":}`), RoleArn: aws.String(sfnRole)}, noPrefix)
	wantCode(t, err, "InvalidDefinition")
}

// AWS SDK integrations on forkline's own services: PascalCase parameters
// and results, errors named ServiceName.ErrorNameException (Step Functions
// developer guide, "Learning to use AWS service SDK integrations").
func TestWorkflowAWSSDKIntegrations(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := sfn.NewFromConfig(s.Config())
	q := sqs.NewFromConfig(s.Config())
	lc := lambda.NewFromConfig(s.Config())
	url := create(t, q, "sdk-out", nil)
	createFunction(t, lc, "echo", codeZip(map[string]string{"app.py": "def handler(event, context):\n    return {\"got\": event}\n"}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = lambdatypes.RuntimePython311, aws.String("app.handler")
	})
	child, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("child"), RoleArn: aws.String(sfnRole),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	def := `{"StartAt":"Send","States":{
  "Send":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sqs:sendMessage","Parameters":{"QueueUrl":"` + url + `","MessageBody.$":"$.body"},"ResultPath":"$.sent","Next":"Attrs"},
  "Attrs":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sqs:getQueueAttributes","Parameters":{"QueueUrl":"` + url + `","AttributeNames":["ApproximateNumberOfMessages"]},"ResultSelector":{"n.$":"$.Attributes.ApproximateNumberOfMessages"},"ResultPath":"$.attrs","Next":"Topic"},
  "Topic":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sns:createTopic","Parameters":{"Name":"sdk-topic","Attributes":{"DisplayName":"sdk"}},"ResultPath":"$.topic","Next":"Publish"},
  "Publish":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sns:publish","Parameters":{"TopicArn.$":"$.topic.TopicArn","Message":"hi","MessageAttributes":{"k":{"DataType":"String","StringValue":"v"}}},"ResultPath":"$.published","Next":"Topics"},
  "Topics":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sns:listTopics","ResultSelector":{"arns.$":"$.Topics[*].TopicArn"},"ResultPath":"$.topics","Next":"SMS"},
  "SMS":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sns:setSMSAttributes","Parameters":{"Attributes":{"DefaultSMSType":"Transactional"}},"ResultPath":null,"Next":"SMSGet"},
  "SMSGet":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sns:getSMSAttributes","Parameters":{"Attributes":["DefaultSMSType"]},"ResultSelector":{"type.$":"$.Attributes.DefaultSMSType"},"ResultPath":"$.sms","Next":"OptedOut"},
  "OptedOut":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sns:checkIfPhoneNumberIsOptedOut","Parameters":{"PhoneNumber":"+15555550100"},"ResultSelector":{"out.$":"$.IsOptedOut"},"ResultPath":"$.opted","Next":"Apps"},
  "Apps":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sns:listPlatformApplications","ResultSelector":{"n.$":"States.ArrayLength($.PlatformApplications)"},"ResultPath":"$.apps","Next":"Sandbox"},
  "Sandbox":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sns:listSMSSandboxPhoneNumbers","ResultSelector":{"n.$":"States.ArrayLength($.PhoneNumbers)"},"ResultPath":"$.sandbox","Next":"Describe"},
  "Describe":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sfn:describeStateMachine","Parameters":{"StateMachineArn":"` + *child.StateMachineArn + `"},"ResultSelector":{"name.$":"$.Name","type.$":"$.Type"},"ResultPath":"$.machine","Next":"Invoke"},
  "Invoke":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:lambda:invoke","Parameters":{"FunctionName":"echo","Payload":{"x":1}},"ResultSelector":{"status.$":"$.StatusCode","payload.$":"States.StringToJson($.Payload)"},"ResultPath":"$.invoked","Next":"Missing"},
  "Missing":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sqs:getQueueUrl","Parameters":{"QueueName":"no-such-queue"},
    "Catch":[{"ErrorEquals":["Sqs.QueueDoesNotExistException"],"ResultPath":"$.missing","Next":"Done"}],"End":true},
  "Done":{"Type":"Succeed"}}}`
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("sdk"), Definition: aws.String(def), RoleArn: aws.String(sfnRole)})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"body":"hello"}`)})
	if err != nil {
		t.Fatal(err)
	}
	out := waitExecution(t, c, *ex.ExecutionArn)
	if out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("%s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	var got struct {
		Sent      struct{ MessageId, MD5OfMessageBody string }
		Attrs     struct{ N string }
		Topic     struct{ TopicArn string }
		Published struct{ MessageId string }
		Topics    struct{ Arns []string }
		SMS       struct{ Type string }
		Opted     struct{ Out *bool }
		Apps      struct{ N int }
		Sandbox   struct{ N *int }
		Machine   struct{ Name, Type string }
		Invoked   struct {
			Status  int
			Payload struct{ Got struct{ X int } }
		}
		Missing struct{ Error, Cause string }
	}
	if err := json.Unmarshal([]byte(*out.Output), &got); err != nil {
		t.Fatal(err)
	}
	if got.Sent.MessageId == "" || got.Sent.MD5OfMessageBody != "5d41402abc4b2a76b9719d911017c592" || got.Attrs.N != "1" ||
		!strings.HasSuffix(got.Topic.TopicArn, ":sdk-topic") || got.Published.MessageId == "" || len(got.Topics.Arns) != 1 ||
		got.Machine.Name != "child" || got.Machine.Type != "STANDARD" || got.Invoked.Status != 200 || got.Invoked.Payload.Got.X != 1 ||
		got.Missing.Error != "Sqs.QueueDoesNotExistException" || got.SMS.Type != "Transactional" || got.Opted.Out == nil || *got.Opted.Out || got.Apps.N != 0 ||
		got.Sandbox.N == nil || *got.Sandbox.N != 0 {
		t.Fatalf("output: %s", *out.Output)
	}
	_, err = c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("dynamo"), RoleArn: aws.String(sfnRole),
		Definition: aws.String(`{"StartAt":"G","States":{"G":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:dynamodb:getItem","End":true}}}`)})
	wantCode(t, err, "InvalidDefinition")
}

// JSONata states and workflow variables (Step Functions developer guide,
// "Transforming data with JSONata in Step Functions" and "Passing data
// between states with variables").
func TestWorkflowJSONata(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := sfn.NewFromConfig(s.Config())
	lc := lambda.NewFromConfig(s.Config())
	createFunction(t, lc, "double", codeZip(map[string]string{"app.py": `class TooBig(Exception):
    pass
def handler(event, context):
    if event["n"] > 1000:
        raise TooBig("too big: %d" % event["n"])
    return {"n": event["n"] * 2}
`}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = lambdatypes.RuntimePython311, aws.String("app.handler")
	})
	def := `{
  "QueryLanguage": "JSONata",
  "StartAt": "Init",
  "States": {
    "Init": {"Type": "Pass", "Next": "Check",
      "Assign": {"total": "{% $sum($states.input.items.price) %}", "count": "{% $count($states.input.items) %}", "first": "{% $states.input.items[0].name %}"},
      "Output": "{% $states.input.items %}"},
    "Check": {"Type": "Choice", "Default": "Small",
      "Choices": [{"Condition": "{% $total > 100 %}", "Next": "Double", "Assign": {"size": "big"}}]},
    "Small": {"Type": "Pass", "Output": {"size": "small", "total": "{% $total %}"}, "End": true},
    "Double": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Squares",
      "Arguments": {"FunctionName": "double", "Payload": {"n": "{% $total %}"}},
      "Catch": [{"ErrorEquals": ["TooBig"], "Next": "Failed", "Output": "{% {'error': $states.errorOutput.Error, 'count': $count} %}"}],
      "Assign": {"doubled": "{% $states.result.Payload.n %}"},
      "Output": "{% {'size': $size, 'count': $count, 'first': $uppercase($first), 'doubledSeenByOutput': $exists($doubled)} %}"},
    "Squares": {"Type": "Map", "Items": "{% [1, 2, 3] %}", "Next": "Done",
      "ItemSelector": {"value": "{% $states.context.Map.Item.Value %}", "index": "{% $states.context.Map.Item.Index %}"},
      "ItemProcessor": {"StartAt": "Sq", "States": {"Sq": {"Type": "Pass", "Output": "{% $states.input.value * $states.input.value + $states.input.index / 10 %}", "End": true}}},
      "Output": "{% $merge([$states.input, {'squares': $states.result, 'doubled': $doubled, 'parts': $partition([1,2,3,4,5], 2), 'hash': $hash('hello', 'SHA-256')}]) %}"},
    "Done": {"Type": "Succeed"},
    "Failed": {"Type": "Fail", "Error": "{% $states.input.error %}", "Cause": "{% 'count was ' & $string($states.input.count) %}"}
  }
}`
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("jsonata"), Definition: aws.String(def), RoleArn: aws.String(sfnRole)})
	if err != nil {
		t.Fatal(err)
	}
	run := func(input string) *sfn.DescribeExecutionOutput {
		ex, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(input)})
		if err != nil {
			t.Fatal(err)
		}
		return waitExecution(t, c, *ex.ExecutionArn)
	}
	out := run(`{"items":[{"name":"hat","price":60},{"name":"coat","price":90}]}`)
	want := `{"count":2,"doubled":300,"doubledSeenByOutput":false,"first":"HAT","hash":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","parts":[[1,2],[3,4],[5]],"size":"big","squares":[1,4.1,9.2]}`
	if out.Status != sfntypes.ExecutionStatusSucceeded || aws.ToString(out.Output) != want {
		t.Fatalf("big order: %s %s %s\n got %s\nwant %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause), aws.ToString(out.Output), want)
	}
	out = run(`{"items":[{"name":"pin","price":3}]}`)
	if aws.ToString(out.Output) != `{"size":"small","total":3}` {
		t.Fatalf("small order: %s %s", out.Status, aws.ToString(out.Output))
	}
	out = run(`{"items":[{"name":"car","price":5000}]}`)
	if out.Status != sfntypes.ExecutionStatusFailed || aws.ToString(out.Error) != "TooBig" || aws.ToString(out.Cause) != "count was 1" {
		t.Fatalf("failing order: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	for _, bad := range []string{
		`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $states.input. %}","End":true}}}`,
		`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{},"End":true}}}`,
		`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","QueryLanguage":"JSONPath","End":true}}}`,
	} {
		_, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("bad"), Definition: aws.String(bad), RoleArn: aws.String(sfnRole)})
		wantCode(t, err, "InvalidDefinition")
	}
	// A JSONata expression that fails at run time is States.QueryEvaluationError.
	qe, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("qe"), RoleArn: aws.String(sfnRole),
		Definition: aws.String(`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $states.input.a + 'x' %}","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: qe.StateMachineArn, Input: aws.String(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out := waitExecution(t, c, *ex.ExecutionArn); aws.ToString(out.Error) != "States.QueryEvaluationError" {
		t.Fatalf("query error: %s %s", aws.ToString(out.Error), aws.ToString(out.Cause))
	}
}

// Variable names and scopes are checked when the definition is created
// (Step Functions developer guide, "Passing data between states with
// variables").
func TestWorkflowVariableScopes(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := sfn.NewFromConfig(s.Config())
	for _, bad := range []string{
		`{"StartAt":"P","States":{"P":{"Type":"Pass","Assign":{"states":1},"End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Pass","Assign":{"1x":1},"End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"Next":"M"},"M":{"Type":"Map","End":true,
		  "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","Assign":{"x":2},"End":true}}}}}}`,
	} {
		_, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("vars"), Definition: aws.String(bad), RoleArn: aws.String(sfnRole)})
		wantCode(t, err, "InvalidDefinition")
	}
	// Inner scopes read the outer variables and keep their own.
	def := `{"QueryLanguage":"JSONata","StartAt":"A","States":{
  "A":{"Type":"Pass","Assign":{"base":100},"Next":"M"},
  "M":{"Type":"Map","Items":"{% [1,2] %}","End":true,
    "ItemProcessor":{"StartAt":"I","States":{
      "I":{"Type":"Pass","Assign":{"own":"{% $states.input * 2 %}"},"Next":"J"},
      "J":{"Type":"Pass","Output":"{% $base + $own %}","End":true}}}}}}`
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("scopes"), Definition: aws.String(def), RoleArn: aws.String(sfnRole)})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn})
	if err != nil {
		t.Fatal(err)
	}
	if out := waitExecution(t, c, *ex.ExecutionArn); aws.ToString(out.Output) != `[102,104]` {
		t.Fatalf("scoped variables: %s %s %s", out.Status, aws.ToString(out.Output), aws.ToString(out.Cause))
	}
}
