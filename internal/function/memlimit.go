package function

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// memoryLimiter enforces MemorySize with a memory cgroup per sandbox where
// the host lets forkline create one (cgroup v2 with the memory
// controller, or the v1 memory hierarchy); elsewhere the size is only
// reported. A sandbox over its limit is killed by the kernel and reported
// as Runtime.ExitError, as Lambda reports it.
type memoryLimiter struct {
	root string // the directory under which sandbox cgroups are made
	v2   bool
}

// limiterSeq tells apart the services of one process (tests run many).
var limiterSeq atomic.Uint64

// newMemoryLimiter finds a usable cgroup hierarchy, or returns nil. Each
// function service works under BASE/forkline/PID-N, and removes what
// processes that died (kill -9) left behind.
func newMemoryLimiter() *memoryLimiter {
	pid := fmt.Sprintf("%d-%d", os.Getpid(), limiterSeq.Add(1))
	if data, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(data), "memory") {
		base := "/sys/fs/cgroup/forkline"
		if os.MkdirAll(base, 0o755) == nil {
			// Delegate the memory controller to the sandboxes below.
			os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+memory"), 0)
			os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+memory"), 0)
			sweep(base)
			root := filepath.Join(base, pid)
			if os.Mkdir(root, 0o755) == nil {
				os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+memory"), 0)
				if probe(root) {
					return &memoryLimiter{root: root, v2: true}
				}
				os.Remove(root)
			}
		}
	}
	base := "/sys/fs/cgroup/memory/forkline"
	if os.MkdirAll(base, 0o755) == nil {
		sweep(base)
		root := filepath.Join(base, pid)
		if os.Mkdir(root, 0o755) == nil {
			if probe(root) {
				return &memoryLimiter{root: root}
			}
			os.Remove(root)
		}
	}
	return nil
}

// sweep removes the cgroups of forkline processes that no longer run
// (a cgroup directory goes only once no process is in it).
func sweep(base string) {
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		owner, _, _ := strings.Cut(e.Name(), "-")
		if _, err := strconv.Atoi(owner); err != nil {
			os.Remove(filepath.Join(base, e.Name())) // an old layout's sandbox
			continue
		}
		if _, err := os.Stat("/proc/" + owner); err == nil {
			continue // that forkline still runs
		}
		dir := filepath.Join(base, e.Name())
		subs, _ := os.ReadDir(dir)
		for _, sub := range subs {
			if sub.IsDir() {
				os.Remove(filepath.Join(dir, sub.Name()))
			}
		}
		os.Remove(dir)
	}
}

// close removes this process's cgroup directory (its sandboxes are gone).
func (m *memoryLimiter) close() {
	if m != nil {
		os.Remove(m.root)
	}
}

// probe checks that a child cgroup can be made and removed under root.
func probe(root string) bool {
	dir := filepath.Join(root, fmt.Sprintf("probe-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return false
	}
	return os.Remove(dir) == nil
}

// limit puts pid in a new cgroup capped at mb megabytes and returns a
// function that removes the cgroup once the process has exited.
func (m *memoryLimiter) limit(pid, mb int, name string) (func(), error) {
	dir := filepath.Join(m.root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	bytes := strconv.FormatInt(int64(mb)<<20, 10)
	var err error
	if m.v2 {
		err = os.WriteFile(filepath.Join(dir, "memory.max"), []byte(bytes), 0)
		if err == nil {
			os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0)
		}
	} else {
		err = os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(bytes), 0)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
	}
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return func() { os.Remove(dir) }, nil
}
