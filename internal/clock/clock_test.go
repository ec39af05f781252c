package clock

import (
	"testing"
	"time"
)

func TestFakeTimers(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	a := f.NewTimer(2 * time.Second)
	b := f.NewTimer(time.Second)
	stopped := f.NewTimer(time.Second)
	if !stopped.Stop() || f.Pending() != 2 {
		t.Fatalf("Stop or Pending wrong: %d", f.Pending())
	}
	f.Advance(time.Second)
	select {
	case <-b.C():
	default:
		t.Fatal("1 s timer did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("2 s timer fired early")
	default:
	}
	f.Advance(time.Second)
	<-a.C()
	if f.NewTimer(0) == nil || f.Pending() != 0 {
		t.Fatal("zero timer should fire at once")
	}
}
