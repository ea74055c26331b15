// Package layering holds no code, only a test: it reads the import clauses
// of every package in the module and fails when one crosses a boundary the
// design draws (leaf packages that must stay independent, a crawler that
// knows nothing of hashes or alerts, fixtures kept out of production code).
//
// The rules live in layering_test.go as a table; a package move that needs
// a new edge changes that table, where a reviewer sees it. A second test
// keeps README.md's Layout table in step with the packages in the tree.
package layering
