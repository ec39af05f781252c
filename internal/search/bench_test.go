package search

import (
	"context"
	"fmt"
	"testing"

	"github.com/forkline/forkline/internal/store/pebblestore"
)

// BenchmarkBulk indexes checkout events as the search pipeline delivers
// them, 1,000 per Bulk.
func BenchmarkBulk(b *testing.B) {
	st, err := pebblestore.Open(b.TempDir(), pebblestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s, err := New(context.Background(), st, Config{Region: "us-east-1", AccountID: "000000000000", Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateDomain(context.Background(), "shop", "OpenSearch_2.11"); err != nil {
		b.Fatal(err)
	}
	docs := make([][]byte, 1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range docs {
			docs[j] = fmt.Appendf(nil, `{"id":"order-%d","amount":250,"customer":"Ada Lovelace","time":"2026-11-27T07:00:00Z","payment":{"type":"card"}}`, i*1000+j)
		}
		if _, err := s.Bulk(context.Background(), "shop", "checkout", docs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(docs)), "µs/doc")
}
