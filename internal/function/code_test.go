package function

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A package cannot write outside its task root, by path or through a
// symbolic link it makes.
func TestUnpackStaysInside(t *testing.T) {
	outside := t.TempDir()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	link := &zip.FileHeader{Name: "evil"}
	link.SetMode(os.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(link)
	w.Write([]byte(outside))
	w, _ = zw.Create("evil/planted")
	w.Write([]byte("x"))
	zw.Close()
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	unpack(zr.File, root) // an error is fine; a write outside is not
	if _, err := os.Stat(filepath.Join(outside, "planted")); err == nil {
		t.Fatal("the package wrote outside its task root through a symlink")
	}
	for _, name := range []string{"../x", "/etc/x", "a/../../x"} {
		if _, err := safePath(name); err == nil {
			t.Errorf("safePath(%q) accepted", name)
		}
	}
}
