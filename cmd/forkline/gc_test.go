package main

import "testing"

// TestMemoryLimitFollowsLiveHeap: the soft limit is 160 MiB until the live
// heap needs more, then half again the live heap, so that the collector
// does not run back to back under a large backlog.
func TestMemoryLimitFollowsLiveHeap(t *testing.T) {
	for _, c := range []struct{ live, beside, want int64 }{
		{0, 0, 160 << 20}, {100 << 20, 0, 160 << 20}, {200 << 20, 0, 300 << 20}, {200 << 20, 80 << 20, 380 << 20},
	} {
		if got := memoryLimit(uint64(c.live), uint64(c.beside)); got != c.want {
			t.Fatalf("memoryLimit(%d, %d) = %d, want %d", c.live, c.beside, got, c.want)
		}
	}
}
