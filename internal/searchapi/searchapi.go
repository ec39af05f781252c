// Package searchapi serves forkline's search domains over the OpenSearch
// REST API subset: _search, _count, _bulk, documents, indexes and
// _cat/indices, under /_forkline/search/DOMAIN (a domain's endpoint).
package searchapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/forkline/forkline/internal/search"
)

// Prefix starts the path of every domain endpoint.
const Prefix = "/_forkline/search/"

// Handler serves the domains. It is safe for concurrent use.
type Handler struct {
	svc *search.Service
	log *slog.Logger
}

// New returns the handler.
func New(svc *search.Service, log *slog.Logger) *Handler { return &Handler{svc: svc, log: log} }

// WriteError writes an error in OpenSearch's shape.
func WriteError(w http.ResponseWriter, status int, typ, reason string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	cause := map[string]any{"type": typ, "reason": reason}
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"root_cause": []any{cause}, "type": typ, "reason": reason}, "status": status})
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	var se *search.Error
	if errors.As(err, &se) {
		status := 400
		switch se.Kind {
		case search.ErrNotFound, search.ErrNoDomain:
			status = 404
		}
		WriteError(w, status, se.Kind.Error(), se.Message)
		return
	}
	h.log.Error("search", "err", err)
	WriteError(w, 500, "exception", "An internal error occurred.")
}

// Serve handles a request whose path starts with Prefix.
func (h *Handler) Serve(ctx context.Context, w http.ResponseWriter, method, rawPath string, query url.Values, body []byte) string {
	rest := strings.TrimPrefix(rawPath, Prefix)
	domain, path, _ := strings.Cut(rest, "/")
	d, err := h.svc.Domain(domain)
	if err != nil {
		h.fail(w, err)
		return ""
	}
	var parts []string
	for _, p := range strings.Split(path, "/") {
		if p != "" {
			u, _ := url.PathUnescape(p)
			parts = append(parts, u)
		}
	}
	switch {
	case len(parts) == 0 && (method == http.MethodGet || method == http.MethodHead):
		write(w, 200, map[string]any{"name": d.Name, "cluster_name": "000000000000:" + d.Name,
			"version": map[string]any{"distribution": "opensearch", "number": "2.11.0"}, "tagline": "The OpenSearch Project: https://opensearch.org/"})
		return "info"
	case len(parts) == 1 && (parts[0] == "_search" || parts[0] == "_count"):
		return h.search(ctx, w, d.Name, "_all", parts[0], body)
	case len(parts) == 2 && (parts[1] == "_search" || parts[1] == "_count"):
		return h.search(ctx, w, d.Name, parts[0], parts[1], body)
	case len(parts) == 1 && parts[0] == "_bulk" && method == http.MethodPost:
		return h.bulk(ctx, w, d.Name, "", body)
	case len(parts) == 2 && parts[1] == "_bulk" && method == http.MethodPost:
		return h.bulk(ctx, w, d.Name, parts[0], body)
	case len(parts) == 2 && parts[0] == "_cat" && parts[1] == "indices":
		idx, err := h.svc.Indexes(d.Name)
		if err != nil {
			h.fail(w, err)
			return "cat"
		}
		names := make([]string, 0, len(idx))
		for n := range idx {
			names = append(names, n)
		}
		sort.Strings(names)
		if query.Get("format") == "json" {
			list := []map[string]string{}
			for _, n := range names {
				list = append(list, map[string]string{"health": "green", "status": "open", "index": n, "docs.count": fmt.Sprint(idx[n])})
			}
			write(w, 200, list)
			return "cat"
		}
		var b strings.Builder
		for _, n := range names {
			fmt.Fprintf(&b, "green open %s 1 0 %d 0\n", n, idx[n])
		}
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.Write([]byte(b.String()))
		return "cat"
	case (len(parts) == 2 || len(parts) == 3) && parts[1] == "_doc" && (method == http.MethodPut || method == http.MethodPost):
		id := ""
		if len(parts) == 3 {
			id = parts[2]
		}
		id, err := h.svc.Put(ctx, d.Name, parts[0], id, body)
		if err != nil {
			h.fail(w, err)
			return "index"
		}
		write(w, 201, map[string]any{"_index": parts[0], "_id": id, "_version": 1, "result": "created",
			"_shards": map[string]int{"total": 1, "successful": 1, "failed": 0}})
		return "index"
	case len(parts) == 3 && parts[1] == "_doc" && method == http.MethodGet:
		src, err := h.svc.Get(ctx, d.Name, parts[0], parts[2])
		if err != nil {
			h.fail(w, err)
			return "get"
		}
		if src == nil {
			write(w, 404, map[string]any{"_index": parts[0], "_id": parts[2], "found": false})
			return "get"
		}
		write(w, 200, map[string]any{"_index": parts[0], "_id": parts[2], "_version": 1, "found": true, "_source": json.RawMessage(src)})
		return "get"
	case len(parts) == 1 && method == http.MethodDelete:
		if err := h.svc.DeleteIndex(ctx, d.Name, parts[0]); err != nil {
			h.fail(w, err)
			return "delete_index"
		}
		write(w, 200, map[string]bool{"acknowledged": true})
		return "delete_index"
	}
	WriteError(w, 400, "illegal_argument_exception", fmt.Sprintf("no handler found for uri [%s] and method [%s]", "/"+path, method))
	return ""
}

func (h *Handler) search(ctx context.Context, w http.ResponseWriter, domain, index, op string, body []byte) string {
	res, err := h.svc.Search(ctx, domain, index, body, op == "_count")
	if err != nil {
		h.fail(w, err)
		return op
	}
	write(w, 200, res)
	return op
}

// bulk serves _bulk: NDJSON action lines (index, create) each followed by
// its document.
func (h *Handler) bulk(ctx context.Context, w http.ResponseWriter, domain, defIndex string, body []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var items []any
	errorsSeen := false
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var action map[string]map[string]any
		if err := json.Unmarshal(line, &action); err != nil || len(action) != 1 {
			WriteError(w, 400, "illegal_argument_exception", "Malformed action/metadata line")
			return "bulk"
		}
		for op, meta := range action {
			index, _ := meta["_index"].(string)
			if index == "" {
				index = defIndex
			}
			id, _ := meta["_id"].(string)
			if op != "index" && op != "create" {
				WriteError(w, 400, "illegal_argument_exception", "forkline's _bulk takes index and create actions, not "+op)
				return "bulk"
			}
			if !sc.Scan() {
				WriteError(w, 400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
				return "bulk"
			}
			doc := append([]byte(nil), sc.Bytes()...)
			got, err := h.svc.Put(ctx, domain, index, id, doc)
			item := map[string]any{"_index": index, "_id": got, "status": 201, "result": "created", "_version": 1}
			if err != nil {
				var se *search.Error
				if !errors.As(err, &se) {
					h.fail(w, err)
					return "bulk"
				}
				errorsSeen = true
				item = map[string]any{"_index": index, "_id": id, "status": 400, "error": map[string]any{"type": se.Kind.Error(), "reason": se.Message}}
			}
			items = append(items, map[string]any{op: item})
		}
	}
	write(w, 200, map[string]any{"took": 1, "errors": errorsSeen, "items": items})
	return "bulk"
}
