package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"context"
	"encoding/json"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/forkline/forkline/internal/server/servertest"
	"sync/atomic"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the binary forklineBinary built (58 MB a run) once the
// tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// forklineBinary builds cmd/forkline once per test run.
func forklineBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "forkline-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "forkline")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/forkline").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *strings.Builder
	mu   *sync.Mutex
	done chan struct{}
}

var listenRe = regexp.MustCompile(`msg="forkline serving" listen=(\S+)`)

// startProcess runs `forkline serve` on a free loopback port and waits for
// it to listen. The process is killed at cleanup if still running.
func startProcess(t *testing.T, dataDir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, extra...)
	cmd := exec.Command(forklineBinary(t), args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listenRe.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.done:
		t.Fatalf("forkline exited before listening:\n%s", p.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("forkline did not start listening:\n%s", p.log())
	}
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

func (p *proc) client() *sqs.Client {
	return sqs.NewFromConfig(servertest.Config(p.url, "AKIDCRASH", "secret"))
}

// TestCrashDurability: every send that was answered survives kill -9.
func TestCrashDurability(t *testing.T) {
	dir := t.TempDir()
	p := startProcess(t, dir)
	c := p.client()
	url := create(t, c, "durable", nil)
	fifo := create(t, c, "durable.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	const workers, perWorker = 16, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i += 10 {
				var entries []types.SendMessageBatchRequestEntry
				for j := 0; j < 10; j++ {
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", j)), MessageBody: aws.String(fmt.Sprintf("w%d-m%d", w, i+j))})
				}
				out, err := c.SendMessageBatch(ctx(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
				if err == nil && len(out.Failed) > 0 {
					err = fmt.Errorf("batch entries failed: %+v", out.Failed)
				}
				if err != nil {
					errs <- err
					return
				}
				if _, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(fifo), MessageBody: aws.String(fmt.Sprintf("w%d-f%d", w, i)), MessageGroupId: aws.String(fmt.Sprint("g", w))}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Receive (and so persist the in-flight state of) a few, delete a few.
	got := receive(t, c, url, 10)
	for _, m := range got[:5] {
		del(t, c, url, m)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done

	p2 := startProcess(t, dir)
	c2 := p2.client()
	const total = workers * perWorker
	a := attrs(t, c2, url)
	if a["ApproximateNumberOfMessages"] != fmt.Sprint(total-10) || a["ApproximateNumberOfMessagesNotVisible"] != "5" {
		t.Fatalf("after restart: visible %s, in flight %s; want %d and 5", a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"], total-10)
	}
	seen := map[string]bool{}
	for _, m := range got[5:] {
		seen[*m.Body] = true
		del(t, c2, url, m) // receipt handles from before the crash still work
	}
	deadline := time.Now().Add(2 * time.Minute)
	for len(seen) < total-5 && time.Now().Before(deadline) {
		ms := receiveAfterCrash(t, c2, url, "")
		if len(ms) == 0 {
			time.Sleep(100 * time.Millisecond) // a lost answer's messages come back after 5 s
		}
		for _, m := range ms {
			if seen[*m.Body] {
				t.Fatalf("message %s received twice", *m.Body)
			}
			seen[*m.Body] = true
			del(t, c2, url, m)
		}
	}
	if len(seen) != total-5 {
		t.Fatalf("received %d distinct messages after the crash, want %d", len(seen), total-5)
	}
	// FIFO: every message, in order within each group.
	next := map[string]int{}
	n := 0
	for attempt := 0; n < workers*perWorker/10 && time.Now().Before(deadline); attempt++ {
		ms := receiveAfterCrash(t, c2, fifo, fmt.Sprint("attempt-", attempt))
		if len(ms) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		for _, m := range ms {
			var w, i int
			fmt.Sscanf(*m.Body, "w%d-f%d", &w, &i)
			if i != next[m.Attributes["MessageGroupId"]] {
				t.Fatalf("group %s: got %s, want index %d", m.Attributes["MessageGroupId"], *m.Body, next[m.Attributes["MessageGroupId"]])
			}
			next[m.Attributes["MessageGroupId"]] = i + 10
			n++
			del(t, c2, fifo, m)
		}
	}
	if n != workers*perWorker/10 {
		t.Fatalf("FIFO: %d messages after the crash, want %d", n, workers*perWorker/10)
	}
}

// receiveAfterCrash receives up to ten messages, hidden for 5 s. When the
// SDK/net/http client race (see servertest.retryClosedConnReads) loses an
// answer, it asks again: a FIFO queue then returns the same messages for
// the same ReceiveRequestAttemptId ("Using the ReceiveRequestAttemptId
// request parameter", SQS developer guide); a standard queue returns the
// lost ones once their visibility timeout ends, to a caller that loops
// until it has them all.
func receiveAfterCrash(t *testing.T, c *sqs.Client, url, attemptID string) []types.Message {
	t.Helper()
	in := &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 5,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}}
	if attemptID != "" {
		in.ReceiveRequestAttemptId = aws.String(attemptID)
	}
	for try := 0; ; try++ {
		out, err := c.ReceiveMessage(ctx(t), in)
		if err == nil {
			return out.Messages
		}
		if try == 3 || !strings.Contains(err.Error(), "use of closed network connection") {
			t.Fatalf("ReceiveMessage: %v", err)
		}
	}
}

func TestProcessRefusesPublicListenWithoutCredentials(t *testing.T) {
	out, err := exec.Command(forklineBinary(t), "serve", "--listen", "0.0.0.0:0", "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "beyond loopback without credentials") {
		t.Fatalf("public listen without credentials: err %v, output %s", err, out)
	}
}

func TestProcessCleanShutdown(t *testing.T) {
	dir := t.TempDir()
	p := startProcess(t, dir)
	c := p.client()
	url := create(t, c, "shutdown", nil)
	send(t, c, url, "kept")
	// A long poll in progress must not hold the shutdown up.
	go c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(create(t, c, "empty", nil)), WaitTimeSeconds: 20})
	time.Sleep(50 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit after SIGTERM:\n%s", p.log())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, p.log())
	}
	p2 := startProcess(t, dir)
	if got := receive(t, p2.client(), url, 1); len(got) != 1 || *got[0].Body != "kept" {
		t.Fatalf("after restart: %v", got)
	}
}

// TestPublishCrashDurability: every publish that was answered reaches every
// matching subscription after kill -9, the queues through Publish's own
// write and the HTTP endpoint through the outbox.
func TestPublishCrashDurability(t *testing.T) {
	dir := t.TempDir()
	p := startProcess(t, dir)
	q := p.client()
	c := sns.NewFromConfig(servertest.Config(p.url, "AKIDCRASH", "secret"))
	arn := createTopic(t, c, "durable-topic", nil)
	plain, _ := subscribeQueue(t, c, q, arn, "pub-plain", nil)
	raw, _ := subscribeQueue(t, c, q, arn, "pub-raw", map[string]string{"RawMessageDelivery": "true"})
	even, _ := subscribeQueue(t, c, q, arn, "pub-even", map[string]string{"FilterPolicy": `{"parity":["even"]}`})

	var up atomic.Bool // the endpoint fails until the restart
	hook := newSubscriber(t, func(n int) int {
		if n == 1 || up.Load() {
			return 200
		}
		return 503
	})
	confirmHTTP(t, c, arn, hook, nil)

	const workers = 16
	var acked sync.Map // message body → true
	var count atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf("w%d-m%d", w, i)
				parity := []string{"even", "odd"}[i%2]
				_, err := c.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(body),
					MessageAttributes: map[string]snstypes.MessageAttributeValue{"parity": {DataType: aws.String("String"), StringValue: aws.String(parity)}}})
				if err != nil {
					return // the server is gone: this one was never acknowledged
				}
				acked.Store(body, parity)
				count.Add(1)
			}
		}(w)
	}
	for count.Load() < 600 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	close(stop)
	wg.Wait()
	up.Store(true)

	p2 := startProcess(t, dir)
	q2 := p2.client()
	verified := 0
	drain := func(url string, rawBodies bool) map[string]bool {
		got := map[string]bool{}
		for {
			ms := receiveAfterCrash(t, q2, url, "")
			if len(ms) == 0 {
				// Done unless an answer was lost (its messages are in
				// flight, back after 5 s): every message received is
				// deleted at once.
				if attrs(t, q2, url)["ApproximateNumberOfMessagesNotVisible"] == "0" {
					return got
				}
				time.Sleep(200 * time.Millisecond)
				continue
			}
			for _, m := range ms {
				body := *m.Body
				if !rawBodies {
					// Notifications are stored unsigned and signed when
					// read: those stored before the kill are signed by
					// the restarted process, with the same key (whose
					// certificate it serves on its new port).
					if verified < 40 {
						verifySignatureAt(t, []byte(body), p2.url)
						verified++
					}
					body = decodeNotification(t, body).Message
				}
				got[body] = true
				del(t, q2, url, m)
			}
		}
	}
	gotPlain, gotRaw, gotEven := drain(plain, false), drain(raw, true), drain(even, false)
	missing := 0
	acked.Range(func(k, v any) bool {
		body := k.(string)
		if !gotPlain[body] || !gotRaw[body] || (v == "even") != gotEven[body] {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged publishes are missing from a queue after kill -9", missing, count.Load())
	}
	// The HTTP endpoint gets every acknowledged message once the outbox
	// resumes (at least once: the attempts made before the crash may
	// repeat).
	seen := map[string]bool{}
	deadline := time.After(2 * time.Minute)
	for {
		all := true
		acked.Range(func(k, _ any) bool {
			if !seen[k.(string)] {
				all = false
			}
			return all
		})
		if all {
			break
		}
		select {
		case pst := <-hook.got:
			var n notification
			if json.Unmarshal(pst.body, &n) == nil && n.Type == "Notification" {
				seen[n.Message] = true
			}
		case <-deadline:
			t.Fatalf("HTTP endpoint got %d distinct messages, want every one of %d acknowledged", len(seen), count.Load())
		}
	}
	t.Logf("%d acknowledged publishes survived kill -9 in 3 queues and at the HTTP endpoint", count.Load())
}

// TestAsyncInvokeCrashDurability: every asynchronous invocation that was
// answered 202 runs after kill -9 (at least once).
func TestAsyncInvokeCrashDurability(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "ran")
	p := startProcess(t, dir)
	c := lambda.NewFromConfig(servertest.Config(p.url, "AKIDCRASH", "secret"))
	// A slow function, so that most events are still queued at the crash.
	createFunction(t, c, "slow", shellFunction(`while true; do
  HEADERS=$(mktemp)
  EVENT=$(curl -sS -D "$HEADERS" "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next")
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '\r' | cut -d' ' -f2)
  sleep 0.05
  printf '%s\n' "$EVENT" >> "$OUT_FILE"
  curl -sS -X POST -d '{}' "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/$ID/response" >/dev/null
done
`), func(in *lambda.CreateFunctionInput) {
		in.Environment = &lambdatypes.Environment{Variables: map[string]string{"OUT_FILE": out}}
	})
	const n = 100
	for i := 0; i < n; i++ {
		invoke(t, c, "slow", map[string]int{"i": i}, func(in *lambda.InvokeInput) { in.InvocationType = lambdatypes.InvocationTypeEvent })
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	// The sandboxes of the killed process die with their process group.
	startProcess(t, dir)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		data, _ := os.ReadFile(out)
		seen := map[string]bool{}
		for _, l := range strings.Fields(string(data)) {
			seen[l] = true
		}
		if len(seen) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events ran after kill -9", len(seen), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWorkflowResumesAfterKill: a running execution resumes after kill -9
// where it was, its Wait keeping its deadline.
func TestWorkflowResumesAfterKill(t *testing.T) {
	dir := t.TempDir()
	p := startProcess(t, dir)
	c := sfn.NewFromConfig(servertest.Config(p.url, "AKIDCRASH", "secret"))
	def := `{"StartAt":"Before","States":{
  "Before":{"Type":"Pass","Result":{"step":1},"ResultPath":"$.before","Assign":{"saved.$":"$.step"},"Next":"Wait"},
  "Wait":{"Type":"Wait","Seconds":2,"Next":"After"},
  "After":{"Type":"Pass","Parameters":{"done":true,"saved.$":"$saved"},"ResultPath":"$.after","End":true}}}`
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("durable"), Definition: aws.String(def), RoleArn: aws.String(sfnRole)})
	if err != nil {
		t.Fatal(err)
	}
	start, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"order":7}`)})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // inside the Wait
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p2 := startProcess(t, dir)
	c2 := sfn.NewFromConfig(servertest.Config(p2.url, "AKIDCRASH", "secret"))
	out := waitExecution(t, c2, *start.ExecutionArn)
	// The variable assigned before the crash is still there after it.
	if out.Status != sfntypes.ExecutionStatusSucceeded || !strings.Contains(aws.ToString(out.Output), `"after":{"done":true,"saved":1}`) ||
		!strings.Contains(aws.ToString(out.Output), `"order":7`) {
		t.Fatalf("after kill -9: %s %s %s", out.Status, aws.ToString(out.Output), aws.ToString(out.Cause))
	}
	hist, err := c2.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: start.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	entered := 0
	for _, e := range hist.Events {
		if e.Type == sfntypes.HistoryEventTypeWaitStateEntered {
			entered++
		}
	}
	if entered != 1 {
		t.Fatalf("the Wait state was entered %d times; the resumed execution should continue it", entered)
	}
}

// TestWorkflowTaskCrash: kill -9 while a Lambda task is in flight and while
// a callback task waits for its token. After the restart the in-flight task
// runs again (the state's Retry rules allow it, as for any task failure)
// and the token sent before the crash still completes its task (issue 5:
// "task tokens stay valid").
func TestWorkflowTaskCrash(t *testing.T) {
	requireClient(t, "python3", "--version")
	dir := t.TempDir()
	p := startProcess(t, dir)
	cfg := servertest.Config(p.url, "AKIDCRASH", "secret")
	c, lc, q := sfn.NewFromConfig(cfg), lambda.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	createFunction(t, lc, "slow", codeZip(map[string]string{"app.py": `import time
def handler(event, context):
    time.sleep(event["sleep"])
    return {"slept": event["sleep"]}
`}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler, in.Timeout = lambdatypes.RuntimePython311, aws.String("app.handler"), aws.Int32(30)
	})
	url := create(t, q, "tokens", nil)
	def := `{"StartAt":"Slow","States":{
  "Slow":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:slow","ResultPath":"$.slow","Next":"Ask"},
  "Ask":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "Parameters":{"QueueUrl":"` + url + `","MessageBody":{"token.$":"$$.Task.Token"}},"ResultPath":"$.answer","End":true}}}`
	sm, err := c.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("tasks"), Definition: aws.String(def), RoleArn: aws.String(sfnRole)})
	if err != nil {
		t.Fatal(err)
	}
	start, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"sleep":3}`)})
	if err != nil {
		t.Fatal(err)
	}
	kill := func() {
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		p = startProcess(t, dir)
		cfg = servertest.Config(p.url, "AKIDCRASH", "secret")
		c, q = sfn.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	}
	// Kill inside the Lambda task: its TaskStateEntered is on record.
	waitHistory(t, c, *start.ExecutionArn, sfntypes.HistoryEventTypeTaskStateEntered)
	kill()
	// The task runs again and the execution reaches the callback.
	var token string
	deadline := time.Now().Add(60 * time.Second)
	for token == "" && time.Now().Before(deadline) {
		for _, m := range receive(t, q, url, 1, func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 1 }) {
			var body struct{ Token string }
			json.Unmarshal([]byte(*m.Body), &body)
			token = body.Token
		}
	}
	if token == "" {
		t.Fatal("the callback task never sent its token")
	}
	// Kill while the callback waits; the token outlives the process.
	kill()
	if _, err := c.SendTaskSuccess(ctx(t), &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{"approved":true}`)}); err != nil {
		t.Fatal(err)
	}
	out := waitExecution(t, c, *start.ExecutionArn)
	if out.Status != sfntypes.ExecutionStatusSucceeded || !strings.Contains(aws.ToString(out.Output), `"slow":{"slept":3}`) ||
		!strings.Contains(aws.ToString(out.Output), `"answer":{"approved":true}`) {
		t.Fatalf("after the kills: %s %s %s", out.Status, aws.ToString(out.Output), aws.ToString(out.Cause))
	}
	hist, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: start.ExecutionArn, MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	entered := map[string]int{}
	for _, e := range hist.Events {
		if e.StateEnteredEventDetails != nil {
			entered[*e.StateEnteredEventDetails.Name]++
		}
	}
	if entered["Slow"] != 1 || entered["Ask"] != 1 {
		t.Fatalf("states entered %v; each once, resumed rather than restarted", entered)
	}
}

// waitHistory waits until the execution's history holds an event of typ.
func waitHistory(t *testing.T, c *sfn.Client, arn string, typ sfntypes.HistoryEventType) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		h, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range h.Events {
			if e.Type == typ {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event in %s", typ, arn)
}

// TestObjectCrashDurability: every object whose PutObject was answered is
// there, whole, after kill -9; no blob outlives its record.
func TestObjectCrashDurability(t *testing.T) {
	dir := t.TempDir()
	p := startProcess(t, dir)
	c := s3.NewFromConfig(servertest.Config(p.url, "AKIDCRASH", "secret"), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("durable")}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 12
	want := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				key := fmt.Sprintf("w%d/o%d", w, i)
				body := bytes.Repeat([]byte(key), 1+(w*each+i)*97)
				if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("durable"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				want[key] = md5hex(body)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Overwrite one and delete one, so that old blobs must go.
	c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("durable"), Key: aws.String("w0/o0"), Body: strings.NewReader("replaced")})
	want["w0/o0"] = md5hex([]byte("replaced"))
	c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String("durable"), Key: aws.String("w0/o1")})
	delete(want, "w0/o1")
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p2 := startProcess(t, dir)
	c2 := s3.NewFromConfig(servertest.Config(p2.url, "AKIDCRASH", "secret"), func(o *s3.Options) { o.UsePathStyle = true })
	for key, sum := range want {
		out, err := c2.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("durable"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("%s after kill -9: %v", key, err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if md5hex(b) != sum {
			t.Fatalf("%s after kill -9: %d bytes that do not match", key, len(b))
		}
	}
	blobs, _ := os.ReadDir(filepath.Join(dir, "s3", "blobs"))
	if len(blobs) != len(want) {
		t.Fatalf("%d blobs for %d objects after the restart", len(blobs), len(want))
	}
}

// queuesTemplate is a stack of n named queues.
func queuesTemplate(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("Resources:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  Q%d:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: %s-%d}\n", i, prefix, i)
	}
	return b.String()
}

// queueCount counts the queues whose names start with prefix.
func queueCount(t *testing.T, c *sqs.Client, prefix string) int {
	t.Helper()
	n := 0
	p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(prefix + "-"), MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.QueueUrls)
	}
	return n
}

func settledStatus(t *testing.T, c *cloudformation.Client, name string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		ds, err := c.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			if strings.Contains(err.Error(), "does not exist") {
				return "DELETE_COMPLETE"
			}
			t.Fatal(err)
		}
		if st := string(ds.Stacks[0].StackStatus); !strings.HasSuffix(st, "_IN_PROGRESS") {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stack %s did not settle", name)
	return ""
}

// TestStackOperationsRecoverAfterKill: a deployment that kill -9
// interrupts is finished when forkline restarts, never left half done: a
// create ends complete or rolled back with nothing left, an update ends
// complete or rolled back to the previous resources, a delete completes.
func TestStackOperationsRecoverAfterKill(t *testing.T) {
	const n = 500
	dir := t.TempDir()
	p := startProcess(t, dir)
	cfg := servertest.Config(p.url, "AKIDCRASH", "secret")
	kill := func() {
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		p = startProcess(t, dir)
		cfg = servertest.Config(p.url, "AKIDCRASH", "secret")
	}

	// Create, killed as soon as its first queue exists (CreateStack
	// itself answers once the stack is done or after 3 s).
	go cloudformation.NewFromConfig(cfg).CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("crash"),
		TemplateBody: aws.String(queuesTemplate("old", n))})
	for deadline := time.Now().Add(time.Minute); queueCount(t, sqs.NewFromConfig(cfg), "old") == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the create did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	kill()
	c, q := cloudformation.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	base := "old"
	switch st := settledStatus(t, c, "crash"); st {
	case "CREATE_COMPLETE":
		t.Log("the create finished before the kill")
		if got := queueCount(t, q, "old"); got != n {
			t.Fatalf("%d queues after CREATE_COMPLETE", got)
		}
	case "ROLLBACK_COMPLETE":
		if got := queueCount(t, q, "old"); got != 0 {
			t.Fatalf("%d queues left after ROLLBACK_COMPLETE", got)
		}
		// A rolled-back stack can only be deleted; start again, under
		// other queue names (SQS refuses a name deleted in the last 60 s).
		base = "base"
		c.DeleteStack(ctx(t), &cloudformation.DeleteStackInput{StackName: aws.String("crash")})
		if st := settledStatus(t, c, "crash"); st != "DELETE_COMPLETE" {
			t.Fatalf("delete after rollback: %s", st)
		}
		if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("crash"), TemplateBody: aws.String(queuesTemplate(base, n))}); err != nil {
			t.Fatal(err)
		}
		if st := settledStatus(t, c, "crash"); st != "CREATE_COMPLETE" {
			t.Fatalf("create: %s", st)
		}
	default:
		t.Fatalf("after the restart the create ended in %s", st)
	}

	// Update to a wholly different set of queues, killed at once.
	if _, err := c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("crash"),
		TemplateBody: aws.String(strings.ReplaceAll(queuesTemplate("new", n), "  Q", "  N"))}); err != nil {
		t.Fatal(err)
	}
	kill()
	c, q = cloudformation.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	switch st := settledStatus(t, c, "crash"); st {
	case "UPDATE_COMPLETE":
		t.Log("the update finished before the kill")
		if o, nw := queueCount(t, q, base), queueCount(t, q, "new"); o != 0 || nw != n {
			t.Fatalf("after UPDATE_COMPLETE: %d old queues, %d new", o, nw)
		}
	case "UPDATE_ROLLBACK_COMPLETE":
		if o, nw := queueCount(t, q, base), queueCount(t, q, "new"); o != n || nw != 0 {
			t.Fatalf("after UPDATE_ROLLBACK_COMPLETE: %d old queues, %d new", o, nw)
		}
	default:
		t.Fatalf("after the restart the update ended in %s", st)
	}

	// Delete, killed at once.
	if _, err := c.DeleteStack(ctx(t), &cloudformation.DeleteStackInput{StackName: aws.String("crash")}); err != nil {
		t.Fatal(err)
	}
	kill()
	c, q = cloudformation.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	if st := settledStatus(t, c, "crash"); st != "DELETE_COMPLETE" {
		t.Fatalf("after the restart the delete ended in %s", st)
	}
	if o, nw := queueCount(t, q, base), queueCount(t, q, "new"); o+nw != 0 {
		t.Fatalf("after the delete: %d old queues, %d new", o, nw)
	}
}

// A second server on a data directory in use says so, instead of Pebble's
// "resource temporarily unavailable".
func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	startProcess(t, dir)
	cmd := exec.Command(forklineBinary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another process (a forkline already running?) has it open") {
		t.Fatalf("second server: %v\n%s", err, out)
	}
}
