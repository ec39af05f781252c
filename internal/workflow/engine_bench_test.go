package workflow

import (
	"context"
	"os"
	"testing"

	"github.com/forkline/forkline/internal/store/pebblestore"
)

// BenchmarkEngine runs bench/sfnload's machines as EXPRESS executions (in
// memory) for profiling: go test -bench Engine -cpuprofile cpu.out.
func BenchmarkEngine(b *testing.B) {
	for _, name := range []string{"pass_choice10", "parallel2"} {
		b.Run(name, func(b *testing.B) {
			def, err := os.ReadFile("../../bench/sfnload/testdata/" + name + ".json")
			if err != nil {
				b.Fatal(err)
			}
			in, err := os.ReadFile("../../bench/sfnload/testdata/" + name + ".input.json")
			if err != nil {
				b.Fatal(err)
			}
			st, err := pebblestore.Open(b.TempDir(), pebblestore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			svc, err := New(ctx, st, Config{Region: "us-east-1", AccountID: "000000000000"})
			if err != nil {
				b.Fatal(err)
			}
			defer svc.Close()
			m, err := svc.CreateStateMachine(ctx, name, string(def), "arn:aws:iam::000000000000:role/r", "EXPRESS")
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				out, err := svc.StartSyncExecution(ctx, m.Arn, "", string(in))
				if err != nil || out.Status != "SUCCEEDED" {
					b.Fatal(out, err)
				}
			}
		})
	}
}
