package stack

import "github.com/forkline/forkline/internal/store"

// storeBatch collects record writes.
type storeBatch struct{ b store.Batch }

func (s *storeBatch) put(ns, key string, v []byte) { s.b.PutRecord(ns, key, v) }
func (s *storeBatch) del(ns, key string)           { s.b.DeleteRecord(ns, key) }
func (s *storeBatch) batch() *store.Batch          { return &s.b }
