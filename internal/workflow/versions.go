package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/uuid"
)

// Versions and aliases (Step Functions developer guide, "Manage
// continuous deployments with versions and aliases"): a version is an
// immutable snapshot of a machine's revision, numbered from 1; an alias
// routes executions to one or two versions by weight.

// Record namespaces of versions and aliases.
const (
	nsVersion = "sfn.ver"   // machine NUL %08d → versionRec
	nsAlias   = "sfn.alias" // machine NUL alias → aliasRec
)

// ErrConflict is Step Functions' ConflictException.
var ErrConflict = fmt.Errorf("ConflictException")

type versionRec struct {
	Machine     string `json:"machine"`
	Version     int    `json:"version"`
	DefHash     string `json:"defHash"`
	RoleArn     string `json:"roleArn"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	RevisionID  string `json:"revisionId"`
	Created     int64  `json:"created"`
}

// Route is one entry of an alias's routing configuration.
type Route struct {
	VersionArn string `json:"stateMachineVersionArn"`
	Weight     int    `json:"weight"`
}

type aliasRec struct {
	Machine     string  `json:"machine"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Routes      []Route `json:"routes"`
	Created     int64   `json:"created"`
	Updated     int64   `json:"updated"`
}

// VersionInfo describes a version.
type VersionInfo struct {
	Arn, Description string
	CreationDate     time.Time
}

// AliasInfo describes an alias.
type AliasInfo struct {
	Arn, Name, Description   string
	Routes                   []Route
	CreationDate, UpdateDate time.Time
}

func versionKey(machine string, n int) string { return fmt.Sprintf("%s\x00%08d", machine, n) }
func aliasKey(machine, alias string) string   { return machine + "\x00" + alias }

// target is what an ARN given to StartExecution or DescribeStateMachine
// names: a machine, one of its versions, or one of its aliases.
type target struct {
	machine string
	version int    // 0: the machine itself (or an alias)
	alias   string // "": not an alias
}

var aliasNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,80}$`)

// parseTarget splits a state machine, version or alias ARN.
func (s *Service) parseTarget(arn string) (target, error) {
	name, err := s.machineName(arn)
	if err != nil {
		return target{}, err
	}
	m, qual, ok := strings.Cut(name, ":")
	if !ok {
		return target{machine: name}, nil
	}
	if n, err := strconv.Atoi(qual); err == nil && n > 0 {
		return target{machine: m, version: n}, nil
	}
	if !aliasNameRE.MatchString(qual) {
		return target{}, errorf(ErrInvalidArn, "Invalid Arn: 'Invalid ARN prefix: %s'", arn)
	}
	return target{machine: m, alias: qual}, nil
}

func (s *Service) versionArn(machine string, n int) string {
	return s.machineArn(machine) + ":" + strconv.Itoa(n)
}

func (s *Service) aliasArn(machine, alias string) string { return s.machineArn(machine) + ":" + alias }

// loadVersions reads versions and aliases at start.
func (s *Service) loadVersions(ctx context.Context) error {
	err := s.st.ScanRecords(ctx, nsVersion, "", func(_ string, v []byte) error {
		var r versionRec
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: state machine version: %v", store.ErrCorrupt, err)
		}
		s.versions[r.Machine] = append(s.versions[r.Machine], &r)
		return nil
	})
	if err != nil {
		return err
	}
	return s.st.ScanRecords(ctx, nsAlias, "", func(_ string, v []byte) error {
		var r aliasRec
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: state machine alias: %v", store.ErrCorrupt, err)
		}
		if s.aliases[r.Machine] == nil {
			s.aliases[r.Machine] = map[string]*aliasRec{}
		}
		s.aliases[r.Machine][r.Name] = &r
		return nil
	})
}

// findVersion returns a machine's version n; s.mu is held.
func (s *Service) findVersion(machine string, n int) *versionRec {
	for _, v := range s.versions[machine] {
		if v.Version == n {
			return v
		}
	}
	return nil
}

// PublishVersion publishes the machine's current revision as a new
// version, or returns the version that already holds it (the API is
// idempotent on the revision).
func (s *Service) PublishVersion(ctx context.Context, arn, revisionID, description string) (VersionInfo, error) {
	t, err := s.parseTarget(arn)
	if err != nil {
		return VersionInfo{}, err
	}
	if t.version != 0 || t.alias != "" {
		return VersionInfo{}, errorf(ErrInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	if len(description) > 256 {
		return VersionInfo{}, errorf(ErrValidation, "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publishLocked(ctx, t.machine, revisionID, description)
}

func (s *Service) publishLocked(ctx context.Context, name, revisionID, description string) (VersionInfo, error) {
	m := s.machines[name]
	if m == nil {
		return VersionInfo{}, errorf(ErrStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", s.machineArn(name))
	}
	if revisionID != "" && revisionID != m.Revision {
		return VersionInfo{}, errorf(ErrConflict, "Failed to publish the State Machine version for revision %s. The current State Machine revision is %s.", revisionID, m.Revision)
	}
	for _, v := range s.versions[name] {
		if v.RevisionID == m.Revision {
			if description != "" && description != v.Description {
				return VersionInfo{}, errorf(ErrConflict, "Failed to publish the State Machine version for revision %s: version %d already holds it with another description.", m.Revision, v.Version)
			}
			return s.versionInfo(v), nil
		}
	}
	if len(s.versions[name]) >= 1000 {
		return VersionInfo{}, errorf(ErrServiceQuotaExceeded, "The number of versions of a state machine is limited to 1000")
	}
	m2 := *m
	m2.NextVersion++
	if m2.NextVersion == 1 && len(s.versions[name]) > 0 {
		m2.NextVersion = s.versions[name][len(s.versions[name])-1].Version + 1
	}
	v := &versionRec{Machine: name, Version: m2.NextVersion, DefHash: m.DefHash, RoleArn: m.RoleArn, Type: m.Type,
		Description: description, RevisionID: m.Revision, Created: s.clock.Now().UnixMilli()}
	var b store.Batch
	b.PutRecord(nsMachine, name, mustJSON(&m2))
	b.PutRecord(nsVersion, versionKey(name, v.Version), mustJSON(v))
	if err := s.st.Commit(ctx, &b); err != nil {
		return VersionInfo{}, err
	}
	s.machines[name] = &m2
	s.versions[name] = append(s.versions[name], v)
	return s.versionInfo(v), nil
}

func (s *Service) versionInfo(v *versionRec) VersionInfo {
	return VersionInfo{Arn: s.versionArn(v.Machine, v.Version), Description: v.Description, CreationDate: time.UnixMilli(v.Created)}
}

// ListVersions lists a machine's versions, newest first.
func (s *Service) ListVersions(ctx context.Context, arn string) ([]VersionInfo, error) {
	t, err := s.parseTarget(arn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.machines[t.machine] == nil || t.version != 0 || t.alias != "" {
		return nil, errorf(ErrStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	vs := s.versions[t.machine]
	out := make([]VersionInfo, 0, len(vs))
	for i := len(vs) - 1; i >= 0; i-- {
		out = append(out, s.versionInfo(vs[i]))
	}
	return out, nil
}

// DeleteVersion deletes a version that no alias routes to.
func (s *Service) DeleteVersion(ctx context.Context, arn string) error {
	t, err := s.parseTarget(arn)
	if err != nil {
		return err
	}
	if t.version == 0 {
		return errorf(ErrInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.findVersion(t.machine, t.version)
	if v == nil {
		return nil // deleting what is not there succeeds, as in Step Functions
	}
	var users []string
	for _, a := range s.aliases[t.machine] {
		for _, r := range a.Routes {
			if r.VersionArn == arn {
				users = append(users, s.aliasArn(t.machine, a.Name))
			}
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return errorf(ErrConflict, "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [%s]", strings.Join(users, ", "))
	}
	var b store.Batch
	b.DeleteRecord(nsVersion, versionKey(t.machine, t.version))
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	vs := s.versions[t.machine]
	for i, x := range vs {
		if x == v {
			s.versions[t.machine] = append(vs[:i:i], vs[i+1:]...)
			break
		}
	}
	return nil
}

// checkRoutes validates an alias's routing configuration: one or two
// versions of the machine, weights from 0 to 100 adding up to 100.
func (s *Service) checkRoutes(machine string, routes []Route) error {
	if len(routes) < 1 || len(routes) > 2 {
		return errorf(ErrValidation, "1 validation error detected: Value at 'routingConfiguration' failed to satisfy constraint: Member must have length less than or equal to 2 and greater than or equal to 1")
	}
	sum := 0
	for i, r := range routes {
		if r.Weight < 0 || r.Weight > 100 {
			return errorf(ErrValidation, "1 validation error detected: Value '%d' at 'routingConfiguration.%d.member.weight' failed to satisfy constraint: Member must have value less than or equal to 100 and greater than or equal to 0", r.Weight, i+1)
		}
		sum += r.Weight
		t, err := s.parseTarget(r.VersionArn)
		if err != nil || t.version == 0 || t.machine != machine {
			return errorf(ErrValidation, "Routing configuration must contain state machine version ARNs of the state machine '%s': '%s'", s.machineArn(machine), r.VersionArn)
		}
		if s.findVersion(machine, t.version) == nil {
			return errorf(ErrResourceNotFound, "Resource not found: '%s'", r.VersionArn)
		}
		if i == 1 && routes[0].VersionArn == r.VersionArn {
			return errorf(ErrValidation, "Routing configuration must contain distinct state machine version ARNs")
		}
	}
	if sum != 100 {
		return errorf(ErrValidation, "Sum of routing configuration weights must be equal to 100")
	}
	return nil
}

// CreateAlias creates an alias (idempotent for the same settings).
func (s *Service) CreateAlias(ctx context.Context, name, description string, routes []Route) (AliasInfo, error) {
	if !aliasNameRE.MatchString(name) || strings.Trim(name, "0123456789") == "" {
		return AliasInfo{}, errorf(ErrValidation, "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$", name)
	}
	if len(routes) == 0 {
		return AliasInfo{}, errorf(ErrValidation, "1 validation error detected: Value null at 'routingConfiguration' failed to satisfy constraint: Member must not be null")
	}
	t, err := s.parseTarget(routes[0].VersionArn)
	if err != nil {
		return AliasInfo{}, errorf(ErrValidation, "Invalid version ARN: '%s'", routes[0].VersionArn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.machines[t.machine] == nil {
		return AliasInfo{}, errorf(ErrResourceNotFound, "Resource not found: '%s'", routes[0].VersionArn)
	}
	if err := s.checkRoutes(t.machine, routes); err != nil {
		return AliasInfo{}, err
	}
	if old := s.aliases[t.machine][name]; old != nil {
		if old.Description == description && sameRoutes(old.Routes, routes) {
			return s.aliasInfo(old), nil
		}
		return AliasInfo{}, errorf(ErrConflict, "Alias %s already exists with a different configuration", s.aliasArn(t.machine, name))
	}
	if len(s.aliases[t.machine]) >= 100 {
		return AliasInfo{}, errorf(ErrServiceQuotaExceeded, "The number of aliases of a state machine is limited to 100")
	}
	now := s.clock.Now().UnixMilli()
	a := &aliasRec{Machine: t.machine, Name: name, Description: description, Routes: routes, Created: now, Updated: now}
	if err := s.putAlias(ctx, a); err != nil {
		return AliasInfo{}, err
	}
	return s.aliasInfo(a), nil
}

func sameRoutes(a, b []Route) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// putAlias stores an alias; s.mu is held.
func (s *Service) putAlias(ctx context.Context, a *aliasRec) error {
	var b store.Batch
	b.PutRecord(nsAlias, aliasKey(a.Machine, a.Name), mustJSON(a))
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	if s.aliases[a.Machine] == nil {
		s.aliases[a.Machine] = map[string]*aliasRec{}
	}
	s.aliases[a.Machine][a.Name] = a
	return nil
}

func (s *Service) aliasInfo(a *aliasRec) AliasInfo {
	return AliasInfo{Arn: s.aliasArn(a.Machine, a.Name), Name: a.Name, Description: a.Description, Routes: append([]Route(nil), a.Routes...),
		CreationDate: time.UnixMilli(a.Created), UpdateDate: time.UnixMilli(a.Updated)}
}

func (s *Service) lookupAlias(arn string) (*aliasRec, error) {
	t, err := s.parseTarget(arn)
	if err != nil {
		return nil, err
	}
	if t.alias == "" {
		return nil, errorf(ErrInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	a := s.aliases[t.machine][t.alias]
	if a == nil {
		return nil, errorf(ErrResourceNotFound, "Resource not found: '%s'", arn)
	}
	return a, nil
}

// DescribeAlias returns an alias.
func (s *Service) DescribeAlias(ctx context.Context, arn string) (AliasInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookupAlias(arn)
	if err != nil {
		return AliasInfo{}, err
	}
	return s.aliasInfo(a), nil
}

// UpdateAlias changes an alias's description or routing.
func (s *Service) UpdateAlias(ctx context.Context, arn string, description *string, routes []Route) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookupAlias(arn)
	if err != nil {
		return time.Time{}, err
	}
	if description == nil && routes == nil {
		return time.Time{}, errorf(ErrValidation, "Either the description or the RoutingConfiguration must be specified")
	}
	n := *a
	if description != nil {
		n.Description = *description
	}
	if routes != nil {
		if err := s.checkRoutes(a.Machine, routes); err != nil {
			return time.Time{}, err
		}
		n.Routes = routes
	}
	n.Updated = s.clock.Now().UnixMilli()
	if err := s.putAlias(ctx, &n); err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(n.Updated), nil
}

// DeleteAlias deletes an alias.
func (s *Service) DeleteAlias(ctx context.Context, arn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookupAlias(arn)
	if err != nil {
		var we *Error
		if errors.As(err, &we) && we.Kind == ErrResourceNotFound {
			return nil
		}
		return err
	}
	var b store.Batch
	b.DeleteRecord(nsAlias, aliasKey(a.Machine, a.Name))
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	delete(s.aliases[a.Machine], a.Name)
	return nil
}

// ListAliases lists a machine's aliases by name.
func (s *Service) ListAliases(ctx context.Context, arn string) ([]AliasInfo, error) {
	t, err := s.parseTarget(arn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.machines[t.machine] == nil || t.alias != "" {
		return nil, errorf(ErrStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	var out []AliasInfo
	for _, a := range s.aliases[t.machine] {
		if t.version != 0 && !routesTo(a, s.versionArn(t.machine, t.version)) {
			continue
		}
		out = append(out, s.aliasInfo(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func routesTo(a *aliasRec, versionArn string) bool {
	for _, r := range a.Routes {
		if r.VersionArn == versionArn {
			return true
		}
	}
	return false
}

// resolved is the machine revision that an execution runs.
type resolved struct {
	machine             string
	defHash, definition string
	roleArn, typ        string
	versionArn          string
	aliasArn            string
}

// resolve turns a machine, version or alias ARN into what to run; an
// alias picks one of its versions by weight. s.mu is held.
func (s *Service) resolve(arn string) (resolved, error) {
	t, err := s.parseTarget(arn)
	if err != nil {
		return resolved{}, err
	}
	m := s.machines[t.machine]
	if m == nil {
		return resolved{}, errorf(ErrStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	r := resolved{machine: t.machine, defHash: m.DefHash, definition: m.Definition, roleArn: m.RoleArn, typ: m.Type}
	version := t.version
	if t.alias != "" {
		a := s.aliases[t.machine][t.alias]
		if a == nil {
			return resolved{}, errorf(ErrResourceNotFound, "Resource not found: '%s'", arn)
		}
		r.aliasArn = arn
		pick := a.Routes[0]
		if len(a.Routes) == 2 && rand.IntN(100) >= a.Routes[0].Weight {
			pick = a.Routes[1]
		}
		pt, _ := s.parseTarget(pick.VersionArn)
		version = pt.version
	}
	if version != 0 {
		v := s.findVersion(t.machine, version)
		if v == nil {
			return resolved{}, errorf(ErrStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
		}
		r.defHash, r.definition, r.roleArn, r.typ = v.DefHash, "", v.RoleArn, v.Type
		if v.DefHash == m.DefHash {
			r.definition = m.Definition
		}
		r.versionArn = s.versionArn(t.machine, version)
	}
	return r, nil
}

func newRevision() string { return uuid.New() }
