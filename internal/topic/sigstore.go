package topic

import (
	"context"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/forkline/forkline/internal/store"
)

// Computed signatures of notifications read from queues (ADR 0006,
// addendum of session 14). A notification's copies in several queues all
// carry one signature, which the first read computes (about a millisecond
// of RSA); the signer's memory cache keeps recent ones. These records keep
// them beyond it: for a queue read far behind the others, and after a
// restart. They are a cache: signatures are deterministic, so a record
// lost (a crash before its write, the sweep) only costs signing again.
//
// Keys are the notification's Timestamp to the hour, so that the sweep
// deletes whole hours with one range, then the signing certificate's name
// (a new key pair never takes the old one's signatures), then the cache
// key in hex.
const (
	nsSig = "sns.sig"
	// sigKeep is how long records are kept after their notification's
	// time: past SQS's longest retention (14 days).
	sigKeep = 15 * 24 * time.Hour
	// sigBatch bounds the records written in one commit.
	sigBatch = 256
)

// sigRecords writes and reads the signature records. Writes are queued and
// committed in batches by run, off the read that computed them.
type sigRecords struct {
	st  store.Store
	log *slog.Logger
	now func() time.Time
	ch  chan sigPut
}

type sigPut struct{ key, sig string }

func newSigRecords(st store.Store, log *slog.Logger, now func() time.Time) *sigRecords {
	return &sigRecords{st: st, log: log, now: now, ch: make(chan sigPut, 4*sigBatch)}
}

// sigKey is the record key of the signature with cache key k, made with
// the certificate named cert, of a notification published at ts (RFC
// 3339, as in the envelope).
func sigKey(ts, cert string, k [33]byte) string {
	hour := "0000-00-00T00"
	if len(ts) >= len(hour) && ts[4] == '-' && ts[10] == 'T' {
		hour = ts[:len(hour)]
	}
	return hour + "/" + cert + "/" + hex.EncodeToString(k[:])
}

// get returns a recorded signature, or "".
func (r *sigRecords) get(ctx context.Context, key string) string {
	v, err := r.st.GetRecord(ctx, nsSig, key)
	if err != nil {
		return ""
	}
	return string(v)
}

// put queues a record for writing; when the queue is full it is dropped
// (the signature is computed again when needed).
func (r *sigRecords) put(key, sig string) {
	select {
	case r.ch <- sigPut{key, sig}:
	default:
	}
}

// run writes queued records in batches and sweeps expired ones hourly,
// until ctx ends; what is queued then is written before it returns.
func (r *sigRecords) run(ctx context.Context) {
	sweep := time.NewTicker(time.Hour)
	defer sweep.Stop()
	r.sweep(ctx)
	for {
		select {
		case p := <-r.ch:
			r.write(ctx, p)
		case <-sweep.C:
			r.sweep(ctx)
		case <-ctx.Done():
			for {
				select {
				case p := <-r.ch:
					r.write(context.Background(), p)
				default:
					return
				}
			}
		}
	}
}

// write commits p and whatever else is queued, up to sigBatch records.
func (r *sigRecords) write(ctx context.Context, p sigPut) {
	var b store.Batch
	b.PutRecord(nsSig, p.key, []byte(p.sig))
	for b.Len() < sigBatch {
		select {
		case p := <-r.ch:
			b.PutRecord(nsSig, p.key, []byte(p.sig))
			continue
		default:
		}
		break
	}
	if err := r.st.Commit(ctx, &b); err != nil && ctx.Err() == nil {
		r.log.Warn("signature records not written", "count", b.Len(), "err", err)
	}
}

// sweep deletes the records of notifications older than sigKeep.
func (r *sigRecords) sweep(ctx context.Context) {
	cutoff := r.now().Add(-sigKeep).UTC().Format("2006-01-02T15")
	var b store.Batch
	b.DeleteRecordRange(nsSig, "", cutoff)
	if err := r.st.Commit(ctx, &b); err != nil && ctx.Err() == nil {
		r.log.Warn("expired signature records not deleted", "err", err)
	}
}
