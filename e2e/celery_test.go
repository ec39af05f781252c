package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestCeleryWorker runs a Celery worker (Debian's python3-celery and
// python3-kombu) on forkline's SQS, as a Celery user points an app at it:
// only the broker URL changes. kombu sets queues up, sends and deletes
// through boto3, and long-polls with its own asynchronous query-protocol
// client (pycurl, its own signing and XML parsing). The app is
// testdata/celery: plain tasks, a task that fails once and is retried with a
// delay, a countdown, and tasks kept in order by a FIFO queue.
func TestCeleryWorker(t *testing.T) {
	requireClient(t, "/usr/bin/python3", "-c", "import boto3, celery, kombu, pycurl")
	s, c := start(t, false)
	dir := t.TempDir()
	for _, f := range []string{"tasks.py", "produce.py"} {
		b, err := os.ReadFile(filepath.Join("testdata/celery", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out.txt")
	env := append(cleanEnv(), "BROKER=sqs://AKIDCLI:secret@"+strings.TrimPrefix(s.URL, "http://"),
		"OUT="+out, "PYTHONDONTWRITEBYTECODE=1", "HOME="+dir)

	worker := exec.Command("/usr/bin/python3", "-m", "celery", "-A", "tasks", "worker",
		"-Q", "celery-e2e,celery-e2e.fifo", "--pool", "solo", "--without-heartbeat",
		"--without-mingle", "--without-gossip", "-l", "info")
	worker.Dir, worker.Env = dir, env
	log := &lockedBuffer{}
	worker.Stdout, worker.Stderr = log, log
	// Its own process group, so that stopping it leaves nothing behind.
	worker.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once the worker has exited, with its error in
	// waitErr.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = worker.Wait(); close(exited) }()
	stop := func() {
		syscall.Kill(-worker.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			syscall.Kill(-worker.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	t.Cleanup(stop)

	produce := exec.CommandContext(ctx(t), "/usr/bin/python3", "produce.py")
	produce.Dir, produce.Env = dir, env
	if b, err := produce.CombinedOutput(); err != nil || !strings.Contains(string(b), "sent") {
		t.Fatalf("producer: %v\n%s", err, b)
	}

	want := []string{"add 100", "add 101", "add 102", "add 103", "add 104", "add 1000",
		"flaky x after 1 retry", "step 0", "step 1", "step 2", "step 3", "step 4"}
	var lines []string
	for deadline := time.Now().Add(90 * time.Second); ; {
		b, _ := os.ReadFile(out)
		lines = nil
		if t := strings.TrimSpace(string(b)); t != "" {
			lines = strings.Split(t, "\n")
		}
		if len(lines) >= len(want) || time.Now().After(deadline) {
			break
		}
		select {
		case <-exited:
			t.Fatalf("worker exited: %v\n%s", waitErr, log.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	var steps []string
	for _, l := range lines {
		if strings.HasPrefix(l, "step ") {
			steps = append(steps, l)
		}
	}
	if !slices.Equal(steps, want[7:]) {
		t.Errorf("FIFO tasks ran in the order %q, want %q", steps, want[7:])
	}
	got := slices.Clone(lines)
	slices.Sort(got)
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	if !slices.Equal(got, sorted) {
		t.Fatalf("tasks run: %q\nwant (any order): %q\nworker log:\n%s", lines, want, log.String())
	}

	// Every task message was deleted once its task was taken (Celery
	// acknowledges before running a task unless told otherwise).
	for _, name := range []string{"celery-e2e", "celery-e2e.fifo"} {
		q, err := c.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatalf("GetQueueUrl %s: %v", name, err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			n := counts(t, c, *q.QueueUrl)
			if n == [3]string{"0", "0", "0"} {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still holds messages (visible, in flight, delayed): %v\nworker log:\n%s", name, n, log.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	stop()
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
