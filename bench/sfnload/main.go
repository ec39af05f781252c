// Command sfnload measures forkline's Step Functions:
//
//   - the engine in process: executions per second of a 10-state
//     Pass/Choice machine and of a 2-branch Parallel, one after the other,
//     beside aws-local-stepfunctions (npm) running the same machines in
//     the same run;
//   - durable STANDARD executions per second of the 10-state machine
//     through the API at concurrency 16 (started with the SDK, counted when
//     the last one has finished), against the forkline process;
//   - StartSyncExecution latency of the same machine as EXPRESS through
//     the SDK, beside DescribeStateMachine (the API's floor) in the same
//     run.
//
// See docs/benchmarks.md.
//
//	go run ./bench/sfnload [-duration 10s]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/forkline/forkline/bench/internal/load"
	"github.com/forkline/forkline/internal/store/pebblestore"
	"github.com/forkline/forkline/internal/workflow"
)

var (
	duration = flag.Duration("duration", 10*time.Second, "length of each measurement")
	parts    = flag.String("parts", "engine,durable,sync", "the measurements to run")
)

func part(name string) bool { return strings.Contains(*parts, name) }

const role = "arn:aws:iam::000000000000:role/bench"

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sfnload:", err)
		os.Exit(1)
	}
}

type machine struct{ name, def, input string }

func readMachine(name string) (machine, error) {
	def, err := os.ReadFile(filepath.Join("bench/sfnload/testdata", name+".json"))
	if err != nil {
		return machine{}, err
	}
	in, err := os.ReadFile(filepath.Join("bench/sfnload/testdata", name+".input.json"))
	return machine{name, string(def), string(in)}, err
}

func run() error {
	tmp, err := os.MkdirTemp("", "sfnload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	pc, err := readMachine("pass_choice10")
	if err != nil {
		return err
	}
	par, err := readMachine("parallel2")
	if err != nil {
		return err
	}
	if err := npmInstall(); err != nil {
		return err
	}

	fmt.Printf("GOMAXPROCS %d, %s per measurement\n\n", runtime.GOMAXPROCS(0), *duration)
	if part("engine") {
		fmt.Println("engine, in process, one execution after the other:")
	}
	for _, m := range []machine{pc, par} {
		if !part("engine") {
			break
		}
		ours, err := engine(tmp, m)
		if err != nil {
			return err
		}
		theirs, err := localStepFunctions(m)
		if err != nil {
			return err
		}
		fmt.Printf("  %-14s forkline %9.0f exec/s   aws-local-stepfunctions %9.0f exec/s   ratio %.1f (target ≥ 5)\n", m.name, ours, theirs, ours/theirs)
	}

	bin := filepath.Join(tmp, "forkline")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/forkline").CombinedOutput(); err != nil {
		return fmt.Errorf("build forkline: %v\n%s", err, out)
	}
	fk, err := load.StartForkline(bin, filepath.Join(tmp, "data"))
	if err != nil {
		return err
	}
	defer fk.Stop()
	c := sfn.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", ""),
		BaseEndpoint: aws.String(fk.URL), HTTPClient: load.HTTPClient(), RetryMaxAttempts: 1}, noHostPrefix)
	ctx := context.Background()
	std, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("standard"), Definition: aws.String(pc.def), RoleArn: aws.String(role)})
	if err != nil {
		return err
	}
	express, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("express"), Definition: aws.String(pc.def), RoleArn: aws.String(role),
		Type: sfntypes.StateMachineTypeExpress})
	if err != nil {
		return err
	}

	if part("durable") {
		if err := durable(ctx, c, fk, std.StateMachineArn, pc); err != nil {
			return err
		}
	}
	if part("sync") {
		syncLatency(c, express.StateMachineArn, pc)
	}
	return nil
}

func durable(ctx context.Context, c *sfn.Client, fk *load.Proc, arn *string, pc machine) error {
	std := &sfn.CreateStateMachineOutput{StateMachineArn: arn}
	fmt.Println("\ndurable STANDARD executions through the API, c=16:")
	cpu0 := fk.CPU()
	begin := time.Now()
	res := load.Measure("StartExecution c=16", 16, *duration, func(ctx context.Context) (int, error) {
		_, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: std.StateMachineArn, Input: aws.String(pc.input)})
		return 1, err
	})
	// Count them finished: wait until none runs.
	for {
		out, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: std.StateMachineArn, StatusFilter: sfntypes.ExecutionStatusRunning, MaxResults: 1})
		if err != nil {
			return err
		}
		if len(out.Executions) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	el := time.Since(begin)
	n := res.Completed
	fmt.Printf("  %d executions started and finished in %.2f s: %.0f exec/s (target ≥ 2000); StartExecution p50 %s p99 %s; server CPU %s/execution; errors %d\n",
		n, el.Seconds(), float64(n)/el.Seconds(), load.MS(res.P50), load.MS(res.P99), ((fk.CPU() - cpu0) / time.Duration(max(n, 1))).Round(time.Microsecond), res.Errors)
	var failed int
	for _, st := range []sfntypes.ExecutionStatus{sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusTimedOut, sfntypes.ExecutionStatusAborted} {
		out, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: std.StateMachineArn, StatusFilter: st, MaxResults: 1})
		if err != nil {
			return err
		}
		failed += len(out.Executions)
	}
	if failed > 0 {
		return fmt.Errorf("some executions did not succeed")
	}
	return nil
}

func syncLatency(c *sfn.Client, arn *string, pc machine) {
	express := &sfn.CreateStateMachineOutput{StateMachineArn: arn}

	fmt.Println("\nStartSyncExecution (EXPRESS, the same machine) beside DescribeStateMachine:")
	for _, conc := range []int{1, 16} {
		sync := load.Measure(fmt.Sprintf("StartSyncExecution c=%d", conc), conc, *duration, func(ctx context.Context) (int, error) {
			out, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: express.StateMachineArn, Input: aws.String(pc.input)})
			if err == nil && out.Status != sfntypes.SyncExecutionStatusSucceeded {
				err = fmt.Errorf("status %s", out.Status)
			}
			return 1, err
		})
		floor := load.Measure(fmt.Sprintf("DescribeStateMachine c=%d", conc), conc, *duration, func(ctx context.Context) (int, error) {
			_, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: express.StateMachineArn})
			return 1, err
		})
		fmt.Printf("  %s\n  %s\n  p50 ratio %.2f, p99 ratio %.2f\n", sync, floor,
			float64(sync.P50)/float64(floor.P50), float64(sync.P99)/float64(floor.P99))
	}
}

// engine runs m as an EXPRESS machine on the workflow service itself, in
// this process, one execution after the other.
func engine(tmp string, m machine) (float64, error) {
	st, err := pebblestore.Open(filepath.Join(tmp, "engine-"+m.name), pebblestore.Options{})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	ctx := context.Background()
	svc, err := workflow.New(ctx, st, workflow.Config{Region: "us-east-1", AccountID: "000000000000"})
	if err != nil {
		return 0, err
	}
	defer svc.Close()
	info, err := svc.CreateStateMachine(ctx, m.name, m.def, role, "EXPRESS")
	if err != nil {
		return 0, err
	}
	loop := func(d time.Duration) (int, error) {
		n := 0
		for end := time.Now().Add(d); time.Now().Before(end); n++ {
			out, err := svc.StartSyncExecution(ctx, info.Arn, "", m.input)
			if err != nil {
				return n, err
			}
			if out.Status != "SUCCEEDED" {
				return n, fmt.Errorf("%s: %s %s %s", m.name, out.Status, out.Error, out.Cause)
			}
		}
		return n, nil
	}
	if _, err := loop(500 * time.Millisecond); err != nil {
		return 0, err
	}
	start := time.Now()
	n, err := loop(*duration)
	return float64(n) / time.Since(start).Seconds(), err
}

func npmInstall() error {
	if _, err := os.Stat("tools/aws-local-stepfunctions/node_modules/aws-local-stepfunctions"); err == nil {
		return nil
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = "tools/aws-local-stepfunctions"
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm install aws-local-stepfunctions: %v\n%s", err, out)
	}
	return nil
}

// localStepFunctions runs m through aws-local-stepfunctions in Node.
func localStepFunctions(m machine) (float64, error) {
	dir, _ := filepath.Abs("bench/sfnload/testdata")
	cmd := exec.Command("node", "bench.mjs", filepath.Join(dir, m.name+".json"), filepath.Join(dir, m.name+".input.json"),
		fmt.Sprint(duration.Seconds()))
	cmd.Dir = "tools/aws-local-stepfunctions"
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("aws-local-stepfunctions: %v", err)
	}
	var r struct{ Rate float64 }
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("aws-local-stepfunctions said %q: %v", out, err)
	}
	return r.Rate, nil
}

// noHostPrefix turns off the "sync-" host prefix that the SDKs put before
// the endpoint for StartSyncExecution.
func noHostPrefix(o *sfn.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}
