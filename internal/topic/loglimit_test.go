package topic

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestLogLimiter: one warning per key and interval; the next reports how
// many were held back.
func TestLogLimiter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var l logLimiter
	for range 5 {
		l.warn(log, "sub-a", "delivery failed")
	}
	l.warn(log, "sub-b", "delivery failed")
	if n := strings.Count(buf.String(), "delivery failed"); n != 2 {
		t.Fatalf("%d warnings logged, want one per key:\n%s", n, buf.String())
	}
	l.keys["sub-a"].last = l.keys["sub-a"].last.Add(-logEvery)
	l.warn(log, "sub-a", "delivery failed")
	if !strings.Contains(buf.String(), `"alike since the last warning"=4`) {
		t.Fatalf("the held-back count is missing:\n%s", buf.String())
	}
}
