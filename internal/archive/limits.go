package archive

import "os"

// Limits bounds the work one Walk may do on untrusted input. A zero or
// negative field takes its value from DefaultLimits, so Limits{} is safe.
type Limits struct {
	// MaxCompressedBytes caps the bytes read from the source of one
	// top-level archive (including repeated reads through an io.ReaderAt).
	MaxCompressedBytes int64
	// MaxUncompressedBytes caps the bytes decompressed across all entries
	// at every nesting level. A nested archive's bytes count once as the
	// content of its parent and again as its own entries: the total is the
	// work done, which is what a bomb limit must bound.
	MaxUncompressedBytes int64
	// MaxEntryBytes caps each entry passed to fn; reading beyond it returns
	// ErrEntryTooLarge. An entry that declares a larger size is skipped
	// without calling fn. Nested archives are not entries; they are bounded
	// by MaxSpoolBytes (when they need spooling) and the archive-wide limits.
	MaxEntryBytes int64
	// MaxEntries caps the members examined across all nesting levels,
	// including directories, links and skipped members.
	MaxEntries int
	// MaxRatio caps uncompressed/compressed, where compressed is the bytes
	// read from the top-level source. It is checked while streaming, once
	// more than 1 MiB has been decompressed, so tiny files never trip it.
	MaxRatio float64
	// MaxDepth caps archive nesting; the top-level archive is depth 1. A
	// compressed tar (tar.gz, tar.xz, ...) is one level.
	MaxDepth int
	// MaxSpoolBytes caps each copy of an archive that needs random access
	// (zip, 7z) and does not arrive as an io.ReaderAt: the top-level source
	// or a nested archive. Up to 1 MiB is kept in memory, the rest in a
	// temporary file in TempDir that is unlinked right after it is created
	// (on Linux the name disappears at once; the space is freed when Walk
	// closes it) so that nothing is left behind even if the process dies.
	MaxSpoolBytes int64
	// MaxVolumes caps the volumes of one split archive (WalkVolumes).
	MaxVolumes int
	// TempDir is where spool files go; empty means os.TempDir().
	TempDir string
}

// Defaults, chosen for a crawler on a small server: large enough for real
// photo dumps (a 4 GiB archive of JPEGs), small enough that one hostile file
// cannot fill a disk or exhaust memory.
const (
	DefaultMaxCompressedBytes   int64   = 4 << 30   // 4 GiB read per top-level archive
	DefaultMaxUncompressedBytes int64   = 16 << 30  // 16 GiB decompressed in total
	DefaultMaxEntryBytes        int64   = 256 << 20 // 256 MiB per entry: far above any photo
	DefaultMaxEntries           int     = 100_000
	DefaultMaxRatio             float64 = 200 // JPEG/PNG barely compress; text tops out near 20
	DefaultMaxDepth             int     = 3   // e.g. zip in tar.gz in zip
	DefaultMaxSpoolBytes        int64   = 4 << 30
	DefaultMaxVolumes           int     = 1000 // 4 GiB in 4 MiB pieces
)

// ratioFloor is the number of decompressed bytes before MaxRatio applies.
const ratioFloor = 1 << 20

// DefaultLimits returns the limits Walk uses for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxCompressedBytes:   DefaultMaxCompressedBytes,
		MaxUncompressedBytes: DefaultMaxUncompressedBytes,
		MaxEntryBytes:        DefaultMaxEntryBytes,
		MaxEntries:           DefaultMaxEntries,
		MaxRatio:             DefaultMaxRatio,
		MaxDepth:             DefaultMaxDepth,
		MaxSpoolBytes:        DefaultMaxSpoolBytes,
		MaxVolumes:           DefaultMaxVolumes,
		TempDir:              os.TempDir(),
	}
}

// withDefaults fills zero and negative fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxCompressedBytes <= 0 {
		l.MaxCompressedBytes = d.MaxCompressedBytes
	}
	if l.MaxUncompressedBytes <= 0 {
		l.MaxUncompressedBytes = d.MaxUncompressedBytes
	}
	if l.MaxEntryBytes <= 0 {
		l.MaxEntryBytes = d.MaxEntryBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxSpoolBytes <= 0 {
		l.MaxSpoolBytes = d.MaxSpoolBytes
	}
	if l.MaxVolumes <= 0 {
		l.MaxVolumes = d.MaxVolumes
	}
	if l.TempDir == "" {
		l.TempDir = d.TempDir
	}
	return l
}
