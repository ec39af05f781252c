package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/forkline/forkline/internal/server/servertest"
)

// examples/saga as its README deploys it: the trip either books all three
// reservations or cancels, in reverse order, the ones it made.
func TestSagaExample(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := sfn.NewFromConfig(s.Config())
	lc := lambda.NewFromConfig(s.Config())
	q := sqs.NewFromConfig(s.Config())

	src, err := os.ReadFile("../examples/saga/functions/trip.py")
	if err != nil {
		t.Fatal(err)
	}
	def, err := os.ReadFile("../examples/saga/trip-booking.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	zip := codeZip(map[string]string{"trip.py": string(src)})
	for _, fn := range []string{"reserve-flight", "reserve-hotel", "reserve-car", "cancel-flight", "cancel-hotel", "cancel-car"} {
		createFunction(t, lc, fn, zip, func(in *lambda.CreateFunctionInput) {
			in.Runtime, in.Handler = lambdatypes.RuntimePython312, aws.String("trip."+strings.ReplaceAll(fn, "-", "_"))
		})
	}
	url := create(t, q, "trip-events", nil)
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("trip-booking"), Definition: aws.String(string(def)), RoleArn: aws.String(sfnRole)})
	if err != nil {
		t.Fatal(err)
	}

	run := func(name, input string) (*sfn.DescribeExecutionOutput, []string) {
		t.Helper()
		ex, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String(name), Input: aws.String(input)})
		if err != nil {
			t.Fatal(err)
		}
		out := waitExecution(t, c, *ex.ExecutionArn)
		h, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: ex.ExecutionArn, MaxResults: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var entered []string
		for _, e := range h.Events {
			if e.StateEnteredEventDetails != nil {
				entered = append(entered, *e.StateEnteredEventDetails.Name)
			}
		}
		return out, entered
	}

	out, path := run("trip-1", `{"trip_id":"1"}`)
	if out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("trip-1: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	var booked map[string]any
	json.Unmarshal([]byte(*out.Output), &booked)
	if booked["car"].(map[string]any)["reservation_id"] != "CR-1" || booked["flight"].(map[string]any)["reservation_id"] != "FL-1" {
		t.Fatalf("trip-1 output %s", *out.Output)
	}
	if want := "ReserveFlight ReserveHotel ReserveCar NotifyBooked Booked"; strings.Join(path, " ") != want {
		t.Fatalf("trip-1 path %v", path)
	}

	out, path = run("trip-2", `{"trip_id":"2","fail":"car"}`)
	if out.Status != sfntypes.ExecutionStatusFailed || aws.ToString(out.Error) != "TripBookingFailed" ||
		aws.ToString(out.Cause) != "trip 2 was not booked; every reservation made was cancelled" {
		t.Fatalf("trip-2: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	if want := "ReserveFlight ReserveHotel ReserveCar CancelHotel CancelFlight NotifyCancelled BookingFailed"; strings.Join(path, " ") != want {
		t.Fatalf("trip-2 path %v", path)
	}

	_, path = run("trip-3", `{"trip_id":"3","fail":"hotel"}`)
	if want := "ReserveFlight ReserveHotel CancelFlight NotifyCancelled BookingFailed"; strings.Join(path, " ") != want {
		t.Fatalf("trip-3 path %v", path)
	}

	var events []string
	for _, m := range receive(t, q, url, 10) {
		var e struct{ Event, Reason string }
		json.Unmarshal([]byte(*m.Body), &e)
		events = append(events, e.Event+"/"+e.Reason)
	}
	if len(events) != 3 || !strings.Contains(strings.Join(events, " "), "TripCancelled/CarUnavailable") || !strings.Contains(strings.Join(events, " "), "TripCancelled/HotelUnavailable") {
		t.Fatalf("trip events %v", events)
	}
}
