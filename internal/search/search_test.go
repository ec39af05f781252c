package search

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/store/pebblestore"
)

var orders = []string{
	`{"order":1,"customer":"Ada Lovelace","status":"paid","amount":250,"time":"2026-11-27T07:05:00Z","items":[{"sku":"book"}]}`,
	`{"order":2,"customer":"Alan Turing","status":"pending","amount":40,"time":"2026-11-27T07:35:00Z","items":[{"sku":"pen"}]}`,
	`{"order":3,"customer":"Grace Hopper","status":"paid","amount":120,"time":"2026-11-27T08:10:00Z","items":[{"sku":"book"},{"sku":"lamp"}]}`,
	`{"order":4,"customer":"Ada Byron","status":"refunded","amount":90.5,"time":"2026-11-27T09:59:00Z","note":"Paid twice, refunded"}`,
}

func setup(t *testing.T) (*Service, func() *Service) {
	t.Helper()
	dir := t.TempDir()
	st, err := pebblestore.Open(dir, pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(context.Background(), st, Config{Region: "us-east-1", AccountID: "000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateDomain(context.Background(), "shop", "OpenSearch_2.11"); err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, o := range orders {
		docs = append(docs, []byte(o))
	}
	docs = append(docs, []byte("not json"))
	failed, err := s.Bulk(context.Background(), "arn:aws:es:us-east-1:000000000000:domain/shop", "orders-2026-11-27", docs)
	if err != nil || len(failed) != 1 || failed[4] == "" {
		t.Fatalf("bulk: %v %v", failed, err)
	}
	reopen := func() *Service {
		s2, err := New(context.Background(), st, Config{Region: "us-east-1", AccountID: "000000000000"})
		if err != nil {
			t.Fatal(err)
		}
		return s2
	}
	return s, reopen
}

func orderIDs(t *testing.T, s *Service, index, q string) string {
	t.Helper()
	res, err := s.Search(context.Background(), "shop", index, []byte(q), false)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var ids []string
	for _, h := range res["hits"].(map[string]any)["hits"].([]map[string]any) {
		ids = append(ids, fmt.Sprint(h["_source"].(map[string]any)["order"]))
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// The query DSL subset, on the semantics of the OpenSearch query DSL
// reference (match analyzes, term is exact on .keyword, range, bool...).
func TestQueries(t *testing.T) {
	s, reopen := setup(t)
	cases := []struct{ q, want string }{
		{`{}`, "1,2,3,4"},
		{`{"query":{"match_all":{}}}`, "1,2,3,4"},
		{`{"query":{"match":{"customer":"ada"}}}`, "1,4"},
		{`{"query":{"match":{"customer":{"query":"ada lovelace","operator":"and"}}}}`, "1"},
		{`{"query":{"match_phrase":{"note":"paid twice"}}}`, "4"},
		{`{"query":{"term":{"status.keyword":"paid"}}}`, "1,3"},
		{`{"query":{"term":{"customer.keyword":"Ada"}}}`, ""},
		{`{"query":{"terms":{"status.keyword":["pending","refunded"]}}}`, "2,4"},
		{`{"query":{"term":{"amount":40}}}`, "2"},
		{`{"query":{"range":{"amount":{"gte":90.5,"lt":250}}}}`, "3,4"},
		{`{"query":{"range":{"time":{"gte":"2026-11-27T07:30:00Z","lte":"2026-11-27T09:00:00Z"}}}}`, "2,3"},
		{`{"query":{"bool":{"must":[{"match":{"status":"paid"}}],"must_not":[{"range":{"amount":{"lt":200}}}]}}}`, "1"},
		{`{"query":{"bool":{"should":[{"term":{"order":2}},{"term":{"order":3}}]}}}`, "2,3"},
		{`{"query":{"bool":{"filter":{"term":{"items.sku.keyword":"book"}}}}}`, "1,3"},
		{`{"query":{"query_string":{"query":"customer:ada AND status:paid"}}}`, "1"},
		{`{"query":{"prefix":{"customer":"gra"}}}`, "3"},
		{`{"query":{"exists":{"field":"note"}}}`, "4"},
		// Without a field, query_string and multi_match search every
		// string field of the document (OpenSearch's default_field *),
		// nested ones included, and nothing derived from them.
		{`{"query":{"query_string":{"query":"lovelace"}}}`, "1"},
		{`{"query":{"query_string":{"query":"lamp"}}}`, "3"},
		{`{"query":{"query_string":{"query":"twice"}}}`, "4"},
		{`{"query":{"multi_match":{"query":"hopper"}}}`, "3"},
		{`{"query":{"query_string":{"query":"6b70656e64696e67"}}}`, ""},
		{`{"query":{"query_string":{"query":"lovelace OR hopper"}}}`, "1,3"},
		{`{"query":{"query_string":{"query":"status:paid AND book"}}}`, "1,3"},
		{`{"query":{"query_string":{"query":"ada -refunded"}}}`, "1"},
		{`{"query":{"query_string":{"query":"\"paid twice\""}}}`, "4"},
		{`{"query":{"query_string":{"query":"turi*"}}}`, "2"},
		{`{"query":{"bool":{"must":[{"query_string":{"query":"paid"}},{"range":{"amount":{"lt":200}}}]}}}`, "3,4"},
		{`{"query":{"match":{"_all":"turing"}}}`, "2"},
		// A date string is text too, and a phrase does not span two
		// elements of an array.
		{`{"query":{"match":{"time":"2026"}}}`, "1,2,3,4"},
		{`{"query":{"match_phrase":{"items.sku":"book lamp"}}}`, ""},
		{`{"query":{"match_phrase":{"items.sku":"lamp"}}}`, "3"},
		{`{"query":{"term":{"amount.keyword":90.5}}}`, "4"},
	}
	for _, c := range cases {
		if got := orderIDs(t, s, "orders-*", c.q); got != c.want {
			t.Errorf("%s: got %q, want %q", c.q, got, c.want)
		}
	}
	// Sorts: x.keyword by exact value (OpenSearch sorts keywords by
	// value), a date string by its date, a number by value, a text field
	// by its exact value.
	for _, c := range []struct{ sort, want string }{
		{`[{"customer.keyword":"asc"}]`, "4,1,2,3"},
		{`[{"time":"desc"}]`, "4,3,2,1"},
		{`[{"time":{"order":"asc"}}]`, "1,2,3,4"},
		{`[{"amount":"asc"}]`, "2,4,3,1"},
		{`["customer"]`, "4,1,2,3"},
		{`[{"status":"asc"},{"amount":"desc"}]`, "1,3,2,4"},
	} {
		res, err := s.Search(context.Background(), "shop", "orders-2026-11-27", []byte(`{"sort":`+c.sort+`}`), false)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, h := range res["hits"].(map[string]any)["hits"].([]map[string]any) {
			order = append(order, fmt.Sprint(h["_source"].(map[string]any)["order"]))
		}
		if got := strings.Join(order, ","); got != c.want {
			t.Errorf("sorted by %s: %s, want %s", c.sort, got, c.want)
		}
	}
	// The index is rebuilt from the store after a restart.
	if got := orderIDs(t, reopen(), "orders-2026-11-27", `{"query":{"match":{"customer":"turing"}}}`); got != "2" {
		t.Fatalf("after reopening: %q", got)
	}
	if _, err := s.Search(context.Background(), "shop", "missing", nil, false); err == nil || !strings.Contains(err.Error(), "index_not_found_exception") {
		t.Fatalf("missing index: %v", err)
	}
	if _, err := s.Search(context.Background(), "shop", "orders-*", []byte(`{"query":{"fuzzy_thing":{}}}`), false); err == nil {
		t.Fatal("an unknown query was accepted")
	}
	res, _ := s.Search(context.Background(), "shop", "orders-*", []byte(`{"query":{"match":{"status":"paid"}}}`), true)
	if res["count"] != 2 {
		t.Fatalf("count: %v", res)
	}
}

func TestAggregations(t *testing.T) {
	s, _ := setup(t)
	res, err := s.Search(context.Background(), "shop", "orders-*", []byte(`{"size":0,"aggs":{
		"by_status":{"terms":{"field":"status.keyword"},"aggs":{"total":{"sum":{"field":"amount"}}}},
		"per_hour":{"date_histogram":{"field":"time","calendar_interval":"hour"}},
		"avg_amount":{"avg":{"field":"amount"}}}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res["aggregations"])
	got := string(b)
	for _, want := range []string{
		`"by_status":{"buckets":[{"doc_count":2,"key":"paid","total":{"value":370}},{"doc_count":1,"key":"pending","total":{"value":40}},{"doc_count":1,"key":"refunded","total":{"value":90.5}}]`,
		`"per_hour":{"buckets":[{"doc_count":2,"key":1795762800000,"key_as_string":"2026-11-27T07:00:00.000Z"},{"doc_count":1,"key":1795766400000,"key_as_string":"2026-11-27T08:00:00.000Z"},{"doc_count":1,"key":1795770000000,"key_as_string":"2026-11-27T09:00:00.000Z"}]}`,
		`"avg_amount":{"value":125.125}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("aggregations %s\nlack %s", got, want)
		}
	}
	if hits := res["hits"].(map[string]any)["hits"].([]map[string]any); len(hits) != 0 {
		t.Fatalf("size 0 returned %d hits", len(hits))
	}
}

// A bulk larger than one bleve batch is indexed whole, in chunks.
func TestBulkLargerThanOneChunk(t *testing.T) {
	s, _ := setup(t)
	n := 2*indexChunk + 7
	docs := make([][]byte, n)
	for i := range docs {
		docs[i] = fmt.Appendf(nil, `{"order":%d,"status":"bulk"}`, 100+i)
	}
	if failed, err := s.Bulk(context.Background(), "shop", "bulk", docs); err != nil || len(failed) != 0 {
		t.Fatalf("bulk: %v %v", failed, err)
	}
	res, err := s.Search(context.Background(), "shop", "bulk", []byte(`{"query":{"match":{"status":"bulk"}}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res["count"]); got != fmt.Sprint(n) {
		t.Fatalf("count = %s, want %d", got, n)
	}
}

// Searches do not wait for an indexing in progress: it holds only its
// index's lock.
func TestSearchDuringIndexing(t *testing.T) {
	s, _ := setup(t)
	ix := s.domains["shop"].indexes["orders-2026-11-27"]
	ix.mu.Lock() // an indexing in progress
	done := make(chan error, 1)
	go func() {
		_, err := s.Search(context.Background(), "shop", "orders-*", []byte(`{"query":{"match":{"status":"paid"}}}`), true)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a search waited for an indexing")
	}
	ix.mu.Unlock()

	// Writers, searches and the index's deletion together (run with
	// -race): nothing fails but what names the deleted index.
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				_, err := s.Bulk(context.Background(), "shop", "busy", [][]byte{fmt.Appendf(nil, `{"w":%d,"i":%d}`, w, i)})
				if err != nil && !strings.Contains(err.Error(), "no such index") {
					t.Error(err)
				}
				s.Search(context.Background(), "shop", "busy", []byte(`{}`), true)
			}
		}(w)
	}
	time.Sleep(10 * time.Millisecond)
	if err := s.DeleteIndex(context.Background(), "shop", "busy"); err != nil && !strings.Contains(err.Error(), "no such index") {
		t.Error(err)
	}
	wg.Wait()
}

// A delivery larger than a chunk is stored and indexed whole, and the
// positions of the documents refused count from the delivery's start.
func TestBulkChunks(t *testing.T) {
	s, reopen := setup(t)
	var docs [][]byte
	for i := 0; i < 2*indexChunk+500; i++ {
		if i%1000 == 999 {
			docs = append(docs, []byte(`[1]`))
			continue
		}
		docs = append(docs, fmt.Appendf(nil, `{"n":%d,"word":"w%d"}`, i, i%7))
	}
	failed, err := s.Bulk(context.Background(), "shop", "big", docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 2 || failed[999] == "" || failed[1999] == "" {
		t.Fatalf("failed = %v", failed)
	}
	for _, svc := range []*Service{s, reopen()} {
		res, err := svc.Search(context.Background(), "shop", "big", []byte(`{"query":{"query_string":{"query":"w3"}}}`), true)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for i := range docs {
			if i%1000 != 999 && i%7 == 3 {
				want++
			}
		}
		if res["count"] != want {
			t.Errorf("count of w3 = %v, want %d", res["count"], want)
		}
	}
}
