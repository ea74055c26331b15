package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Visit is what the store remembers about a fetched URL, for conditional
// requests on the next run.
type Visit struct {
	URL          string
	Status       string
	ETag         string
	LastModified string
	// SHA256 is the content hash of an asset, so an unchanged asset can be
	// matched again from its cached fingerprint without downloading it.
	SHA256 string
	// Links are the links extracted from a page, replayed when the page is
	// unchanged.
	Links []string
}

// ForgetVisitContent drops the content recorded for a URL (an image that
// became an animation, which is not matched from cache): a 304 for it is
// then not matched as what it served before, and without content the URL
// is fetched unconditionally.
func (s *Store) ForgetVisitContent(ctx context.Context, url string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE visited SET sha256 = NULL WHERE url = ?`, url); err != nil {
		return fmt.Errorf("forget visit content: %w", err)
	}
	return nil
}

// SaveVisit records a fetched URL.
func (s *Store) SaveVisit(ctx context.Context, runID int64, v Visit) error {
	var links any
	if v.Links != nil {
		b, err := json.Marshal(v.Links)
		if err != nil {
			return err
		}
		links = string(b)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO visited(url, run_id, fetched_at, status, etag, last_modified, sha256, links) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(url) DO UPDATE SET run_id = excluded.run_id, fetched_at = excluded.fetched_at, status = excluded.status,
			etag = COALESCE(excluded.etag, visited.etag), last_modified = COALESCE(excluded.last_modified, visited.last_modified),
			sha256 = COALESCE(excluded.sha256, visited.sha256), links = COALESCE(excluded.links, visited.links)`,
		v.URL, runID, s.ts(s.now()), v.Status, nullable(v.ETag), nullable(v.LastModified), nullable(v.SHA256), links)
	if err != nil {
		return fmt.Errorf("save visit: %w", err)
	}
	return nil
}

// Visit returns what is known about a URL.
func (s *Store) Visit(ctx context.Context, u string) (Visit, bool, error) {
	var v Visit
	var etag, lm, sha, links sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT url, status, etag, last_modified, sha256, links FROM visited WHERE url = ?`, u).
		Scan(&v.URL, &v.Status, &etag, &lm, &sha, &links)
	if errors.Is(err, sql.ErrNoRows) {
		return Visit{}, false, nil
	}
	if err != nil {
		return Visit{}, false, fmt.Errorf("visit: %w", err)
	}
	v.ETag, v.LastModified, v.SHA256 = etag.String, lm.String, sha.String
	if links.Valid {
		_ = json.Unmarshal([]byte(links.String), &v.Links)
	}
	return v, true, nil
}
