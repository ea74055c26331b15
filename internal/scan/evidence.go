package scan

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/leakwatch/leakwatch/internal/evidence"
	"github.com/leakwatch/leakwatch/internal/store"
)

// ErrEvidence reports a matched file the evidence locker could not keep
// (counted under the reason "evidence"; the match itself is recorded).
var ErrEvidence = errors.New("evidence not kept")

// keptPage is a page's locker entry for this run, fetched once however
// many of its files match.
type keptPage struct {
	once sync.Once
	id   string
}

// keep puts a matched file, and the page that linked it, in the evidence
// locker. The file's bytes are the ones just hashed, still in memory
// (bounded by the image and archive-entry limits); they go through the
// encryptor straight into ciphertext. The page's body was dropped when
// its links were read, so it is fetched once more, at most once per page
// per run and only for a file not kept before. A file matched from the
// cache of an unchanged (304) image was not fetched this run: it is kept
// by a run that fetches it again (--recrawl).
func (s *scanner) keep(ctx context.Context, w where, sha string, data []byte, incident string, evs []store.Evidence) {
	l := s.cfg.Evidence
	if l.Has(evidence.ItemID(evidence.KindFile, w.url, w.archivePath, sha)) {
		return
	}
	if data == nil {
		s.log.Warn("evidence not kept: an unchanged image was matched from the cache; scan with --recrawl to fetch and keep it", "url", w.url)
		return
	}
	captures := make([]string, 0, len(evs))
	for _, ev := range evs {
		captures = append(captures, ev.CaptureID)
	}
	it := evidence.Item{Kind: evidence.KindFile, URL: w.url, ArchivePath: w.archivePath, Page: w.page, FetchedAt: w.fetched,
		Status: 200, Header: w.header, RunID: s.runID, IncidentID: incident, Captures: captures}
	if w.page != "" {
		it.PageID = s.keepPage(ctx, w.page)
	}
	if _, _, err := l.Keep(it, data); err != nil {
		s.problem(w.url, fmt.Errorf("%w: %w", ErrEvidence, err))
	}
}

// keepPage keeps the page once per run and returns its entry ID ("" if
// it could not be fetched or kept, which is counted).
func (s *scanner) keepPage(ctx context.Context, page string) string {
	v, _ := s.pages.LoadOrStore(page, &keptPage{})
	kp := v.(*keptPage)
	kp.once.Do(func() {
		snap, err := s.cr.FetchPage(ctx, page)
		if err != nil {
			s.problem(page, fmt.Errorf("%w: page fetched again for the locker: %w", ErrEvidence, err))
			return
		}
		id, _, err := s.cfg.Evidence.Keep(evidence.Item{Kind: evidence.KindPage, URL: page, FetchedAt: snap.FetchedAt, Status: snap.Status,
			Header: snap.Header, RunID: s.runID}, snap.Body)
		if err != nil {
			s.problem(page, fmt.Errorf("%w: %w", ErrEvidence, err))
			return
		}
		kp.id = id
	})
	return kp.id
}
