package search

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// maxWindow is how many hits a search may page through or aggregate
// (OpenSearch's index.max_result_window).
const maxWindow = 10000

func bad(format string, args ...any) error { return errorf(ErrBadQuery, format, args...) }

// toQuery translates an OpenSearch query clause.
func (s *Service) toQuery(v any) (query.Query, error) {
	if v == nil {
		return bleve.NewMatchAllQuery(), nil
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, bad("[_na] query malformed, must start with start_object and hold one query")
	}
	for kind, body := range m {
		switch kind {
		case "match_all":
			return bleve.NewMatchAllQuery(), nil
		case "match_none":
			return bleve.NewMatchNoneQuery(), nil
		case "match", "match_phrase":
			field, arg, err := single(kind, body)
			if err != nil {
				return nil, err
			}
			text, opts := arg, map[string]any{}
			if o, ok := arg.(map[string]any); ok {
				text, opts = o["query"], o
			}
			if kind == "match_phrase" {
				q := bleve.NewMatchPhraseQuery(fmt.Sprint(text))
				q.SetField(field)
				return q, nil
			}
			if n, isNum := text.(float64); isNum {
				return numEq(field, n), nil
			}
			q := bleve.NewMatchQuery(fmt.Sprint(text))
			q.SetField(field)
			if strings.EqualFold(fmt.Sprint(opts["operator"]), "and") {
				q.SetOperator(query.MatchQueryOperatorAnd)
			}
			return q, nil
		case "multi_match":
			o, _ := body.(map[string]any)
			fields, _ := o["fields"].([]any)
			var qs []query.Query
			for _, f := range fields {
				q := bleve.NewMatchQuery(fmt.Sprint(o["query"]))
				q.SetField(strings.Split(fmt.Sprint(f), "^")[0])
				qs = append(qs, q)
			}
			if len(qs) == 0 {
				return bleve.NewMatchQuery(fmt.Sprint(o["query"])), nil
			}
			return bleve.NewDisjunctionQuery(qs...), nil
		case "term":
			field, arg, err := single(kind, body)
			if err != nil {
				return nil, err
			}
			if o, ok := arg.(map[string]any); ok {
				arg = o["value"]
			}
			return term(field, arg), nil
		case "terms":
			o, _ := body.(map[string]any)
			var qs []query.Query
			for field, vals := range o {
				if field == "boost" {
					continue
				}
				list, _ := vals.([]any)
				for _, v := range list {
					qs = append(qs, term(field, v))
				}
			}
			if len(qs) == 0 {
				return bleve.NewMatchNoneQuery(), nil
			}
			return bleve.NewDisjunctionQuery(qs...), nil
		case "range":
			field, arg, err := single(kind, body)
			if err != nil {
				return nil, err
			}
			return rangeQuery(field, arg, time.Now)
		case "prefix":
			field, arg, err := single(kind, body)
			if err != nil {
				return nil, err
			}
			if o, ok := arg.(map[string]any); ok {
				arg = o["value"]
			}
			q := bleve.NewPrefixQuery(strings.ToLower(fmt.Sprint(arg)))
			q.SetField(field)
			return q, nil
		case "wildcard":
			field, arg, err := single(kind, body)
			if err != nil {
				return nil, err
			}
			if o, ok := arg.(map[string]any); ok {
				arg = o["value"]
			}
			q := bleve.NewWildcardQuery(strings.ToLower(fmt.Sprint(arg)))
			q.SetField(field)
			return q, nil
		case "exists":
			o, _ := body.(map[string]any)
			field := fmt.Sprint(o["field"])
			q := bleve.NewWildcardQuery("*")
			q.SetField(strings.TrimSuffix(field, ".keyword") + ".keyword")
			return q, nil
		case "ids":
			o, _ := body.(map[string]any)
			var ids []string
			list, _ := o["values"].([]any)
			for _, v := range list {
				ids = append(ids, fmt.Sprint(v))
			}
			return bleve.NewDocIDQuery(ids), nil
		case "query_string", "simple_query_string":
			o, _ := body.(map[string]any)
			raw, ok := o["query"].(string)
			if !ok || strings.TrimSpace(raw) == "" {
				return nil, bad("[%s] requires a query", kind)
			}
			text := luceneToBleve(raw)
			if f, ok := o["default_field"].(string); ok && f != "*" && !strings.Contains(text, ":") {
				text = prefixTerms(text, f)
			}
			return bleve.NewQueryStringQuery(text), nil
		case "bool":
			o, ok := body.(map[string]any)
			if !ok {
				return nil, bad("[bool] malformed query")
			}
			b := bleve.NewBooleanQuery()
			clauses := func(k string) ([]query.Query, error) {
				var list []any
				switch x := o[k].(type) {
				case nil:
				case []any:
					list = x
				default:
					list = []any{x}
				}
				var out []query.Query
				for _, c := range list {
					q, err := s.toQuery(c)
					if err != nil {
						return nil, err
					}
					out = append(out, q)
				}
				return out, nil
			}
			must, err := clauses("must")
			if err != nil {
				return nil, err
			}
			filter, err := clauses("filter")
			if err != nil {
				return nil, err
			}
			should, err := clauses("should")
			if err != nil {
				return nil, err
			}
			not, err := clauses("must_not")
			if err != nil {
				return nil, err
			}
			if all := append(must, filter...); len(all) > 0 {
				b.AddMust(all...)
			}
			if len(should) > 0 {
				b.AddShould(should...)
				min := 0
				if len(must)+len(filter) == 0 {
					min = 1
				}
				if v, ok := o["minimum_should_match"]; ok {
					n, _ := strconv.Atoi(strings.TrimSuffix(fmt.Sprint(v), "%"))
					min = n
				}
				b.SetMinShould(float64(min))
			}
			if len(not) > 0 {
				b.AddMustNot(not...)
			}
			if len(must)+len(filter)+len(should) == 0 {
				b.AddMust(bleve.NewMatchAllQuery())
			}
			return b, nil
		}
		return nil, bad("unknown query [%s]", kind)
	}
	return nil, bad("empty query")
}

func single(kind string, body any) (string, any, error) {
	o, ok := body.(map[string]any)
	if !ok || len(o) != 1 {
		return "", nil, bad("[%s] query doesn't support multiple fields", kind)
	}
	for k, v := range o {
		return k, v, nil
	}
	return "", nil, nil
}

func numEq(field string, n float64) query.Query {
	t := true
	q := bleve.NewNumericRangeInclusiveQuery(&n, &n, &t, &t)
	q.SetField(field)
	return q
}

// term matches an exact value: through the .keyword field for strings,
// as a number or a boolean otherwise.
func term(field string, v any) query.Query {
	switch x := v.(type) {
	case float64:
		return numEq(strings.TrimSuffix(field, ".keyword"), x)
	case bool:
		q := bleve.NewBoolFieldQuery(x)
		q.SetField(strings.TrimSuffix(field, ".keyword"))
		return q
	}
	text := fmt.Sprint(v)
	if strings.HasSuffix(field, ".keyword") {
		q := bleve.NewTermQuery(keyword(text))
		q.SetField(field)
		return q
	}
	// A term on an analyzed field matches one of its tokens.
	q := bleve.NewTermQuery(strings.ToLower(text))
	q.SetField(field)
	return q
}

var dateMath = regexp.MustCompile(`^now(?:([+-])(\d+)([smhdwMy]))?(?:/([smhdwMy]))?$`)

// when reads a date bound: a date, epoch milliseconds, or now-based date
// math.
func when(v any, now func() time.Time) (time.Time, bool) {
	switch x := v.(type) {
	case float64:
		return time.UnixMilli(int64(x)).UTC(), true
	case string:
		if m := dateMath.FindStringSubmatch(x); m != nil {
			t := now().UTC()
			if m[1] != "" {
				n, _ := strconv.Atoi(m[2])
				if m[1] == "-" {
					n = -n
				}
				t = addUnit(t, n, m[3])
			}
			if m[4] != "" {
				t = truncUnit(t, m[4])
			}
			return t, true
		}
		return parseTime(x)
	}
	return time.Time{}, false
}

func addUnit(t time.Time, n int, unit string) time.Time {
	switch unit {
	case "s":
		return t.Add(time.Duration(n) * time.Second)
	case "m":
		return t.Add(time.Duration(n) * time.Minute)
	case "h":
		return t.Add(time.Duration(n) * time.Hour)
	case "d":
		return t.AddDate(0, 0, n)
	case "w":
		return t.AddDate(0, 0, 7*n)
	case "M":
		return t.AddDate(0, n, 0)
	}
	return t.AddDate(n, 0, 0)
}

func truncUnit(t time.Time, unit string) time.Time {
	switch unit {
	case "s":
		return t.Truncate(time.Second)
	case "m":
		return t.Truncate(time.Minute)
	case "h":
		return t.Truncate(time.Hour)
	case "d":
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case "w":
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case "M":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
}

// rangeQuery is a numeric range, or a date range when the bounds are
// dates (matched against the field's parsed dates).
func rangeQuery(field string, arg any, now func() time.Time) (query.Query, error) {
	o, ok := arg.(map[string]any)
	if !ok {
		return nil, bad("[range] query malformed, no start_object after query name")
	}
	numeric := true
	for _, k := range []string{"gt", "gte", "lt", "lte", "from", "to"} {
		if v, ok := o[k]; ok && v != nil {
			if _, isNum := v.(float64); !isNum {
				numeric = false
			}
		}
	}
	bound := func(k string) any { return o[k] }
	lo, loInc := bound("gte"), true
	if lo == nil {
		lo, loInc = bound("gt"), false
	}
	hi, hiInc := bound("lte"), true
	if hi == nil {
		hi, hiInc = bound("lt"), false
	}
	if numeric {
		var min, max *float64
		if f, ok := lo.(float64); ok {
			min = &f
		}
		if f, ok := hi.(float64); ok {
			max = &f
		}
		q := bleve.NewNumericRangeInclusiveQuery(min, max, &loInc, &hiInc)
		q.SetField(field)
		return q, nil
	}
	var start, end time.Time
	if lo != nil {
		t, ok := when(lo, now)
		if !ok {
			return nil, bad("failed to parse date field [%v]", lo)
		}
		start = t
	}
	if hi != nil {
		t, ok := when(hi, now)
		if !ok {
			return nil, bad("failed to parse date field [%v]", hi)
		}
		end = t
	}
	q := bleve.NewDateRangeInclusiveQuery(start, end, &loInc, &hiInc)
	q.SetField(field + ".@date")
	return q, nil
}

var luceneOps = regexp.MustCompile(`\s+(AND|OR|NOT)\s+`)

// luceneToBleve rewrites the Lucene operators of a query string into
// bleve's: "a AND b" requires both, "NOT x" excludes x.
func luceneToBleve(q string) string {
	if !luceneOps.MatchString(" " + q + " ") {
		return q
	}
	parts := luceneOps.Split(" "+q+" ", -1)
	ops := luceneOps.FindAllStringSubmatch(" "+q+" ", -1)
	var out []string
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		prev, next := "", ""
		if i > 0 {
			prev = ops[i-1][1]
		}
		if i < len(ops) {
			next = ops[i][1]
		}
		switch {
		case prev == "NOT":
			out = append(out, "-"+p)
		case prev == "AND" || next == "AND":
			out = append(out, "+"+p)
		default:
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func prefixTerms(q, field string) string {
	var out []string
	for _, t := range strings.Fields(q) {
		sign := ""
		if t[0] == '+' || t[0] == '-' {
			sign, t = t[:1], t[1:]
		}
		out = append(out, sign+field+":"+t)
	}
	return strings.Join(out, " ")
}

// Search runs an OpenSearch _search (count=false) or _count request over
// an index expression.
func (s *Service) Search(ctx context.Context, domainName, indexExpr string, body []byte, count bool) (map[string]any, error) {
	var req map[string]any
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, bad("failed to parse the request body: %v", err)
		}
	}
	started := time.Now()
	q, err := s.toQuery(req["query"])
	if err != nil {
		return nil, err
	}
	from, size := intOf(req["from"], 0), intOf(req["size"], 10)
	if from < 0 || size < 0 || from+size > maxWindow {
		return nil, errorf(ErrInvalid, "Result window is too large, from + size must be less than or equal to: [%d]", maxWindow)
	}
	s.mu.RLock()
	d := s.byName(domainName)
	if d == nil {
		s.mu.RUnlock()
		return nil, errorf(ErrNoDomain, "Domain not found: %s", domainName)
	}
	names, err := d.resolve(indexExpr)
	if err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	aggs, _ := req["aggs"].(map[string]any)
	if aggs == nil {
		aggs, _ = req["aggregations"].(map[string]any)
	}
	type hit struct {
		index, id string
		score     float64
	}
	var hits []hit
	total := 0
	maxScore := 0.0
	need := from + size
	if len(aggs) > 0 {
		need = maxWindow
	}
	for _, n := range names {
		ix := d.indexes[n]
		iq, err := expand(q, ix.text.names)
		if err != nil {
			s.mu.RUnlock()
			return nil, err
		}
		sr := bleve.NewSearchRequestOptions(iq, need, 0, false)
		if sorts := sortFields(req["sort"]); len(sorts) > 0 {
			sr.SortBy(ix.sortFields(sorts))
		}
		res, err := ix.bleve.SearchInContext(ctx, sr)
		if err != nil {
			s.mu.RUnlock()
			// What the index refuses is the query's fault (a query
			// string's syntax, say).
			return nil, bad("failed to run the query: %v", err)
		}
		total += int(res.Total)
		for _, h := range res.Hits {
			hits = append(hits, hit{n, h.ID, h.Score})
			if h.Score > maxScore {
				maxScore = h.Score
			}
		}
	}
	s.mu.RUnlock()
	if count {
		return map[string]any{"count": total, "_shards": shards(len(names))}, nil
	}
	if sortFields(req["sort"]) == nil {
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	}
	sources := func(hs []hit) ([]map[string]any, error) {
		var out []map[string]any
		for _, h := range hs {
			raw, err := s.Get(ctx, domainName, h.index, h.id)
			if err != nil {
				return nil, err
			}
			var src map[string]any
			json.Unmarshal(raw, &src)
			out = append(out, src)
		}
		return out, nil
	}
	page := hits
	if from < len(page) {
		page = page[from:]
	} else {
		page = nil
	}
	if len(page) > size {
		page = page[:size]
	}
	pageSrc, err := sources(page)
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for i, h := range page {
		list = append(list, map[string]any{"_index": h.index, "_id": h.id, "_score": h.score, "_source": pageSrc[i]})
	}
	out := map[string]any{"took": time.Since(started).Milliseconds(), "timed_out": false, "_shards": shards(len(names)),
		"hits": map[string]any{"total": map[string]any{"value": total, "relation": "eq"}, "max_score": maxScore, "hits": list}}
	if len(aggs) > 0 {
		all, err := sources(hits)
		if err != nil {
			return nil, err
		}
		res, err := aggregate(aggs, all)
		if err != nil {
			return nil, err
		}
		out["aggregations"] = res
	}
	return out, nil
}

func shards(n int) map[string]any {
	return map[string]any{"total": n, "successful": n, "skipped": 0, "failed": 0}
}

func intOf(v any, def int) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case string:
		if n, err := strconv.Atoi(x); err == nil {
			return n
		}
	}
	return def
}

// sortFields names the index fields that sort by the given fields: a
// date string's field sorts by its date, a text field by its exact value
// (OpenSearch refuses to sort on a text field; forkline sorts by its
// .keyword, as a terms aggregation on it groups by exact value).
func (ix *index) sortFields(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		desc := strings.HasPrefix(f, "-")
		name := strings.TrimPrefix(f, "-")
		switch {
		case strings.HasPrefix(name, "_") || strings.HasSuffix(name, ".keyword"):
		case ix.dates.has(name):
			name += ".@date"
		case ix.text.has(name):
			name += ".keyword"
		}
		if desc {
			name = "-" + name
		}
		out[i] = name
	}
	return out
}

// sortFields reads "sort": [{"field": "desc"}, {"field": {"order": "asc"}}, "field"].
func sortFields(v any) []string {
	var list []any
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		list = x
	default:
		list = []any{x}
	}
	var out []string
	for _, e := range list {
		switch x := e.(type) {
		case string:
			if x == "_score" {
				out = append(out, "-_score")
			} else {
				out = append(out, x)
			}
		case map[string]any:
			for f, o := range x {
				order := fmt.Sprint(o)
				if m, ok := o.(map[string]any); ok {
					order = fmt.Sprint(m["order"])
				}
				if order == "desc" {
					f = "-" + f
				}
				out = append(out, f)
			}
		}
	}
	return out
}

// valuesAt returns a document's values at a dotted path (arrays
// flattened).
func valuesAt(src any, path string) []any {
	if path == "" {
		switch x := src.(type) {
		case []any:
			var out []any
			for _, e := range x {
				out = append(out, valuesAt(e, "")...)
			}
			return out
		case nil:
			return nil
		}
		return []any{src}
	}
	switch x := src.(type) {
	case map[string]any:
		head, rest, _ := strings.Cut(path, ".")
		if v, ok := x[path]; ok {
			return valuesAt(v, "")
		}
		return valuesAt(x[head], rest)
	case []any:
		var out []any
		for _, e := range x {
			out = append(out, valuesAt(e, path)...)
		}
		return out
	}
	return nil
}

// aggregate computes aggregations over the matching documents: terms,
// date_histogram, histogram, and the metrics avg, sum, min, max,
// value_count, cardinality; buckets may hold sub-aggregations.
func aggregate(aggs map[string]any, docs []map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for name, def := range aggs {
		m, ok := def.(map[string]any)
		if !ok {
			return nil, bad("Expected [START_OBJECT] under [%s]", name)
		}
		sub, _ := m["aggs"].(map[string]any)
		if sub == nil {
			sub, _ = m["aggregations"].(map[string]any)
		}
		var res map[string]any
		var err error
		for kind, body := range m {
			if kind == "aggs" || kind == "aggregations" || kind == "meta" {
				continue
			}
			o, _ := body.(map[string]any)
			field := strings.TrimSuffix(fmt.Sprint(o["field"]), ".keyword")
			switch kind {
			case "terms":
				res, err = termsAgg(field, intOf(o["size"], 10), docs, sub)
			case "date_histogram":
				res, err = dateHistogram(field, o, docs, sub)
			case "histogram":
				res, err = histogram(field, o, docs, sub)
			case "avg", "sum", "min", "max", "value_count", "cardinality":
				res = metric(kind, field, docs)
			default:
				return nil, bad("Unknown aggregation type [%s]", kind)
			}
		}
		if err != nil {
			return nil, err
		}
		if res == nil {
			return nil, bad("Missing definition for aggregation [%s]", name)
		}
		out[name] = res
	}
	return out, nil
}

func bucket(key any, docs []map[string]any, sub map[string]any) (map[string]any, error) {
	b := map[string]any{"key": key, "doc_count": len(docs)}
	if len(sub) > 0 {
		res, err := aggregate(sub, docs)
		if err != nil {
			return nil, err
		}
		for k, v := range res {
			b[k] = v
		}
	}
	return b, nil
}

func termsAgg(field string, size int, docs []map[string]any, sub map[string]any) (map[string]any, error) {
	groups := map[string][]map[string]any{}
	keys := map[string]any{}
	for _, d := range docs {
		seen := map[string]bool{}
		for _, v := range valuesAt(d, field) {
			k := fmt.Sprint(v)
			if seen[k] {
				continue
			}
			seen[k] = true
			groups[k] = append(groups[k], d)
			keys[k] = v
		}
	}
	names := make([]string, 0, len(groups))
	for k := range groups {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if len(groups[names[i]]) != len(groups[names[j]]) {
			return len(groups[names[i]]) > len(groups[names[j]])
		}
		return names[i] < names[j]
	})
	other := 0
	var buckets []any
	for i, k := range names {
		if i >= size {
			other += len(groups[k])
			continue
		}
		b, err := bucket(keys[k], groups[k], sub)
		if err != nil {
			return nil, err
		}
		buckets = append(buckets, b)
	}
	if buckets == nil {
		buckets = []any{}
	}
	return map[string]any{"doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": buckets}, nil
}

// interval parses calendar_interval, fixed_interval or interval.
func interval(o map[string]any) (fixed time.Duration, calendar string, err error) {
	for _, k := range []string{"calendar_interval", "fixed_interval", "interval"} {
		v, ok := o[k].(string)
		if !ok {
			continue
		}
		switch v {
		case "minute", "1m":
			if k != "fixed_interval" {
				return time.Minute, "", nil
			}
		case "hour", "1h":
			if k != "fixed_interval" {
				return time.Hour, "", nil
			}
		case "day", "1d":
			if k != "fixed_interval" {
				return 24 * time.Hour, "", nil
			}
		case "week", "1w":
			return 0, "w", nil
		case "month", "1M":
			return 0, "M", nil
		case "quarter", "1q":
			return 0, "q", nil
		case "year", "1y":
			return 0, "y", nil
		}
		m := regexp.MustCompile(`^(\d+)(ms|s|m|h|d)$`).FindStringSubmatch(v)
		if m == nil {
			return 0, "", bad("failed to parse setting [%s] with value [%s] as a time value", k, v)
		}
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
		if n <= 0 || n > 1<<30 {
			return 0, "", bad("Zero or negative time interval not supported")
		}
		return time.Duration(n) * unit, "", nil
	}
	return 0, "", bad("Required one of fields [calendar_interval, fixed_interval], but none were specified.")
}

func bucketStart(t time.Time, fixed time.Duration, calendar string) time.Time {
	switch calendar {
	case "w":
		return truncUnit(t, "w")
	case "M":
		return truncUnit(t, "M")
	case "q":
		return time.Date(t.Year(), time.Month((int(t.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	case "y":
		return truncUnit(t, "y")
	}
	ms := t.UnixMilli()
	step := fixed.Milliseconds()
	return time.UnixMilli(ms - ((ms%step)+step)%step).UTC()
}

func nextBucket(t time.Time, fixed time.Duration, calendar string) time.Time {
	switch calendar {
	case "w":
		return t.AddDate(0, 0, 7)
	case "M":
		return t.AddDate(0, 1, 0)
	case "q":
		return t.AddDate(0, 3, 0)
	case "y":
		return t.AddDate(1, 0, 0)
	}
	return t.Add(fixed)
}

func dateHistogram(field string, o map[string]any, docs []map[string]any, sub map[string]any) (map[string]any, error) {
	fixed, calendar, err := interval(o)
	if err != nil {
		return nil, err
	}
	minCount := intOf(o["min_doc_count"], 0)
	groups := map[int64][]map[string]any{}
	var first, last time.Time
	for _, d := range docs {
		for _, v := range valuesAt(d, field) {
			t, ok := when(v, time.Now)
			if !ok {
				continue
			}
			start := bucketStart(t, fixed, calendar)
			groups[start.UnixMilli()] = append(groups[start.UnixMilli()], d)
			if first.IsZero() || start.Before(first) {
				first = start
			}
			if start.After(last) {
				last = start
			}
			break
		}
	}
	buckets := []any{}
	if !first.IsZero() {
		for t, n := first, 0; !t.After(last) && n < maxWindow; t, n = nextBucket(t, fixed, calendar), n+1 {
			g := groups[t.UnixMilli()]
			if len(g) < minCount || (len(g) == 0 && minCount > 0) {
				continue
			}
			b, err := bucket(t.UnixMilli(), g, sub)
			if err != nil {
				return nil, err
			}
			b["key_as_string"] = t.Format("2006-01-02T15:04:05.000Z")
			buckets = append(buckets, b)
		}
	}
	return map[string]any{"buckets": buckets}, nil
}

func histogram(field string, o map[string]any, docs []map[string]any, sub map[string]any) (map[string]any, error) {
	step, ok := o["interval"].(float64)
	if !ok || step <= 0 {
		return nil, bad("[interval] must be >0 for histogram aggregation [%s]", field)
	}
	groups := map[float64][]map[string]any{}
	var keys []float64
	for _, d := range docs {
		for _, v := range valuesAt(d, field) {
			f, ok := v.(float64)
			if !ok {
				continue
			}
			k := math.Floor(f/step) * step
			if groups[k] == nil {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], d)
			break
		}
	}
	sort.Float64s(keys)
	buckets := []any{}
	for _, k := range keys {
		b, err := bucket(k, groups[k], sub)
		if err != nil {
			return nil, err
		}
		buckets = append(buckets, b)
	}
	return map[string]any{"buckets": buckets}, nil
}

func metric(kind, field string, docs []map[string]any) map[string]any {
	var vals []float64
	distinct := map[string]bool{}
	count := 0
	for _, d := range docs {
		for _, v := range valuesAt(d, field) {
			count++
			distinct[fmt.Sprint(v)] = true
			if f, ok := v.(float64); ok {
				vals = append(vals, f)
			}
		}
	}
	switch kind {
	case "value_count":
		return map[string]any{"value": count}
	case "cardinality":
		return map[string]any{"value": len(distinct)}
	}
	if len(vals) == 0 {
		if kind == "sum" {
			return map[string]any{"value": 0.0}
		}
		return map[string]any{"value": nil}
	}
	sum, min, max := 0.0, vals[0], vals[0]
	for _, f := range vals {
		sum += f
		min, max = math.Min(min, f), math.Max(max, f)
	}
	switch kind {
	case "avg":
		return map[string]any{"value": sum / float64(len(vals))}
	case "sum":
		return map[string]any{"value": sum}
	case "min":
		return map[string]any{"value": min}
	}
	return map[string]any{"value": max}
}
