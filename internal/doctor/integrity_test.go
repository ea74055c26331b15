package doctor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/internal/store"
)

// TestStoreIntegrity: a store whose pages were damaged on disk (it still
// opens and answers the quick queries) fails the store check.
func TestStoreIntegrity(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lw.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.BeginRun(ctx, "http://dump.test/")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 600; i++ {
		u := fmt.Sprintf("http://dump.test/%d/%s", i, strings.Repeat("p", 400))
		if err := st.SaveVisit(ctx, run, store.Visit{URL: u, Status: "page", Links: []string{u + "/a.jpg"}}); err != nil {
			t.Fatal(err)
		}
	}
	if c := Store(ctx, path); !c[0].OK {
		t.Fatalf("healthy store failed the check: %+v", c[0])
	}
	st.Close()
	// Damage the middle of the file: pages of the visits table.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	junk := []byte(strings.Repeat("\xa5", 4096))
	if _, err := f.WriteAt(junk, fi.Size()/2/4096*4096+100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c := Store(ctx, path)
	t.Logf("%+v", c[0])
	if c[0].OK {
		t.Errorf("damaged store passed the check: %s", c[0].Detail)
	}
}
