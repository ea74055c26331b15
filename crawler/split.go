package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Errors for split archives; test with errors.Is.
var (
	// ErrSplitIncomplete means a page links some volumes of a split
	// archive but not all (a gap in the numbering, or a zip -s set without
	// its .zip): the set cannot be read.
	ErrSplitIncomplete = errors.New("split archive incomplete")
	// ErrSplitLimit means a split archive has more volumes than
	// Options.MaxSplitVolumes.
	ErrSplitLimit = errors.New("too many volumes in split archive")
)

// Volume is one file of a split archive.
type Volume struct {
	URL string
	// Body streams the volume; it is fetched when first read, once the
	// volume before it has been read to its end, and is valid only during
	// the Handler call.
	Body io.Reader
}

// splitKind is a naming scheme of split archives.
type splitKind int

const (
	splitNumbered splitKind = iota + 1 // name.7z.001, name.zip.001 (7-Zip, split(1))
	splitRARPart                       // name.part1.rar, name.part2.rar (RAR 3+)
	splitRAROld                        // name.rar, name.r00, name.r01 (RAR 2)
	splitZip                           // name.z01, name.z02, ..., name.zip (zip -s, WinZip)
)

var (
	reNumbered = regexp.MustCompile(`^(.+\.[a-z0-9]{1,4})\.([0-9]{3,})$`)
	reRARPart  = regexp.MustCompile(`^(.+)\.part([0-9]{1,4})\.rar$`)
	reRAROld   = regexp.MustCompile(`^(.+)\.r([0-9]{2,3})$`)
	reZipPart  = regexp.MustCompile(`^(.+)\.z([0-9]{2,3})$`)
)

// volumeName recognises the name of one volume of a split archive. It
// returns the set the volume belongs to (its directory, base name and
// scheme) and its position in the set. name.rar and name.zip are returned
// too (position 0 and the end) and count as volumes only when the page
// also links their numbered companions.
func volumeName(u *url.URL) (set string, kind splitKind, pos int, ok bool) {
	dir, file := path.Split(u.Path)
	file = strings.ToLower(file)
	prefix := u.Scheme + "://" + strings.ToLower(u.Host) + dir
	if m := reNumbered.FindStringSubmatch(file); m != nil {
		n, _ := strconv.Atoi(m[2])
		return prefix + m[1], splitNumbered, n, n > 0
	}
	if m := reRARPart.FindStringSubmatch(file); m != nil {
		n, _ := strconv.Atoi(m[2])
		return prefix + m[1] + ".rar", splitRARPart, n, n > 0
	}
	if m := reRAROld.FindStringSubmatch(file); m != nil {
		n, _ := strconv.Atoi(m[2])
		return prefix + m[1] + ".rar", splitRAROld, n + 1, true
	}
	if base, ok := strings.CutSuffix(file, ".rar"); ok {
		return prefix + base + ".rar", splitRAROld, 0, true
	}
	if m := reZipPart.FindStringSubmatch(file); m != nil {
		n, _ := strconv.Atoi(m[2])
		return prefix + m[1] + ".zip", splitZip, n, n > 0
	}
	if base, ok := strings.CutSuffix(file, ".zip"); ok {
		return prefix + base + ".zip", splitZip, -1, true // the last volume
	}
	return "", 0, 0, false
}

// isVolumeName reports names that only a split archive uses (name.7z.001,
// name.z01, name.r00), so that such links are fetched as archives.
func isVolumeName(u *url.URL) bool {
	_, kind, pos, ok := volumeName(u)
	return ok && !(kind == splitRAROld && pos == 0) && !(kind == splitZip && pos < 0)
}

// splitSet is the volumes of one split archive found on a page.
type splitSet struct {
	kind splitKind
	vols map[int]string // position -> URL
}

// groupSplit takes the volumes of split archives out of a page's links.
// It returns each complete set as its URLs in reading order, the other
// links, and an error for each set that cannot be read (incomplete, or
// over the volume limit), keyed by its first URL.
func groupSplit(links []Link, maxVolumes int) (sets [][]string, rest []Link, problems map[string]error) {
	found := map[string]*splitSet{}
	var order []string
	for _, l := range links {
		if l.Kind == LinkPage {
			continue
		}
		u, err := url.Parse(l.URL)
		if err != nil {
			continue
		}
		key, kind, pos, ok := volumeName(u)
		if !ok {
			continue
		}
		key += "\x00" + strconv.Itoa(int(kind))
		s := found[key]
		if s == nil {
			s = &splitSet{kind: kind, vols: map[int]string{}}
			found[key] = s
			order = append(order, key)
		}
		if _, dup := s.vols[pos]; !dup {
			s.vols[pos] = l.URL
		}
	}
	taken := map[string]bool{}
	for _, key := range order {
		s := found[key]
		urls, err := s.ordered(maxVolumes)
		if urls == nil && err == nil {
			continue // a lone name.zip, name.rar or name.7z.001: not split
		}
		for _, u := range s.vols {
			taken[u] = true
		}
		if err != nil {
			if problems == nil {
				problems = map[string]error{}
			}
			problems[s.first()] = err
			continue
		}
		sets = append(sets, urls)
	}
	for _, l := range links {
		if !taken[l.URL] {
			rest = append(rest, l)
		}
	}
	return sets, rest, problems
}

// first is the URL a set is reported under: its lowest position.
func (s *splitSet) first() string {
	pos := make([]int, 0, len(s.vols))
	for p := range s.vols {
		pos = append(pos, p)
	}
	sort.Ints(pos)
	if s.kind == splitZip && pos[0] < 0 && len(pos) > 1 {
		return s.vols[pos[1]]
	}
	return s.vols[pos[0]]
}

// ordered returns the set's URLs in reading order, nil for a single file
// that is not split, or an error for a set that cannot be read.
func (s *splitSet) ordered(maxVolumes int) ([]string, error) {
	n := len(s.vols)
	if n > maxVolumes {
		return nil, fmt.Errorf("%w: %d volumes, limit %d", ErrSplitLimit, n, maxVolumes)
	}
	var from int // the first position
	switch s.kind {
	case splitNumbered, splitRARPart:
		if n == 1 {
			return nil, nil
		}
		from = 1
	case splitRAROld:
		if n == 1 {
			if _, ok := s.vols[0]; ok {
				return nil, nil
			}
		}
	case splitZip:
		last, ok := s.vols[-1]
		if n == 1 && ok {
			return nil, nil
		}
		if !ok {
			return nil, fmt.Errorf("%w: the .zip that ends the set is not linked", ErrSplitIncomplete)
		}
		urls := make([]string, 0, n)
		for p := 1; p < n; p++ {
			u, ok := s.vols[p]
			if !ok {
				return nil, fmt.Errorf("%w: volume .z%02d is not linked", ErrSplitIncomplete, p)
			}
			urls = append(urls, u)
		}
		return append(urls, last), nil
	}
	urls := make([]string, 0, n)
	for p := from; p < from+n; p++ {
		u, ok := s.vols[p]
		if !ok {
			return nil, fmt.Errorf("%w: volume %d of %d is not linked", ErrSplitIncomplete, p-from+1, n)
		}
		urls = append(urls, u)
	}
	return urls, nil
}

// fetchSplit hands a split archive to the handler as its volumes, each
// fetched when the handler first reads it. The set is one download for the
// scheduler's per-host share and shares one ArchiveTimeout and one
// MaxArchiveBytes budget over all its volumes.
func (r *run) fetchSplit(a Asset) {
	o := r.c.opts
	ctx, cancel := context.WithTimeout(r.ctx, o.ArchiveTimeout)
	defer cancel()
	ctx, cancelCause := context.WithCancelCause(ctx)
	defer cancelCause(nil)
	set := &volumeSet{ctx: ctx, cancel: cancelCause, r: r, page: a.Page, budget: limitedReader{n: o.MaxArchiveBytes}}
	defer set.close()
	vols := make([]Volume, len(a.Volumes))
	for i, v := range a.Volumes {
		vols[i] = Volume{URL: v.URL, Body: &lazyVolume{set: set, url: v.URL, n: i + 1, of: len(a.Volumes)}}
	}
	a.Volumes, a.Body, a.Size, a.Limit = vols, vols[0].Body, -1, o.MaxArchiveBytes
	if err := r.h(ctx, a); err != nil {
		r.fail(a.URL, err)
	}
}

// volumeSet is the state shared by the volumes of one split archive.
type volumeSet struct {
	ctx  context.Context
	r    *run
	page string
	// cancel ends ctx with the watchdog's reason (stalled, too slow).
	cancel context.CancelCauseFunc
	// budget reads the volume being read, counting against the set's
	// limit; open closes it.
	budget limitedReader
	open   func()
}

func (s *volumeSet) close() {
	if s.open != nil {
		s.open()
		s.open = nil
	}
}

// lazyVolume fetches its volume on first read.
type lazyVolume struct {
	set   *volumeSet
	url   string
	n, of int
	body  io.Reader
	done  bool
}

func (v *lazyVolume) Read(p []byte) (int, error) {
	s := v.set
	if v.done {
		return 0, io.EOF
	}
	if v.body == nil {
		if err := v.fetch(); err != nil {
			return 0, err
		}
	}
	n, err := s.budget.Read(p)
	if errors.Is(err, io.EOF) {
		v.done = true
		s.close()
	}
	return n, err
}

func (v *lazyVolume) fetch() error {
	s := v.set
	s.close()
	o := s.r.c.opts
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, v.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", o.UserAgent)
	// Asked for explicitly, so net/http does not inflate the body behind
	// our back: a volume served gzip-encoded goes through decodeBody and
	// its ratio bound like any asset, and resumes count wire bytes.
	req.Header.Set("Accept-Encoding", "gzip")
	if s.page != "" {
		req.Header.Set("Referer", s.page)
	}
	resp, err := s.r.client.Do(req)
	if err != nil {
		return fmt.Errorf("volume %d of %d: %w", v.n, v.of, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("%w %d: volume %d of %d", ErrHTTPStatus, resp.StatusCode, v.n, v.of)
	}
	if resp.ContentLength > s.budget.n {
		resp.Body.Close()
		return fmt.Errorf("%w: volume %d of %d declares %d bytes, %d left of the set's limit", ErrTooLarge, v.n, v.of, resp.ContentLength, s.budget.n)
	}
	rb := newResumingBody(s.ctx, s.r.client, v.url, o.UserAgent, resp, func(read, total int64) {
		s.r.log.Info("download progress", "url", v.url, "volume", v.n, "of", v.of, "bytes", read, "total", total)
		if o.Progress != nil {
			o.Progress(v.url, read, total)
		}
	})
	// Each volume is held to the idle and minimum-rate bounds of any
	// archive download.
	wd := watch(s.ctx, s.cancel, rb, o.ReadIdleTimeout, o.MinArchiveRate, o.RateWindow)
	body, err := decodeBody(wd, resp.Header.Get("Content-Encoding"), o.MaxDecodeRatio)
	if err != nil {
		wd.Close()
		rb.Close()
		return fmt.Errorf("volume %d of %d: %w", v.n, v.of, err)
	}
	v.body, s.budget.r = body, body
	s.open = func() { wd.Close(); rb.Close() }
	return nil
}
