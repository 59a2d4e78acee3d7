package disk

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestMetaLargeRestore grows the metadata far past the reader's buffer and through several compactions, with
// values and keys of every size (long names among them), and checks that a reopened store holds exactly the
// same entries: every value's bytes owned, none aliased to a read buffer.
func TestMetaLargeRestore(t *testing.T) {
	for _, policy := range policies {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Fsync: policy, metaCompactMin: 64 << 10}
			s := openT(t, dir, opts)
			want := map[string][]byte{}
			rng := rand.New(rand.NewPCG(1, uint64(policy)))
			value := func(i int) []byte {
				n := rng.IntN(300)
				if i%97 == 0 {
					n = 70_000 + rng.IntN(70_000) // larger than the read buffer
				}
				return bytes.Repeat([]byte{byte('a' + i%26)}, n)
			}
			key := func(i int) string {
				k := fmt.Sprintf("/topics/default/t-%05d", i%1500)
				if i%501 == 0 {
					k += "/" + strings.Repeat("x", 70_000)
				}
				return k
			}
			for i := range 20_000 {
				k := key(i)
				switch {
				case i%7 == 3:
					if err := s.Meta().Delete(k); err != nil {
						t.Fatal(err)
					}
					delete(want, k)
				default:
					v := value(i)
					if err := s.Meta().Put(k, v); err != nil {
						t.Fatal(err)
					}
					want[k] = v
				}
			}
			check := func(s *Store) {
				t.Helper()
				kvs, err := s.Meta().List("")
				if err != nil {
					t.Fatal(err)
				}
				got := map[string][]byte{}
				for _, kv := range kvs {
					got[kv.Key] = kv.Value
				}
				if !maps.EqualFunc(got, want, bytes.Equal) {
					t.Fatalf("restored %d entries, want %d (or values differ)", len(got), len(want))
				}
			}
			check(s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openT(t, dir, opts)
			check(s)
			// And once more without a clean close: the file as the process left it.
			for i := range 3_000 {
				v := value(i)
				if err := s.Meta().Put(key(i), v); err != nil {
					t.Fatal(err)
				}
				want[key(i)] = v
			}
			s.meta.syncTo(s.meta.wseq)
			s2 := reopenWithoutClose(t, s, dir, opts)
			check(s2)
			s2.Close()
		})
	}
}
