// Package synth draws deterministic, synthetic but photo-like images of
// nobody: passport-style faces and licence-plate captures, the canary
// captures an agency slips into a recipient's transfer (see
// internal/canary), and for leakwatch's tests and demo also unrelated
// scenes (vehicles, streets, textures, near-flat scenes, documents) that
// serve as negatives (fixtures/imagegen names them for the fixtures).
//
// Every generator takes a seed and is a pure function of it: the same seed
// always yields byte-identical pixels (randomness comes from a
// math/rand/v2 PCG source, never from global state or the clock). Different
// seeds give clearly different images. [FaceVariant] and [PlateVariant] give
// "hard negatives": another photograph of the same person or the same plate,
// which a perceptual-hash matcher must not confuse with the enrolled
// capture. [CheckpointFrame] and [BoothFrame] give the other kind: frames of
// one fixed camera, sharing background, framing and overlay layout but
// showing another car or person.
//
// The pictures are drawn in floating point (shapes with anti-aliased edges,
// Lambert shading, value-noise textures), then finished with a lighting
// gradient, a slight lens blur and Gaussian sensor noise so that they have
// the statistics of camera images rather than flat vector art.
package synth
