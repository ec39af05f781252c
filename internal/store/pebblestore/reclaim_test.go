package pebblestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/store"
)

// dataBytes is the size of the tables and blob files in dir: what holds
// messages once the write-ahead log is flushed (Pebble keeps and recycles
// a few logs).
func dataBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(d.Name()) != ".sst" && filepath.Ext(d.Name()) != ".blob") {
			return err
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReclaimCompactsDeletedRanges: what deletions free (messages deleted
// one by one, or a queue purged) leaves the disk once the reclaimer
// compacts the ranges, without further writes or a restart.
func TestReclaimCompactsDeletedRanges(t *testing.T) {
	for _, purge := range []bool{false, true} {
		name := "deleted one by one"
		if purge {
			name = "purged"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			st, err := Open(dir, Options{MemTableBytes: 4 << 20, CacheBytes: 4 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var qb store.Batch
			qb.PutQueue(store.Queue{ID: 1, Name: "q"})
			if err := st.Commit(ctx, &qb); err != nil {
				t.Fatal(err)
			}
			const n, size = 6000, 4096
			raw := make([]byte, size/2)
			for i := uint64(1); i <= n; i += 100 {
				var b store.Batch
				for j := i; j < i+100; j++ {
					rand.Read(raw) // incompressible, as the audit's bodies
					b.PutMessage(1, benchMessage(j, hex.EncodeToString(raw)))
				}
				if err := st.Commit(ctx, &b); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.db.Flush(); err != nil {
				t.Fatal(err)
			}
			full := dataBytes(t, dir)
			if purge {
				var b store.Batch
				b.Purge(1, n)
				if err := st.Commit(ctx, &b); err != nil {
					t.Fatal(err)
				}
			} else {
				for i := uint64(1); i <= n; i += 100 {
					var b store.Batch
					for j := i; j < i+100; j++ {
						b.DeleteMessage(1, j)
					}
					if err := st.Commit(ctx, &b); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := st.reclaimNow(ctx); err != nil {
				t.Fatal(err)
			}
			// Pebble deletes obsolete files in the background.
			deadline := time.Now().Add(30 * time.Second)
			for dataBytes(t, dir) > full/10 {
				if time.Now().After(deadline) {
					t.Fatalf("after the deletions and a reclaim the tables and blob files take %d bytes, %d when full", dataBytes(t, dir), full)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
