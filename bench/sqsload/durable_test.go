package main

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Every record appended concurrently is in the log once the appends
// return, each whole.
func TestGroupLogKeepsEveryRecord(t *testing.T) {
	dir := t.TempDir()
	for i, w := range []time.Duration{0, 100 * time.Microsecond, 0} {
		g, err := openGroupLog(dir, w, 1<<20, i == 2)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := g.append([]byte(fmt.Sprintf("<record %03d>", i))); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		g.f.Close()
		data, err := os.ReadFile(dir + "/null.log")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 200; i++ {
			if !bytes.Contains(data, []byte(fmt.Sprintf("<record %03d>", i))) {
				t.Fatalf("window %s: record %d missing", w, i)
			}
		}
	}
}
