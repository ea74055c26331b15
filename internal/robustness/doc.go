// Package robustness measures leakwatch's matcher on generated data: it
// enrolls captures of varied content (faces, plates, vehicles, street
// scenes, textures, a few real photographs, and frames of fixed checkpoint
// and booth cameras) into an in-memory bank, queries it with transformed
// copies, and with unrelated images (other content, near-flat scenes,
// documents, and hard negatives: other photographs of the same person or
// plate, other frames of the same camera). It reports recall per
// transform, false matches per group of unrelated queries, unhashable
// counts, and the distribution of distances between unrelated images for
// each kind of comparison, from which it estimates the false-match rate
// against a large bank.
//
// The transforms are fixtures/transform's Suite, a few uneven crops that
// no enrolled region lines up with (the extras), and the edit families:
// rotation by any angle keeping the canvas, mirror with crops and quarter
// turns, perspective, crops keeping half an axis, opaque overlays, heavy
// semi-transparent text, tone filters, a photograph of a screen, grids,
// mosaics, web pages and social posts, combinations, and one axis
// squeezed (another aspect ratio) with a crop. Each family's
// parameters are drawn per capture. About a third of the families are
// held out: a matcher is tuned looking at the others only, and the report
// lists the held-out ones apart.
//
// Everything is generated from a seed. Seeds are split: the thresholds in
// fingerprint.DefaultMatchOptions were chosen looking at TuningSeed only;
// HeldOutSeed (and any other seed) was kept aside for the final numbers.
// The `leakwatch robustness` command prints the report.
package robustness
