package function

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/forkline/forkline/internal/store"
)

// nsLayer holds layer versions: key NAME NUL VERSION (zero padded).
const nsLayer = "fn.layer"

// maxLayers bounds the layers of a function (Lambda quotas).
const maxLayers = 5

// LayerVersion is a published layer version as the Lambda API reports it.
type LayerVersion struct {
	LayerArn                string       `json:"LayerArn"`
	LayerVersionArn         string       `json:"LayerVersionArn"`
	Description             string       `json:"Description"`
	CreatedDate             string       `json:"CreatedDate"`
	Version                 int64        `json:"Version"`
	CompatibleRuntimes      []string     `json:"CompatibleRuntimes,omitempty"`
	CompatibleArchitectures []string     `json:"CompatibleArchitectures,omitempty"`
	LicenseInfo             string       `json:"LicenseInfo,omitempty"`
	Content                 LayerContent `json:"Content"`
}

// LayerContent describes a layer's package.
type LayerContent struct {
	Location   string `json:"Location"`
	CodeSha256 string `json:"CodeSha256"`
	CodeSize   int64  `json:"CodeSize"`
}

// Layer is a function's reference to a layer version.
type Layer struct {
	Arn      string `json:"Arn"`
	CodeSize int64  `json:"CodeSize"`
}

type layerRec struct {
	Version LayerVersion `json:"version"`
	CodeHex string       `json:"codeHex"`
}

var layerNameRE = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,140}$`)

func (s *Service) layerArn(name string) string {
	return "arn:aws:lambda:" + s.cfg.Region + ":" + s.cfg.AccountID + ":layer:" + name
}

func layerKey(name string, v int64) string { return fmt.Sprintf("%s\x00%010d", name, v) }

// PublishLayerInput are the parameters of PublishLayerVersion.
type PublishLayerInput struct {
	Name, Description, LicenseInfo  string
	CompatibleRuntimes, CompatArchs []string
	ZipFile                         []byte
}

// PublishLayerVersion stores a new version of a layer.
func (s *Service) PublishLayerVersion(ctx context.Context, in PublishLayerInput) (LayerVersion, error) {
	if !layerNameRE.MatchString(in.Name) {
		return LayerVersion{}, validation("layerName", in.Name, "Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+")
	}
	if len(in.ZipFile) == 0 {
		return LayerVersion{}, errorf(ErrInvalidParameterValue, "Please provide a source for layer content.")
	}
	for _, r := range in.CompatibleRuntimes {
		if !runtimes[r] {
			return LayerVersion{}, errorf(ErrInvalidParameterValue, "Value %s at 'compatibleRuntimes' failed to satisfy constraint: Member must satisfy enum value set", r)
		}
	}
	code, err := s.storeCode(in.ZipFile)
	if err != nil {
		return LayerVersion{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var last int64
	for k, l := range s.layers {
		if strings.HasPrefix(k, in.Name+"\x00") && l.Version.Version > last {
			last = l.Version.Version
		}
	}
	if n := s.layerHigh[in.Name]; n > last {
		last = n // versions are never reused, even after deletion
	}
	v := LayerVersion{
		LayerArn: s.layerArn(in.Name), Description: in.Description, CreatedDate: lastModified(s.clock.Now()),
		Version: last + 1, CompatibleRuntimes: in.CompatibleRuntimes, CompatibleArchitectures: in.CompatArchs,
		LicenseInfo: in.LicenseInfo,
		Content:     LayerContent{CodeSha256: code.sha256, CodeSize: code.size},
	}
	v.LayerVersionArn = v.LayerArn + ":" + strconv.FormatInt(v.Version, 10)
	rec := layerRec{Version: v, CodeHex: code.hex}
	var b store.Batch
	b.PutRecord(nsLayer, layerKey(in.Name, v.Version), mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return LayerVersion{}, fmt.Errorf("publish layer version: %w", err)
	}
	s.layers[layerKey(in.Name, v.Version)] = &rec
	s.layerHigh[in.Name] = v.Version
	return s.located(&rec), nil
}

// located is a layer version with a fresh link to its content.
func (s *Service) located(l *layerRec) LayerVersion {
	v := l.Version
	v.Content.Location = s.CodeURL(l.CodeHex)
	return v
}

// GetLayerVersion returns one layer version.
func (s *Service) GetLayerVersion(ctx context.Context, name string, v int64) (LayerVersion, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := s.layers[layerKey(name, v)]
	if l == nil {
		return LayerVersion{}, errorf(ErrResourceNotFound, "The resource you requested does not exist.")
	}
	return s.located(l), nil
}

// ListLayerVersions lists a layer's versions, newest first.
func (s *Service) ListLayerVersions(ctx context.Context, name string) ([]LayerVersion, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []LayerVersion{}
	for k, l := range s.layers {
		if strings.HasPrefix(k, name+"\x00") {
			out = append(out, s.located(l))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	return out, nil
}

// LayerSummary is one entry of ListLayers.
type LayerSummary struct {
	LayerName             string       `json:"LayerName"`
	LayerArn              string       `json:"LayerArn"`
	LatestMatchingVersion LayerVersion `json:"LatestMatchingVersion"`
}

// ListLayers lists every layer with its latest version.
func (s *Service) ListLayers(ctx context.Context) ([]LayerSummary, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	latest := map[string]LayerVersion{}
	for k, l := range s.layers {
		name, _, _ := strings.Cut(k, "\x00")
		if cur, ok := latest[name]; !ok || l.Version.Version > cur.Version {
			latest[name] = s.located(l)
		}
	}
	out := []LayerSummary{}
	for name, v := range latest {
		out = append(out, LayerSummary{LayerName: name, LayerArn: v.LayerArn, LatestMatchingVersion: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LayerName < out[j].LayerName })
	return out, nil
}

// DeleteLayerVersion deletes a layer version; functions already using it
// keep their copy, as in Lambda.
func (s *Service) DeleteLayerVersion(ctx context.Context, name string, v int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b store.Batch
	b.DeleteRecord(nsLayer, layerKey(name, v))
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("delete layer version: %w", err)
	}
	delete(s.layers, layerKey(name, v))
	return nil
}

func (s *Service) loadLayers(ctx context.Context) error {
	return s.st.ScanRecords(ctx, nsLayer, "", func(k string, v []byte) error {
		var rec layerRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: layer: %v", store.ErrCorrupt, err)
		}
		s.layers[k] = &rec
		name, _, _ := strings.Cut(k, "\x00")
		if rec.Version.Version > s.layerHigh[name] {
			s.layerHigh[name] = rec.Version.Version
		}
		return nil
	})
}

// resolveLayers turns layer version ARNs into the function's Layers and
// the code hashes to stack, in order. Requires s.mu.
func (s *Service) resolveLayers(arns []string) ([]Layer, []string, error) {
	if len(arns) > maxLayers {
		return nil, nil, errorf(ErrInvalidParameterValue, "Cannot reference more than %d layers.", maxLayers)
	}
	var layers []Layer
	var hexes []string
	prefix := "arn:aws:lambda:" + s.cfg.Region + ":" + s.cfg.AccountID + ":layer:"
	for _, arn := range arns {
		rest := strings.TrimPrefix(arn, prefix)
		i := strings.LastIndexByte(rest, ':')
		if rest == arn || i < 0 {
			return nil, nil, errorf(ErrInvalidParameterValue, "Layer version %s does not exist.", arn)
		}
		v, err := strconv.ParseInt(rest[i+1:], 10, 64)
		l := s.layers[layerKey(rest[:i], v)]
		if err != nil || l == nil {
			return nil, nil, errorf(ErrInvalidParameterValue, "Layer version %s does not exist.", arn)
		}
		layers = append(layers, Layer{Arn: arn, CodeSize: l.Version.Content.CodeSize})
		hexes = append(hexes, l.CodeHex)
	}
	return layers, hexes, nil
}

// optDir returns the directory that plays /opt for a stack of layers: the
// layers unpacked in order, later ones over earlier ones (Lambda
// developer guide, "Lambda layers"). Without root forkline cannot mount
// it at /opt; runtimes find it through PATH, LD_LIBRARY_PATH, PYTHONPATH
// and NODE_PATH.
func (s *Service) optDir(hexes []string) (string, error) {
	if len(hexes) == 0 {
		return "", nil
	}
	sum := sha256.Sum256([]byte(strings.Join(hexes, ",")))
	dir := filepath.Join(s.cfg.DataDir, "lambda", "opt", hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".opt-")
	if err != nil {
		return "", err
	}
	for _, h := range hexes {
		root, err := s.taskRoot(h)
		if err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
		if err := copyTree(root, tmp); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(dir); serr == nil {
			return dir, nil // made concurrently
		}
		return "", err
	}
	return dir, nil
}

// copyTree copies src over dst, replacing files that exist.
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		// A link left by an earlier layer is replaced, never written
		// through: later layers cannot reach outside the stack.
		if li, err := os.Lstat(target); err == nil && li.Mode()&os.ModeSymlink != 0 {
			if err := os.Remove(target); err != nil {
				return err
			}
		}
		switch {
		case info.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			os.Remove(target)
			return os.Symlink(link, target)
		default:
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			os.Remove(target)
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		}
	})
}
