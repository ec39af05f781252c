package pebblestore

import (
	"testing"

	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Location: func(t *testing.T) string { return t.TempDir() },
		Open: func(t *testing.T, dir string) (store.Store, func()) {
			s, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s, func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}
		},
	})
}
