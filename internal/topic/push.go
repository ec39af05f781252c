package topic

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/uuid"
)

// Mobile push: platform applications and their endpoints (SNS developer
// guide, "Mobile push notifications"). forkline keeps them as SNS does
// and contacts no push service: a publish to an enabled endpoint is
// accepted and logged, not sent.

const (
	nsApp      = "sns.app"      // PLATFORM/NAME → appRec
	nsEndpoint = "sns.endpoint" // PLATFORM/NAME/ID → endpointRec
)

// ErrEndpointDisabled is SNS's answer to a publish to a disabled endpoint.
var ErrEndpointDisabled = fmt.Errorf("EndpointDisabled")

// pushPlatforms are the platforms CreatePlatformApplication takes (SNS API
// reference, CreatePlatformApplication); needsPrincipal tells those whose
// credentials come in two parts (all but GCM's single key).
var pushPlatforms = map[string]bool{
	"ADM": true, "APNS": true, "APNS_SANDBOX": true, "BAIDU": true, "GCM": true,
	"MACOS": true, "MACOS_SANDBOX": true, "MPNS": true, "WNS": true,
}

// appAttributeNames are the attributes of a platform application (SNS
// API reference, SetPlatformApplicationAttributes); appSecrets are those
// never shown back.
var (
	appAttributeNames = map[string]bool{
		"PlatformCredential": true, "PlatformPrincipal": true, "EventEndpointCreated": true,
		"EventEndpointDeleted": true, "EventEndpointUpdated": true, "EventDeliveryFailure": true,
		"SuccessFeedbackRoleArn": true, "FailureFeedbackRoleArn": true, "SuccessFeedbackSampleRate": true,
		"ApplePlatformTeamID": true, "ApplePlatformBundleID": true,
	}
	appSecrets = map[string]bool{"PlatformCredential": true, "PlatformPrincipal": true}
)

type appRec struct {
	Name       string            `json:"name"`
	Platform   string            `json:"platform"`
	Attributes map[string]string `json:"attributes"`
	CreatedAt  int64             `json:"createdAt"`
}

type endpointRec struct {
	ID string `json:"id"`
	// Attributes holds Token, Enabled and CustomUserData.
	Attributes map[string]string `json:"attributes"`
	CreatedAt  int64             `json:"createdAt"`
}

// pushApp is a platform application with its endpoints.
type pushApp struct {
	rec       appRec
	endpoints map[string]*endpointRec // by ID
	byToken   map[string]string       // token → endpoint ID
}

// pushState holds the platform applications, by PLATFORM/NAME.
type pushState struct {
	mu   sync.Mutex // guards apps and every app's endpoints; held across their commits
	apps map[string]*pushApp
}

func appKey(platform, name string) string { return platform + "/" + name }

func (s *Service) appArn(key string) string {
	return "arn:aws:sns:" + s.cfg.Region + ":" + s.cfg.AccountID + ":app/" + key
}

func (s *Service) endpointArn(key, id string) string {
	return "arn:aws:sns:" + s.cfg.Region + ":" + s.cfg.AccountID + ":endpoint/" + key + "/" + id
}

// parsePushArn returns what follows "app/" or "endpoint/" in an ARN of
// this region and account.
func (s *Service) parsePushArn(arn, kind string) (string, bool) {
	prefix := "arn:aws:sns:" + s.cfg.Region + ":" + s.cfg.AccountID + ":" + kind + "/"
	if !strings.HasPrefix(arn, prefix) {
		return "", false
	}
	return arn[len(prefix):], true
}

func errAppNotFound() error { return errorf(ErrNotFound, "PlatformApplication does not exist") }

func errEndpointNotFound() error { return errorf(ErrNotFound, "Endpoint does not exist") }

// loadPush reads the platform applications and endpoints at start.
func (s *Service) loadPush(ctx context.Context) error {
	s.push.apps = map[string]*pushApp{}
	err := s.st.ScanRecords(ctx, nsApp, "", func(k string, v []byte) error {
		var rec appRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: platform application: %v", store.ErrCorrupt, err)
		}
		s.push.apps[k] = &pushApp{rec: rec, endpoints: map[string]*endpointRec{}, byToken: map[string]string{}}
		return nil
	})
	if err != nil {
		return err
	}
	return s.st.ScanRecords(ctx, nsEndpoint, "", func(k string, v []byte) error {
		var rec endpointRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: platform endpoint: %v", store.ErrCorrupt, err)
		}
		a := s.push.apps[k[:max(strings.LastIndexByte(k, '/'), 0)]]
		if a == nil {
			return nil // its application's deletion removed it too
		}
		a.endpoints[rec.ID] = &rec
		a.byToken[rec.Attributes["Token"]] = rec.ID
		return nil
	})
}

// checkAppAttributes checks the names of a platform application's
// attributes.
func checkAppAttributes(attrs map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if !appAttributeNames[k] {
			return errorf(ErrInvalidParameter, "Invalid parameter: Attributes Reason: Invalid attribute name: %s", k)
		}
	}
	return nil
}

// checkCredentials checks that a platform application has the credentials
// its platform needs: a key (PlatformCredential), and for every platform
// but GCM the part that names it (PlatformPrincipal). forkline cannot ask
// the push service whether they are valid.
func checkCredentials(platform string, attrs map[string]string) error {
	cred, principal := attrs["PlatformCredential"] != "", attrs["PlatformPrincipal"] != ""
	switch {
	case !cred && principal:
		return errorf(ErrInvalidParameter, "Invalid parameter: Attributes Reason: PlatformPrincipal attribute provided without PlatformCredential")
	case !cred:
		return errorf(ErrInvalidParameter, "Invalid parameter: Attributes Reason: PlatformCredential attribute is required")
	case !principal && platform != "GCM":
		return errorf(ErrInvalidParameter, "Invalid parameter: Attributes Reason: PlatformCredential attribute provided without PlatformPrincipal")
	}
	return nil
}

// CreatePlatformApplication creates a platform application, or replaces
// the attributes of the one of that platform and name.
func (s *Service) CreatePlatformApplication(ctx context.Context, name, platform string, attrs map[string]string) (string, error) {
	switch {
	case name == "":
		return "", invalidParam("Name", "cannot be empty")
	case len(name) > 256:
		return "", invalidParam("Name", "must be at most 256 characters long")
	case strings.IndexFunc(name, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0:
		return "", invalidParam("Name", "must contain only characters 'a'-'z', 'A'-'Z', '0'-'9', '_', '-', and '.'")
	}
	if !pushPlatforms[platform] {
		return "", invalidParam("Platform", platform+" is not supported")
	}
	if len(attrs) == 0 {
		return "", errorf(ErrValidationError, "1 validation error detected: Value null at 'attributes' failed to satisfy constraint: Member must not be null")
	}
	if err := checkAppAttributes(attrs); err != nil {
		return "", err
	}
	if err := checkCredentials(platform, attrs); err != nil {
		return "", err
	}
	key := appKey(platform, name)
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	a := s.push.apps[key]
	rec := appRec{Name: name, Platform: platform, Attributes: map[string]string{}, CreatedAt: s.clock.Now().Unix()}
	for k, v := range attrs {
		if v != "" {
			rec.Attributes[k] = v
		}
	}
	if a != nil {
		rec.CreatedAt = a.rec.CreatedAt
	}
	var b store.Batch
	b.PutRecord(nsApp, key, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return "", err
	}
	if a == nil {
		s.push.apps[key] = &pushApp{rec: rec, endpoints: map[string]*endpointRec{}, byToken: map[string]string{}}
	} else {
		a.rec = rec
	}
	return s.appArn(key), nil
}

// lookupApp returns the application of an ARN. Requires s.push.mu.
func (s *Service) lookupApp(arn string) (string, *pushApp, error) {
	key, ok := s.parsePushArn(arn, "app")
	if a := s.push.apps[key]; ok && a != nil {
		return key, a, nil
	}
	return "", nil, errAppNotFound()
}

// GetPlatformApplicationAttributes returns an application's attributes
// but its credentials, which SNS never shows.
func (s *Service) GetPlatformApplicationAttributes(ctx context.Context, arn string) (map[string]string, error) {
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	_, a, err := s.lookupApp(arn)
	if err != nil {
		return nil, err
	}
	return shownAppAttributes(a), nil
}

func shownAppAttributes(a *pushApp) map[string]string {
	out := map[string]string{}
	for k, v := range a.rec.Attributes {
		if !appSecrets[k] {
			out[k] = v
		}
	}
	return out
}

// SetPlatformApplicationAttributes changes the named attributes of an
// application; one given empty is removed.
func (s *Service) SetPlatformApplicationAttributes(ctx context.Context, arn string, attrs map[string]string) error {
	if len(attrs) == 0 {
		return invalidParam("Attributes", "no value for required parameter")
	}
	if err := checkAppAttributes(attrs); err != nil {
		return err
	}
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	key, a, err := s.lookupApp(arn)
	if err != nil {
		return err
	}
	rec := a.rec
	rec.Attributes = maps.Clone(rec.Attributes)
	for k, v := range attrs {
		if v == "" {
			delete(rec.Attributes, k)
		} else {
			rec.Attributes[k] = v
		}
	}
	if err := checkCredentials(rec.Platform, rec.Attributes); err != nil {
		return err
	}
	var b store.Batch
	b.PutRecord(nsApp, key, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	a.rec = rec
	return nil
}

// PushItem is an application or endpoint in a list.
type PushItem struct {
	Arn        string
	Attributes map[string]string
}

// ListPlatformApplications returns the applications, 100 a page.
func (s *Service) ListPlatformApplications(ctx context.Context, token string) ([]PushItem, string, error) {
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	keys := make([]string, 0, len(s.push.apps))
	for k := range s.push.apps {
		keys = append(keys, k)
	}
	keys, next, err := page(keys, token)
	if err != nil {
		return nil, "", err
	}
	out := make([]PushItem, len(keys))
	for i, k := range keys {
		out[i] = PushItem{Arn: s.appArn(k), Attributes: shownAppAttributes(s.push.apps[k])}
	}
	return out, next, nil
}

// DeletePlatformApplication deletes an application and its endpoints; an
// application that does not exist is no error.
func (s *Service) DeletePlatformApplication(ctx context.Context, arn string) error {
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	key, a, err := s.lookupApp(arn)
	if err != nil {
		return nil
	}
	var b store.Batch
	b.DeleteRecord(nsApp, key)
	for id := range a.endpoints {
		b.DeleteRecord(nsEndpoint, key+"/"+id)
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	delete(s.push.apps, key)
	return nil
}

// checkEndpointAttributes checks the attributes of an endpoint (SNS API
// reference, SetEndpointAttributes: CustomUserData, Enabled, Token).
func checkEndpointAttributes(attrs map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[k]
		switch k {
		case "CustomUserData":
			// "must be in UTF-8 format and less than 2KB" (SNS API
			// reference, CreatePlatformEndpoint).
			if len(v) >= 2048 || !utf8.ValidString(v) {
				return invalidParam("CustomUserData", "must be UTF-8 and less than 2 KB")
			}
		case "Enabled":
			if v := strings.ToLower(v); v != "true" && v != "false" {
				return invalidParam("Attributes", "Enabled must be true or false")
			}
		case "Token":
			if v == "" {
				return invalidParam("Token", "cannot be empty")
			}
		default:
			return errorf(ErrInvalidParameter, "Invalid parameter: Attributes Reason: Invalid attribute name: %s", k)
		}
	}
	return nil
}

// CreatePlatformEndpoint creates an endpoint for a device token, or
// returns the one the token already has if its attributes are the same
// (SNS API reference, CreatePlatformEndpoint: "the action is idempotent").
func (s *Service) CreatePlatformEndpoint(ctx context.Context, appArn, token, customUserData string, attrs map[string]string) (string, error) {
	if token == "" {
		return "", invalidParam("Token", "no value for required parameter")
	}
	want := map[string]string{"Enabled": "true"}
	for k, v := range attrs {
		if k == "Enabled" {
			v = strings.ToLower(v)
		}
		if v != "" || k != "CustomUserData" {
			want[k] = v
		}
	}
	if customUserData != "" {
		want["CustomUserData"] = customUserData
	}
	want["Token"] = token
	if err := checkEndpointAttributes(want); err != nil {
		return "", err
	}
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	key, a, err := s.lookupApp(appArn)
	if err != nil {
		return "", err
	}
	if id, ok := a.byToken[token]; ok {
		arn := s.endpointArn(key, id)
		if !equalMaps(a.endpoints[id].Attributes, want) {
			return "", errorf(ErrInvalidParameter, "Invalid parameter: Token Reason: Endpoint %s already exists with the same Token, but different attributes.", arn)
		}
		return arn, nil
	}
	rec := &endpointRec{ID: uuid.New(), Attributes: want, CreatedAt: s.clock.Now().Unix()}
	var b store.Batch
	b.PutRecord(nsEndpoint, key+"/"+rec.ID, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return "", err
	}
	a.endpoints[rec.ID] = rec
	a.byToken[token] = rec.ID
	return s.endpointArn(key, rec.ID), nil
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// lookupEndpoint returns the application and endpoint of an endpoint ARN.
// Requires s.push.mu.
func (s *Service) lookupEndpoint(arn string) (string, *pushApp, *endpointRec) {
	rest, ok := s.parsePushArn(arn, "endpoint")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i < 0 {
		return "", nil, nil
	}
	a := s.push.apps[rest[:i]]
	if a == nil || a.endpoints[rest[i+1:]] == nil {
		return "", nil, nil
	}
	return rest[:i], a, a.endpoints[rest[i+1:]]
}

// GetEndpointAttributes returns an endpoint's Token, Enabled and
// CustomUserData.
func (s *Service) GetEndpointAttributes(ctx context.Context, arn string) (map[string]string, error) {
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	_, _, e := s.lookupEndpoint(arn)
	if e == nil {
		return nil, errEndpointNotFound()
	}
	return maps.Clone(e.Attributes), nil
}

// SetEndpointAttributes changes the named attributes of an endpoint;
// CustomUserData given empty is removed.
func (s *Service) SetEndpointAttributes(ctx context.Context, arn string, attrs map[string]string) error {
	if len(attrs) == 0 {
		return invalidParam("Attributes", "no value for required parameter")
	}
	if err := checkEndpointAttributes(attrs); err != nil {
		return err
	}
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	key, a, e := s.lookupEndpoint(arn)
	if e == nil {
		return errEndpointNotFound()
	}
	rec := *e
	rec.Attributes = maps.Clone(e.Attributes)
	for k, v := range attrs {
		if k == "Enabled" {
			v = strings.ToLower(v)
		}
		if k == "CustomUserData" && v == "" {
			delete(rec.Attributes, k)
		} else {
			rec.Attributes[k] = v
		}
	}
	if t := rec.Attributes["Token"]; t != e.Attributes["Token"] {
		if other, ok := a.byToken[t]; ok && other != e.ID {
			return errorf(ErrInvalidParameter, "Invalid parameter: Token Reason: Endpoint %s already exists with the same Token", s.endpointArn(key, other))
		}
	}
	var b store.Batch
	b.PutRecord(nsEndpoint, key+"/"+rec.ID, mustJSON(&rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	delete(a.byToken, e.Attributes["Token"])
	a.byToken[rec.Attributes["Token"]] = rec.ID
	a.endpoints[rec.ID] = &rec
	return nil
}

// DeleteEndpoint deletes an endpoint; one that does not exist is no
// error ("When you delete an endpoint that is also subscribed to a topic,
// then you must also unsubscribe the endpoint from the topic", SNS API
// reference, DeleteEndpoint: its subscriptions stay).
func (s *Service) DeleteEndpoint(ctx context.Context, arn string) error {
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	key, a, e := s.lookupEndpoint(arn)
	if e == nil {
		return nil
	}
	var b store.Batch
	b.DeleteRecord(nsEndpoint, key+"/"+e.ID)
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	delete(a.endpoints, e.ID)
	if a.byToken[e.Attributes["Token"]] == e.ID {
		delete(a.byToken, e.Attributes["Token"])
	}
	return nil
}

// ListEndpointsByPlatformApplication returns an application's endpoints,
// 100 a page.
func (s *Service) ListEndpointsByPlatformApplication(ctx context.Context, appArn, token string) ([]PushItem, string, error) {
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	key, a, err := s.lookupApp(appArn)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, 0, len(a.endpoints))
	for id := range a.endpoints {
		ids = append(ids, id)
	}
	ids, next, err := page(ids, token)
	if err != nil {
		return nil, "", err
	}
	out := make([]PushItem, len(ids))
	for i, id := range ids {
		out[i] = PushItem{Arn: s.endpointArn(key, id), Attributes: maps.Clone(a.endpoints[id].Attributes)}
	}
	return out, next, nil
}

// endpointState tells whether an endpoint ARN names an endpoint, and
// whether it is enabled.
func (s *Service) endpointState(arn string) (exists, enabled bool) {
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	_, _, e := s.lookupEndpoint(arn)
	if e == nil {
		return false, false
	}
	return true, e.Attributes["Enabled"] != "false"
}

// publishToEndpoint accepts a direct publish to a platform endpoint: a
// disabled one refuses it before the message is looked at (recorded AWS
// answer, moto's AWS-verified test_publish_to_disabled_platform_endpoint);
// with MessageStructure=json, the platform's key is what the device gets,
// and no "default" is needed (SNS developer guide, "Sending platform
// specific payloads in messages to mobile devices").
func (s *Service) publishToEndpoint(in *PublishInput, arn string) (PublishResult, error) {
	exists, enabled := s.endpointState(arn)
	if !exists {
		return PublishResult{}, invalidParam("TargetArn", "No endpoint found for the target arn specified")
	}
	if !enabled {
		return PublishResult{}, errorf(ErrEndpointDisabled, "Endpoint is disabled")
	}
	// A topic publish's checks, in their order, but for the JSON
	// structure's "default", which an endpoint does not need.
	check := *in
	if in.MessageStructure == "json" {
		check.MessageStructure = ""
	}
	if _, err := s.prepare(&topic{}, &check, ""); err != nil {
		return PublishResult{}, err
	}
	if in.MessageStructure == "json" {
		var m map[string]any
		if err := json.Unmarshal([]byte(in.Message), &m); err != nil || m == nil {
			return PublishResult{}, errorf(ErrInvalidParameter, "Invalid parameter: Message Structure - JSON message body failed to parse")
		}
	}
	id := newID()
	s.log.Info("push notification not sent: forkline contacts no push service", "endpoint", arn, "message_id", id)
	return PublishResult{MessageID: id}, nil
}
