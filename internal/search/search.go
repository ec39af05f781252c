// Package search is forkline's search domain: OpenSearch-compatible
// indexes of JSON documents, searched with a subset of the query DSL
// (match, match_phrase, multi_match, term, terms, range, prefix, wildcard,
// exists, bool, query_string, match_all) with terms, date_histogram and
// metric aggregations. Documents are kept in forkline's store, which is
// the durable copy; the full-text index (bleve) is built in memory from it
// at startup.
//
// Invariants:
//   - A document is committed to the store before the call that added it
//     answers; the in-memory index follows the store.
package search

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	keywordanalyzer "github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/document"
	bleveindex "github.com/blevesearch/bleve_index_api"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/uuid"
)

const (
	nsDomain = "search.domain" // name → Domain
	nsDoc    = "search.doc"    // domain NUL index NUL id → source
)

// Error kinds: the OpenSearch error types.
var (
	ErrNotFound  = errors.New("index_not_found_exception")
	ErrBadQuery  = errors.New("parsing_exception")
	ErrBadDoc    = errors.New("mapper_parsing_exception")
	ErrNoDomain  = errors.New("ResourceNotFoundException")
	ErrDomainDup = errors.New("ResourceAlreadyExistsException")
	ErrInvalid   = errors.New("ValidationException")
)

// Error is a client error.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns the kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Domain is a search domain.
type Domain struct {
	Name    string `json:"name"`
	Arn     string `json:"arn"`
	Engine  string `json:"engine"`
	Created int64  `json:"created"`
}

type index struct {
	bleve    bleve.Index
	keyword  analysis.Analyzer // for the .keyword fields
	standard analysis.Analyzer // for the text fields
	text     textFields        // what a query naming no field searches
	dates    textFields        // the string fields that hold dates

	// mu serializes the index's writers with its deletion, so that
	// searches (under Service.mu, read) need not wait for an indexing
	// that takes seconds. Lock order: Service.mu, then mu.
	mu     sync.Mutex
	closed bool
}

type domain struct {
	Domain
	indexes map[string]*index
	dir     string // "" for indexes in memory
}

func (s *Service) domainDir(name string) string {
	if s.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(s.cfg.Dir, name)
}

// Config configures the Service.
type Config struct {
	Region, AccountID string
	Clock             clock.Clock
	// Dir holds the full-text indexes, rebuilt from the store at every
	// start (empty: in memory).
	Dir string
}

// Service holds the domains. It is safe for concurrent use.
type Service struct {
	st  store.Records
	cfg Config

	mu      sync.RWMutex
	domains map[string]*domain
}

// New loads the domains and indexes their documents.
func New(ctx context.Context, st store.Records, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	s := &Service{st: st, cfg: cfg, domains: map[string]*domain{}}
	if cfg.Dir != "" {
		if err := os.RemoveAll(cfg.Dir); err != nil {
			return nil, err
		}
	}
	err := st.ScanRecords(ctx, nsDomain, "", func(_ string, v []byte) error {
		var d Domain
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("%w: domain: %v", store.ErrCorrupt, err)
		}
		s.domains[d.Name] = &domain{Domain: d, indexes: map[string]*index{}, dir: s.domainDir(d.Name)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	batches := map[*index]*bleve.Batch{}
	err = st.ScanRecords(ctx, nsDoc, "", func(k string, v []byte) error {
		parts := strings.SplitN(k, "\x00", 3)
		d := s.domains[parts[0]]
		if d == nil || len(parts) != 3 {
			return nil
		}
		ix, err := d.index(parts[1], true)
		if err != nil {
			return err
		}
		b := batches[ix]
		if b == nil {
			b = ix.bleve.NewBatch()
			batches[ix] = b
		}
		var src map[string]any
		if err := json.Unmarshal(v, &src); err != nil {
			return fmt.Errorf("%w: document: %v", store.ErrCorrupt, err)
		}
		if err := b.IndexAdvanced(ix.document(parts[2], src)); err != nil {
			return err
		}
		if b.Size() >= indexChunk {
			if err := ix.bleve.Batch(b); err != nil {
				return err
			}
			batches[ix] = nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for ix, b := range batches {
		if b != nil {
			if err := ix.bleve.Batch(b); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// index returns an index, creating it when create is set.
func (d *domain) index(name string, create bool) (*index, error) {
	if ix := d.indexes[name]; ix != nil {
		return ix, nil
	}
	if !create {
		return nil, errorf(ErrNotFound, "no such index [%s]", name)
	}
	m := bleve.NewIndexMapping()
	// Sources are read from the store, never from bleve. A source field
	// named _all, a reserved name in OpenSearch, is left out.
	m.StoreDynamic = false
	m.DefaultMapping.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())
	var b bleve.Index
	var err error
	if d.dir == "" {
		b, err = bleve.NewMemOnly(m)
	} else {
		// Scorch on disk: segments live outside the Go heap. (Not
		// unsafe_batch: without waiting for persistence, unpersisted
		// segments pile up under a steady load, and every batch costs
		// more than the one before.)
		b, err = bleve.New(filepath.Join(d.dir, name), m)
	}
	if err != nil {
		return nil, err
	}
	ix := &index{bleve: b, keyword: m.AnalyzerNamed(keywordanalyzer.Name), standard: m.AnalyzerNamed(standard.Name)}
	if ix.keyword == nil || ix.standard == nil {
		return nil, fmt.Errorf("search: bleve lacks the %s or %s analyzer", keywordanalyzer.Name, standard.Name)
	}
	d.indexes[name] = ix
	return ix, nil
}

var domainName = regexp.MustCompile(`^[a-z][a-z0-9\-]{2,27}$`)

// CreateDomain creates a domain.
func (s *Service) CreateDomain(ctx context.Context, name, engine string) (Domain, error) {
	if !domainName.MatchString(name) {
		return Domain{}, errorf(ErrInvalid, "Domain name %q is not valid: 3 to 28 lower-case letters, digits and hyphens, starting with a letter.", name)
	}
	d := Domain{Name: name, Arn: fmt.Sprintf("arn:aws:es:%s:%s:domain/%s", s.cfg.Region, s.cfg.AccountID, name), Engine: engine,
		Created: s.cfg.Clock.Now().UnixMilli()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.domains[name] != nil {
		return Domain{}, errorf(ErrDomainDup, "Domain %s already exists", name)
	}
	var b store.Batch
	b.PutRecord(nsDomain, name, mustJSON(d))
	if err := s.st.Commit(ctx, &b); err != nil {
		return Domain{}, err
	}
	s.domains[name] = &domain{Domain: d, indexes: map[string]*index{}, dir: s.domainDir(name)}
	return d, nil
}

// DeleteDomain deletes a domain and its documents.
func (s *Service) DeleteDomain(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.domains[name]
	if d == nil {
		return errorf(ErrNoDomain, "Domain not found: %s", name)
	}
	// Wait for the indexings in progress, and let none start.
	for _, ix := range d.indexes {
		ix.mu.Lock()
		defer ix.mu.Unlock()
	}
	var b store.Batch
	b.DeleteRecord(nsDomain, name)
	err := s.st.ScanRecords(ctx, nsDoc, name+"\x00", func(k string, _ []byte) error {
		b.DeleteRecord(nsDoc, k)
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	for _, ix := range d.indexes {
		ix.closeLocked()
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
	delete(s.domains, name)
	return nil
}

// Domain returns a domain by name or ARN.
func (s *Service) Domain(name string) (Domain, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.byName(name)
	if d == nil {
		return Domain{}, errorf(ErrNoDomain, "Domain not found: %s", name)
	}
	return d.Domain, nil
}

func (s *Service) byName(nameOrArn string) *domain {
	if i := strings.LastIndex(nameOrArn, "domain/"); i >= 0 && strings.HasPrefix(nameOrArn, "arn:") {
		nameOrArn = nameOrArn[i+len("domain/"):]
	}
	return s.domains[nameOrArn]
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

var indexName = regexp.MustCompile(`^[a-z0-9][a-z0-9_\-+.]{0,254}$`)

// indexChunk is the most documents indexed in one bleve batch.
const indexChunk = 1000

// Bulk adds documents to an index (created as needed) with generated IDs;
// it returns the positions of the documents refused, with why.
//
// The documents are decoded, stored and indexed indexChunk at a time, so
// that a Firehose delivery of tens of thousands holds only one chunk's
// decoded documents at once (decoding a 5 MB delivery whole had taken the
// live heap from 20 to 120 MB, and the garbage collector to most of a
// core while it was indexed). A failure part-way leaves the chunks before
// it stored and indexed; a caller that retries the whole delivery indexes
// those again, as Firehose may deliver duplicates to OpenSearch.
func (s *Service) Bulk(ctx context.Context, domainName, indexName string, docs [][]byte) (map[int]string, error) {
	failed := map[int]string{}
	var ids []string
	var raws [][]byte
	var srcs []map[string]any
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		err := s.put(ctx, domainName, indexName, ids, raws, srcs)
		clear(srcs)
		ids, raws, srcs = ids[:0], raws[:0], srcs[:0]
		return err
	}
	for i, d := range docs {
		var src map[string]any
		if err := json.Unmarshal(d, &src); err != nil || src == nil {
			failed[i] = "mapper_parsing_exception: failed to parse: the document is not a JSON object"
			continue
		}
		ids = append(ids, newID())
		raws = append(raws, d)
		srcs = append(srcs, src)
		if len(ids) == indexChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return failed, nil
}

// newID makes an ID as OpenSearch generates them: 20 URL-safe characters.
func newID() string {
	u := strings.ReplaceAll(uuid.New(), "-", "")
	b, _ := hex.DecodeString(u)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	out := make([]byte, 20)
	for i := range out {
		out[i] = alphabet[int(b[i%len(b)]+byte(i*7))%len(alphabet)]
	}
	return string(out)
}

// Put indexes one document under id (generated when empty).
func (s *Service) Put(ctx context.Context, domainName, indexName, id string, doc []byte) (string, error) {
	var src map[string]any
	if err := json.Unmarshal(doc, &src); err != nil || src == nil {
		return "", errorf(ErrBadDoc, "failed to parse: the document is not a JSON object")
	}
	if id == "" {
		id = newID()
	}
	return id, s.put(ctx, domainName, indexName, []string{id}, [][]byte{doc}, []map[string]any{src})
}

// put stores and indexes documents: docs[i] is the source of ids[i], and
// srcs[i] its decoded form.
func (s *Service) put(ctx context.Context, domainName, name string, ids []string, docs [][]byte, srcs []map[string]any) error {
	if !indexName.MatchString(name) {
		return errorf(ErrInvalid, "Invalid index name [%s], must be lowercase", name)
	}
	s.mu.Lock()
	d := s.byName(domainName)
	if d == nil {
		s.mu.Unlock()
		return errorf(ErrNoDomain, "Domain not found: %s", domainName)
	}
	ix, err := d.index(name, true)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	ix.mu.Lock()
	s.mu.Unlock()
	defer ix.mu.Unlock()
	if ix.closed {
		return errorf(ErrNotFound, "no such index [%s]", name)
	}
	var b store.Batch
	for i, id := range ids {
		b.PutRecord(nsDoc, d.Name+"\x00"+name+"\x00"+id, docs[i])
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	// Index in chunks: bleve holds a batch's analyzed documents in memory
	// until it is introduced, about 3 KiB per small document.
	for start := 0; start < len(ids); start += indexChunk {
		end := min(start+indexChunk, len(ids))
		batch := ix.bleve.NewBatch()
		for i := start; i < end; i++ {
			if err := batch.IndexAdvanced(ix.document(ids[i], srcs[i])); err != nil {
				return err
			}
		}
		if err := ix.bleve.Batch(batch); err != nil {
			return err
		}
	}
	return nil
}

// closeLocked closes an index for good. Requires ix.mu.
func (ix *index) closeLocked() {
	if !ix.closed {
		ix.closed = true
		ix.bleve.Close()
	}
}

// Get returns a document's source.
func (s *Service) Get(ctx context.Context, domainName, indexName, id string) ([]byte, error) {
	s.mu.RLock()
	d := s.byName(domainName)
	s.mu.RUnlock()
	if d == nil {
		return nil, errorf(ErrNoDomain, "Domain not found: %s", domainName)
	}
	v, err := s.st.GetRecord(ctx, nsDoc, d.Name+"\x00"+indexName+"\x00"+id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// DeleteIndex removes an index.
func (s *Service) DeleteIndex(ctx context.Context, domainName, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.byName(domainName)
	if d == nil {
		return errorf(ErrNoDomain, "Domain not found: %s", domainName)
	}
	ix := d.indexes[name]
	if ix == nil {
		return errorf(ErrNotFound, "no such index [%s]", name)
	}
	// Wait for an indexing in progress, and let none start.
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var b store.Batch
	err := s.st.ScanRecords(ctx, nsDoc, d.Name+"\x00"+name+"\x00", func(k string, _ []byte) error {
		b.DeleteRecord(nsDoc, k)
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	ix.closeLocked()
	if d.dir != "" {
		os.RemoveAll(filepath.Join(d.dir, name))
	}
	delete(d.indexes, name)
	return nil
}

// Indexes lists a domain's indexes with their document counts.
func (s *Service) Indexes(domainName string) (map[string]int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.byName(domainName)
	if d == nil {
		return nil, errorf(ErrNoDomain, "Domain not found: %s", domainName)
	}
	out := map[string]int{}
	for n, ix := range d.indexes {
		c, _ := ix.bleve.DocCount()
		out[n] = int(c)
	}
	return out, nil
}

// resolve expands an index expression (names, wildcards, commas, _all).
func (d *domain) resolve(expr string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.Split(expr, ",") {
		if part == "" || part == "_all" || part == "*" {
			for n := range d.indexes {
				if !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
			}
			continue
		}
		if strings.ContainsAny(part, "*?") {
			re := regexp.MustCompile("^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(part)) + "$")
			for n := range d.indexes {
				if re.MatchString(n) && !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
			}
			continue
		}
		if d.indexes[part] == nil {
			return nil, errorf(ErrNotFound, "no such index [%s]", part)
		}
		if !seen[part] {
			seen[part] = true
			out = append(out, part)
		}
	}
	sort.Strings(out)
	return out, nil
}

// document is what bleve indexes for a document, built here rather than by
// bleve's dynamic mapping:
//   - each string as an analyzed text field at its dotted path (standard
//     analyzer, positions for phrases, no doc values: a sort on it uses
//     its .keyword), and also as path.@date (a date with doc values) when
//     it reads as a time;
//   - each number at its path, each boolean at its path, with doc values;
//   - each string, number and boolean also as path.keyword, one
//     untokenized term (the hex of the exact value) with doc values, so
//     that term queries on .keyword match exactly. Hex keeps the byte
//     order of the values, so a sort on x.keyword sorts by exact value, as
//     OpenSearch sorts keywords.
//
// Array elements carry their positions, so a phrase does not match across
// two elements. A query that names no field searches the document's
// string fields, as an OpenSearch default_field of * does (the derived
// fields stay out): the index notes them here, and expand rewrites such a
// query at search time. Building the fields here costs about a third less
// than bleve's dynamic mapping did (BenchmarkBulk), which tried every
// string as a date with its own parser and indexed a date string twice, as
// a date at its path and again at path.@date.
func (ix *index) document(id string, src map[string]any) *document.Document {
	doc := document.NewDocument(id)
	var text, dates []string
	var walk func(path string, pos []uint64, v any)
	walk = func(path string, pos []uint64, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if path != "" {
					p = path + "." + k
				} else if k == "_all" {
					continue // a reserved name in OpenSearch
				}
				walk(p, pos, e)
			}
		case []any:
			for i, e := range x {
				walk(path, append(pos[:len(pos):len(pos)], uint64(i)), e)
			}
		case string:
			text = append(text, path)
			doc.AddField(document.NewTextFieldCustom(path, pos, []byte(x), textOptions, ix.standard))
			if t, ok := parseTime(x); ok {
				if f, err := document.NewDateTimeFieldWithIndexingOptions(path+".@date", pos, t, time.RFC3339Nano, valueOptions); err == nil {
					doc.AddField(f)
					dates = append(dates, path)
				}
			}
			ix.addKeyword(doc, path, x)
		case float64:
			doc.AddField(document.NewNumericFieldWithIndexingOptions(path, pos, x, valueOptions))
			ix.addKeyword(doc, path, strconv.FormatFloat(x, 'g', -1, 64))
		case bool:
			doc.AddField(document.NewBooleanFieldWithIndexingOptions(path, pos, x, valueOptions))
			ix.addKeyword(doc, path, strconv.FormatBool(x))
		}
	}
	walk("", nil, src)
	ix.text.note(text)
	ix.dates.note(dates)
	return doc
}

const (
	textOptions  = bleveindex.IndexField | bleveindex.IncludeTermVectors
	valueOptions = bleveindex.IndexField | bleveindex.DocValues
)

func (ix *index) addKeyword(doc *document.Document, path, value string) {
	doc.AddField(document.NewTextFieldCustom(path+".keyword", nil, []byte(keyword(value)), valueOptions, ix.keyword))
}

func keyword(s string) string { return "k" + hex.EncodeToString([]byte(s)) }

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

func parseTime(s string) (time.Time, bool) {
	if len(s) < 10 || s[4] != '-' {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Close closes the indexes.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.domains {
		for _, ix := range d.indexes {
			ix.mu.Lock()
			ix.closeLocked()
			ix.mu.Unlock()
		}
	}
}
