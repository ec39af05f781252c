package function

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"regexp"
	"sort"
	"strconv"

	"github.com/forkline/forkline/internal/store"
)

// Record namespaces of versions and aliases: key NAME NUL VERSION (zero
// padded) and NAME NUL ALIAS.
const (
	nsVersion = "fn.ver"
	nsAlias   = "fn.alias"
)

// version is one published, immutable version of a function.
type version struct {
	rec  funcRec
	pool *pool
}

// Alias is a function alias as the Lambda API reports it.
type Alias struct {
	AliasArn        string         `json:"AliasArn"`
	Name            string         `json:"Name"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description"`
	RoutingConfig   *RoutingConfig `json:"RoutingConfig,omitempty"`
	RevisionID      string         `json:"RevisionId"`
}

// RoutingConfig sends a share of an alias's invocations to another
// version.
type RoutingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

func versionKey(name string, n int) string { return fmt.Sprintf("%s\x00%010d", name, n) }

// loadVersions reads the published versions and aliases of f.
func (s *Service) loadVersions(ctx context.Context, f *fn) error {
	name := f.rec.Config.FunctionName
	err := s.st.ScanRecords(ctx, nsVersion, name+"\x00", func(_ string, v []byte) error {
		var rec funcRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: function version: %v", store.ErrCorrupt, err)
		}
		f.versions[rec.Config.Version] = &version{rec: rec, pool: s.newPool()}
		return nil
	})
	if err != nil {
		return err
	}
	return s.st.ScanRecords(ctx, nsAlias, name+"\x00", func(_ string, v []byte) error {
		var a Alias
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("%w: alias: %v", store.ErrCorrupt, err)
		}
		f.aliases[a.Name] = &a
		return nil
	})
}

// resolve finds what a function reference and qualifier name: $LATEST, a
// version, or an alias (whose routing picks the version). It returns the
// function, the configuration to run, its pool and the executed version.
// Requires s.mu held for reading.
func (s *Service) resolve(f *fn, qualifier string, pick bool) (funcRec, *pool, string, error) {
	name := f.rec.Config.FunctionName
	switch {
	case qualifier == "" || qualifier == "$LATEST":
		return f.rec, f.pool, "$LATEST", nil
	case isVersion(qualifier):
		v := f.versions[qualifier]
		if v == nil {
			return funcRec{}, nil, "", errorf(ErrResourceNotFound, "Function not found: %s:%s", s.functionArn(name), qualifier)
		}
		return v.rec, v.pool, qualifier, nil
	}
	a := f.aliases[qualifier]
	if a == nil {
		return funcRec{}, nil, "", errorf(ErrResourceNotFound, "Function not found: %s:%s", s.functionArn(name), qualifier)
	}
	ver := a.FunctionVersion
	if pick && a.RoutingConfig != nil {
		r := mrand.Float64()
		for v, w := range a.RoutingConfig.AdditionalVersionWeights {
			if r < w {
				ver = v
				break
			}
			r -= w
		}
	}
	rec, p, _, err := s.resolve(f, ver, false)
	return rec, p, ver, err
}

var versionRE = regexp.MustCompile(`^[0-9]+$`)

func isVersion(q string) bool { return versionRE.MatchString(q) }

// PublishVersion publishes $LATEST as a new version, or returns the last
// version if nothing changed since.
func (s *Service) PublishVersion(ctx context.Context, ref, description, codeSha, revisionID string) (Configuration, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return Configuration{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(f); err != nil {
		return Configuration{}, err
	}
	if revisionID != "" && revisionID != f.rec.Config.RevisionID {
		return Configuration{}, errorf(ErrPreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	if codeSha != "" && codeSha != f.rec.Config.CodeSha256 {
		return Configuration{}, errorf(ErrInvalidParameterValue, "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", codeSha, f.rec.Config.CodeSha256)
	}
	if last := f.versions[strconv.Itoa(f.rec.LastVersion)]; last != nil && last.rec.PublishedFrom == f.rec.Config.RevisionID {
		return last.rec.Config, nil
	}
	n := f.rec.LastVersion + 1
	rec := f.rec
	rec.Config.Version = strconv.Itoa(n)
	rec.Config.FunctionArn = s.functionArn(rec.Config.FunctionName) + ":" + rec.Config.Version
	if description != "" {
		rec.Config.Description = description
	}
	rec.Config.RevisionID = newRevision()
	rec.PublishedFrom = f.rec.Config.RevisionID
	latest := f.rec
	latest.LastVersion = n
	var b store.Batch
	b.PutRecord(nsVersion, versionKey(rec.Config.FunctionName, n), mustJSON(rec))
	b.PutRecord(nsFunction, rec.Config.FunctionName, mustJSON(latest))
	if err := s.st.Commit(ctx, &b); err != nil {
		return Configuration{}, fmt.Errorf("publish version: %w", err)
	}
	f.rec = latest
	f.versions[rec.Config.Version] = &version{rec: rec, pool: s.newPool()}
	return rec.Config, nil
}

// ListVersions lists $LATEST and the published versions in order.
func (s *Service) ListVersions(ctx context.Context, ref string) ([]Configuration, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	latest := f.rec.Config
	latest.FunctionArn = s.functionArn(latest.FunctionName) + ":$LATEST"
	out := []Configuration{latest}
	var ns []int
	for v := range f.versions {
		n, _ := strconv.Atoi(v)
		ns = append(ns, n)
	}
	sort.Ints(ns)
	for _, n := range ns {
		out = append(out, f.versions[strconv.Itoa(n)].rec.Config)
	}
	return out, nil
}

var aliasRE = regexp.MustCompile(`^(?:[a-zA-Z0-9-_]*[a-zA-Z-_][a-zA-Z0-9-_]*)$`)

// AliasInput are the settable fields of an alias.
type AliasInput struct {
	FunctionVersion *string
	Description     *string
	Weights         *map[string]float64
	RevisionID      string
}

func (s *Service) checkAlias(f *fn, a *Alias) error {
	if a.FunctionVersion != "$LATEST" && f.versions[a.FunctionVersion] == nil {
		return errorf(ErrResourceNotFound, "Function not found: %s:%s", s.functionArn(f.rec.Config.FunctionName), a.FunctionVersion)
	}
	if a.RoutingConfig != nil {
		if len(a.RoutingConfig.AdditionalVersionWeights) > 1 {
			return errorf(ErrInvalidParameterValue, "Number of items in AdditionalVersionWeights cannot be greater than 1")
		}
		for v, w := range a.RoutingConfig.AdditionalVersionWeights {
			if w < 0 || w > 1 {
				return validation("routingConfig.additionalVersionWeights", fmt.Sprint(w), "Member must have value between 0.0 and 1.0")
			}
			if v == a.FunctionVersion {
				return errorf(ErrInvalidParameterValue, "Invalid function version %s. Function version %s is already included in routing configuration.", v, v)
			}
			if !isVersion(v) || f.versions[v] == nil {
				return errorf(ErrInvalidParameterValue, "Invalid function version %s. Function version %s is not a published version.", v, v)
			}
			if a.FunctionVersion == "$LATEST" {
				return errorf(ErrInvalidParameterValue, "$LATEST is not supported for an alias pointing to more than 1 version")
			}
		}
	}
	return nil
}

// CreateAlias creates an alias of a version.
func (s *Service) CreateAlias(ctx context.Context, ref, name string, in AliasInput) (Alias, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return Alias{}, err
	}
	if !aliasRE.MatchString(name) || len(name) > 128 || isVersion(name) {
		return Alias{}, validation("name", name, "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(f); err != nil {
		return Alias{}, err
	}
	fname := f.rec.Config.FunctionName
	if f.aliases[name] != nil {
		return Alias{}, errorf(ErrResourceConflict, "Alias already exists: %s:%s", s.functionArn(fname), name)
	}
	a := Alias{AliasArn: s.functionArn(fname) + ":" + name, Name: name, RevisionID: newRevision()}
	if in.FunctionVersion != nil {
		a.FunctionVersion = *in.FunctionVersion
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.Weights != nil {
		a.RoutingConfig = &RoutingConfig{AdditionalVersionWeights: *in.Weights}
	}
	if err := s.checkAlias(f, &a); err != nil {
		return Alias{}, err
	}
	var b store.Batch
	b.PutRecord(nsAlias, fname+"\x00"+name, mustJSON(a))
	if err := s.st.Commit(ctx, &b); err != nil {
		return Alias{}, fmt.Errorf("create alias: %w", err)
	}
	f.aliases[name] = &a
	return a, nil
}

// GetAlias returns an alias.
func (s *Service) GetAlias(ctx context.Context, ref, name string) (Alias, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return Alias{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := f.aliases[name]
	if a == nil {
		return Alias{}, errorf(ErrResourceNotFound, "Alias not found: %s:%s", s.functionArn(f.rec.Config.FunctionName), name)
	}
	return *a, nil
}

// UpdateAlias changes an alias's version, description or routing.
func (s *Service) UpdateAlias(ctx context.Context, ref, name string, in AliasInput) (Alias, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return Alias{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(f); err != nil {
		return Alias{}, err
	}
	old := f.aliases[name]
	if old == nil {
		return Alias{}, errorf(ErrResourceNotFound, "Alias not found: %s:%s", s.functionArn(f.rec.Config.FunctionName), name)
	}
	if in.RevisionID != "" && in.RevisionID != old.RevisionID {
		return Alias{}, errorf(ErrPreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	a := *old
	if in.FunctionVersion != nil {
		a.FunctionVersion = *in.FunctionVersion
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.Weights != nil {
		a.RoutingConfig = &RoutingConfig{AdditionalVersionWeights: *in.Weights}
		if len(*in.Weights) == 0 {
			a.RoutingConfig = nil
		}
	}
	if err := s.checkAlias(f, &a); err != nil {
		return Alias{}, err
	}
	a.RevisionID = newRevision()
	var b store.Batch
	b.PutRecord(nsAlias, f.rec.Config.FunctionName+"\x00"+name, mustJSON(a))
	if err := s.st.Commit(ctx, &b); err != nil {
		return Alias{}, fmt.Errorf("update alias: %w", err)
	}
	f.aliases[name] = &a
	return a, nil
}

// DeleteAlias deletes an alias; a missing alias is no error.
func (s *Service) DeleteAlias(ctx context.Context, ref, name string) error {
	f, _, err := s.lookup(ref)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(f); err != nil {
		return err
	}
	var b store.Batch
	b.DeleteRecord(nsAlias, f.rec.Config.FunctionName+"\x00"+name)
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("delete alias: %w", err)
	}
	delete(f.aliases, name)
	return nil
}

// ListAliases lists a function's aliases by name.
func (s *Service) ListAliases(ctx context.Context, ref string) ([]Alias, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Alias{}
	for _, a := range f.aliases {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
