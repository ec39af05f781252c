package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/forkline/forkline/internal/events"
)

// eventTargets delivers EventBridge events to forkline's services, as
// EventBridge does for each target type: functions are invoked
// asynchronously, queues get a message, topics a publish, state machines
// an execution.
type eventTargets struct{ t tasks }

// Deliver implements events.Deliverer.
func (e eventTargets) Deliver(ctx context.Context, tg events.Target, event []byte) error {
	parts := strings.SplitN(tg.Arn, ":", 6)
	if len(parts) < 6 {
		return fmt.Errorf("target ARN %s is not valid", tg.Arn)
	}
	var err error
	switch parts[2] {
	case "lambda":
		var found bool
		_, found, err = invoker{e.t.fs}.InvokeEvent(ctx, tg.Arn, event)
		if err == nil && !found {
			err = fmt.Errorf("function %s does not exist", tg.Arn)
		}
	case "sqs":
		in := map[string]any{"QueueUrl": e.t.srv.publicURL.Load().(string) + "/" + parts[4] + "/" + parts[5], "MessageBody": string(event)}
		if tg.MessageGroupID != "" {
			in["MessageGroupId"] = tg.MessageGroupID
		}
		_, err = e.t.CallAWS(ctx, "sqs", "SendMessage", in)
	case "sns":
		_, err = e.t.CallAWS(ctx, "sns", "Publish", map[string]any{"TopicArn": tg.Arn, "Message": string(event)})
	case "states":
		_, err = e.t.CallAWS(ctx, "sfn", "StartExecution", map[string]any{"StateMachineArn": tg.Arn, "Input": string(event)})
	default:
		err = fmt.Errorf("forkline does not deliver events to %s targets", parts[2])
	}
	return err
}
