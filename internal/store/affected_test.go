package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIncidentAffected(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	cases := []struct {
		name    string
		matches []Match
		want    []Affected
	}{
		{"none", nil, []Affected{}},
		{"copies of one capture merge", []Match{
			{Evidence: Evidence{CaptureID: "b", Kind: "face", URL: "http://x/1.jpg", Distance: 12}, FirstSeen: t1, LastSeen: t1},
			{Evidence: Evidence{CaptureID: "b", Kind: "face", URL: "http://x/a.zip", ArchivePath: "in/2.jpg", Distance: 4}, FirstSeen: t0, LastSeen: t2},
		}, []Affected{{IncidentID: "inc", CaptureID: "b", Kind: "face", FirstSeen: t0, LastSeen: t2, BestDistance: 4, Copies: 2,
			URLs: []string{"http://x/1.jpg", "http://x/a.zip#in/2.jpg"}}}},
		{"ordered by capture ID", []Match{
			{Evidence: Evidence{CaptureID: "z", URL: "u1"}, FirstSeen: t0, LastSeen: t0},
			{Evidence: Evidence{CaptureID: "a", URL: "u2"}, FirstSeen: t0, LastSeen: t0},
		}, []Affected{
			{IncidentID: "inc", CaptureID: "a", FirstSeen: t0, LastSeen: t0, Copies: 1, URLs: []string{"u2"}},
			{IncidentID: "inc", CaptureID: "z", FirstSeen: t0, LastSeen: t0, Copies: 1, URLs: []string{"u1"}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Incident{ID: "inc", Matches: tc.matches}.Affected()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Affected() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
