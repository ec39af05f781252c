package main

import (
	"os"
	"sync"
	"syscall"
	"time"
)

// groupLog is the durable null server's log: every request's bytes are
// appended and synced before it is answered, and concurrent requests share
// a write and an fdatasync, the way a group-committing store shares them.
// It does nothing else a store does (no index, no memtable, no
// compaction), so its rate is the ceiling of any server that answers only
// what is on disk, on this host. It writes over a file written and synced
// beforehand, wrapping around, and syncs with fdatasync: the cheapest
// durable write here (an fdatasync of blocks appended to a file must also
// sync the file's size).
type groupLog struct {
	f       *os.File
	off     int64
	size    int64
	window  time.Duration // least time between two syncs' starts, as forkline's --group-commit-window
	dsync   bool          // the file is open with O_DSYNC: each write is synced, no fdatasync follows
	last    time.Time
	mu      sync.Mutex
	pending []byte
	waiters []chan error
	busy    bool // a write and sync are under way
}

// openGroupLog writes size bytes of zeros to a new log in dir and syncs
// them, so that records later overwrite blocks already on disk.
func openGroupLog(dir string, window time.Duration, size int64, dsync bool) (*groupLog, error) {
	f, err := os.OpenFile(dir+"/null.log", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	zero := make([]byte, 1<<20)
	for i := int64(0); i < size>>20; i++ {
		if _, err := f.Write(zero); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if dsync {
		f.Close()
		if f, err = os.OpenFile(dir+"/null.log", os.O_WRONLY|syscall.O_DSYNC, 0); err != nil {
			return nil, err
		}
	}
	return &groupLog{f: f, size: size, window: window, dsync: dsync}, nil
}

// append returns once rec is on disk. The first writer to find no sync
// under way becomes the leader and syncs what has gathered, again and
// again, until nothing is left; the others wait for its answer.
func (g *groupLog) append(rec []byte) error {
	done := make(chan error, 1)
	g.mu.Lock()
	g.pending = append(g.pending, rec...)
	g.waiters = append(g.waiters, done)
	if g.busy {
		g.mu.Unlock()
		return <-done
	}
	g.busy = true
	for len(g.waiters) > 0 {
		if wait := g.window - time.Since(g.last); wait > 0 {
			// Let more writers join the group, as Pebble's
			// WALMinSyncInterval does in forkline.
			g.mu.Unlock()
			time.Sleep(wait)
			g.mu.Lock()
		}
		g.last = time.Now()
		buf, ws := g.pending, g.waiters
		g.pending, g.waiters = nil, nil
		g.mu.Unlock()
		if g.off+int64(len(buf)) > g.size {
			g.off = 0
		}
		_, err := g.f.WriteAt(buf, g.off)
		g.off += int64(len(buf))
		if err == nil && !g.dsync {
			err = syscall.Fdatasync(int(g.f.Fd()))
		}
		for _, w := range ws {
			w <- err
		}
		g.mu.Lock()
	}
	g.busy = false
	g.mu.Unlock()
	return <-done
}
