package function

import (
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/forkline/forkline/internal/durable"
)

// runtimeFiles are the bootstraps of the managed runtimes forkline ships:
// they speak the Runtime API and load handlers as AWS's runtimes do.
//
//go:embed runtimes/python/bootstrap.py runtimes/nodejs/bootstrap.js
var runtimeFiles embed.FS

// installRuntimes writes the shipped bootstraps under the data directory
// (rewritten at every start, so they match the binary).
func (s *Service) installRuntimes() error {
	for _, f := range []string{"runtimes/python/bootstrap.py", "runtimes/nodejs/bootstrap.js"} {
		data, err := runtimeFiles.ReadFile(f)
		if err != nil {
			return err
		}
		dst := filepath.Join(s.cfg.DataDir, "lambda", f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := durable.WriteFile(dst, data, 0o644); err != nil {
			return fmt.Errorf("install runtime %s: %w", f, err)
		}
	}
	return nil
}

// interpreter finds the host interpreter for a managed runtime: the exact
// version (python3.12, node major 20) when the host has it, else the
// nearest one with a warning, unless StrictRuntimes refuses. A candidate
// counts only when it runs: version managers such as pyenv put shims on
// PATH for versions that are not active. The answer is kept per runtime.
func (s *Service) interpreter(runtime string) (string, error) {
	if p, ok := s.interpreters.Load(runtime); ok {
		return p.(string), nil
	}
	var exact, fallback, want string
	switch {
	case strings.HasPrefix(runtime, "python"):
		exact, fallback, want = runtime, "python3", "Python "+strings.TrimPrefix(runtime, "python")+"."
	case strings.HasPrefix(runtime, "nodejs"):
		exact, fallback, want = "node"+strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x"), "node", "v"+strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x")+"."
	default:
		return "", &functionError{"Runtime.InvalidRuntime", "forkline cannot run the " + runtime + " runtime yet"}
	}
	for _, name := range []string{exact, fallback} {
		p, version, ok := probeInterpreter(name)
		if ok && strings.HasPrefix(version, want) {
			s.interpreters.Store(runtime, p)
			return p, nil
		}
	}
	p, _, ok := probeInterpreter(fallback)
	if !ok {
		return "", &functionError{"Runtime.InvalidRuntime", fmt.Sprintf("No working %s interpreter on this host for runtime %s", fallback, runtime)}
	}
	if s.cfg.StrictRuntimes {
		return "", &functionError{"Runtime.InvalidRuntime", fmt.Sprintf("The host has no interpreter for %s (strict runtimes)", runtime)}
	}
	s.log.Warn("runtime version not on this host; using the nearest interpreter", "runtime", runtime, "interpreter", p)
	s.interpreters.Store(runtime, p)
	return p, nil
}

// probeInterpreter finds name on PATH and asks it for its version; ok is false when
// it is missing or does not run.
func probeInterpreter(name string) (path, version string, ok bool) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", "", false
	}
	out, err := exec.Command(p, "--version").CombinedOutput()
	if err != nil {
		return "", "", false
	}
	return p, strings.TrimSpace(string(out)), true
}
