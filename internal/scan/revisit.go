package scan

import (
	"context"
	"fmt"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

// revisit adapts the store to crawler.Revisit. An unchanged page is usable
// when its links were stored; an unchanged image when the SHA-256 of its
// content (and so its cached fingerprint) is known; an unchanged archive is
// skipped outright, so newly enrolled captures are matched against old
// archives only by a full recrawl (scan --recrawl).
type revisit struct {
	ctx   context.Context
	st    *store.Store
	runID int64
	log   func(msg string, args ...any)
	// usable says whether a cached fingerprint serves this scan; if not,
	// the image is fetched again.
	usable func(cacheEntry) bool
	// charge, if set, spends a page's link bytes from a budget kept
	// outside this process (a shared run's, in the store): false means
	// the page is not remembered.
	charge func(page string, n int64) bool
}

var kindStatus = map[crawler.LinkKind]string{crawler.LinkPage: "page", crawler.LinkImage: "image", crawler.LinkArchive: "archive"}

func (r *revisit) Lookup(u string) (crawler.Validators, bool) {
	v, ok, err := r.st.Visit(r.ctx, u)
	if err != nil || !ok || (v.ETag == "" && v.LastModified == "") {
		return crawler.Validators{}, false
	}
	out := crawler.Validators{ETag: v.ETag, LastModified: v.LastModified, Links: v.Links}
	switch v.Status {
	case "page":
		out.Kind = crawler.LinkPage
		return out, v.Links != nil
	case "image":
		out.Kind = crawler.LinkImage
		if v.SHA256 == "" {
			return out, false
		}
		// Only worth a 304 if the cached fingerprint is usable by this
		// build; an old encoding means fetch and hash again.
		blob, msg, ok, err := r.st.SeenAsset(r.ctx, v.SHA256)
		if err != nil || !ok || msg != "" {
			return out, false
		}
		e, err := decodeFP(blob)
		return out, err == nil && r.usable(e)
	case "archive":
		out.Kind = crawler.LinkArchive
		return out, true
	}
	return crawler.Validators{}, false
}

func (r *revisit) Remember(u string, v crawler.Validators) {
	links := v.Links
	if v.Kind == crawler.LinkPage && links == nil {
		links = []string{}
	}
	if v.Kind == crawler.LinkPage && r.charge != nil {
		var n int64
		for _, l := range links {
			n += int64(len(l))
		}
		if !r.charge(u, n) {
			return
		}
	}
	if err := r.st.SaveVisit(r.ctx, r.runID, store.Visit{URL: u, Status: kindStatus[v.Kind], ETag: v.ETag, LastModified: v.LastModified, Links: links}); err != nil {
		r.log("remember visit", "url", u, "err", err)
	}
}

// unchanged handles an asset answered 304: images are matched again from
// their cached fingerprint (the bank may have grown since), archives are
// skipped.
func (s *scanner) unchanged(ctx context.Context, a crawler.Asset) error {
	v, ok, err := s.cfg.Store.Visit(ctx, a.URL)
	if err != nil {
		return err
	}
	if !ok || v.Status == "archive" || v.SHA256 == "" {
		return nil
	}
	blob, msg, ok, err := s.cfg.Store.SeenAsset(ctx, v.SHA256)
	if err != nil || !ok || msg != "" {
		return err
	}
	e, err := decodeFP(blob)
	if err != nil {
		return fmt.Errorf("cached fingerprint of %s: %w", a.URL, err)
	}
	if !s.cacheUsable(e) {
		// Replaced since the request was made (another worker on a shared
		// store, matching with other options): matched from it all the
		// same, since the image was not fetched.
		s.log.Warn("cached fingerprint no longer serves this scan", "url", a.URL)
	}
	fp := e.fp
	s.count(func(x *report.Summary) { x.Images++; x.Cached++ })
	_, err = s.match(ctx, where{url: a.URL, page: a.Page}, v.SHA256, &fp, nil)
	return err
}
