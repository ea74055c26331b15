package local

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ManifestRow maps one file to its capture ID and metadata.
type ManifestRow struct {
	File      string
	CaptureID string
	Kind      string
	Source    string
	Meta      map[string]string
}

// ReadManifest reads a CSV manifest with a header row. Recognised columns:
// file (required), capture_id, kind, source; any other column becomes
// metadata. Relative file paths are resolved against the manifest's
// directory. Errors name the line.
func ReadManifest(path string) ([]ManifestRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	hdr, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("manifest %s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range hdr {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["file"]; !ok {
		return nil, fmt.Errorf("manifest %s: no \"file\" column in header", path)
	}
	dir := filepath.Dir(path)
	var rows []ManifestRow
	seen := map[string]int{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", path, err)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row := ManifestRow{File: get("file"), CaptureID: get("capture_id"), Kind: get("kind"), Source: get("source")}
		if row.File == "" {
			return nil, fmt.Errorf("manifest %s:%d: empty file", path, line)
		}
		if !filepath.IsAbs(row.File) {
			row.File = filepath.Join(dir, row.File)
		}
		if row.CaptureID == "" {
			row.CaptureID = CaptureID(row.File)
		}
		if prev, dup := seen[row.CaptureID]; dup {
			return nil, fmt.Errorf("manifest %s:%d: capture_id %q already used on line %d", path, line, row.CaptureID, prev)
		}
		seen[row.CaptureID] = line
		for name, i := range col {
			switch name {
			case "file", "capture_id", "kind", "source":
				continue
			}
			if i < len(rec) && rec[i] != "" {
				if row.Meta == nil {
					row.Meta = map[string]string{}
				}
				row.Meta[name] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}
