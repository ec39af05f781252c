package topic

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/store/pebblestore"
)

// TestSignatureRecords checks that a signature computed once is found by a
// signer that never computed it (another queue's read after the memory
// cache forgot it, or after a restart), and that the sweep drops records
// of notifications past sigKeep.
func TestSignatureRecords(t *testing.T) {
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys := t.TempDir()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	start := func() (*signer, func()) {
		sg := &signer{dir: keys, region: "us-east-1", records: newSigRecords(st, slog.Default(), func() time.Time { return now })}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); sg.records.run(ctx) }()
		return sg, func() { cancel(); <-done }
	}
	text := notificationToSign("m-1", "arn:aws:sns:us-east-1:000000000000:t", "", false, "hello", "2026-11-28T11:59:00.000Z")
	ctx := context.Background()

	first, stop := start()
	sig := first.signCached(ctx, "1", text, "2026-11-28T11:59:00.000Z")
	stop() // writes what is queued
	if sig == "" || first.signs.Load() != 1 {
		t.Fatalf("first signature %q, %d signed", sig, first.signs.Load())
	}

	second, stop := start()
	if got := second.signCached(ctx, "1", text, "2026-11-28T11:59:00.000Z"); got != sig || second.signs.Load() != 0 {
		t.Fatalf("second read: %q (want %q), %d signed", got, sig, second.signs.Load())
	}
	// Version 2 is another signature.
	if got := second.signCached(ctx, "2", text, "2026-11-28T11:59:00.000Z"); got == sig || second.signs.Load() != 1 {
		t.Fatalf("version 2: %q, %d signed", got, second.signs.Load())
	}
	stop()

	// A new key pair does not take the old one's signatures.
	other, stop := start()
	other.dir = t.TempDir()
	if got := other.signCached(ctx, "1", text, "2026-11-28T11:59:00.000Z"); got == sig || other.signs.Load() != 1 {
		t.Fatalf("another key: %q, %d signed", got, other.signs.Load())
	}
	stop()

	// Fifteen days and an hour later the sweep at start drops it.
	now = now.Add(sigKeep + time.Hour)
	third, stop := start()
	stop()
	if got := third.signCached(ctx, "1", text, "2026-11-28T11:59:00.000Z"); got != sig || third.signs.Load() != 1 {
		t.Fatalf("after the sweep: %q, %d signed", got, third.signs.Load())
	}
}
