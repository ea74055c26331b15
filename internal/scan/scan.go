package scan

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/evidence"
	"github.com/leakwatch/leakwatch/internal/imagefile"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

// ErrStorage reports matches the store could not record (a full disk, a
// damaged database): Run counts each as a "storage" error and then fails,
// since a leak was found but not kept.
var ErrStorage = errors.New("matches not recorded in the store")

// Grouping decides what one incident covers.
type Grouping string

// Groupings.
const (
	// GroupSite makes one incident per site (scheme and host): a second
	// page of the same dump updates the incident instead of opening another.
	GroupSite Grouping = "site"
	// GroupPage makes one incident per page (or per archive for a seed).
	GroupPage Grouping = "page"
)

// Config is everything one scan needs.
type Config struct {
	Seeds   []string
	Bank    *fingerprint.Bank
	Match   fingerprint.MatchOptions
	Limits  fingerprint.Limits
	Store   *store.Store
	Crawler crawler.Options
	GroupBy Grouping
	// Archive bounds every archive walked.
	Archive archive.Limits
	// ArchiveWorkers decode archive entries in parallel (default GOMAXPROCS);
	// ArchiveBuffer bounds the entry bytes waiting for them (default 96 MiB).
	ArchiveWorkers int
	ArchiveBuffer  int64
	// MaxFrames bounds the frames of an animated GIF or WebP that are
	// hashed (default 16); MaxGIFRedraw the canvases' worth of pixels an
	// animated GIF may draw again to undo frames (imagefile's default).
	MaxFrames    int
	MaxGIFRedraw int
	// Endpoints are the keys of the alert endpoints events are queued for.
	Endpoints []string
	// OnFinding is called for every match (e.g. to stream JSON lines).
	OnFinding func(report.Finding)
	// OnReview is called for every capture left for review
	// (fingerprint.MatchStats.Review).
	OnReview func(report.Review)
	// OnError is called for every per-item error (after counting).
	OnError func(report.Problem)
	// WholeImageOnly skips the query-side crop and collage candidates
	// (fingerprint.ComputeWhole): about three times the throughput on small
	// photos, but crops, collages, screenshots and captioned copies are not
	// found.
	WholeImageOnly bool
	// Recrawl disables conditional requests: every page, image and archive
	// is fetched again (use after enrolling many new captures).
	Recrawl bool
	// OnProgress, if set, receives a snapshot of the counters about twice
	// a second while the scan runs (for a progress line on a terminal).
	OnProgress func(report.Summary)
	// Baseline holds (capture, file) pairs known before the first scan
	// (see LoadBaseline): they are neither recorded nor alerted.
	Baseline Baseline
	// OnEvent is called after an alert event was committed to the outbox,
	// e.g. to wake the delivery worker.
	OnEvent func(eventID string)
	// Evidence, if set, keeps each matched file and the page that linked
	// it, encrypted (see keep).
	Evidence *evidence.Locker
	Logger   *slog.Logger

	// spec is the run's shared-run form, set by Options.Config: a scan
	// on a PostgreSQL store enqueues it.
	spec *RunSpec
}

type scanner struct {
	cfg Config
	// needRef: the bank holds imported hashes, which are matched with the
	// query's reference-front-end PDQ, so compute it.
	needRef bool
	// pixels: this scan matches the image's pixels as well as its hashes
	// (keypoint-patch leads, local features, the readings that refuse
	// look-alikes' hash matches), which a cached fingerprint cannot do.
	// bank is then the bank's ContentKey, policy the match options' key: a
	// cached fingerprint serves only if it was matched with the same
	// options against the same captures (cacheUsable).
	pixels bool
	bank   uint64
	policy uint64
	// decodeSlots bounds concurrent decodes (see fingerprint).
	decodeSlots chan struct{}
	matcher     *fingerprint.BankMatcher
	log         *slog.Logger
	runID       int64

	// cr fetches pages again for the evidence locker; pages holds, per
	// page, its locker entry for this run.
	cr    *crawler.Crawler
	pages sync.Map // page URL -> *keptPage

	mu      sync.Mutex
	sum     report.Summary
	changes map[string]*report.IncidentChange
}

// Run performs one scan. It returns an error only when the scan as a whole
// failed (bad configuration, unusable store); per-URL and per-file errors
// are counted in the summary.
func Run(ctx context.Context, cfg Config) (report.Summary, error) {
	start := time.Now()
	if cfg.Bank == nil || cfg.Store == nil {
		return report.Summary{}, errors.New("scan: bank and store are required")
	}
	if cfg.Store.Postgres() {
		return runShared(ctx, cfg)
	}
	cfg, s := newScanner(cfg)
	cr, err := crawler.New(cfg.Crawler)
	if err != nil {
		return report.Summary{}, err
	}
	s.runID, err = cfg.Store.BeginRun(ctx, strings.Join(cfg.Seeds, " "))
	if err != nil {
		return report.Summary{}, err
	}
	return runScan(ctx, start, cfg, s, cr)
}

// newScanner fills in cfg's defaults and returns the scanner for it.
func newScanner(cfg Config) (Config, *scanner) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.GroupBy == "" {
		cfg.GroupBy = GroupSite
	}
	// Unset options are the default policy; a radius of 0 alone (the
	// matcher's default radius) keeps the other options it came with.
	if cfg.Match == (fingerprint.MatchOptions{}) {
		cfg.Match = fingerprint.DefaultMatchOptions()
	}
	if cfg.Limits.MaxPixels == 0 {
		cfg.Limits = fingerprint.DefaultLimits()
	}
	if cfg.Archive.MaxDepth == 0 {
		cfg.Archive = archive.DefaultLimits()
	}
	if cfg.MaxFrames <= 0 {
		cfg.MaxFrames = 16
	}
	cfg.Bank.BuildIndex()
	s := &scanner{cfg: cfg, matcher: fingerprint.NewMatcher(cfg.Bank, cfg.Match), log: cfg.Logger, needRef: cfg.Bank.Imported() > 0,
		decodeSlots: make(chan struct{}, runtime.GOMAXPROCS(0)),
		changes:     map[string]*report.IncidentChange{}}
	// The feature route runs with or without the region routes; patches
	// are one of them.
	patches := cfg.Match.SubImages && cfg.Match.Patches && cfg.Bank.Patches() > 0
	features := !cfg.Match.NoFeatures && cfg.Bank.Features() > 0
	s.pixels = (patches || features) && !cfg.WholeImageOnly
	s.policy = policyKey(s.matcher.Options())
	if s.pixels {
		s.bank = cfg.Bank.ContentKey()
	}
	s.sum.ErrorsBy = map[string]int64{}
	return cfg, s
}

// runScan is the rest of Run on a SQLite store: one process crawls.
func runScan(ctx context.Context, start time.Time, cfg Config, s *scanner, cr *crawler.Crawler) (report.Summary, error) {
	var err error
	s.sum.RunID = s.runID
	// Growth a killed run recorded but never announced goes out now.
	if err := s.announce(ctx); err != nil {
		return report.Summary{}, err
	}
	if cfg.OnProgress != nil {
		copts := cfg.Crawler
		copts.OnPage = func(string) { s.count(func(x *report.Summary) { x.Pages++ }) }
		cfg.Crawler = copts
		s.cfg.Crawler = copts
		if cr, err = crawler.New(copts); err != nil {
			return report.Summary{}, err
		}
	}
	if !cfg.Recrawl {
		copts := cfg.Crawler
		copts.Revisit = &revisit{ctx: ctx, st: cfg.Store, runID: s.runID, log: s.log.Warn, usable: s.cacheUsable}
		if cr, err = crawler.New(copts); err != nil {
			return report.Summary{}, err
		}
	}
	s.cr = cr
	stopProgress := s.progress()
	st, crawlErr := cr.Run(ctx, cfg.Seeds, s.handle, s.crawlError)
	stopProgress()
	if err := s.announce(context.WithoutCancel(ctx)); err != nil {
		return report.Summary{}, err
	}
	// Every event now carries the run's final state: send them.
	if err := cfg.Store.ReleaseHeld(context.WithoutCancel(ctx)); err != nil {
		return report.Summary{}, err
	}
	s.mu.Lock()
	s.sum.Pages, s.sum.Assets, s.sum.Unchanged = st.Pages, st.Assets, st.Unchanged
	for _, c := range s.changes {
		s.sum.Incidents = append(s.sum.Incidents, *c)
	}
	sort.Slice(s.sum.Incidents, func(i, j int) bool { return s.sum.Incidents[i].Source < s.sum.Incidents[j].Source })
	s.sum.Duration = time.Since(start)
	status := "ok"
	if crawlErr != nil {
		if ctx.Err() == nil {
			s.mu.Unlock()
			return s.sum, crawlErr
		}
		s.sum.Interrupted = true
		status = "interrupted"
	}
	sum := s.sum
	s.mu.Unlock()
	js, _ := json.Marshal(sum)
	// The run record must be written even if ctx was cancelled.
	if err := cfg.Store.FinishRun(context.WithoutCancel(ctx), s.runID, status, string(js)); err != nil {
		return sum, err
	}
	if n := sum.ErrorsBy["storage"]; n > 0 {
		return sum, fmt.Errorf("%w: %d items matched but could not be recorded", ErrStorage, n)
	}
	return sum, nil
}

// progress reports counters periodically until the returned func is called.
func (s *scanner) progress() func() {
	if s.cfg.OnProgress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.mu.Lock()
				snap := s.sum
				snap.Incidents = nil
				snap.ErrorsBy = maps.Clone(s.sum.ErrorsBy) // read after the lock is released
				s.mu.Unlock()
				s.cfg.OnProgress(snap)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// announce turns recorded but unannounced growth into one event per
// incident.
func (s *scanner) announce(ctx context.Context) error {
	outs, err := s.cfg.Store.Announce(ctx, s.cfg.Endpoints)
	if err != nil {
		return err
	}
	for _, out := range outs {
		s.mu.Lock()
		ch := s.changes[out.IncidentID]
		if ch == nil {
			inc, err := s.cfg.Store.Incident(ctx, out.IncidentID)
			if err != nil {
				s.mu.Unlock()
				return err
			}
			ch = &report.IncidentChange{ID: out.IncidentID, Source: inc.Source}
			s.changes[out.IncidentID] = ch
		}
		ch.NewCaptures = mergeSorted(ch.NewCaptures, out.NewCaptures)
		ch.Event = out.Event
		s.mu.Unlock()
		if s.cfg.OnEvent != nil {
			s.cfg.OnEvent(out.Event)
		}
	}
	return nil
}

func (s *scanner) problem(u string, err error) {
	reason := Reason(err)
	s.mu.Lock()
	s.sum.Errors++
	s.sum.ErrorsBy[reason]++
	s.mu.Unlock()
	s.log.Warn("skipped", "url", u, "reason", reason, "err", err)
	if s.cfg.OnError != nil {
		s.cfg.OnError(report.Problem{URL: u, Reason: reason, Err: err.Error()})
	}
}

func (s *scanner) crawlError(u string, err error) { s.problem(u, err) }

// Reason maps an error to a short stable label for counting.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrStorage):
		return "storage"
	case errors.Is(err, fingerprint.ErrTooManyPixels):
		return "pixel_limit"
	case errors.Is(err, fingerprint.ErrDecodeLimit):
		return "decode_limit"
	case errors.Is(err, fingerprint.ErrTooLarge), errors.Is(err, crawler.ErrTooLarge):
		return "size_limit"
	case errors.Is(err, fingerprint.ErrUnsupported):
		return "unsupported"
	case errors.Is(err, fingerprint.ErrCorrupt):
		return "corrupt_image"
	case errors.Is(err, crawler.ErrHTTPStatus):
		return "http_status"
	case errors.Is(err, crawler.ErrOutOfScope):
		return "out_of_scope"
	case errors.Is(err, crawler.ErrBadSeed):
		return "bad_seed"
	case errors.Is(err, crawler.ErrTooManyHops):
		return "redirect_loop"
	case errors.Is(err, crawler.ErrPageLimit):
		return "page_limit"
	case errors.Is(err, crawler.ErrLinkLimit):
		return "link_limit"
	case errors.Is(err, crawler.ErrAssetLimit):
		return "asset_limit"
	case errors.Is(err, crawler.ErrURLTooLong):
		return "url_length"
	case errors.Is(err, crawler.ErrLinkBudget):
		return "link_budget"
	case errors.Is(err, crawler.ErrEncodingRatio):
		return "encoding_ratio"
	case errors.Is(err, crawler.ErrEncoding):
		return "encoding"
	case errors.Is(err, crawler.ErrStalled):
		return "stalled"
	case errors.Is(err, crawler.ErrTooSlow):
		return "too_slow"
	case errors.Is(err, ErrFrameLimit):
		return "frame_limit"
	case errors.Is(err, crawler.ErrSplitLimit):
		return "archive_volumes"
	case errors.Is(err, crawler.ErrSplitIncomplete):
		return "split_incomplete"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), strings.Contains(err.Error(), "Client.Timeout"):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, ErrEvidence):
		return "evidence"
	}
	var ae archiveError
	if errors.As(err, &ae) {
		return ae.reason
	}
	return "fetch_error"
}

// handle consumes one asset from the crawler.
func (s *scanner) handle(ctx context.Context, a crawler.Asset) error {
	s.count(func(x *report.Summary) { x.Assets++ })
	if a.NotModified {
		return s.unchanged(ctx, a)
	}
	if len(a.Volumes) > 1 {
		return s.handleSplit(ctx, a)
	}
	br := bufferedHead(a.Body)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) {
		return err // e.g. the time limit on a slow response
	}
	if fingerprint.Sniff(head) == "" {
		if isArchive(head) {
			return s.handleArchive(ctx, a, br)
		}
		if a.Kind == crawler.LinkArchive {
			return fmt.Errorf("%w: not a recognised archive or image", fingerprint.ErrUnsupported)
		}
		return fmt.Errorf("%w: not a recognised image", fingerprint.ErrUnsupported)
	}
	data, err := io.ReadAll(io.LimitReader(br, s.cfg.Limits.MaxBytes+1))
	if err != nil {
		return err
	}
	if int64(len(data)) > s.cfg.Limits.MaxBytes {
		return fmt.Errorf("%w: more than %d bytes", fingerprint.ErrTooLarge, s.cfg.Limits.MaxBytes)
	}
	err = s.image(ctx, where{url: a.URL, page: a.Page, header: a.Header, fetched: a.FetchedAt}, data)
	if aerr := s.appended(ctx, a, data); aerr != nil {
		if lostWork(ctx, aerr) {
			return errors.Join(err, aerr) // not remembered: read again next time
		}
		s.problem(a.URL+"#appended", wrapArchive(aerr))
	}
	return err
}

// where locates an image for evidence: its URL (an archive's, with the
// entry's path), the page that linked it, and the response it came in.
type where struct {
	url, page, archivePath string
	header                 http.Header
	fetched                time.Time
}

// image hashes and matches one image's bytes and records any matches.
// An animated GIF or WebP is also rendered frame by frame.
func (s *scanner) image(ctx context.Context, w where, data []byte) error {
	anim := imagefile.Animated(data)
	if anim != imagefile.None && w.archivePath == "" && !s.cfg.Recrawl {
		// The URL may have served a still image before: forget its
		// content, so that a 304 next time is not matched as that image
		// but the animation is fetched again.
		if err := s.cfg.Store.ForgetVisitContent(ctx, w.url); err != nil {
			s.log.Warn("forget asset", "url", w.url, "err", err)
		}
	}
	switch anim {
	case imagefile.GIF:
		// Decoders see the first frame; the others are rendered here.
		// Not remembered for a 304 replay: the cache holds one
		// fingerprint per file, so the file is fetched again next time.
		err := s.still(ctx, w, data, false)
		return errors.Join(err, s.frames(ctx, w, data, 1))
	case imagefile.WebP:
		return s.frames(ctx, w, data, 0) // Go's decoder refuses animations
	}
	return s.still(ctx, w, data, true)
}

// still hashes and matches an image as decoders see it; remember records
// its content for the URL, so that a 304 next time is matched from cache.
func (s *scanner) still(ctx context.Context, w where, data []byte, remember bool) error {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if remember && w.archivePath == "" && !s.cfg.Recrawl {
		// Remember which content this URL served, so a 304 next time can
		// be matched from the cached fingerprint.
		if err := s.cfg.Store.SaveVisit(ctx, s.runID, store.Visit{URL: w.url, Status: "image", SHA256: sha}); err != nil {
			s.log.Warn("remember asset", "url", w.url, "err", err)
		}
	}
	s.count(func(x *report.Summary) { x.Images++ })
	fp, cached, cache, err := s.fingerprint(ctx, sha, data)
	if err != nil {
		return err
	}
	if cached {
		s.count(func(x *report.Summary) { x.Cached++ })
	} else {
		s.count(func(x *report.Summary) { x.Hashed++ })
	}
	pixel, err := s.match(ctx, w, sha, &fp, data)
	// The cache says the image's patches and features were matched: only
	// true once its matches are recorded. Cached before that, a match that
	// the store could not record (and that the next attempt finds only
	// from the pixels) would be lost for good.
	if cache != nil && !errors.Is(err, ErrStorage) {
		cache(fp, pixel)
	}
	return err
}

// frames hashes and matches the frames of an animated image from index
// from on, up to MaxFrames in all; each match's URL (or archive entry
// path) names its frame, "#frame=N" counting from 1.
func (s *scanner) frames(ctx context.Context, w where, data []byte, from int) error {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	compute := fingerprint.Compute
	if s.cfg.WholeImageOnly {
		compute = fingerprint.ComputeWhole
	}
	select {
	case s.decodeSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.decodeSlots }()
	// --timeout bounds the frames as it bounds a still image's decode; a
	// match found in time is still recorded with ctx.
	fctx := ctx
	if t := s.cfg.Crawler.RequestTimeout; t > 0 {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	res, err := imagefile.Frames(fctx, data, imagefile.Options{MaxFrames: s.cfg.MaxFrames, MaxPixels: s.cfg.Limits.MaxPixels, MaxRedraw: s.cfg.MaxGIFRedraw,
		MaxDecodeBytes: s.cfg.Limits.MaxFullDecodeBytes}, func(i int, img image.Image) error {
		if i < from {
			return nil
		}
		// Frame decoders cannot be stopped midway: a cancelled scan
		// stops at the next frame.
		if err := fctx.Err(); err != nil {
			return err
		}
		fp, err := compute(img)
		if err != nil {
			return nil // a flat or tiny frame: nothing to match
		}
		if s.needRef {
			fp.AddReference(img)
		}
		s.count(func(x *report.Summary) { x.Images++; x.Hashed++ })
		fw := w
		if fw.archivePath != "" {
			fw.archivePath += fmt.Sprintf("#frame=%d", i+1)
		} else {
			fw.url += fmt.Sprintf("#frame=%d", i+1)
		}
		// Matched before the next frame is drawn: the canvas is shared.
		_, err = s.match(ctx, fw, sha, &fp, data)
		return err
	})
	switch {
	case errors.Is(err, imagefile.ErrTooManyPixels):
		return fmt.Errorf("%w: %w", fingerprint.ErrTooManyPixels, err)
	case errors.Is(err, imagefile.ErrDecodeLimit):
		return fmt.Errorf("%w: %w", fingerprint.ErrDecodeLimit, err)
	}
	if err != nil {
		return err
	}
	if res.More && res.Limit != nil {
		return fmt.Errorf("%w: rendered the first %d frames of an animation: %w", ErrFrameLimit, res.Rendered, res.Limit)
	}
	if res.More {
		return fmt.Errorf("%w: rendered the first %d frames of an animation", ErrFrameLimit, res.Rendered)
	}
	return nil
}

// ErrFrameLimit means an animation has more frames than Config.MaxFrames,
// or needs more drawing than Config.MaxGIFRedraw allows; the first ones
// were hashed.
var ErrFrameLimit = errors.New("frame limit reached")

// match matches one fingerprint and records the matches as evidence;
// data is the image's bytes (nil when matched from the cache), for the
// evidence locker.
// It reports whether a match came from the pixels alone (the feature or
// patch route), which a cached fingerprint cannot find again.
func (s *scanner) match(ctx context.Context, w where, sha string, fp *fingerprint.Fingerprint, data []byte) (pixel bool, err error) {
	ms, stats, err := s.matcher.MatchStats(*fp)
	for _, m := range ms {
		pixel = pixel || m.Via == fingerprint.ViaFeatures || m.Via == fingerprint.ViaPatch
	}
	if fp.HasPatches() {
		// Kept with the cached fingerprint, which cannot be read again.
		fp.Refused = stats.Refused
	}
	if stats.PatchLeadsSkipped > 0 {
		s.count(func(x *report.Summary) { x.PatchLimited++ })
		s.log.Warn("patch leads left unverified (verification budget used up)", "url", w.url, "archive_path", w.archivePath, "leads", stats.PatchLeadsSkipped)
	}
	if stats.HashUnread > 0 {
		s.count(func(x *report.Summary) { x.HashLimited++ })
		s.log.Warn("hash matches left unread (reading budget used up)", "url", w.url, "archive_path", w.archivePath, "matches", stats.HashUnread)
	}
	if stats.FeatureUnread > 0 {
		s.count(func(x *report.Summary) { x.FeatureLimited++ })
		s.log.Warn("captures left unread (feature reading budget used up)", "url", w.url, "archive_path", w.archivePath, "captures", stats.FeatureUnread)
	}
	if len(stats.Review) > 0 {
		s.count(func(x *report.Summary) { x.Reviewed++ })
		for _, m := range stats.Review {
			s.log.Info("for review, not a match: a capture's features placed in the image, too few reading as enrolled for a match", "url", w.url, "archive_path", w.archivePath,
				"capture_id", m.CaptureID, "inliers", m.Inliers, "log_nfa", m.LogNFA, "sites_read", m.SitesRead, "sites_agree", m.SitesAgree)
			if s.cfg.OnReview != nil {
				s.cfg.OnReview(report.Review{URL: w.url, Page: w.page, ArchivePath: w.archivePath, SHA256: sha, Match: m})
			}
		}
	}
	if errors.Is(err, fingerprint.ErrLowQuality) {
		s.count(func(x *report.Summary) { x.Unhashable++ })
		s.log.Info("unhashable image", "url", w.url, "archive_path", w.archivePath, "quality", fp.PDQ.Quality)
		return pixel, nil
	}
	if err != nil {
		return pixel, err
	}
	if len(ms) == 0 {
		return pixel, nil
	}
	source := s.source(w)
	evs := make([]store.Evidence, 0, len(ms))
	for _, m := range ms {
		evs = append(evs, store.Evidence{CaptureID: m.CaptureID, Kind: m.Kind, URL: w.url, Page: w.page, ArchivePath: w.archivePath,
			SHA256: sha, Algorithm: string(m.Algorithm), Distance: m.Distance, Quality: m.Quality, Variant: m.Variant,
			Via: m.Via, Inliers: m.Inliers})
	}
	evs = s.notInBaseline(evs)
	if len(evs) == 0 {
		s.count(func(x *report.Summary) { x.Silenced += int64(len(ms)) })
		return pixel, nil
	}
	tally, _ := ctx.Value(itemTallyKey{}).(*itemTally)
	out, err := s.cfg.Store.RecordMatches(ctx, source, evs, s.cfg.Endpoints)
	if err != nil {
		if tally != nil {
			tally.storeFailed.Store(true)
		}
		return pixel, fmt.Errorf("%w: %d matches: %w", ErrStorage, len(evs), err)
	}
	evs = out.Recorded
	if tally != nil {
		tally.matches.Add(int64(len(evs)))
	}
	s.mu.Lock()
	s.sum.Silenced += int64(len(ms) - len(evs))
	if len(evs) == 0 {
		s.mu.Unlock()
		return pixel, nil
	}
	s.sum.Matches += int64(len(evs))
	ch := s.changes[out.IncidentID]
	if ch == nil {
		ch = &report.IncidentChange{ID: out.IncidentID, Source: source}
		s.changes[out.IncidentID] = ch
	}
	ch.Created = ch.Created || out.Created
	ch.NewCaptures = mergeSorted(ch.NewCaptures, out.NewCaptures)
	if out.Event != "" {
		ch.Event = out.Event
	}
	s.mu.Unlock()
	if out.Event != "" && s.cfg.OnEvent != nil {
		s.cfg.OnEvent(out.Event)
	}
	for _, ev := range evs {
		s.log.Info("match", "capture_id", ev.CaptureID, "url", ev.URL, "archive_path", ev.ArchivePath, "distance", ev.Distance, "incident", out.IncidentID)
		if s.cfg.OnFinding != nil {
			s.cfg.OnFinding(report.Finding{Evidence: ev, IncidentID: out.IncidentID})
		}
	}
	if s.cfg.Evidence != nil {
		s.keep(ctx, w, sha, data, out.IncidentID, evs)
	}
	return pixel, nil
}

func (s *scanner) count(f func(*report.Summary)) {
	s.mu.Lock()
	f(&s.sum)
	s.mu.Unlock()
}

// cacheUsable reports whether a cached fingerprint serves this scan: it
// carries what the policy compares, and, when this scan matches pixels,
// it was matched with the same options against the same captures. (A
// capture enrolled since was only compared with the cached hashes, not
// with the image's patches and features, and none of its hash matches was
// read.)
func (s *scanner) cacheUsable(e cacheEntry) bool {
	if (!e.fp.HasReference && s.needRef) || (e.fp.WholeOnly && !s.cfg.WholeImageOnly) {
		return false
	}
	return !s.pixels || e.policy == s.policy && e.bank == s.bank
}

// fingerprint returns the cached fingerprint for sha or computes it; a
// computed one comes with cache, which stores it for next time (to be
// called once it has been matched and its matches recorded).
func (s *scanner) fingerprint(ctx context.Context, sha string, data []byte) (fp fingerprint.Fingerprint, cached bool, cache func(fp fingerprint.Fingerprint, pixel bool), err error) {
	if blob, msg, ok, err := s.cfg.Store.SeenAsset(ctx, sha); err == nil && ok {
		if msg != "" {
			return fingerprint.Fingerprint{}, true, nil, errors.New(msg)
		}
		if e, err := decodeFP(blob); err == nil && s.cacheUsable(e) && !(e.pixelMatched && s.pixels) {
			return e.fp, true, nil, nil
		}
	}
	// At most GOMAXPROCS images are decoded at once, whatever the number
	// of pages and archives in flight, which bounds memory as well: a JPEG
	// decoded at the working size takes at most about 40 MB (a
	// 48-megapixel CMYK progressive file), a PNG, TIFF or BMP about 4 MB;
	// GIF and WebP are decoded at full size (up to 200 MB for 50
	// megapixels as RGBA). A decode that cannot be stopped and is
	// abandoned at its timeout keeps its slot until it has finished.
	select {
	case s.decodeSlots <- struct{}{}:
	case <-ctx.Done():
		return fingerprint.Fingerprint{}, false, nil, ctx.Err()
	}
	var finishing <-chan struct{}
	defer func() {
		if finishing == nil {
			<-s.decodeSlots
			return
		}
		go func() {
			<-finishing
			<-s.decodeSlots
		}()
	}()
	// --timeout bounds the decode as it bounds the download.
	dctx := ctx
	if t := s.cfg.Crawler.RequestTimeout; t > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	compute, size := fingerprint.Compute, fingerprint.ForQuery()
	if s.cfg.WholeImageOnly {
		compute = fingerprint.ComputeWhole
		if !s.needRef {
			size = fingerprint.ForWhole()
		}
	}
	d, err := fingerprint.DecodeBytesContext(dctx, data, s.cfg.Limits, size,
		fingerprint.OnAbandon(func(f <-chan struct{}) { finishing = f }))
	if err != nil {
		return fingerprint.Fingerprint{}, false, nil, err
	}
	fp, err = compute(d.Image, fingerprint.SourceSize(d.Width, d.Height))
	if err != nil {
		return fingerprint.Fingerprint{}, false, nil, err
	}
	if s.needRef {
		fp.AddReference(d.Image)
	}
	return fp, false, func(matched fingerprint.Fingerprint, pixel bool) {
		// A match found from the pixels alone is not found again from
		// the cache: the same bytes fetched at another URL (another site)
		// are matched from their pixels again (pixelMatched).
		blob := encodeFP(cacheEntry{fp: matched, policy: s.policy, bank: s.bank, pixelMatched: pixel})
		if blob == nil {
			return // matched from the pixels again next time
		}
		if err := s.cfg.Store.RecordAsset(ctx, sha, blob, ""); err != nil {
			s.log.Warn("cache fingerprint", "err", err)
		}
	}, nil
}

// source names the leak source an image belongs to.
func (s *scanner) source(w where) string {
	ref := w.page
	if ref == "" {
		ref = w.url
	}
	return sourceOf(ref, s.cfg.GroupBy == GroupPage)
}

// sourceOf names the leak source of ref: its site (scheme, host and a port
// other than the scheme's default), or with byPage the page (without its
// query and fragment: forums put session IDs there, and our crawler sends
// no cookies, so a page would be a new source on every crawl). Spellings
// of one site (a default port written out, a host in capitals or with a
// final dot) name one source: each source is an incident, and a dump site
// must not split one leak into several alerts by how it writes its links.
func sourceOf(ref string, byPage bool) string {
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return ref
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80" || scheme == "https" && p == "443") {
		host += ":" + p
	}
	site := scheme + "://" + host
	if !byPage {
		return site
	}
	page := &url.URL{Scheme: scheme, Host: host, Path: u.Path, RawPath: u.RawPath}
	return page.String()
}

func mergeSorted(a, b []string) []string {
	set := map[string]bool{}
	for _, x := range a {
		set[x] = true
	}
	for _, x := range b {
		set[x] = true
	}
	out := make([]string, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	sort.Strings(out)
	return out
}

// bufferedHead lets the pipeline sniff the first bytes without losing them.
func bufferedHead(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 4096) }
