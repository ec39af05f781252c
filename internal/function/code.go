package function

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/forkline/forkline/internal/durable"
)

// Limits of deployment packages (Lambda quotas).
const (
	maxZipBytes      = 50 << 20  // a direct upload
	maxUnzippedBytes = 250 << 20 // unzipped, layers included
)

type codeRef struct {
	hex    string
	sha256 string // base64, as CodeSha256
	size   int64
}

func errUnzip() error {
	return errorf(ErrInvalidParameterValue, "Could not unzip uploaded file. Please check your file, then try to upload again.")
}

// storeCode checks a zip package and writes it durably under its hash.
func (s *Service) storeCode(data []byte) (codeRef, error) {
	if len(data) > maxZipBytes {
		return codeRef{}, errorf(ErrRequestTooLarge, "Request must be smaller than %d bytes for the CreateFunction operation", maxZipBytes)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return codeRef{}, errUnzip()
	}
	var total uint64
	for _, f := range zr.File {
		if _, err := safePath(f.Name); err != nil {
			return codeRef{}, errUnzip()
		}
		total += f.UncompressedSize64
	}
	if total > maxUnzippedBytes {
		return codeRef{}, errorf(ErrInvalidParameterValue, "Unzipped size must be smaller than %d bytes", maxUnzippedBytes)
	}
	sum := sha256.Sum256(data)
	ref := codeRef{hex: hex.EncodeToString(sum[:]), sha256: base64.StdEncoding.EncodeToString(sum[:]), size: int64(len(data))}
	path := filepath.Join(s.codeDir(), ref.hex+".zip")
	if _, err := os.Stat(path); err == nil {
		return ref, nil // content-addressed: already stored
	}
	if err := durable.WriteFile(path, data, 0o600); err != nil {
		return codeRef{}, fmt.Errorf("store code: %w", err)
	}
	return ref, nil
}

// safePath returns a zip entry's path relative to the task root, or an
// error for entries that would land outside it.
func safePath(name string) (string, error) {
	p := path.Clean(strings.ReplaceAll(name, "\\", "/"))
	if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("zip entry %q leaves the task root", name)
	}
	if p == "." {
		return "", nil
	}
	return p, nil
}

// taskRoot returns the unpacked code of a hash, unpacking it on first use.
func (s *Service) taskRoot(hexSum string) (string, error) {
	dir := filepath.Join(s.taskDir(), hexSum)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	s.unpackMu.Lock()
	defer s.unpackMu.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	zr, err := zip.OpenReader(filepath.Join(s.codeDir(), hexSum+".zip"))
	if err != nil {
		return "", fmt.Errorf("open code %s: %w", hexSum, err)
	}
	defer zr.Close()
	tmp, err := os.MkdirTemp(s.taskDir(), ".unpack-")
	if err != nil {
		return "", err
	}
	if err := unpack(zr.File, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return dir, nil
}

// unpack writes a package's entries under dir: directories and files
// first, symbolic links last, so that no file is ever written through a
// link the package made (a zip cannot send a write outside dir).
func unpack(files []*zip.File, dir string) error {
	var links []*zip.File
	for _, f := range files {
		rel, err := safePath(f.Name)
		if err != nil {
			return err
		}
		if rel == "" {
			continue
		}
		dst := filepath.Join(dir, rel)
		mode := f.Mode()
		switch {
		case f.FileInfo().IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case mode&os.ModeSymlink != 0:
			links = append(links, f)
		default:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			// Lambda keeps the permission bits of the package; files
			// without any are readable.
			perm := mode.Perm()
			if perm == 0 {
				perm = 0o644
			}
			if err := extract(f, dst, perm|0o400); err != nil {
				return err
			}
		}
	}
	for _, f := range links {
		rel, _ := safePath(f.Name)
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		target, _ := io.ReadAll(io.LimitReader(rc, 4096))
		rc.Close()
		if err := os.Symlink(string(target), dst); err != nil {
			return fmt.Errorf("zip entry %q: %w", f.Name, err)
		}
	}
	return nil
}

func extract(f *zip.File, dst string, perm os.FileMode) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.LimitReader(rc, maxUnzippedBytes)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
