package search

import (
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// maxExpandedFields is how many fields a query that names none may search,
// OpenSearch's limit on the expansion of index.query.default_field (*).
const maxExpandedFields = 1024

// textFields records the string fields (dotted paths) of the documents an
// index holds: the fields that a query naming no field searches, as
// OpenSearch's default_field of * does. It replaces an indexed catch-all
// field, which had cost a fifth of the indexing, with an expansion at
// query time. It is safe for concurrent use.
type textFields struct {
	mu   sync.Mutex
	set  map[string]struct{}
	list []string // sorted; nil when a field was added since
}

// note adds fields.
func (t *textFields) note(fields []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range fields {
		if f == "_all" || strings.HasPrefix(f, "_all.") {
			continue // the document mapping leaves a source field _all out
		}
		if _, ok := t.set[f]; !ok {
			if t.set == nil {
				t.set = map[string]struct{}{}
			}
			t.set[f] = struct{}{}
			t.list = nil
		}
	}
}

// has reports whether f was noted.
func (t *textFields) has(f string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.set[f]
	return ok
}

// names returns the fields, sorted. The caller must not change the slice.
func (t *textFields) names() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.list == nil {
		t.list = make([]string, 0, len(t.set))
		for f := range t.set {
			t.list = append(t.list, f)
		}
		sort.Strings(t.list)
	}
	return t.list
}

// expand rewrites the parts of q that name no field (or _all) into a
// disjunction of the same query over each of fields(). Query strings are
// parsed to find them. It builds new nodes where it changes anything and
// leaves q, which the other indexes of a search share, as it was.
func expand(q query.Query, fields func() []string) (query.Query, error) {
	var names []string
	each := func(leaf query.FieldableQuery) (query.Query, error) {
		if names == nil {
			names = fields()
			if len(names) > maxExpandedFields {
				return nil, bad("field expansion matches too many fields, limit: %d, got: %d", maxExpandedFields, len(names))
			}
		}
		qs := make([]query.Query, 0, len(names))
		for _, f := range names {
			c := reflect.New(reflect.TypeOf(leaf).Elem())
			c.Elem().Set(reflect.ValueOf(leaf).Elem())
			fq := c.Interface().(query.FieldableQuery)
			fq.SetField(f)
			qs = append(qs, fq)
		}
		switch len(qs) {
		case 0:
			return bleve.NewMatchNoneQuery(), nil
		case 1:
			return qs[0], nil
		}
		return bleve.NewDisjunctionQuery(qs...), nil
	}
	var walk func(q query.Query) (query.Query, error)
	list := func(in []query.Query) ([]query.Query, error) {
		out := make([]query.Query, len(in))
		for i, e := range in {
			var err error
			if out[i], err = walk(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	walk = func(q query.Query) (query.Query, error) {
		var err error
		switch x := q.(type) {
		case *query.QueryStringQuery:
			p, perr := x.Parse()
			if perr != nil {
				return q, nil // the search reports the syntax error
			}
			return walk(p)
		case *query.BooleanQuery:
			c := *x
			for _, part := range []*query.Query{&c.Must, &c.Should, &c.MustNot, &c.Filter} {
				if *part != nil {
					if *part, err = walk(*part); err != nil {
						return nil, err
					}
				}
			}
			return &c, nil
		case *query.ConjunctionQuery:
			c := *x
			c.Conjuncts, err = list(x.Conjuncts)
			return &c, err
		case *query.DisjunctionQuery:
			c := *x
			c.Disjuncts, err = list(x.Disjuncts)
			return &c, err
		case query.FieldableQuery:
			if f := x.Field(); f == "" || f == "_all" {
				return each(x)
			}
		}
		return q, nil
	}
	return walk(q)
}
