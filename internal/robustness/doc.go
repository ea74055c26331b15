// Package robustness measures leakwatch's matcher on generated data: it
// enrolls captures of varied content (faces, plates, vehicles, street
// scenes, textures and a few real photographs) into an in-memory bank,
// queries it with transformed copies (the transforms of fixtures/transform's
// Suite plus a few uneven crops that no enrolled region lines up with), and
// with unrelated images (other content, near-flat scenes, documents, and
// hard negatives: other photographs of the same person or plate). It
// reports recall per transform, false matches, unhashable counts, and the
// distribution of distances between unrelated images for each kind of
// comparison, from which it estimates the false-match rate against a large
// bank.
//
// Everything is generated from a seed. Seeds are split: the thresholds in
// fingerprint.DefaultMatchOptions were chosen looking at TuningSeed only;
// HeldOutSeed (and any other seed) was kept aside for the final numbers.
// The `leakwatch robustness` command prints the report.
package robustness
