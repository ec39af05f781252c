package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Invoke answers with the invocation's own request ID: the one the
// function gets (Lambda-Runtime-Aws-Request-Id, its context's
// aws_request_id) and its START, END and REPORT lines show, for
// synchronous and asynchronous calls alike (Lambda developer guide,
// "Using the Lambda context object": aws_request_id is "the identifier of
// the invocation request"; "Monitoring and troubleshooting": the REPORT
// line's RequestId).
func TestInvokeRequestIDs(t *testing.T) {
	s, c := startLambda(t)
	lc := cloudwatchlogs.NewFromConfig(s.Config())
	createFunction(t, c, "whoami", pythonRuntime(`    print("ran " + rid, flush=True)
    return rid`))

	out := invoke(t, c, "whoami", nil)
	id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	var seen string
	if err := json.Unmarshal(out.Payload, &seen); err != nil || id == "" || seen != id {
		t.Fatalf("synchronous: x-amzn-RequestId %q, the function saw %q (%v)", id, seen, err)
	}

	ev := invoke(t, c, "whoami", nil, func(in *lambda.InvokeInput) { in.InvocationType = lambdatypes.InvocationTypeEvent })
	async, _ := awsmiddleware.GetRequestIDMetadata(ev.ResultMetadata)
	if ev.StatusCode != 202 || async == "" || async == id {
		t.Fatalf("asynchronous: status %d, request ID %q", ev.StatusCode, async)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		f, err := lc.FilterLogEvents(ctx(t), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/whoami")})
		var all []string
		if err == nil {
			for _, e := range f.Events {
				all = append(all, *e.Message)
			}
		}
		text := strings.Join(all, "\n")
		if strings.Contains(text, "REPORT RequestId: "+async) {
			for _, want := range []string{"START RequestId: " + id, "REPORT RequestId: " + id, "START RequestId: " + async, "ran " + async} {
				if !strings.Contains(text, want) {
					t.Fatalf("log lacks %q:\n%s", want, text)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the asynchronous invocation did not run as %s:\n%s", async, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
