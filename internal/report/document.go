package report

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WriteDocumentJSON writes the report as one indented JSON object.
func WriteDocumentJSON(w io.Writer, doc Document) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// documentHeader names the columns of WriteDocumentCSV: one row per copy,
// with its incident and the capture's manifest data.
var documentHeader = []string{"incident_id", "source", "status", "capture_id", "kind", "capture_source", "capture_meta",
	"url", "page", "archive_path", "sha256", "algorithm", "via", "distance", "inliers", "variant", "first_seen", "last_seen"}

// WriteDocumentCSV writes one row per copy under a header row. Text from
// dump sites and manifests is defused against formula injection (Defuse);
// metadata is key=value pairs separated by "; ", keys sorted.
func WriteDocumentCSV(w io.Writer, doc Document) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(documentHeader)
	for _, inc := range doc.Incidents {
		caps := map[string]CaptureView{}
		for _, c := range inc.Captures {
			caps[c.ID] = c
		}
		for _, m := range inc.Matches {
			c := caps[m.CaptureID]
			_ = cw.Write([]string{inc.ID, Defuse(inc.Source), inc.Status, Defuse(m.CaptureID), m.Kind, Defuse(c.Source), Defuse(metaString(c.Meta)),
				Defuse(m.URL), Defuse(m.Page), Defuse(m.ArchivePath), m.SHA256, m.Algorithm, m.Via, strconv.Itoa(m.Distance), strconv.Itoa(m.Inliers),
				m.Variant, m.FirstSeen.UTC().Format(time.RFC3339), m.LastSeen.UTC().Format(time.RFC3339)})
		}
	}
	cw.Flush()
	return cw.Error()
}

func metaString(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, "; ")
}
