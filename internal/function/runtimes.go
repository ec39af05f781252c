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
// nearest one with a warning, unless StrictRuntimes refuses.
func (s *Service) interpreter(runtime string) (string, error) {
	switch {
	case strings.HasPrefix(runtime, "python"):
		if p, err := exec.LookPath(runtime); err == nil {
			return p, nil
		}
		p, err := exec.LookPath("python3")
		if err != nil {
			return "", &functionError{"Runtime.InvalidRuntime", "No Python interpreter (python3) on this host for runtime " + runtime}
		}
		return s.nearest(runtime, p)
	case strings.HasPrefix(runtime, "nodejs"):
		p, err := exec.LookPath("node")
		if err != nil {
			return "", &functionError{"Runtime.InvalidRuntime", "No Node.js (node) on this host for runtime " + runtime}
		}
		out, err := exec.Command(p, "--version").Output()
		want := "v" + strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x") + "."
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(out)), want) {
			return p, nil
		}
		return s.nearest(runtime, p)
	}
	return "", &functionError{"Runtime.InvalidRuntime", "forkline cannot run the " + runtime + " runtime yet"}
}

func (s *Service) nearest(runtime, p string) (string, error) {
	if s.cfg.StrictRuntimes {
		return "", &functionError{"Runtime.InvalidRuntime", fmt.Sprintf("The host has no interpreter for %s (strict runtimes)", runtime)}
	}
	if _, warned := s.warned.LoadOrStore(runtime, true); !warned {
		s.log.Warn("runtime version not on this host; using the nearest interpreter", "runtime", runtime, "interpreter", p)
	}
	return p, nil
}
