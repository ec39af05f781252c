// Command storeengine compares the embedded storage engines forkline could
// use, Pebble and bbolt, on forkline's queue workload: concurrent durable
// commits of one 1 KiB message each (content and state under two keys, as
// pebblestore lays them out), then receive-and-delete (read both keys,
// rewrite the state, delete both keys) in durable batches of 10. Each engine
// uses its own group commit: Pebble's commit pipeline (concurrent Sync
// commits share a WAL fsync), bbolt's DB.Batch. The figures are recorded in
// docs/adr/0001-embedded-store.md.
//
//	go run ./bench/storeengine [-n 20000] [-writers 64]
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	bolt "go.etcd.io/bbolt"
)

var (
	n       = flag.Int("n", 20000, "messages")
	writers = flag.Int("writers", 64, "concurrent writers")
)

type engine interface {
	name() string
	put(seq uint64, body, state []byte) error
	take(seqs []uint64) error // read content+state, then delete both
	close() error
}

func key(prefix byte, seq uint64) []byte {
	k := make([]byte, 17)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], 1)
	binary.BigEndian.PutUint64(k[9:], seq)
	return k
}

type pebbleEngine struct{ db *pebble.DB }

func (p *pebbleEngine) name() string { return "pebble v2 (Sync commits)" }
func (p *pebbleEngine) put(seq uint64, body, state []byte) error {
	b := p.db.NewBatch()
	b.Set(key('m', seq), body, nil)
	b.Set(key('s', seq), state, nil)
	return b.Commit(pebble.Sync)
}
func (p *pebbleEngine) take(seqs []uint64) error {
	b := p.db.NewBatch()
	for _, s := range seqs {
		for _, pre := range []byte{'m', 's'} {
			v, c, err := p.db.Get(key(pre, s))
			if err != nil {
				return err
			}
			_ = v
			c.Close()
			b.Delete(key(pre, s), nil)
		}
	}
	return b.Commit(pebble.Sync)
}
func (p *pebbleEngine) close() error { return p.db.Close() }

type boltEngine struct{ db *bolt.DB }

func (b *boltEngine) name() string { return "bbolt (DB.Batch)" }
func (b *boltEngine) put(seq uint64, body, state []byte) error {
	return b.db.Batch(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte("q"))
		if err := bk.Put(key('m', seq), body); err != nil {
			return err
		}
		return bk.Put(key('s', seq), state)
	})
}
func (b *boltEngine) take(seqs []uint64) error {
	return b.db.Batch(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte("q"))
		for _, s := range seqs {
			for _, pre := range []byte{'m', 's'} {
				if bk.Get(key(pre, s)) == nil {
					return fmt.Errorf("missing %d", s)
				}
				if err := bk.Delete(key(pre, s)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
func (b *boltEngine) close() error { return b.db.Close() }

func main() {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "storeengine")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	pdb, err := pebble.Open(filepath.Join(tmp, "pebble"), &pebble.Options{Cache: pebble.NewCache(32 << 20), MemTableSize: 16 << 20})
	if err != nil {
		panic(err)
	}
	bdb, err := bolt.Open(filepath.Join(tmp, "bolt"), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		panic(err)
	}
	bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("q")); return err })
	fmt.Printf("%d messages of 1 KiB, %d concurrent writers, then receive+delete in batches of 10 from %d workers\n\n", *n, *writers, *writers/4)
	fmt.Println("| engine | durable sends/s | receive+delete msgs/s |")
	fmt.Println("| --- | --- | --- |")
	for _, e := range []engine{&pebbleEngine{pdb}, &boltEngine{bdb}} {
		body := make([]byte, 1024)
		state := make([]byte, 24)
		var next atomic.Uint64
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < *writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					s := next.Add(1)
					if s > uint64(*n) {
						return
					}
					if err := e.put(s, body, state); err != nil {
						panic(err)
					}
				}
			}()
		}
		wg.Wait()
		sends := float64(*n) / time.Since(start).Seconds()
		var taken atomic.Uint64
		start = time.Now()
		for w := 0; w < *writers/4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					first := taken.Add(10) - 9
					if first > uint64(*n) {
						return
					}
					var seqs []uint64
					for s := first; s < first+10 && s <= uint64(*n); s++ {
						seqs = append(seqs, s)
					}
					if err := e.take(seqs); err != nil {
						panic(err)
					}
				}
			}()
		}
		wg.Wait()
		takes := float64(*n) / time.Since(start).Seconds()
		fmt.Printf("| %s | %.0f | %.0f |\n", e.name(), sends, takes)
		e.close()
	}
}
