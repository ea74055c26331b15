// Package feature finds a capture inside an edited copy by its local
// invariant features: oriented corners at several scales, each described by
// 128 binary intensity comparisons steered by its orientation, looked up in
// an inverted index and verified by a geometric model.
//
// One keypoint carries position, scale and orientation, so a rotation by
// any angle, a change of scale or a mirror image is one case rather than an
// edit to invert. A match is decided by how unlikely its geometrically
// consistent correspondences are among unrelated images (an a-contrario
// number of false alarms), not by a radius tuned per edit. Crops, overlays,
// mild perspective and placement inside a larger picture all leave some of
// the capture's features in place, and that is enough.
//
// The package works on grey images and imports nothing else from leakwatch.
package feature
