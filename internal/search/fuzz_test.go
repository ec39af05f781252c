package search

import (
	"context"
	"errors"
	"testing"

	"github.com/forkline/forkline/internal/store/pebblestore"
)

// FuzzSearch: any request body gets results or a client error (parsing,
// validation, missing index), never a panic or an internal error.
func FuzzSearch(f *testing.F) {
	st, err := pebblestore.Open(f.TempDir(), pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	s, err := New(context.Background(), st, Config{Region: "us-east-1", AccountID: "000000000000"})
	if err != nil {
		f.Fatal(err)
	}
	s.CreateDomain(context.Background(), "shop", "OpenSearch_2.11")
	var docs [][]byte
	for _, o := range orders {
		docs = append(docs, []byte(o))
	}
	if _, err := s.Bulk(context.Background(), "shop", "orders", docs); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{`{}`, `{"query":{"match":{"customer":"ada"}}}`, `{"query":{"bool":{"should":[{"term":{"amount":40}}],"minimum_should_match":"1"}}}`,
		`{"query":{"range":{"time":{"gte":"now-1d/d","lt":"now"}}},"aggs":{"h":{"date_histogram":{"field":"time","fixed_interval":"30m"}}}}`,
		`{"size":0,"aggs":{"s":{"terms":{"field":"status.keyword","size":1},"aggs":{"m":{"max":{"field":"amount"}}}}}}`,
		`{"query":{"query_string":{"query":"ada AND NOT turing"}},"sort":[{"amount":"desc"}],"from":1,"size":2}`,
		`{"aggs":{"h":{"histogram":{"field":"amount","interval":0}}}}`, `[1,2]`, `{"query":"x"}`,
		`{"query":{"query_string":{"query":"lovelace OR (book -pen) \"paid twice\"~2 turi* /gr.ce/ amount:>40"}}}`,
		`{"query":{"bool":{"must":{"match":{"_all":"ada"}},"filter":{"multi_match":{"query":"paid"}}}}}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, err := s.Search(context.Background(), "shop", "orders", []byte(body), false)
		var se *Error
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("%q: internal error %v", body, err)
		}
	})
}
